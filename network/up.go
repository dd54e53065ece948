package network

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"golang.org/x/sync/errgroup"

	"github.com/edossier-city/edossier/network/connfile"
)

const (
	stepCrypto   = "crypto"
	stepGenesis  = "genesis"
	stepDeployed = "deployed"
)

func joinStep(node, channel string) string { return "join:" + node + ":" + channel }

// Up brings the network to ready: CAs, identities, channels, orderers, peers, chaincode
// servers, chaincode definitions, connection file. Every step that is already done is
// skipped, so Up on a running network changes nothing, Up after Down resumes with the
// same ledgers, and Up after a crash restarts exactly the processes that are missing.
// If a step fails, Up stops the processes it started and returns a *StepError.
func (n *Network) Up(ctx context.Context) (err error) {
	start := time.Now()
	if err := n.checkBinaries(); err != nil {
		return err
	}
	if err := n.lock(); err != nil {
		return err
	}
	defer n.unlock()
	for attempt := 1; ; attempt++ {
		err = n.upOnce(ctx, start)
		if err == nil || attempt == bindAttempts || !bindFailure(err) || ctx.Err() != nil {
			return err
		}
		// Between the port check and the process's own bind, a client socket took the
		// port (or the killed process had not yet let go): everything this attempt
		// started was stopped; check the ports again and retry.
		n.say("  %v; retrying (attempt %d of %d)", err, attempt+1, bindAttempts)
	}
}

// bindAttempts bounds how often Up retries after a process failed to bind its port.
const bindAttempts = 3

// bindFailure reports a step that failed because a process could not bind its port,
// as the tail of the process's log says.
func bindFailure(err error) bool {
	var se *StepError
	if !errors.As(err, &se) || !strings.HasSuffix(se.Log, ".log") {
		return false
	}
	f, ferr := os.Open(se.Log)
	if ferr != nil {
		return false
	}
	defer f.Close()
	const tailBytes = 16 << 10
	if fi, ferr := f.Stat(); ferr == nil && fi.Size() > tailBytes {
		_, _ = f.Seek(fi.Size()-tailBytes, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	if i := bytes.LastIndex(b, []byte("==== ")); i >= 0 {
		b = b[i:] // the last run of the process only
	}
	return bytes.Contains(b, []byte("address already in use"))
}

func (n *Network) upOnce(ctx context.Context, start time.Time) (err error) {
	if err := n.reconcileSpec(); err != nil {
		return err
	}
	if n.allRunning() && n.setUp() {
		var orderers []string
		for j := 0; j < n.spec.Ordering.Orderers; j++ {
			orderers = append(orderers, OrdererName(j))
		}
		problems := n.ordererProblems(orderers)
		if len(problems) == 0 {
			n.say("network %s is already up (%s); nothing to do", n.spec.Name, n.home)
			return nil
		}
		// Every process runs but an orderer does not follow: the steps below wait
		// for it and restart it if it stays stuck.
		for _, o := range orderers {
			if p, ok := problems[o]; ok {
				n.say("%s runs but does not follow its cluster: %s", o, p)
			}
		}
	}
	if err := n.waitPorts(ctx); err != nil {
		return &StepError{Step: "check ports", Err: err}
	}
	before := map[string]bool{}
	for name, p := range n.state.Procs {
		if n.alive(p) {
			before[name] = true
		}
	}
	defer func() {
		if err == nil {
			return
		}
		n.say("  stopping the processes this run started")
		for name, p := range n.state.Procs {
			if !before[name] {
				_ = n.stopProc(p, 5*time.Second)
				delete(n.state.Procs, name)
			}
		}
		_ = n.saveState()
	}()

	steps := []struct {
		name string
		fn   func(context.Context) error
	}{
		{"render configuration", func(context.Context) error { return n.renderConfig() }},
		{"start Fabric CAs", n.upCAs},
		{"enroll identities from the CAs", n.upCrypto},
		{"create channel genesis blocks", n.upGenesis},
		{"start orderers", n.upOrderers},
		{"join orderers to channels", n.upOrdererJoin},
		{"wait for Raft leaders", n.waitRaftLeaders},
		{"wait for orderers to follow their clusters", n.waitOrderersFollow},
		{"add new organisations to the channels", n.upMembers},
		{"retire organisations", n.upRetire},
		{"change the ordering service", n.upOrdering},
		{"start peers", n.upPeers},
		{"join peers to channels", n.upPeerJoin},
		{"start chaincode servers", n.upChaincodeServers},
		{"deploy chaincodes", n.upDeploy},
		{"write connection file", func(context.Context) error { return n.writeConnectionFile() }},
		{"check chaincodes answer on every peer", n.upCheck},
	}
	for i, s := range steps {
		t := time.Now()
		n.say("[%2d/%d] %s", i+1, len(steps), s.name)
		if err := s.fn(ctx); err != nil {
			se := &StepError{Step: s.name, Err: err}
			var pe *procError
			if errors.As(err, &pe) {
				se.Log = pe.log
			} else {
				se.Log = filepath.Join(n.home, "logs")
			}
			return se
		}
		if d := time.Since(t); d > 200*time.Millisecond {
			n.say("        done in %.1fs", d.Seconds())
		}
	}
	if err := n.saveSpecSnapshot(); err != nil {
		return err
	}
	n.say("network %s ready in %.1fs; connection file: %s", n.spec.Name, time.Since(start).Seconds(), n.ConnectionFile())
	return nil
}

// setUp reports whether every set-up step is done for every organisation.
func (n *Network) setUp() bool {
	if !n.state.Steps[stepDeployed] {
		return false
	}
	for _, o := range n.spec.Active() {
		if !n.orgDone(stepCrypto, o) || !n.orgDone(stepDeployed, o) ||
			(slices.Contains(n.state.Added, o.Name) && !n.state.Steps[orgStep(stepMember, o)]) {
			return false
		}
	}
	for _, o := range n.spec.Organizations {
		if o.Retired && !n.state.Steps[orgStep(stepRetired, o)] {
			return false
		}
	}
	if n.state.Consenters != 0 && n.state.Consenters != n.spec.Ordering.Orderers {
		return false
	}
	return !n.state.RestartChaincodes
}

type procError struct {
	log string
	err error
}

func (e *procError) Error() string { return e.err.Error() }
func (e *procError) Unwrap() error { return e.err }

func (n *Network) checkBinaries() error {
	for _, b := range []string{"peer", "orderer", "configtxgen", "fabric-ca-server", "fabric-ca-client"} {
		if _, err := os.Stat(n.bin(b)); err != nil {
			return fmt.Errorf("fabric tool %s not found in %s: run `make tools` first", b, filepath.Join(n.tools, "bin"))
		}
	}
	if n.ccBin == "" {
		return errors.New("no chaincode server binary given")
	}
	if _, err := os.Stat(n.ccBin); err != nil {
		return fmt.Errorf("chaincode server binary: %w (run `make build`)", err)
	}
	return nil
}

func (n *Network) allRunning() bool {
	for _, name := range n.expectedProcs() {
		p, ok := n.state.Procs[name]
		if !ok || !n.alive(p) {
			return false
		}
	}
	return true
}

// PortWait bounds how long Up waits for a port of a stopped process to become free
// (a killed process's threads still exiting, someone's client socket on the port, a
// closed client connection in TIME_WAIT, which Linux keeps for 60s) before it fails
// naming the holder.
var PortWait = 75 * time.Second

// waitPorts waits, within PortWait, until every port of the processes that are down
// can be bound; then it fails naming each port still held and, if /proc tells, the
// process that holds it.
func (n *Network) waitPorts(ctx context.Context) error {
	deadline := time.Now().Add(PortWait)
	for {
		busy := n.foreignPorts()
		if len(busy) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			var held []string
			for _, b := range busy {
				s := fmt.Sprintf("%d (%s)", b.port, b.owner)
				if h := PortHolder(b.port); h != "" {
					s += " held by " + h
				}
				held = append(held, s)
			}
			return fmt.Errorf("ports already in use by other programs after waiting %s: %s", PortWait, strings.Join(held, ", "))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

type busyPort struct {
	port  int
	owner string
}

// foreignPorts lists the ports of processes that are down which cannot be bound
// (something listens on them or holds them as a client socket).
func (n *Network) foreignPorts() []busyPort {
	var busy []busyPort
	all := n.spec.AllPorts()
	ports := make([]int, 0, len(all))
	for p := range all {
		ports = append(ports, p)
	}
	sort.Ints(ports)
	for _, port := range ports {
		owner := all[port]
		proc := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(owner, " operations"), " admin"), " chaincode")
		if p, ok := n.state.Procs[proc]; ok && n.alive(p) {
			continue
		}
		host, netns := n.spec.placeOf(owner)
		if netns != "" {
			continue // another namespace: its ports cannot be checked from here
		}
		if portOpen(host, port) || !portBindable(host, port) {
			busy = append(busy, busyPort{port, owner})
		}
	}
	return busy
}

func (n *Network) upCAs(ctx context.Context) error {
	if !n.state.Steps[stepCrypto] {
		// A set-up that failed half-way leaves identities registered in the CA
		// databases; start the crypto over from nothing.
		for _, o := range n.spec.Organizations {
			if p, ok := n.state.Procs["ca."+o.Name]; ok {
				_ = n.stopProc(p, 5*time.Second)
				delete(n.state.Procs, "ca."+o.Name)
			}
		}
		if err := os.RemoveAll(filepath.Join(n.home, "orgs")); err != nil {
			return err
		}
	}
	for _, o := range n.spec.Active() {
		if n.state.Steps[stepCrypto] && !n.orgDone(stepCrypto, o) {
			// An organisation added live whose enrolment did not finish: start its
			// crypto over (its CA database holds the half-done registrations).
			if p, ok := n.state.Procs["ca."+o.Name]; ok {
				_ = n.stopProc(p, 5*time.Second)
				delete(n.state.Procs, "ca."+o.Name)
			}
			if err := os.RemoveAll(n.orgDir(o)); err != nil {
				return err
			}
		}
	}
	g, ctx := errgroup.WithContext(ctx)
	for _, o := range n.spec.Active() {
		name := "ca." + o.Name
		if err := n.startIfDown(name, func() error { return n.startCA(o) }); err != nil {
			return err
		}
		g.Go(func() error { return n.wrapLog(name, n.waitCA(ctx, o)) })
	}
	return g.Wait()
}

func (n *Network) startIfDown(name string, start func() error) error {
	if p, ok := n.state.Procs[name]; ok && n.alive(p) {
		return nil
	}
	n.say("        starting %s", name)
	return n.wrapLog(name, start())
}

func (n *Network) wrapLog(name string, err error) error {
	if err == nil {
		return nil
	}
	return &procError{log: filepath.Join(n.home, "logs", name+".log"), err: err}
}

func (n *Network) upCrypto(ctx context.Context) error {
	var todo []OrgSpec
	for _, o := range n.spec.Active() {
		if !n.orgDone(stepCrypto, o) {
			todo = append(todo, o)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	g, ctx := errgroup.WithContext(ctx)
	for _, o := range todo {
		g.Go(func() error { return n.enrollOrg(ctx, o) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	n.state.Steps[stepCrypto] = true
	for _, o := range todo {
		if slices.Contains(n.state.Added, o.Name) {
			n.state.Steps[orgStep(stepCrypto, o)] = true
		}
	}
	return n.saveState()
}

func (n *Network) upGenesis(context.Context) error {
	if n.state.Steps[stepGenesis] {
		return nil
	}
	if err := n.createGenesisBlocks(); err != nil {
		return err
	}
	n.state.Steps[stepGenesis] = true
	return n.saveState()
}

func (n *Network) upOrderers(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	for j := 0; j < n.liveOrderers(); j++ {
		name := OrdererName(j)
		if err := n.startIfDown(name, func() error {
			_, err := n.startProc(name, "orderer", n.bin("orderer"), nil, n.ordererEnv(j))
			return err
		}); err != nil {
			return err
		}
		url := fmt.Sprintf("http://%s/healthz", net.JoinHostPort(n.spec.OrdererHost(), itoa(n.spec.OrdererPorts(j).Operations)))
		g.Go(func() error {
			if err := n.waitHTTP(ctx, name, url, 60*time.Second); err != nil {
				return n.wrapLog(name, err)
			}
			return n.wrapLog(name, n.waitTCP(ctx, name, n.spec.OrdererHost(), n.spec.OrdererPorts(j).Admin))
		})
	}
	return g.Wait()
}

func (n *Network) upOrdererJoin(context.Context) error {
	for j := 0; j < n.liveOrderers(); j++ {
		for _, c := range n.spec.Channels {
			key := joinStep(OrdererName(j), c.Name)
			if n.state.Steps[key] {
				continue
			}
			if err := n.joinOrderer(j, c.Name); err != nil {
				return n.wrapLog(OrdererName(j), err)
			}
			n.state.Steps[key] = true
		}
	}
	return n.saveState()
}

func (n *Network) upPeers(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	for _, o := range n.spec.Active() {
		i := n.orgIndex(o)
		name := PeerName(o)
		if err := n.startIfDown(name, func() error {
			_, err := n.startProc(name, "peer", n.bin("peer"), []string{"node", "start"}, n.peerEnv(o))
			return err
		}); err != nil {
			return err
		}
		url := fmt.Sprintf("http://%s/healthz", net.JoinHostPort(n.spec.HostOf(o), itoa(n.spec.OrgPorts(i).PeerOperations)))
		g.Go(func() error {
			// The operations endpoint answers before the gRPC listener accepts.
			if err := n.waitHTTP(ctx, name, url, 60*time.Second); err != nil {
				return n.wrapLog(name, err)
			}
			return n.wrapLog(name, n.waitTCP(ctx, name, n.spec.HostOf(o), n.spec.OrgPorts(i).Peer))
		})
	}
	return g.Wait()
}

func (n *Network) upPeerJoin(ctx context.Context) error {
	g, _ := errgroup.WithContext(ctx)
	done := make(chan string, len(n.spec.Organizations)*len(n.spec.Channels))
	for _, o := range n.spec.Active() {
		g.Go(func() error {
			for _, c := range n.spec.Channels {
				key := joinStep(PeerName(o), c.Name)
				if n.state.Steps[key] {
					continue
				}
				if err := n.joinPeer(o, c.Name); err != nil {
					return n.wrapLog(PeerName(o), err)
				}
				done <- key
			}
			return nil
		})
	}
	err := g.Wait()
	close(done)
	for key := range done {
		n.state.Steps[key] = true
	}
	if serr := n.saveState(); err == nil {
		err = serr
	}
	return err
}

func (n *Network) upChaincodeServers(ctx context.Context) error {
	if n.state.RestartChaincodes {
		// A spec change altered the servers' environment: restart every one of them.
		for _, cc := range n.spec.Chaincodes {
			for _, o := range n.spec.Active() {
				if p, ok := n.state.Procs[ChaincodeServerName(cc.Name, o)]; ok {
					_ = n.stopProc(p, 5*time.Second)
					delete(n.state.Procs, ChaincodeServerName(cc.Name, o))
				}
			}
		}
		n.state.RestartChaincodes = false
	}
	g, ctx := errgroup.WithContext(ctx)
	for _, cc := range n.spec.Chaincodes {
		if n.state.PackageIDs[cc.Name] == nil {
			n.state.PackageIDs[cc.Name] = map[string]string{}
		}
		for _, o := range n.spec.Active() {
			i := n.orgIndex(o)
			id, err := n.buildPackage(cc, o)
			if err != nil {
				return err
			}
			n.state.PackageIDs[cc.Name][o.Name] = id
			name := ChaincodeServerName(cc.Name, o)
			if err := n.startIfDown(name, func() error { return n.startChaincodeServer(cc, o, id) }); err != nil {
				return err
			}
			port := n.spec.OrgPorts(i).Chaincode[cc.Name]
			g.Go(func() error { return n.wrapLog(name, n.waitTCP(ctx, name, n.spec.HostOf(o), port)) })
		}
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return n.saveState()
}

func (n *Network) upDeploy(ctx context.Context) error {
	if !n.state.Steps[stepDeployed] {
		if err := n.deployChaincodes(ctx); err != nil {
			return err
		}
		n.state.Steps[stepDeployed] = true
		if err := n.saveState(); err != nil {
			return err
		}
	}
	return n.deployAdded(ctx)
}

// writeConnectionFile writes the profile the gateway, the CLI and the tests read.
func (n *Network) writeConnectionFile() error {
	p := connfile.Profile{Name: n.spec.Name}
	for _, c := range n.spec.Channels {
		ch := connfile.Channel{Name: c.Name}
		for _, cc := range n.spec.Chaincodes {
			if cc.Channel == c.Name {
				ch.Chaincodes = append(ch.Chaincodes, connfile.Chaincode{Name: cc.Name, Version: cc.Version, Sequence: 1})
			}
		}
		p.Channels = append(p.Channels, ch)
	}
	for _, o := range n.spec.Active() {
		ports := n.spec.OrgPorts(n.orgIndex(o))
		org := connfile.Organization{
			Name: o.Name, MSPID: o.MSPID, Role: o.Role, Title: o.Title, IdentityAuthority: o.IdentityAuthority,
			Peer: connfile.Node{Name: PeerName(o), Endpoint: net.JoinHostPort(n.spec.HostOf(o), itoa(ports.Peer)), TLSRootCert: n.caCert(o)},
			CA: connfile.CA{Name: "ca-" + o.Name, URL: n.caURL(o), TLSCert: n.caCert(o),
				RegistrarID: "admin", RegistrarSecretFile: n.caSecret(o)},
		}
		for _, u := range append([]string{"admin"}, o.Users...) {
			role := "client"
			if u == "admin" {
				role = "admin"
			}
			msp := n.userMSP(o, u)
			org.Users = append(org.Users, connfile.User{Name: u, Role: role, MSPDir: msp,
				Cert: filepath.Join(msp, "signcerts", "cert.pem"), Key: filepath.Join(msp, "keystore", "key.pem")})
		}
		p.Organizations = append(p.Organizations, org)
	}
	op := n.spec.Operator()
	for j := 0; j < n.spec.Ordering.Orderers; j++ {
		p.Orderers = append(p.Orderers, connfile.Node{Name: OrdererName(j),
			Endpoint: net.JoinHostPort(n.spec.OrdererHost(), itoa(n.spec.OrdererPorts(j).Listen)), TLSRootCert: n.caCert(op)})
	}
	return p.Save(n.ConnectionFile())
}

// upCheck evaluates meta:Version of every chaincode on every peer through
// fabric-gateway, which also makes each peer connect to its chaincode servers.
func (n *Network) upCheck(ctx context.Context) error {
	prof, err := connfile.Load(n.ConnectionFile())
	if err != nil {
		return err
	}
	g, _ := errgroup.WithContext(ctx)
	for i := range prof.Organizations {
		org := &prof.Organizations[i]
		g.Go(func() error {
			conn, err := org.DialPeer()
			if err != nil {
				return err
			}
			defer conn.Close()
			gw, err := org.Connect(conn, "admin", 30*time.Second)
			if err != nil {
				return err
			}
			defer gw.Close()
			for _, cc := range n.spec.Chaincodes {
				// Evaluate reaches the peer's own chaincode server; endorsing (without
				// submitting) proves that discovery finds enough peers for the
				// endorsement policy, so the first real submit will not be refused.
				contract := gw.GetNetwork(cc.Channel).GetContractWithName(cc.Name, "meta")
				var last error
				for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
					if _, last = contract.Evaluate("Version"); last != nil {
						continue
					}
					var p *client.Proposal
					if p, last = contract.NewProposal("Put", client.WithArguments("readiness-probe", "")); last != nil {
						continue
					}
					if _, last = p.Endorse(); last == nil {
						break
					}
				}
				if last != nil {
					return n.wrapLog(ChaincodeServerName(cc.Name, n.spec.Organizations[i]),
						fmt.Errorf("chaincode %s on %s does not answer: %w", cc.Name, PeerName(n.spec.Organizations[i]), last))
				}
			}
			return nil
		})
	}
	return g.Wait()
}
