// Package nettest starts a real Fabric network for tests: native CAs, orderers, peers
// and chaincode servers on 127.0.0.1, in a temporary folder, on a base port of the
// test's choosing, and removes it (checking that no process is left) when the test ends.
package nettest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"google.golang.org/protobuf/proto"

	"github.com/edossier-city/edossier/network"
	"github.com/edossier-city/edossier/network/connfile"
)

// Options adjust the default spec (network/network.yaml) for a test.
type Options struct {
	BasePort int // required: each test package uses its own range
	Orderers int // default 1
	// Mutate may change the spec further before it is validated.
	Mutate func(*network.Spec)
}

// Net is a running test network.
type Net struct {
	*network.Network
	Profile *connfile.Profile
	Root    string // repository root
}

// Root returns the repository root (the folder holding the product's go.mod).
func Root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.Contains(b, []byte("module github.com/edossier-city/edossier\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("nettest: repository root not found")
		}
		dir = parent
	}
}

// ToolsDir is where `make tools` put the Fabric binaries (EDOSSIER_TOOLS_DIR overrides).
func ToolsDir(root string) string {
	if d := os.Getenv("EDOSSIER_TOOLS_DIR"); d != "" {
		return d
	}
	return filepath.Join(root, ".edossier", "tools")
}

var (
	buildMu  sync.Mutex
	buildDir string
	built    = map[string]error{}
)

// Binary builds ./cmd/<name> of this repository once per test process and returns the
// binary's path. Only that command is built, so unrelated work in progress elsewhere
// cannot break a test.
func Binary(root, name string) (string, error) {
	buildMu.Lock()
	defer buildMu.Unlock()
	if buildDir == "" {
		d, err := os.MkdirTemp("", "edossier-bin-")
		if err != nil {
			return "", err
		}
		buildDir = d
	}
	path := filepath.Join(buildDir, name)
	if err, ok := built[name]; ok {
		return path, err
	}
	cmd := exec.Command("go", "build", "-o", path, "./cmd/"+name)
	cmd.Dir = root
	var err error
	if out, cerr := cmd.CombinedOutput(); cerr != nil {
		err = fmt.Errorf("go build ./cmd/%s: %v\n%s", name, cerr, out)
	}
	built[name] = err
	return path, err
}

// PortShift is added to every test network's base port: EDOSSIER_TEST_PORT_SHIFT (an
// integer, default 0) lets two checkouts run their real-network tests side by side on
// one machine. Shifted ports must stay below 32768 (the kernel's ephemeral range).
func PortShift(t testing.TB) int {
	s := os.Getenv("EDOSSIER_TEST_PORT_SHIFT")
	if s == "" {
		return 0
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < -19000 || n > 7000 {
		t.Fatalf("nettest: EDOSSIER_TEST_PORT_SHIFT=%q: want an integer in -19000..7000", s)
	}
	return n
}

// Spec returns the default spec adjusted by o.
func Spec(t testing.TB, root string, o Options) *network.Spec {
	t.Helper()
	spec, err := network.LoadSpec(filepath.Join(root, "network", "network.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	spec.Name = "test"
	spec.BasePort = o.BasePort + PortShift(t)
	if o.Orderers > 0 {
		spec.Ordering.Orderers = o.Orderers
	}
	if o.Mutate != nil {
		o.Mutate(spec)
	}
	if err := spec.Validate(); err != nil {
		t.Fatal(err)
	}
	return spec
}

// New prepares (but does not start) a network in a temporary folder.
//
// Under -short (the fast tier, `make test-unit`) it skips the test: this is the one
// place that decides that real-network tests do not run there. `make test` and CI run
// without -short, where a missing Fabric tool fails the test instead.
func New(t testing.TB, o Options) *Net {
	t.Helper()
	skipShort(t)
	if o.BasePort == 0 {
		t.Fatal("nettest: Options.BasePort is required")
	}
	root, err := Root()
	if err != nil {
		t.Fatal(err)
	}
	tools := ToolsDir(root)
	if _, err := os.Stat(filepath.Join(tools, "bin", "peer")); err != nil {
		t.Fatalf("nettest: Fabric tools missing in %s: run `make tools` (make test does)", tools)
	}
	ccBin, err := Binary(root, "edossier-chaincode")
	if err != nil {
		t.Fatal(err)
	}
	home, err := os.MkdirTemp("", "edossier-net-")
	if err != nil {
		t.Fatal(err)
	}
	n, err := network.New(network.Options{
		Spec: Spec(t, root, o), Home: home, ToolsDir: tools, ChaincodeBin: ccBin, Progress: testWriter{t},
	})
	if err != nil {
		t.Fatal(err)
	}
	net := &Net{Network: n, Root: root}
	t.Cleanup(func() { net.teardown(t) })
	return net
}

// Start prepares a network and brings it up.
func Start(t testing.TB, o Options) *Net {
	t.Helper()
	n := New(t, o)
	start := time.Now()
	if err := n.Up(t.Context()); err != nil {
		t.Fatalf("network up: %v", err)
	}
	t.Logf("network ready in %s", time.Since(start).Round(time.Millisecond))
	n.Reload(t)
	return n
}

// Reload rereads the connection file.
func (n *Net) Reload(t testing.TB) {
	t.Helper()
	p, err := connfile.Load(n.ConnectionFile())
	if err != nil {
		t.Fatal(err)
	}
	n.Profile = p
}

// teardown removes the network and fails the test if any of its processes survived.
func (n *Net) teardown(t testing.TB) {
	if t.Failed() {
		// Keep the processes' logs of a failed test; everything else goes.
		kept, err := os.MkdirTemp("", "edossier-failed-logs-")
		if err == nil {
			err = os.CopyFS(kept, os.DirFS(filepath.Join(n.Home(), "logs")))
		}
		if err != nil {
			t.Logf("nettest: keeping the logs failed: %v", err)
		} else {
			t.Logf("nettest: the network's logs are kept in %s", kept)
		}
	}
	pids, _ := n.PIDs()
	if err := n.Clean(); err != nil {
		t.Errorf("network clean: %v", err)
	}
	for name, pid := range pids {
		if Running(pid) {
			t.Errorf("process %s (pid %d) still runs after clean", name, pid)
		}
	}
}

// Running reports whether a process with this PID exists and is not a zombie.
func Running(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || i+2 >= len(b) || (b[i+2] != 'Z' && b[i+2] != 'X')
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

// Gateway connects the organisation's user to its peer through fabric-gateway; the
// connection is closed when the test ends.
func (n *Net) Gateway(t testing.TB, org, user string) *client.Gateway {
	t.Helper()
	o, err := n.Profile.Org(org)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := o.DialPeer()
	if err != nil {
		t.Fatal(err)
	}
	gw, err := o.Connect(conn, user, 30*time.Second)
	if err != nil {
		conn.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { gw.Close(); conn.Close() })
	return gw
}

// Height returns the block height of a channel as the given gateway's peer sees it.
func Height(gw *client.Gateway, channel string) (uint64, error) {
	b, err := gw.GetNetwork(channel).GetContract("qscc").EvaluateTransaction("GetChainInfo", channel)
	if err != nil {
		return 0, err
	}
	var info common.BlockchainInfo
	if err := proto.Unmarshal(b, &info); err != nil {
		return 0, err
	}
	return info.GetHeight(), nil
}

// skipShort skips a real-network test in the -short tier (make test-unit); every such
// test reaches it through New or Hosts.
func skipShort(t testing.TB) {
	t.Helper()
	if testing.Short() {
		t.Skip("nettest: real Fabric network; not in the -short tier (run make test)")
	}
}
