package network_test

import (
	"context"
	"errors"
	"fmt"
	"github.com/edossier-city/edossier/internal/syncbuf"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"

	"github.com/edossier-city/edossier/network"
	"github.com/edossier-city/edossier/network/nettest"
)

// Base ports of this package's networks; other packages use other ranges.
const (
	portLifecycle = 20000
	portRaft      = 20200
	portFailures  = 20400
	portWatch     = 20600
)

// submitPut writes key=value through meta:Put, retrying while the ordering service
// recovers (a restarted Raft orderer needs a few seconds to elect a leader).
func submitPut(t *testing.T, gw *client.Gateway, channel, chaincode, key, value string) {
	t.Helper()
	contract := gw.GetNetwork(channel).GetContractWithName(chaincode, "meta")
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, err := contract.SubmitTransaction("Put", key, value)
		if err == nil {
			return
		}
		var commitErr *client.CommitError
		if errors.As(err, &commitErr) || time.Now().After(deadline) {
			t.Fatalf("submit Put %s on %s: %v", key, channel, err)
		}
		t.Logf("submit on %s not yet accepted, retrying: %v", channel, err)
		time.Sleep(time.Second)
	}
}

func evaluateGet(t *testing.T, gw *client.Gateway, channel, chaincode, key string) string {
	t.Helper()
	b, err := gw.GetNetwork(channel).GetContractWithName(chaincode, "meta").EvaluateTransaction("Get", key)
	if err != nil {
		t.Fatalf("evaluate Get %s on %s: %v", key, channel, err)
	}
	return string(b)
}

func height(t *testing.T, gw *client.Gateway, channel string) uint64 {
	t.Helper()
	h, err := nettest.Height(gw, channel)
	if err != nil {
		t.Fatalf("height of %s: %v", channel, err)
	}
	return h
}

// waitHeight waits (bounded) until the gateway's peer has at least h blocks.
func waitHeight(t *testing.T, gw *client.Gateway, channel string, h uint64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for height(t, gw, channel) < h {
		if time.Now().After(deadline) {
			t.Fatalf("peer stuck below height %d on %s", h, channel)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func status(t *testing.T, n *nettest.Net) *network.Status {
	t.Helper()
	st, err := n.Status()
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestNetworkLifecycle brings a network up, uses both channels, survives SIGKILL of a
// peer and the orderer, resumes after down, and leaves no process behind.
func TestNetworkLifecycle(t *testing.T) {
	n := nettest.Start(t, nettest.Options{BasePort: portLifecycle})
	channels := map[string]string{"municipal": "dossier", "datashare": "sharing"}

	gw := n.Gateway(t, "civil", "clerk")
	for ch, cc := range channels {
		submitPut(t, gw, ch, cc, "k1", "v1-"+ch)
		if got := evaluateGet(t, gw, ch, cc, "k1"); got != "v1-"+ch {
			t.Fatalf("%s: Get k1 = %q, want %q", ch, got, "v1-"+ch)
		}
	}
	// Another organisation's peer sees the committed value (ordering and delivery work)
	// once it has the block: a commit status comes from the submitting peer only.
	gwHealth := n.Gateway(t, "health", "clerk")
	waitHeight(t, gwHealth, "municipal", height(t, gw, "municipal"))
	if got := evaluateGet(t, gwHealth, "municipal", "dossier", "k1"); got != "v1-municipal" {
		t.Fatalf("health peer: Get k1 = %q", got)
	}
	if v, err := gw.GetNetwork("municipal").GetContractWithName("dossier", "meta").EvaluateTransaction("Version"); err != nil || string(v) != "1.0" {
		t.Fatalf("meta:Version = %q, %v; want 1.0", v, err)
	}

	// Up on a running network changes nothing.
	pidsBefore, _ := n.PIDs()
	if err := n.Up(t.Context()); err != nil {
		t.Fatalf("second up: %v", err)
	}
	pidsAfter, _ := n.PIDs()
	if fmt.Sprint(pidsBefore) != fmt.Sprint(pidsAfter) {
		t.Fatalf("up on a running network changed processes:\nbefore %v\nafter  %v", pidsBefore, pidsAfter)
	}

	// SIGKILL a peer and the orderer; the tool restarts exactly those.
	hMunicipal := height(t, gw, "municipal")
	hDatashare := height(t, gw, "datashare")
	for _, p := range []string{"peer0.civil", "orderer0"} {
		if err := n.Kill(p); err != nil {
			t.Fatal(err)
		}
	}
	if st := status(t, n); st.Ready {
		t.Fatal("status reports ready with a killed peer and orderer")
	}
	if err := n.Up(t.Context()); err != nil {
		t.Fatalf("up after crash: %v", err)
	}
	pidsRestarted, _ := n.PIDs()
	for name, pid := range pidsBefore {
		restarted := pidsRestarted[name] != pid
		if want := name == "peer0.civil" || name == "orderer0"; restarted != want {
			t.Errorf("%s restarted=%v, want %v", name, restarted, want)
		}
	}
	gw = n.Gateway(t, "civil", "clerk")
	if h := height(t, gw, "municipal"); h < hMunicipal {
		t.Fatalf("municipal height after restart %d < %d before", h, hMunicipal)
	}
	if h := height(t, gw, "datashare"); h < hDatashare {
		t.Fatalf("datashare height after restart %d < %d before", h, hDatashare)
	}
	for ch, cc := range channels {
		submitPut(t, gw, ch, cc, "k2", "after-crash")
		if got := evaluateGet(t, gw, ch, cc, "k1"); got != "v1-"+ch {
			t.Fatalf("%s: k1 lost after crash: %q", ch, got)
		}
	}
	if h := height(t, gw, "municipal"); h <= hMunicipal {
		t.Fatalf("no new block committed after restart: height %d", h)
	}

	// Down stops every process and keeps the ledgers; up resumes them.
	hMunicipal = height(t, gw, "municipal")
	pids, _ := n.PIDs()
	if err := n.Down(); err != nil {
		t.Fatal(err)
	}
	for name, pid := range pids {
		if nettest.Running(pid) {
			t.Fatalf("%s (pid %d) still runs after down", name, pid)
		}
	}
	if err := n.Up(t.Context()); err != nil {
		t.Fatalf("up after down: %v", err)
	}
	// The peer that had hMunicipal blocks kept them on disk.
	if h := height(t, n.Gateway(t, "civil", "clerk"), "municipal"); h < hMunicipal {
		t.Fatalf("height after down/up %d < %d", h, hMunicipal)
	}
	gw = n.Gateway(t, "health", "clerk")
	waitHeight(t, gw, "municipal", hMunicipal)
	if got := evaluateGet(t, gw, "municipal", "dossier", "k2"); got != "after-crash" {
		t.Fatalf("k2 after down/up = %q", got)
	}
	submitPut(t, gw, "datashare", "sharing", "k3", "after-resume")
	if !status(t, n).Ready {
		t.Fatal("status not ready after resume")
	}
}

// TestRaftThreeOrderers shows that with three orderers transactions still commit when
// one of them (the Raft leader, the hardest case) is killed, and that the tool brings it
// back.
func TestRaftThreeOrderers(t *testing.T) {
	n := nettest.Start(t, nettest.Options{BasePort: portRaft, Orderers: 3})
	gw := n.Gateway(t, "health", "clerk")
	submitPut(t, gw, "municipal", "dossier", "a", "1")
	leader, ok := n.RaftLeaders()["municipal"]
	if !ok {
		t.Fatal("no Raft leader reported for municipal")
	}
	victim := network.OrdererName(leader)
	if err := n.Kill(victim); err != nil {
		t.Fatal(err)
	}
	h := height(t, gw, "municipal")
	submitPut(t, gw, "municipal", "dossier", "after-kill", "committed")
	submitPut(t, gw, "datashare", "sharing", "after-kill", "committed")
	if got := height(t, gw, "municipal"); got <= h {
		t.Fatalf("after killing %s: height %d, want > %d", victim, got, h)
	}
	if st := status(t, n); st.Ready {
		t.Fatalf("status ready with %s killed", victim)
	}
	if err := n.Up(t.Context()); err != nil {
		t.Fatalf("up after killing %s: %v", victim, err)
	}
	if !status(t, n).Ready {
		t.Fatal("not ready after up")
	}
	submitPut(t, gw, "municipal", "dossier", "after-restart", "committed")
	if got := evaluateGet(t, gw, "municipal", "dossier", "after-kill"); got != "committed" {
		t.Fatalf("Get = %q", got)
	}

	// An orderer that is up but does not follow (frozen by SIGSTOP while the others
	// order blocks) is reported unhealthy, and the network not ready.
	leaders := n.RaftLeaders()
	frozen := -1
	for j := 0; j < 3 && frozen < 0; j++ {
		if leaders["municipal"] != j && leaders["datashare"] != j {
			frozen = j
		}
	}
	if frozen < 0 {
		t.Fatalf("no orderer leads neither channel: %v", leaders)
	}
	name := network.OrdererName(frozen)
	pids, err := n.PIDs()
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pids[name], syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	cont := func() { _ = syscall.Kill(pids[name], syscall.SIGCONT) }
	defer cont()
	submitPut(t, gw, "municipal", "dossier", "while-frozen", "committed")
	st := status(t, n)
	if st.Ready {
		t.Fatalf("status ready with %s stopped (SIGSTOP)", name)
	}
	for _, p := range st.Processes {
		if p.Name == name && (!p.Running || p.Healthy || p.Problem == "") {
			t.Fatalf("%s stopped by SIGSTOP: running %v healthy %v problem %q; want running, unhealthy, with a problem", name, p.Running, p.Healthy, p.Problem)
		}
		if p.Name == name {
			t.Logf("%s: %s", name, p.Problem)
		}
		if p.Name != name && p.Running && !p.Healthy {
			t.Errorf("%s judged unhealthy: %s", p.Name, p.Problem)
		}
	}
	cont()
	deadline := time.Now().Add(60 * time.Second)
	for !status(t, n).Ready {
		if time.Now().After(deadline) {
			t.Fatalf("%s still not following 60s after SIGCONT: %+v", name, status(t, n).Processes)
		}
		time.Sleep(time.Second)
	}
}

// TestUpRefusesBusyPort: a port of the spec in use by another program stops up before
// anything starts, naming the port.
func TestUpRefusesBusyPort(t *testing.T) {
	n := nettest.New(t, nettest.Options{BasePort: portFailures})
	peerPort := n.Spec().OrgPorts(1).Peer
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", peerPort))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	old := network.PortWait
	network.PortWait = 2 * time.Second
	defer func() { network.PortWait = old }()
	err = n.Up(t.Context())
	if err == nil || !strings.Contains(err.Error(), fmt.Sprint(peerPort)) || !strings.Contains(err.Error(), "peer0.civil") {
		t.Fatalf("up with a busy port: err = %v, want one naming port %d (peer0.civil)", err, peerPort)
	}
	if pids, _ := n.PIDs(); len(pids) != 0 {
		t.Fatalf("processes started despite the busy port: %v", pids)
	}
}

// TestFailedUpStopsWhatItStarted: when a step fails, up says which step and where the
// log is, and stops every process it started.
func TestFailedUpStopsWhatItStarted(t *testing.T) {
	n := nettest.New(t, nettest.Options{BasePort: portFailures + 100})
	// A chaincode server that exits at once makes the "start chaincode servers" step fail.
	bad, err := network.New(network.Options{Spec: n.Spec(), Home: n.Home(), ToolsDir: nettest.ToolsDir(n.Root),
		ChaincodeBin: "/bin/false"})
	if err != nil {
		t.Fatal(err)
	}
	err = bad.Up(t.Context())
	var se *network.StepError
	if !errors.As(err, &se) {
		t.Fatalf("up with a failing chaincode server: err = %v, want a StepError", err)
	}
	if se.Step != "start chaincode servers" || !strings.Contains(se.Log, "cc-") {
		t.Fatalf("StepError = step %q log %q; want the chaincode step and its log", se.Step, se.Log)
	}
	if _, err := os.Stat(se.Log); err != nil {
		t.Fatalf("the named log does not exist: %v", err)
	}
	st, err := bad.Status()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range st.Processes {
		if p.Running || (p.PID != 0 && nettest.Running(p.PID)) {
			t.Errorf("%s still runs after the failed up", p.Name)
		}
	}
	// The same home then comes up with a working chaincode server.
	if err := n.Up(t.Context()); err != nil {
		t.Fatalf("up after the failed attempt: %v", err)
	}
}

// TestWatchRestartsCrashedProcesses: `network up --watch` restarts crashed processes
// by itself and logs each restart; beyond its restart budget it gives up with an error.
func TestWatchRestartsCrashedProcesses(t *testing.T) {
	n := nettest.Start(t, nettest.Options{BasePort: portWatch})
	ccBin, err := nettest.Binary(n.Root, "edossier-chaincode")
	if err != nil {
		t.Fatal(err)
	}
	var log syncbuf.Buffer
	w, err := network.New(network.Options{Spec: n.Spec(), Home: n.Home(), ToolsDir: nettest.ToolsDir(n.Root), ChaincodeBin: ccBin, Progress: &log})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- w.Watch(ctx, network.WatchOptions{Interval: 300 * time.Millisecond, MaxRestarts: 1, Window: time.Hour})
	}()
	for _, victim := range []string{"peer0.civil", "cc-dossier.health"} {
		if err := n.Kill(victim); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(2 * time.Minute)
	// Ready, and the supervisor's restart finished (its `up` checks every peer at the
	// end: a process killed before that would fail this restart instead).
	for !status(t, n).Ready || !strings.Contains(log.String(), "ready in") {
		if time.Now().After(deadline) {
			t.Fatalf("the supervisor did not restart the killed processes within 2 min; its log:\n%s", log.String())
		}
		time.Sleep(500 * time.Millisecond)
	}
	if !strings.Contains(log.String(), "restart 1: peer0.civil, cc-dossier.health not running") &&
		!strings.Contains(log.String(), "restart 1: cc-dossier.health, peer0.civil not running") &&
		!strings.Contains(log.String(), "restart 1: peer0.civil not running") {
		t.Fatalf("restart not logged:\n%s", log.String())
	}
	// The budget (1 restart per hour) is spent: the next crash ends the supervisor.
	if err := n.Kill("peer0.health"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "peer0.health down again after 1 restarts") {
			t.Fatalf("supervisor ended with %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatalf("the supervisor did not give up beyond its restart budget; its log:\n%s", log.String())
	}
	if err := n.Up(t.Context()); err != nil {
		t.Fatal(err)
	}
}
