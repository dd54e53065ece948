package nettest

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Host is one emulated host: a Linux network namespace with its own address on a
// bridge that the test creates in the root namespace (which reaches every host).
type Host struct {
	Netns string
	Addr  string
}

// Hosts creates count network namespaces, each with one veth pair into a fresh bridge
// and its own address on subnet 10.231.<subnet>.0/24 (the bridge is .1), and removes
// them all when the test ends. It needs root and iproute2; without root it skips (this
// tier is opt-in for non-root users), with root any failure fails the test.
func Hosts(t testing.TB, subnet, count int) []Host {
	t.Helper()
	skipShort(t)
	if os.Geteuid() != 0 {
		t.Skip("nettest: network namespaces need root (opt-in: run as root)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Fatalf("nettest: iproute2's ip not found: %v", err)
	}
	id := os.Getpid() % 100000
	bridge := fmt.Sprintf("edb%d", id)
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	net := fmt.Sprintf("10.231.%d", subnet)
	t.Cleanup(func() { _ = exec.Command("ip", "link", "del", bridge).Run() })
	run("link", "add", bridge, "type", "bridge")
	run("addr", "add", net+".1/24", "dev", bridge)
	run("link", "set", bridge, "up")
	hosts := make([]Host, count)
	for i := range hosts {
		h := Host{Netns: fmt.Sprintf("edn%d-%d", id, i), Addr: fmt.Sprintf("%s.%d", net, 10+i)}
		outer, inner := fmt.Sprintf("edv%dx%d", id, i), fmt.Sprintf("edw%dx%d", id, i)
		t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", h.Netns).Run() })
		run("netns", "add", h.Netns)
		run("link", "add", outer, "type", "veth", "peer", "name", inner)
		run("link", "set", inner, "netns", h.Netns)
		run("link", "set", outer, "master", bridge, "up")
		run("-n", h.Netns, "addr", "add", h.Addr+"/24", "dev", inner)
		run("-n", h.Netns, "link", "set", inner, "up")
		run("-n", h.Netns, "link", "set", "lo", "up")
		run("-n", h.Netns, "route", "add", "default", "via", net+".1")
		hosts[i] = h
	}
	return hosts
}
