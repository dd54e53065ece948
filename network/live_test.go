package network_test

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/edossier-city/edossier/network"
	"github.com/edossier-city/edossier/network/nettest"
)

// portLive is the base port of TestAddDepartmentsLive (7 organisations: 24700-24809).
const portLive = 24700

// TestAddDepartmentsLive grows a running network by two departments: `up` with the
// longer spec adds them to both channels by configuration updates, starts their peers
// and chaincode servers and approves the chaincodes for them, without touching the
// ledgers. The new departments then write and read on both channels, the old data is
// still there, every peer ends at the same height, and a spec change that cannot be
// applied live is refused before anything changes.
func TestAddDepartmentsLive(t *testing.T) {
	n := nettest.Start(t, nettest.Options{BasePort: portLive})
	channels := map[string]string{"municipal": "dossier", "datashare": "sharing"}
	civil := n.Gateway(t, "civil", "clerk")
	for ch, cc := range channels {
		submitPut(t, civil, ch, cc, "before", "v-"+ch)
	}
	pidsBefore, err := n.PIDs()
	if err != nil {
		t.Fatal(err)
	}

	grown := *n.Spec()
	grown.Organizations = append(append([]network.OrgSpec(nil), n.Spec().Organizations...),
		network.OrgSpec{Name: "education", MSPID: "EducationMSP", Role: network.RoleDepartment, Title: "Education Bureau", Users: []string{"clerk"}},
		network.OrgSpec{Name: "transport", MSPID: "TransportMSP", Role: network.RoleDepartment, Title: "Transport Bureau", Users: []string{"clerk"}},
	)
	live := reopen(t, n, &grown)
	if err := live.Up(t.Context()); err != nil {
		t.Fatalf("up with two added departments: %v", err)
	}
	n.Network = live
	n.Reload(t)

	// Nothing that ran before was restarted: the change is live.
	pidsAfter, _ := n.PIDs()
	for name, pid := range pidsBefore {
		if pidsAfter[name] != pid {
			t.Errorf("%s was restarted by the live change (pid %d -> %d)", name, pid, pidsAfter[name])
		}
	}
	for _, p := range []string{"peer0.education", "peer0.transport"} {
		if _, ok := pidsAfter[p]; !ok {
			t.Errorf("%s does not run after the change", p)
		}
	}

	// The new departments endorse, submit and read on both channels; with seven
	// organisations the majority endorsement policy needs four of them.
	for _, org := range []string{"education", "transport"} {
		gw := n.Gateway(t, org, "clerk")
		for ch, cc := range channels {
			waitHeight(t, gw, ch, height(t, civil, ch))
			if got := evaluateGet(t, gw, ch, cc, "before"); got != "v-"+ch {
				t.Fatalf("%s reads %q on %s, want the value written before it joined", org, got, ch)
			}
			submitPut(t, gw, ch, cc, "from-"+org, org)
		}
	}
	// An old department sees what the new ones wrote.
	for ch, cc := range channels {
		waitHeight(t, civil, ch, height(t, n.Gateway(t, "transport", "clerk"), ch))
		if got := evaluateGet(t, civil, ch, cc, "from-education"); got != "education" {
			t.Fatalf("civil reads %q for education's write on %s", got, ch)
		}
	}
	// Every peer ends at the same height.
	for ch := range channels {
		want := height(t, civil, ch)
		for _, o := range n.Spec().Active() {
			gw := n.Gateway(t, o.Name, "admin")
			waitHeight(t, gw, ch, want)
		}
	}

	// Up again: nothing to do.
	if err := n.Up(t.Context()); err != nil {
		t.Fatalf("up after the change: %v", err)
	}
	if again, _ := n.PIDs(); fmt.Sprint(again) != fmt.Sprint(pidsAfter) {
		t.Fatalf("a second up changed processes:\nbefore %v\nafter  %v", pidsAfter, again)
	}

	// Transport leaves: marked retired, it is removed from both channels and its
	// processes stop; the others keep writing (a majority of six), what it wrote stays
	// readable, and its identity is refused by every remaining peer.
	before := n.Profile
	retiring := *n.Spec()
	retiring.Organizations = append([]network.OrgSpec(nil), n.Spec().Organizations...)
	retiring.Organizations[6].Retired = true
	live = reopen(t, n, &retiring)
	if err := live.Up(t.Context()); err != nil {
		t.Fatalf("up with transport retired: %v", err)
	}
	if got := live.RetiredNow(); fmt.Sprint(got) != "[transport]" {
		t.Errorf("RetiredNow = %v, want [transport]", got)
	}
	n.Network = live
	n.Reload(t)
	if _, err := n.Profile.Org("transport"); err == nil {
		t.Error("the connection file still lists the retired organisation")
	}
	pidsRetired, _ := n.PIDs()
	for _, p := range []string{"peer0.transport", "ca.transport", "cc-dossier.transport", "cc-sharing.transport"} {
		if pid, ok := pidsRetired[p]; ok || nettest.Running(pidsAfter[p]) {
			t.Errorf("%s still runs after retirement (pid %d)", p, pid)
		}
	}
	for name, pid := range pidsAfter {
		if !strings.HasSuffix(name, ".transport") && pidsRetired[name] != pid {
			t.Errorf("retiring transport restarted %s", name)
		}
	}
	for ch, cc := range channels {
		submitPut(t, civil, ch, cc, "after-retire", "still-writing")
		if got := evaluateGet(t, civil, ch, cc, "from-transport"); got != "transport" {
			t.Fatalf("transport's earlier write on %s reads %q after it retired", ch, got)
		}
	}
	civilOrg, err := before.Org("civil")
	if err != nil {
		t.Fatal(err)
	}
	transportOrg, err := before.Org("transport")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := civilOrg.DialPeer()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ghost, err := transportOrg.Connect(conn, "clerk", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer ghost.Close()
	for ch, cc := range channels {
		if _, err := ghost.GetNetwork(ch).GetContractWithName(cc, "meta").SubmitTransaction("Put", "ghost", "x"); err == nil {
			t.Errorf("a retired organisation's identity still submits on %s", ch)
		}
		if _, err := ghost.GetNetwork(ch).GetContractWithName(cc, "meta").EvaluateTransaction("Get", "before"); err == nil {
			t.Errorf("a retired organisation's identity still reads on %s", ch)
		}
	}

	// The ordering service grows from one orderer to three, then shrinks to two, live:
	// one Raft membership change at a time on both channels.
	for _, count := range []int{3, 2} {
		s := *n.Spec()
		s.Ordering.Orderers = count
		live = reopen(t, n, &s)
		if err := live.Up(t.Context()); err != nil {
			t.Fatalf("up with %d orderers: %v", count, err)
		}
		n.Network = live
		n.Reload(t)
		for ch, cc := range channels {
			submitPut(t, civil, ch, cc, fmt.Sprintf("orderers-%d", count), "ok")
		}
		st := status(t, n)
		if !st.Ready {
			t.Fatalf("not ready with %d orderers: %+v", count, st.Processes)
		}
		leaders := n.RaftLeaders()
		for ch := range channels {
			if l, ok := leaders[ch]; !ok || l >= count {
				t.Fatalf("with %d orderers, %s has leader %d (%v)", count, ch, l, ok)
			}
		}
		if len(n.Profile.Orderers) != count {
			t.Fatalf("connection file lists %d orderers, want %d", len(n.Profile.Orderers), count)
		}
	}
	pids, _ := n.PIDs()
	if _, ok := pids["orderer2"]; ok {
		t.Fatal("orderer2 still runs after the ordering service shrank to two")
	}
	if pids["orderer0"] != pidsRetired["orderer0"] {
		t.Error("growing the ordering service restarted orderer0")
	}
	pidsAfter = pids

	// A change that cannot be applied live is refused before anything is touched.
	for name, edit := range map[string]func(*network.Spec){
		"remove a department":  func(s *network.Spec) { s.Organizations = s.Organizations[:len(s.Organizations)-1] },
		"insert in the middle": func(s *network.Spec) { s.Organizations[4], s.Organizations[5] = s.Organizations[5], s.Organizations[4] },
		"un-retire":            func(s *network.Spec) { s.Organizations[6].Retired = false },
		"change a channel":     func(s *network.Spec) { s.Channels[0].MaxMessageCount++ },
		"change Raft ticks":    func(s *network.Spec) { s.Ordering.TickInterval.Duration *= 2 },
	} {
		bad := *n.Spec()
		bad.Organizations = append([]network.OrgSpec(nil), n.Spec().Organizations...)
		bad.Channels = append([]network.ChannelSpec(nil), n.Spec().Channels...)
		edit(&bad)
		err := reopen(t, n, &bad).Up(t.Context())
		if !errors.Is(err, network.ErrSpecChange) || !strings.Contains(err.Error(), "network clean") {
			t.Errorf("%s: up = %v, want a refusal (ErrSpecChange) naming the way out", name, err)
		}
		if now, _ := n.PIDs(); fmt.Sprint(now) != fmt.Sprint(pidsAfter) {
			t.Fatalf("%s: the refused change touched processes", name)
		}
	}
	if err := n.Up(t.Context()); err != nil {
		t.Fatalf("up with the running spec after refusals: %v", err)
	}
	// Every running peer ends at the same height.
	for ch := range channels {
		want := height(t, civil, ch)
		for _, o := range n.Spec().Active() {
			waitHeight(t, n.Gateway(t, o.Name, "admin"), ch, want)
		}
	}
}

// reopen drives the network in n's home with another spec.
func reopen(t *testing.T, n *nettest.Net, spec *network.Spec) *network.Network {
	t.Helper()
	ccBin, err := nettest.Binary(n.Root, "edossier-chaincode")
	if err != nil {
		t.Fatal(err)
	}
	nw, err := network.New(network.Options{Spec: spec, Home: n.Home(), ToolsDir: nettest.ToolsDir(n.Root),
		ChaincodeBin: ccBin, Progress: os.Stderr})
	if err != nil {
		t.Fatal(err)
	}
	return nw
}
