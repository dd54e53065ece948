package network

import (
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// TestWaitPortsNamesClientSocketHolder: a port of the spec held by someone's client
// socket (not a listener: a dial to it is refused, so the old check let it through
// and the process then failed with "bind: address already in use") is waited for
// within PortWait, then refused naming the port, its owner and the holding process.
func TestWaitPortsNamesClientSocketHolder(t *testing.T) {
	spec, err := ParseSpec([]byte(goodSpec))
	if err != nil {
		t.Fatal(err)
	}
	// Put the spec's ports on free ports below the ephemeral range.
	spec.BasePort = freeBase(t, spec)
	n, err := New(Options{Spec: spec, Home: t.TempDir(), ToolsDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.loadState(); err != nil {
		t.Fatal(err)
	}
	if err := n.waitPorts(t.Context()); err != nil {
		t.Fatalf("free ports refused: %v", err)
	}

	// A client socket whose local port is the civil peer's port.
	srv, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		if c, err := srv.Accept(); err == nil {
			accepted <- c
		}
	}()
	port := spec.OrgPorts(1).Peer
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}}
	conn, err := d.Dial("tcp", srv.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if portOpen("127.0.0.1", port) {
		t.Fatal("test premise: the client socket's port does not accept connections")
	}

	old := PortWait
	PortWait = 500 * time.Millisecond
	defer func() { PortWait = old }()
	err = n.waitPorts(t.Context())
	if err == nil {
		t.Fatal("a port held by a client socket was accepted")
	}
	want := fmt.Sprintf("%d (peer0.civil) held by pid %d", port, os.Getpid())
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q does not name %q", err, want)
	}

	// Freed within the wait: accepted. The far end closes first, so the client socket
	// does not linger in TIME_WAIT.
	go func() {
		time.Sleep(200 * time.Millisecond)
		(<-accepted).Close()
		time.Sleep(100 * time.Millisecond)
		conn.Close()
	}()
	PortWait = 20 * time.Second
	if err := n.waitPorts(t.Context()); err != nil {
		t.Fatalf("a port freed during the wait was refused: %v", err)
	}
}

// freeBase finds a base port below 32768 whose whole span is free now.
func freeBase(t *testing.T, s *Spec) int {
	t.Helper()
	for base := 17000 + os.Getpid()%2000*5; base < 32000; base += 97 {
		s.BasePort = base
		ok := true
		for p := range s.AllPorts() {
			if !portBindable("127.0.0.1", p) {
				ok = false
				break
			}
		}
		if ok {
			return base
		}
	}
	t.Skip("no free port span")
	return 0
}
