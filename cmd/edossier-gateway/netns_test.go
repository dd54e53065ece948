package main

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/edossier-city/edossier/internal/syncbuf"
	"github.com/edossier-city/edossier/network"
	"github.com/edossier-city/edossier/network/nettest"
)

// netnsBasePort is the network of TestGatewayAcrossNamespaces (22400-22489; the
// gateway listens on 22495 in its own namespace).
const netnsBasePort = 22400

// TestGatewayAcrossNamespaces is the multi-host proof: every organisation runs in its
// own Linux network namespace with its own address (nettest.Hosts: veth pairs on a
// bridge the test creates and removes), and the gateway binary runs in another one.
// Through the gateway, health appends a record with its file, the identity authority
// binds the citizen's key, the citizen grants social security, social security reads
// the file (bytes equal), and a verifier checks it: every call crosses hosts. Needs
// root (skipped otherwise).
func TestGatewayAcrossNamespaces(t *testing.T) {
	root, err := nettest.Root()
	if err != nil {
		t.Fatal(err)
	}
	orgs := len(nettest.Spec(t, root, nettest.Options{BasePort: netnsBasePort}).Organizations)
	hosts := nettest.Hosts(t, 10, orgs+1)
	n := nettest.Start(t, nettest.Options{BasePort: netnsBasePort, Mutate: func(s *network.Spec) {
		for i := range s.Organizations {
			s.Organizations[i].Host, s.Organizations[i].Netns = hosts[i].Addr, hosts[i].Netns
		}
	}})
	gwHost := hosts[orgs]

	bin := filepath.Join(t.TempDir(), "edossier-gateway")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	dir := t.TempDir()
	keysFile := filepath.Join(dir, "keys.json")
	addr := net.JoinHostPort(gwHost.Addr, strconv.Itoa(netnsBasePort+95))
	logs := &syncbuf.Buffer{}
	cmd := exec.Command("ip", "netns", "exec", gwHost.Netns, bin, "-listen", addr, "-connectionFile", n.ConnectionFile(),
		"-dataDir", filepath.Join(dir, "gateway"), "-kekFile", filepath.Join(dir, "secrets", "kek.hex"),
		"-subjectSecretFile", filepath.Join(dir, "secrets", "subject.hex"), "-demoKeysFile", keysFile,
		"-logFormat", "text", "-logLevel", "warn")
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	e := &env{t: t, n: n, url: "http://" + addr, http: &http.Client{Timeout: 2 * time.Minute}, snap: n.Gateway(t, "operator", "ops")}
	if err := waitReady(e.http, e.url, 2*time.Minute, nil); err != nil {
		t.Fatalf("gateway in namespace %s: %v\n%s", gwHost.Netns, err, logs.String())
	}
	b, err := os.ReadFile(keysFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &e.keys); err != nil {
		t.Fatal(err)
	}
	// The gateway runs in its own namespace: not reachable on this host's loopback.
	if inode(t, "/proc/"+strconv.Itoa(cmd.Process.Pid)+"/ns/net") != inode(t, "/run/netns/"+gwHost.Netns) {
		t.Fatal("the gateway does not run in its namespace")
	}
	if c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(netnsBasePort+95)), time.Second); err == nil {
		c.Close()
		t.Fatal("the gateway answers on 127.0.0.1")
	}

	health, social := e.keys.Departments["health"], e.keys.Departments["social"]
	baby := newCitizen(t, e.resolve(health, personID(41)))
	e.bindKey(baby)
	birth := []byte("%PDF-1.7 birth medical certificate, appended across hosts\n")
	r := e.appendRecord(health, baby.subjectID, "birth-medical-certificate", "", birth, "")
	expectStatus(t, r, 201)
	var rec recordResult
	r.json(t, &rec)
	now := time.Now()
	purpose := "social-insurance-enrolment"
	r = e.do(e.signed(baby, "POST", "/v1/dossiers/"+baby.subjectID+"/grants",
		baby.grant(t, "g-netns", "SocialSecurityMSP", purpose, []string{"birth-medical-certificate"}, now.Add(-time.Minute), now.Add(time.Hour)), now))
	expectStatus(t, r, 201)
	r = e.jsonCall("GET", "/v1/records/"+rec.Record.RecordID+"/content?grantId=g-netns&purpose="+purpose, social, nil)
	expectStatus(t, r, 200)
	if !bytes.Equal(r.body, birth) {
		t.Fatalf("social read %q, want %q", r.body, birth)
	}
	body, ct := multipartBody(t, [3]string{"file", "application/pdf", string(birth)})
	r = e.do(e.request("POST", "/v1/verify", "", body, ct))
	expectStatus(t, r, 200)
	var v struct {
		Verified bool `json:"verified"`
	}
	if r.json(t, &v); !v.Verified {
		t.Fatalf("verify across hosts: %s", r.body)
	}
}

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}
