package main

import (
	"encoding/json"
	"fmt"
	"github.com/edossier-city/edossier/internal/syncbuf"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edossier-city/edossier/network/nettest"
)

// sigtermBasePort: TestSIGTERMLeavesNoStagingFile uses ports 22300-22379.
const sigtermBasePort = 22300

// stagingFiles lists the upload staging files under a gateway's blob store.
func stagingFiles(t *testing.T, dataDir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(filepath.Join(dataDir, "blobs", "tmp"), func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".partial") {
			out = append(out, path)
		}
		return nil
	})
	return out
}

// TestSIGTERMLeavesNoStagingFile runs the gateway binary, starts an upload that stalls
// half-way (its staging file is on disk), sends SIGTERM: the drain gives up on the
// upload after shutdownTimeout and the process exits without leaving a .partial file.
// A second start of the gateway on the same data finds nothing to sweep; after a SIGKILL
// with an upload in flight, the next start removes its seconds-old staging file.
func TestSIGTERMLeavesNoStagingFile(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "edossier-gateway")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	n := nettest.Start(t, nettest.Options{BasePort: sigtermBasePort})
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "gateway")
	keysFile := filepath.Join(dir, "keys.json")
	start := func() (*exec.Cmd, string, *syncbuf.Buffer) {
		addr := n.GatewayAddr(t, 0)
		logs := &syncbuf.Buffer{}
		cmd := exec.Command(bin, "-listen", addr, "-connectionFile", n.ConnectionFile(), "-dataDir", dataDir,
			"-kekFile", filepath.Join(dir, "secrets", "kek.hex"), "-subjectSecretFile", filepath.Join(dir, "secrets", "subject.hex"),
			"-demoKeysFile", keysFile, "-shutdownTimeout", "2s", "-logFormat", "text", "-logLevel", "info")
		cmd.Stdout, cmd.Stderr = logs, logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		url := "http://" + addr
		if err := waitReady(http.DefaultClient, url, 2*time.Minute, nil); err != nil {
			t.Fatalf("%v\n%s", err, logs.String())
		}
		return cmd, url, logs
	}
	cmd, url, logs := start()
	var keys DemoKeys
	b, err := os.ReadFile(keysFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &keys); err != nil {
		t.Fatal(err)
	}
	health := keys.Departments["health"]
	req, _ := http.NewRequest("POST", url+"/v1/subjects/resolve", strings.NewReader(`{"kind":"person","idNumber":"`+personID(9)+`"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+health)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var subject struct {
		SubjectID string `json:"subjectId"`
	}
	json.NewDecoder(resp.Body).Decode(&subject)
	resp.Body.Close()
	if subject.SubjectID == "" {
		t.Fatalf("resolve: %d", resp.StatusCode)
	}

	// stall starts an upload of unknown length that sends 256 KiB of its file and then
	// stalls, and waits until its staging file is on disk.
	stall := func(url string) {
		pr, pw := io.Pipe()
		t.Cleanup(func() { pw.Close() })
		mw := multipart.NewWriter(pw)
		go func() {
			mh := textproto.MIMEHeader{}
			mh.Set("Content-Disposition", `form-data; name="metadata"`)
			mh.Set("Content-Type", "application/json")
			p, _ := mw.CreatePart(mh)
			fmt.Fprintf(p, `{"subjectId":%q,"type":"birth-medical-certificate"}`, subject.SubjectID)
			f, _ := mw.CreateFormFile("file", "big.pdf")
			f.Write(randomBytes(256 << 10))
			// stall: the pipe stays open until the test ends
		}()
		up, _ := http.NewRequest("POST", url+"/v1/dossiers/"+subject.SubjectID+"/records", pr)
		up.Header.Set("Content-Type", mw.FormDataContentType())
		up.Header.Set("Authorization", "Bearer "+health)
		go func() {
			if resp, err := http.DefaultClient.Do(up); err == nil {
				resp.Body.Close()
			}
		}()
		deadline := time.Now().Add(30 * time.Second)
		for len(stagingFiles(t, dataDir)) == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("the upload never reached the blob store")
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	stall(url)

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		t.Logf("gateway exited after SIGTERM: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatalf("gateway did not exit after SIGTERM\n%s", logs.String())
	}
	if left := stagingFiles(t, dataDir); len(left) != 0 {
		t.Fatalf("staging files left after SIGTERM: %v\n%s", left, logs.String())
	}

	// A restart finds nothing to sweep.
	cmd, url, logs = start()
	if strings.Contains(logs.String(), "swept temporary upload files") {
		t.Fatalf("restart swept files:\n%s", logs.String())
	}

	// SIGKILL with an upload in flight leaves its staging file (seconds old); the next
	// start removes it although it is young, because its process is gone.
	stall(url)
	cmd.Process.Kill()
	cmd.Wait()
	if left := stagingFiles(t, dataDir); len(left) != 1 {
		t.Fatalf("after SIGKILL: staging files %v, want the one of the stalled upload", left)
	}
	_, _, logs = start()
	if left := stagingFiles(t, dataDir); len(left) != 0 {
		t.Fatalf("restart after SIGKILL left staging files %v\n%s", left, logs.String())
	}
	if !strings.Contains(logs.String(), "swept temporary upload files") {
		t.Errorf("restart did not report the sweep:\n%s", logs.String())
	}
}
