package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
)

// The gateway process that `make run` starts in the background: its PID file, log and
// data live in --data (default .edossier/gateway). The process is recognised by an
// environment marker, so a recycled PID is never signalled.

type gatewayFlags struct {
	bin, data, listen, connection string
}

const gatewayMarker = "EDOSSIER_GATEWAY_HOME"

func newGatewayCmd() *cobra.Command {
	f := &gatewayFlags{}
	cmd := &cobra.Command{
		Use:   "gateway",
		Short: "Run the REST gateway on this machine in the background (demo configuration)",
		Example: `  edossierctl gateway start   # after: edossierctl network up
  edossierctl gateway status
  edossierctl gateway stop`,
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.bin, "gateway-bin", envOr("EDOSSIER_GATEWAY_BIN", ".edossier/bin/edossier-gateway"), "gateway binary")
	pf.StringVar(&f.data, "data", envOr("EDOSSIER_GATEWAY_DATA", ".edossier/gateway"), "gateway data folder (blobs, keys, wallet, log)")
	pf.StringVar(&f.listen, "listen", envOr("EDOSSIER_GATEWAY_LISTEN", "127.0.0.1:8080"), "listen address")
	pf.StringVar(&f.connection, "connection", envOr("EDOSSIER_CONNECTION_FILE", ".edossier/network/connection.json"), "network connection file")
	cmd.AddCommand(&cobra.Command{
		Use: "start", Short: "Start the gateway (demo keys, record types and accreditations on first start)", Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return startGateway(c.Context(), f) },
	})
	cmd.AddCommand(&cobra.Command{
		Use: "stop", Short: "Stop the gateway", Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error { return stopGateway(f) },
	})
	cmd.AddCommand(&cobra.Command{
		Use: "status", Short: "Show whether the gateway runs; exit 1 if not", Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			pid, ok := gatewayPID(f)
			if !ok {
				return errors.New("gateway is not running")
			}
			fmt.Printf("gateway running, pid %d, http://%s, log %s\n", pid, f.listen, filepath.Join(f.data, "gateway.log"))
			return nil
		},
	})
	return cmd
}

func absData(f *gatewayFlags) string {
	d, err := filepath.Abs(f.data)
	if err != nil {
		return f.data
	}
	return d
}

// gatewayPID returns the PID of the running gateway of this data folder.
func gatewayPID(f *gatewayFlags) (int, bool) {
	b, err := os.ReadFile(filepath.Join(f.data, "gateway.pid"))
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil || !bytes.Contains(env, []byte(gatewayMarker+"="+absData(f)+"\x00")) {
		return 0, false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if i := bytes.LastIndexByte(stat, ')'); err != nil || (i > 0 && i+2 < len(stat) && stat[i+2] == 'Z') {
		return 0, false
	}
	return pid, true
}

func startGateway(ctx context.Context, f *gatewayFlags) error {
	keysFile := filepath.Join(f.data, "demo-keys.json")
	if pid, ok := gatewayPID(f); ok {
		fmt.Printf("gateway already running (pid %d) on http://%s\n", pid, f.listen)
		return printDemo(f, keysFile)
	}
	if _, err := os.Stat(f.connection); err != nil {
		return fmt.Errorf("no connection file (%v): run `edossierctl network up` first", err)
	}
	if err := os.MkdirAll(f.data, 0o700); err != nil {
		return err
	}
	logPath := filepath.Join(f.data, "gateway.log")
	lf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer lf.Close()
	cmd := exec.Command(f.bin,
		"-listen", f.listen, "-connectionFile", f.connection, "-dataDir", f.data,
		"-kekFile", filepath.Join(f.data, "secrets", "kek.hex"),
		"-subjectSecretFile", filepath.Join(f.data, "secrets", "subject-secret.hex"),
		"-demoKeysFile", keysFile, "-logFormat", "text")
	cmd.Env = append(os.Environ(), gatewayMarker+"="+absData(f))
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	fmt.Printf("starting gateway on http://%s (log %s)\n", f.listen, logPath)
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	if err := os.WriteFile(filepath.Join(f.data, "gateway.pid"), []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o600); err != nil {
		return err
	}
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		resp, err := client.Get("http://" + f.listen + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		select {
		case err := <-exited:
			return fmt.Errorf("gateway exited (%v); see %s", err, logPath)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("gateway not ready after 3 minutes; see %s", logPath)
		}
	}
	fmt.Printf("gateway ready (pid %d)\n", cmd.Process.Pid)
	return printDemo(f, keysFile)
}

func printDemo(f *gatewayFlags, keysFile string) error {
	b, err := os.ReadFile(keysFile)
	if err != nil {
		return nil
	}
	var keys struct {
		Operator    string            `json:"operator"`
		Departments map[string]string `json:"departments"`
	}
	if err := json.Unmarshal(b, &keys); err != nil {
		return err
	}
	fmt.Printf("\ndemo API keys (also in %s):\n  operator  %s\n", keysFile, keys.Operator)
	for org, k := range keys.Departments {
		fmt.Printf("  %-9s %s\n", org, k)
	}
	fmt.Printf(`
try it:
  KEY=$(jq -r .departments.health %[2]s)
  SUBJECT=$(curl -s -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
    -d '{"kind":"person","idNumber":"110101202611201235"}' http://%[1]s/v1/subjects/resolve | jq -r .subjectId)
  echo 'birth certificate' > birth.pdf
  curl -s -H "Authorization: Bearer $KEY" -F 'metadata={"type":"birth-medical-certificate","note":"Birth certificate"};type=application/json' \
    -F file=@birth.pdf http://%[1]s/v1/dossiers/$SUBJECT/records
  curl -s -F file=@birth.pdf http://%[1]s/v1/verify
API: http://%[1]s/v1/openapi.json   guide: docs/api.md
portal (citizens, clerks with a department key, verifiers): http://%[1]s/zh/ (English: /en/)   guide: docs/portal.md
`, f.listen, keysFile)
	return nil
}

func stopGateway(f *gatewayFlags) error {
	pid, ok := gatewayPID(f)
	if !ok {
		fmt.Println("gateway is not running")
		return nil
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	for i := 0; i < 400; i++ {
		if _, ok := gatewayPID(f); !ok {
			fmt.Printf("gateway stopped (pid %d)\n", pid)
			return os.Remove(filepath.Join(f.data, "gateway.pid"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	fmt.Printf("gateway killed after 40 s (pid %d)\n", pid)
	return os.Remove(filepath.Join(f.data, "gateway.pid"))
}
