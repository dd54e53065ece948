package network

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"
)

// Live changes of a running network.
//
// A network remembers the spec it runs (home/spec.json). When `Up` is given a spec that
// differs from it, planChange decides whether the difference can be applied to the
// running network without losing anything; today that is organisations appended to the
// end of `organizations` (a department joins the city). Each added organisation goes
// through its own steps, recorded per organisation in the state file so that an
// interrupted change resumes where it stopped:
//
//	crypto:<org>    its CA runs and its identities are enrolled
//	member:<org>    it is a member of every channel (a channel configuration update signed
//	                by the admins of every organisation already on the channel)
//	join:<peer>:<channel>, its chaincode servers (as for every organisation)
//	deployed:<org>  the chaincode packages are installed on its peer and the committed
//	                definitions approved for it
//
// Every other difference is refused with the reason, before anything is touched.

const (
	stepMember  = "member"
	stepRetired = "retired"
)

func orgStep(step string, o OrgSpec) string { return step + ":" + o.Name }

// orgDone reports whether step is done for organisation o: organisations of the
// original set-up share the network-wide step, organisations added live have their own.
func (n *Network) orgDone(step string, o OrgSpec) bool {
	if slices.Contains(n.state.Added, o.Name) {
		return n.state.Steps[orgStep(step, o)]
	}
	return n.state.Steps[step]
}

func (n *Network) specSnapshotPath() string { return filepath.Join(n.home, "spec.json") }

// saveSpecSnapshot records the spec the network now runs.
func (n *Network) saveSpecSnapshot() error {
	b, err := json.MarshalIndent(n.spec, "", "  ")
	if err != nil {
		return err
	}
	tmp := n.specSnapshotPath() + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, n.specSnapshotPath())
}

func (n *Network) loadSpecSnapshot() (*Spec, error) {
	b, err := os.ReadFile(n.specSnapshotPath())
	if err != nil {
		return nil, err
	}
	var s Spec
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", n.specSnapshotPath(), err)
	}
	return &s, nil
}

// ErrSpecChange is returned (wrapped) by Up when the spec differs from the running
// network's in a way that cannot be applied live.
var ErrSpecChange = errors.New("spec change not supported on a running network")

// planChange compares the spec a network runs with a new one and returns the
// organisations to add and those to retire. Anything else that differs is refused,
// naming what.
func planChange(old, cur *Spec) (added, retired []OrgSpec, err error) {
	var why []string
	if len(cur.Organizations) < len(old.Organizations) {
		why = append(why, fmt.Sprintf("organisations removed from the list (%d before, %d now): mark a department that leaves `retired: true` instead, it keeps its place", len(old.Organizations), len(cur.Organizations)))
	} else {
		for i, o := range old.Organizations {
			c := cur.Organizations[i]
			if reflect.DeepEqual(o, c) {
				continue
			}
			r := o
			r.Retired = true
			switch {
			case !o.Retired && reflect.DeepEqual(r, c):
				retired = append(retired, c)
			case o.Retired && !c.Retired:
				why = append(why, fmt.Sprintf("organisation %d (%s) was retired: a retired organisation does not come back, add it at the end under a new name and MSP ID", i+1, o.Name))
			default:
				why = append(why, fmt.Sprintf("organisation %d (%s) changed or moved: new organisations go at the end of the list", i+1, o.Name))
			}
		}
	}
	if old.Name != cur.Name {
		why = append(why, "name")
	}
	if old.BasePort != cur.BasePort {
		why = append(why, "basePort")
	}
	if old.Ordering.TickInterval != cur.Ordering.TickInterval {
		why = append(why, "ordering.tickInterval")
	}
	if !reflect.DeepEqual(old.Channels, cur.Channels) {
		why = append(why, "channels")
	}
	if !reflect.DeepEqual(old.Chaincodes, cur.Chaincodes) {
		why = append(why, "chaincodes")
	}
	if !reflect.DeepEqual(old.Sharing, cur.Sharing) {
		why = append(why, "sharing")
	}
	if len(why) > 0 {
		return nil, nil, fmt.Errorf("%w: %s", ErrSpecChange, strings.Join(why, "; "))
	}
	return cur.Organizations[len(old.Organizations):], retired, nil
}

// reconcileSpec checks the given spec against the one the network runs and prepares
// the live change if there is one. It changes nothing on disk but the state file.
func (n *Network) reconcileSpec() error {
	h := n.specHash()
	if n.state.SpecHash == "" || n.state.SpecHash == h {
		n.state.SpecHash = h
		return nil
	}
	clean := fmt.Sprintf("to start over from nothing, deleting every ledger, run `edossierctl network clean` (home %s)", n.home)
	old, err := n.loadSpecSnapshot()
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("the network in %s was set up from a different spec and keeps no copy of it (set up before live changes existed), so the change cannot be planned; %s", n.home, clean)
	}
	if err != nil {
		return err
	}
	added, retired, err := planChange(old, n.spec)
	if err != nil {
		return fmt.Errorf("the network in %s runs a different spec: %w. A running network grows by organisations appended to `organizations` and shrinks by organisations marked `retired: true`; other changes need a new network: %s", n.home, err, clean)
	}
	for _, o := range added {
		if !slices.Contains(n.state.Added, o.Name) {
			n.state.Added = append(n.state.Added, o.Name)
		}
	}
	if !slices.Equal(old.IdentityAuthorities(), n.spec.IdentityAuthorities()) ||
		!slices.Equal(old.RepresentativeAuthorities(), n.spec.RepresentativeAuthorities()) {
		// The chaincode servers read the authorities from their environment.
		n.state.RestartChaincodes = true
	}
	var names []string
	for _, o := range added {
		names = append(names, o.Name)
	}
	if len(names) > 0 {
		n.say("spec change: adding %s to the running network", strings.Join(names, ", "))
	}
	n.joined = names
	if n.state.Consenters == 0 {
		n.state.Consenters = old.Ordering.Orderers
	}
	if d := n.spec.Ordering.Orderers - n.state.Consenters; d != 0 {
		n.say("spec change: %d orderers instead of %d (one Raft membership change at a time)", n.spec.Ordering.Orderers, n.state.Consenters)
	}
	for _, o := range retired {
		n.say("spec change: retiring %s (removed from every channel, its processes stopped; its records stay readable and verifiable)", o.Name)
		n.retiredNow = append(n.retiredNow, o.Name)
	}
	n.state.SpecHash = h
	return n.saveState()
}

// upMembers makes every organisation added live a member of every channel.
func (n *Network) upMembers(ctx context.Context) error {
	pending := false
	for _, name := range n.state.Added {
		if o, ok := n.spec.Org(name); ok && !n.state.Steps[orgStep(stepMember, o)] {
			pending = true
		}
	}
	if !pending {
		return nil
	}
	// configtx.yaml with every organisation's definition, for configtxgen -printOrg.
	if err := n.renderConfigtx(); err != nil {
		return err
	}
	for _, name := range n.state.Added {
		o, ok := n.spec.Org(name)
		if !ok || n.state.Steps[orgStep(stepMember, o)] {
			continue
		}
		for _, c := range n.spec.Channels {
			if err := n.addOrgToChannel(ctx, o, c.Name); err != nil {
				return fmt.Errorf("add %s to channel %s: %w", o.MSPID, c.Name, err)
			}
		}
		n.state.Steps[orgStep(stepMember, o)] = true
		if err := n.saveState(); err != nil {
			return err
		}
	}
	return nil
}

// addOrgToChannel adds o to a channel's application group with the organisation's
// definition from `configtxgen -printOrg` (the same one the genesis block gives the
// first organisations). Every organisation already on the channel signs. It does
// nothing if o is already a member.
func (n *Network) addOrgToChannel(ctx context.Context, o OrgSpec, channel string) error {
	orgJSON, err := n.run(n.bin("configtxgen"), []string{"-configPath", n.configDir(), "-printOrg", o.MSPID},
		[]string{"FABRIC_LOGGING_SPEC=warning"})
	if err != nil {
		return err
	}
	var group any
	if err := json.Unmarshal([]byte(orgJSON), &group); err != nil {
		return fmt.Errorf("configtxgen -printOrg %s: %w", o.MSPID, err)
	}
	member := func(config map[string]any) (bool, error) {
		m, err := appOrgs(config)
		_, ok := m[o.MSPID]
		return ok, err
	}
	return n.updateChannel(ctx, channel, "add "+o.MSPID, func(config map[string]any) (bool, error) {
		m, err := appOrgs(config)
		if err != nil {
			return false, err
		}
		if _, ok := m[o.MSPID]; ok {
			return false, nil
		}
		m[o.MSPID] = group // m aliases the decoded configuration's map
		return true, nil
	}, member, true, o.MSPID)
}

// updateChannel changes a channel's configuration the way Fabric documents it ("Adding
// an Org to a Channel"): fetch the config block, decode it with configtxlator, let edit
// change the decoded configuration (it reports false if there is nothing to do),
// compute the update, have it signed, submit it, and wait until the ordering service
// serves a configuration for which done is true. Changes of the application group
// (appSign) are signed by the admin of every application organisation on the channel
// but skip (the channel's Admins policy is a majority of them); changes of the orderer
// group need only the operator's signature, which `peer channel update` adds.
func (n *Network) updateChannel(ctx context.Context, channel, what string, edit func(map[string]any) (bool, error),
	done func(map[string]any) (bool, error), appSign bool, skip string) error {
	dir := filepath.Join(n.home, "channels", "update-"+channel)
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	config, err := n.fetchConfig(channel, dir)
	if err != nil {
		return err
	}
	members, err := appOrgs(config)
	if err != nil {
		return err
	}
	signers := map[string]bool{}
	for id := range members {
		signers[id] = appSign && id != skip
	}
	if _, ok := members[skip]; ok && appSign && len(members)-1 <= len(members)/2 {
		signers[skip] = true // without it the others are no majority
	}
	original, err := json.Marshal(config)
	if err != nil {
		return err
	}
	if changed, err := edit(config); err != nil || !changed {
		return err
	}
	updated, err := json.Marshal(config)
	if err != nil {
		return err
	}
	file := func(name string) string { return filepath.Join(dir, name) }
	if err := os.WriteFile(file("original.json"), original, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(file("updated.json"), updated, 0o644); err != nil {
		return err
	}
	lator := n.bin("configtxlator")
	for _, step := range [][]string{
		{"proto_encode", "--type", "common.Config", "--input", file("original.json"), "--output", file("original.pb")},
		{"proto_encode", "--type", "common.Config", "--input", file("updated.json"), "--output", file("updated.pb")},
		{"compute_update", "--channel_id", channel, "--original", file("original.pb"), "--updated", file("updated.pb"), "--output", file("update.pb")},
		{"proto_decode", "--type", "common.ConfigUpdate", "--input", file("update.pb"), "--output", file("update.json")},
	} {
		if _, err := n.run(lator, step, nil); err != nil {
			return err
		}
	}
	updateJSON, err := os.ReadFile(file("update.json"))
	if err != nil {
		return err
	}
	env, err := json.Marshal(map[string]any{"payload": map[string]any{
		"header": map[string]any{"channel_header": map[string]any{"channel_id": channel, "type": 2}}, // CONFIG_UPDATE
		"data":   map[string]any{"config_update": json.RawMessage(updateJSON)},
	}})
	if err != nil {
		return err
	}
	if err := os.WriteFile(file("envelope.json"), env, 0o644); err != nil {
		return err
	}
	if _, err := n.run(lator, []string{"proto_encode", "--type", "common.Envelope", "--input", file("envelope.json"), "--output", file("envelope.pb")}, nil); err != nil {
		return err
	}
	op := n.spec.Operator()
	signed := 1 // `peer channel update` adds the operator admin's signature
	for _, m := range n.spec.Organizations {
		if !signers[m.MSPID] || m.MSPID == op.MSPID {
			continue
		}
		if _, err := n.run(n.bin("peer"), []string{"channel", "signconfigtx", "-f", file("envelope.pb")}, n.adminEnv(m)); err != nil {
			return err
		}
		signed++
	}
	n.say("        %s on %s (signed by %d admins)", what, channel, signed)
	if _, err := n.run(n.bin("peer"), append([]string{"channel", "update", "-f", file("envelope.pb"), "-c", channel}, n.ordererArgs()...),
		n.adminEnv(op)); err != nil {
		return err
	}
	for deadline := time.Now().Add(60 * time.Second); ; {
		config, err := n.fetchConfig(channel, dir)
		if err == nil {
			var ok bool
			if ok, err = done(config); err == nil && ok {
				return os.RemoveAll(dir)
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: the configuration update was sent but channel %s does not show it after 60s (last error: %v)", what, channel, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// fetchConfig reads a channel's current configuration from the ordering service and
// returns it decoded as configtxlator's JSON (a common.Config).
func (n *Network) fetchConfig(channel, dir string) (map[string]any, error) {
	block := filepath.Join(dir, "config.block")
	if err := n.fetchConfigBlock(channel, block); err != nil {
		return nil, err
	}
	if _, err := n.run(n.bin("configtxlator"), []string{"proto_decode", "--type", "common.Block", "--input", block,
		"--output", block + ".json"}, nil); err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(block + ".json")
	if err != nil {
		return nil, err
	}
	var b struct {
		Data struct {
			Data []struct {
				Payload struct {
					Data struct {
						Config map[string]any `json:"config"`
					} `json:"data"`
				} `json:"payload"`
			} `json:"data"`
		} `json:"data"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // keep every number exactly as configtxlator wrote it
	if err := dec.Decode(&b); err != nil {
		return nil, fmt.Errorf("config block of %s: %w", channel, err)
	}
	if len(b.Data.Data) != 1 || b.Data.Data[0].Payload.Data.Config == nil {
		return nil, fmt.Errorf("config block of %s: no configuration", channel)
	}
	return b.Data.Data[0].Payload.Data.Config, nil
}

// fetchConfigBlock writes a channel's latest config block to path.
func (n *Network) fetchConfigBlock(channel, path string) error {
	_, err := n.run(n.bin("peer"), append([]string{"channel", "fetch", "config", path, "-c", channel}, n.ordererArgs()...),
		n.adminEnv(n.spec.Operator()))
	return err
}

// appOrgs returns the application organisations' map of a decoded configuration
// (MSP ID -> group); writing to it changes the configuration.
func appOrgs(config map[string]any) (map[string]any, error) {
	path := []string{"channel_group", "groups", "Application", "groups"}
	var cur any = config
	for _, k := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("channel configuration: no %s", strings.Join(path, "."))
		}
		cur = m[k]
	}
	m, ok := cur.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("channel configuration: no %s", strings.Join(path, "."))
	}
	return m, nil
}

// deployAdded installs the chaincode packages on the peers of organisations added live
// and approves the committed definitions for them.
func (n *Network) deployAdded(ctx context.Context) error {
	for _, name := range n.state.Added {
		o, ok := n.spec.Org(name)
		if !ok || n.state.Steps[orgStep(stepDeployed, o)] {
			continue
		}
		for _, cc := range n.spec.Chaincodes {
			out, err := n.run(n.bin("peer"), []string{"lifecycle", "chaincode", "install", n.packagePath(cc, o)}, n.adminEnv(o))
			if err != nil && !strings.Contains(out, "already successfully installed") {
				return err
			}
			if err := n.approve(cc, o); err != nil {
				return err
			}
		}
		n.state.Steps[orgStep(stepDeployed, o)] = true
		if err := n.saveState(); err != nil {
			return err
		}
	}
	return nil
}

// Joined names the organisations the last Up added to the running network.
func (n *Network) Joined() []string { return n.joined }

// RetiredNow names the organisations the last Up retired.
func (n *Network) RetiredNow() []string { return n.retiredNow }

// upRetire removes every retired organisation from every channel and stops its
// processes. Its files stay: the certificates its records were endorsed with remain in
// the channels' earlier configuration blocks anyway.
func (n *Network) upRetire(ctx context.Context) error {
	for _, o := range n.spec.Organizations {
		if !o.Retired || n.state.Steps[orgStep(stepRetired, o)] {
			continue
		}
		for _, c := range n.spec.Channels {
			if err := n.removeOrgFromChannel(ctx, o, c.Name); err != nil {
				return fmt.Errorf("remove %s from channel %s: %w", o.MSPID, c.Name, err)
			}
		}
		names := []string{PeerName(o), "ca." + o.Name}
		for _, cc := range n.spec.Chaincodes {
			names = append([]string{ChaincodeServerName(cc.Name, o)}, names...)
		}
		for _, name := range names {
			if p, ok := n.state.Procs[name]; ok {
				n.say("        stopping %s", name)
				if err := n.stopProc(p, 10*time.Second); err != nil {
					return err
				}
				delete(n.state.Procs, name)
			}
		}
		n.state.Steps[orgStep(stepRetired, o)] = true
		if err := n.saveState(); err != nil {
			return err
		}
	}
	return nil
}

// removeOrgFromChannel removes o from a channel's application group, signed by the
// other members (and o itself only where the others are no majority).
func (n *Network) removeOrgFromChannel(ctx context.Context, o OrgSpec, channel string) error {
	gone := func(config map[string]any) (bool, error) {
		m, err := appOrgs(config)
		_, ok := m[o.MSPID]
		return !ok, err
	}
	return n.updateChannel(ctx, channel, "remove "+o.MSPID, func(config map[string]any) (bool, error) {
		m, err := appOrgs(config)
		if err != nil {
			return false, err
		}
		if _, ok := m[o.MSPID]; !ok {
			return false, nil
		}
		delete(m, o.MSPID)
		return true, nil
	}, gone, true, o.MSPID)
}
