package network_test

import (
	"net"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/edossier-city/edossier/network"
	"github.com/edossier-city/edossier/network/nettest"
)

// portNetns is the base port of TestNetworkAcrossNamespaces (20900-20989).
const portNetns = 20900

// TestNetworkAcrossNamespaces runs every organisation in its own Linux network
// namespace with its own address (veth pairs on a bridge the test creates and
// removes): CAs, peers, chaincode servers and the orderers each listen only on their
// host's address, certificates name it, and the organisations write and read across
// the hosts on both channels. Needs root (skipped otherwise).
func TestNetworkAcrossNamespaces(t *testing.T) {
	spec := nettest.Spec(t, mustRoot(t), nettest.Options{BasePort: portNetns})
	hosts := nettest.Hosts(t, 9, len(spec.Organizations))
	n := nettest.Start(t, nettest.Options{BasePort: portNetns, Mutate: func(s *network.Spec) {
		for i := range s.Organizations {
			s.Organizations[i].Host, s.Organizations[i].Netns = hosts[i].Addr, hosts[i].Netns
		}
	}})
	channels := map[string]string{"municipal": "dossier", "datashare": "sharing"}

	// Every process runs in its organisation's namespace.
	pids, err := n.PIDs()
	if err != nil {
		t.Fatal(err)
	}
	nsOf := map[string]string{}
	for i, o := range n.Spec().Organizations {
		for _, p := range []string{"ca." + o.Name, network.PeerName(o), "cc-dossier." + o.Name, "cc-sharing." + o.Name} {
			nsOf[p] = hosts[i].Netns
		}
	}
	nsOf["orderer0"] = hosts[0].Netns // the operator's host
	for name, want := range nsOf {
		if got, want := netnsInode(t, "/proc/"+strconv.Itoa(pids[name])+"/ns/net"), netnsInode(t, "/run/netns/"+want); got != want {
			t.Errorf("%s does not run in its organisation's namespace", name)
		}
	}
	// A peer listens on its host's address only, not on this host's loopback.
	civil := n.Spec().Organizations[1]
	peerPort := n.Spec().OrgPorts(1).Peer
	if c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(peerPort)), time.Second); err == nil {
		c.Close()
		t.Errorf("peer0.civil answers on 127.0.0.1:%d; want only %s", peerPort, civil.Host)
	}

	// Writes and reads across the hosts: each department writes, another reads.
	for _, org := range []string{"civil", "health"} {
		gw := n.Gateway(t, org, "clerk")
		for ch, cc := range channels {
			submitPut(t, gw, ch, cc, "from-"+org, org)
		}
	}
	social := n.Gateway(t, "social", "clerk")
	for ch, cc := range channels {
		waitHeight(t, social, ch, height(t, n.Gateway(t, "health", "clerk"), ch))
		for _, org := range []string{"civil", "health"} {
			if got := evaluateGet(t, social, ch, cc, "from-"+org); got != org {
				t.Fatalf("social reads %q for %s's write on %s", got, org, ch)
			}
		}
	}
	if !status(t, n).Ready {
		t.Fatal("status not ready")
	}
}

func mustRoot(t *testing.T) string {
	t.Helper()
	root, err := nettest.Root()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func netnsInode(t *testing.T, path string) uint64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}
