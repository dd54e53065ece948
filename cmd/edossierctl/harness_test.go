package main

// Test harness: a real Fabric network (network/nettest) with a real gateway process on
// it, in the demo configuration (operator key, one key per department, demo record
// types and accreditations), and helpers to run edossierctl in-process or as a binary.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edossier-city/edossier/network/nettest"
)

// cliEnv is a running network + gateway for the CLI tests.
type cliEnv struct {
	n       *nettest.Net
	url     string
	dir     string // scratch folder of the test
	ctlBin  string // built edossierctl binary
	keys    demoKeys
	keyFile string // the gateway's demo keys file
	// API key files, one per demo user: operator, civil, health, social.
	keyFiles map[string]string
}

type demoKeys struct {
	Gateway     string            `json:"gateway"`
	Operator    string            `json:"operator"`
	Departments map[string]string `json:"departments"`
}

// startCLIEnv starts a network on basePort (this package uses 23000-23400) and a
// gateway process on it; both are stopped when t ends.
func startCLIEnv(t *testing.T, basePort int) *cliEnv {
	t.Helper()
	start := time.Now()
	n := nettest.Start(t, nettest.Options{BasePort: basePort})
	gwBin, err := nettest.Binary(n.Root, "edossier-gateway")
	if err != nil {
		t.Fatal(err)
	}
	ctlBin, err := nettest.Binary(n.Root, "edossierctl")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "gateway")
	keysFile := filepath.Join(data, "demo-keys.json")
	listen := n.GatewayAddr(t, 0)
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "gateway.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(gwBin,
		"-listen", listen, "-connectionFile", n.ConnectionFile(), "-dataDir", data,
		"-kekFile", filepath.Join(data, "secrets", "kek.hex"),
		"-subjectSecretFile", filepath.Join(data, "secrets", "subject-secret.hex"),
		"-demoKeysFile", keysFile, "-logFormat", "text", "-logLevel", "warn",
		"-verifyRate", "1000", "-verifyBurst", "1000", "-orphanGrace", "1s")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); logFile.Close() }()
	dumpLog := func() {
		if b, err := os.ReadFile(logPath); err == nil {
			if len(b) > 8000 {
				b = b[len(b)-8000:]
			}
			t.Logf("gateway log (tail):\n%s", b)
		}
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
			t.Errorf("gateway did not stop within 30 s of SIGTERM")
		}
		if t.Failed() {
			dumpLog()
		}
	})
	e := &cliEnv{n: n, url: "http://" + listen, dir: dir, ctlBin: ctlBin, keyFile: keysFile, keyFiles: map[string]string{}}
	hc := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		resp, err := hc.Get(e.url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case err := <-exited:
			dumpLog()
			t.Fatalf("gateway exited before it was ready: %v", err)
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			dumpLog()
			t.Fatal("gateway not ready after 3 minutes")
		}
	}
	b, err := os.ReadFile(keysFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &e.keys); err != nil {
		t.Fatal(err)
	}
	all := map[string]string{"operator": e.keys.Operator}
	for org, k := range e.keys.Departments {
		all[org] = k
	}
	for _, who := range []string{"operator", "civil", "health", "social", "police"} {
		if all[who] == "" {
			t.Fatalf("demo keys file has no key for %s", who)
		}
		p := filepath.Join(dir, who+".key")
		if err := os.WriteFile(p, []byte(all[who]+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		e.keyFiles[who] = p
	}
	t.Logf("network and gateway ready at %s in %s", e.url, time.Since(start).Round(time.Millisecond))
	return e
}

// result is the outcome of one edossierctl run.
type result struct {
	args           []string
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("edossierctl %s\nexit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(r.args, " "), r.code, r.stdout, r.stderr)
}

// ctl runs edossierctl in-process against the environment's gateway.
func (e *cliEnv) ctl(t *testing.T, args ...string) result {
	t.Helper()
	return e.ctlIn(t, nil, args...)
}

// ctlIn is ctl with standard input.
func (e *cliEnv) ctlIn(t *testing.T, stdin io.Reader, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	code := runIO(ctx, args, stdin, &out, &errOut)
	return result{args: args, code: code, stdout: out.String(), stderr: errOut.String()}
}

// as returns the flag that authenticates as a demo user.
func (e *cliEnv) as(who string) string { return "--api-key-file=" + e.keyFiles[who] }

// ok runs edossierctl and fails the test unless it exits 0.
func (e *cliEnv) ok(t *testing.T, args ...string) result {
	t.Helper()
	r := e.ctl(t, args...)
	if r.code != 0 {
		t.Fatalf("want exit 0:\n%s", r)
	}
	return r
}

// fails runs edossierctl and checks its exit code and that stderr holds want.
func (e *cliEnv) fails(t *testing.T, code int, want string, args ...string) result {
	t.Helper()
	r := e.ctl(t, args...)
	if r.code != code {
		t.Fatalf("want exit %d:\n%s", code, r)
	}
	if want != "" && !strings.Contains(r.stderr, want) {
		t.Fatalf("stderr does not contain %q:\n%s", want, r)
	}
	return r
}

// okJSON runs edossierctl with -o json and decodes standard output into v.
func (e *cliEnv) okJSON(t *testing.T, v any, args ...string) result {
	t.Helper()
	r := e.ok(t, append(args, "-o", "json")...)
	if err := json.Unmarshal([]byte(r.stdout), v); err != nil {
		t.Fatalf("decoding JSON output: %v\n%s", err, r)
	}
	return r
}

// killImportMidway runs the edossierctl binary with args, waits until done() (what its
// checkpoint holds, in units) reaches want, kills it with SIGKILL and returns done()
// after the kill. The test fails if the import ends first or is not there within d.
func (e *cliEnv) killImportMidway(t *testing.T, args []string, done func() int, want int, units string, within time.Duration) int {
	t.Helper()
	cmd := exec.Command(e.ctlBin, args...)
	var firstErr bytes.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &firstErr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(within)
	for done() < want {
		select {
		case err := <-exited:
			t.Fatalf("the import ended (%v) before it could be killed: make the manifest larger\n%s", err, firstErr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-exited
			t.Fatalf("fewer than %d %s after %v\n%s", want, units, within, firstErr.String())
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-exited
	killedAt := done()
	t.Logf("SIGKILL after %d checkpointed %s", killedAt, units)
	return killedAt
}

// importJSON runs an import (args end with the manifest) in-process with -o json, fails
// the test unless it exits 0, and decodes the summary.
func (e *cliEnv) importJSON(t *testing.T, args []string) (importSummary, result) {
	t.Helper()
	n := len(args) - 1
	r := e.ok(t, append(args[:n:n], "-o", "json", args[n])...)
	var sum importSummary
	if err := json.Unmarshal([]byte(r.stdout), &sum); err != nil {
		t.Fatalf("summary: %v\n%s", err, r)
	}
	return sum, r
}

// personID returns a valid 18-character PRC resident ID number (ISO 7064 MOD 11-2).
// The tutorial uses personID(123); the other tests use other numbers.
func personID(seq int) string {
	body := fmt.Sprintf("11010120261120%03d", seq%1000)
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		sum += int(body[i]-'0') * w
	}
	return body + string("10X98765432"[sum%11])
}
