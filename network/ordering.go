package network

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Live changes of the Raft ordering service: `up` with a spec whose ordering.orderers
// differs from the running network's adds orderers (orderer<N>, orderer<N+1>, ...) or
// removes them from the highest index down, one Raft membership change at a time, on
// every channel. The count reached is recorded in state.json (Consenters) after each
// step, so an interrupted change resumes.

// liveOrderers is the number of orderers that are members of the channels now and are
// to stay: the lower of the recorded membership and the spec's count.
func (n *Network) liveOrderers() int {
	if c := n.state.Consenters; c > 0 && c < n.spec.Ordering.Orderers {
		return c
	}
	return n.spec.Ordering.Orderers
}

// upOrdering moves the channels' Raft membership to the spec's orderer count.
func (n *Network) upOrdering(ctx context.Context) error {
	want := n.spec.Ordering.Orderers
	if n.state.Consenters == 0 {
		n.state.Consenters = want // set up just now, with the spec's orderers
		return n.saveState()
	}
	for n.state.Consenters < want {
		if err := n.addOrderer(ctx, n.state.Consenters); err != nil {
			return err
		}
		n.state.Consenters++
		if err := n.saveState(); err != nil {
			return err
		}
	}
	for n.state.Consenters > want {
		if err := n.removeOrderer(ctx, n.state.Consenters-1); err != nil {
			return err
		}
		n.state.Consenters--
		if err := n.saveState(); err != nil {
			return err
		}
	}
	return nil
}

// addOrderer enrolls orderer j, adds it to every channel's consenters and orderer
// endpoints, starts it, joins it to every channel with the channel's latest config
// block (it then fetches the earlier blocks from the others) and waits until it
// follows its clusters.
func (n *Network) addOrderer(ctx context.Context, j int) error {
	op, name := n.spec.Operator(), OrdererName(j)
	tls := n.nodeTLS(op, name)
	if !fileExists(filepath.Join(n.nodeMSP(op, name), "signcerts", "cert.pem")) || !fileExists(filepath.Join(tls, "server.crt")) {
		n.say("        enrolling %s", name)
		if err := n.enrollIdentities(ctx, op, []enrollee{n.ordererEnrollee(j)}); err != nil {
			return n.wrapLog("ca."+op.Name, err)
		}
	}
	crt, err := os.ReadFile(filepath.Join(tls, "server.crt"))
	if err != nil {
		return err
	}
	ports := n.spec.OrdererPorts(j)
	endpoint := net.JoinHostPort(n.spec.OrdererHost(), itoa(ports.Listen))
	cert := base64.StdEncoding.EncodeToString(crt)
	for _, c := range n.spec.Channels {
		err := n.updateRaft(ctx, c.Name, "add consenter "+name, func(config map[string]any) (bool, error) {
			cons, eps, err := ordererLists(config, op.MSPID)
			if err != nil {
				return false, err
			}
			changed := false
			if consenterIndex(cons.list(), ports.Listen) < 0 {
				cons.set(append(cons.list(), map[string]any{"host": n.spec.OrdererHost(), "port": ports.Listen,
					"client_tls_cert": cert, "server_tls_cert": cert}))
				changed = true
			}
			if !containsString(eps.list(), endpoint) {
				eps.set(append(eps.list(), endpoint))
				changed = true
			}
			return changed, nil
		}, func(config map[string]any) (bool, error) {
			cons, _, err := ordererLists(config, op.MSPID)
			return err == nil && consenterIndex(cons.list(), ports.Listen) >= 0, err
		})
		if err != nil {
			return fmt.Errorf("add %s to channel %s: %w", name, c.Name, err)
		}
	}
	if err := n.startIfDown(name, func() error {
		_, err := n.startProc(name, "orderer", n.bin("orderer"), nil, n.ordererEnv(j))
		return err
	}); err != nil {
		return err
	}
	if err := n.waitHTTP(ctx, name, fmt.Sprintf("http://%s/healthz", net.JoinHostPort(n.spec.OrdererHost(), itoa(ports.Operations))), 60*time.Second); err != nil {
		return n.wrapLog(name, err)
	}
	if err := n.waitTCP(ctx, name, n.spec.OrdererHost(), ports.Admin); err != nil {
		return n.wrapLog(name, err)
	}
	for _, c := range n.spec.Channels {
		key := joinStep(name, c.Name)
		if n.state.Steps[key] {
			continue
		}
		block := filepath.Join(n.home, "channels", c.Name+"-join-"+name+".block")
		if err := n.fetchConfigBlock(c.Name, block); err != nil {
			return err
		}
		if err := n.joinOrdererBlock(j, c.Name, block); err != nil {
			return n.wrapLog(name, err)
		}
		_ = os.Remove(block)
		n.state.Steps[key] = true
		if err := n.saveState(); err != nil {
			return err
		}
	}
	n.say("        %s joined; waiting until it follows its clusters", name)
	var cluster []string // judged together: a leader is one of them
	for i := 0; i <= j; i++ {
		cluster = append(cluster, OrdererName(i))
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		problems := n.ordererProblems(cluster)
		if _, bad := problems[name]; !bad {
			return nil
		}
		if time.Now().After(deadline) {
			return n.wrapLog(name, fmt.Errorf("%s does not follow its clusters after 2m: %s", name, problems[name]))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// removeOrderer removes orderer j from every channel's consenters and endpoints, stops
// it and deletes its ledger (its identity stays enrolled, so it can be added again).
func (n *Network) removeOrderer(ctx context.Context, j int) error {
	op, name := n.spec.Operator(), OrdererName(j)
	ports := n.spec.OrdererPorts(j)
	endpoint := net.JoinHostPort(n.spec.OrdererHost(), itoa(ports.Listen))
	for _, c := range n.spec.Channels {
		err := n.updateRaft(ctx, c.Name, "remove consenter "+name, func(config map[string]any) (bool, error) {
			cons, eps, err := ordererLists(config, op.MSPID)
			if err != nil {
				return false, err
			}
			changed := false
			if i := consenterIndex(cons.list(), ports.Listen); i >= 0 {
				l := cons.list()
				cons.set(append(l[:i:i], l[i+1:]...))
				changed = true
			}
			var kept []any
			for _, e := range eps.list() {
				if e != endpoint {
					kept = append(kept, e)
				}
			}
			if len(kept) != len(eps.list()) {
				eps.set(kept)
				changed = true
			}
			return changed, nil
		}, func(config map[string]any) (bool, error) {
			cons, _, err := ordererLists(config, op.MSPID)
			return err == nil && consenterIndex(cons.list(), ports.Listen) < 0, err
		})
		if err != nil {
			return fmt.Errorf("remove %s from channel %s: %w", name, c.Name, err)
		}
	}
	if p, ok := n.state.Procs[name]; ok {
		n.say("        stopping %s", name)
		if err := n.stopProc(p, 10*time.Second); err != nil {
			return err
		}
		delete(n.state.Procs, name)
	}
	for _, c := range n.spec.Channels {
		delete(n.state.Steps, joinStep(name, c.Name))
	}
	return os.RemoveAll(filepath.Join(n.home, "data", name))
}

// updateRaft submits a change of the orderer group (the operator signs). The leader
// refuses a membership change while it does not yet count every member as active
// ("configuration will result in quorum loss"), for instance just after an orderer
// joined: such a refusal is retried for up to a minute.
func (n *Network) updateRaft(ctx context.Context, channel, what string, edit func(map[string]any) (bool, error),
	done func(map[string]any) (bool, error)) error {
	deadline := time.Now().Add(time.Minute)
	for {
		err := n.updateChannel(ctx, channel, what, edit, done, false, "")
		if err == nil || !strings.Contains(err.Error(), "quorum loss") || time.Now().After(deadline) {
			return err
		}
		n.say("        %s on %s: the Raft leader does not count every member as active yet; retrying", what, channel)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// jsonList is a list inside a decoded configuration, with a way to replace it.
type jsonList struct {
	m   map[string]any
	key string
}

func (l jsonList) list() []any {
	v, _ := l.m[l.key].([]any)
	return v
}

func (l jsonList) set(v []any) { l.m[l.key] = v }

// ordererLists finds the etcdraft consenters and the operator's orderer endpoints in a
// decoded channel configuration.
func ordererLists(config map[string]any, ordererOrg string) (consenters, endpoints jsonList, err error) {
	orderer, err := path(config, "channel_group", "groups", "Orderer")
	if err != nil {
		return
	}
	meta, err := path(orderer, "values", "ConsensusType", "value", "metadata")
	if err != nil {
		return
	}
	addrs, err := path(orderer, "groups", ordererOrg, "values", "Endpoints", "value")
	if err != nil {
		return
	}
	return jsonList{meta, "consenters"}, jsonList{addrs, "addresses"}, nil
}

// path walks nested objects of a decoded configuration.
func path(m map[string]any, keys ...string) (map[string]any, error) {
	cur := m
	for i, k := range keys {
		next, ok := cur[k].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("channel configuration: no %s", strings.Join(keys[:i+1], "."))
		}
		cur = next
	}
	return cur, nil
}

func consenterIndex(list []any, port int) int {
	for i, c := range list {
		if m, ok := c.(map[string]any); ok && fmt.Sprint(m["port"]) == fmt.Sprint(port) {
			return i
		}
	}
	return -1
}

func containsString(list []any, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
