package network

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Proc is a native process the network started, identified by PID. It is recognised
// as ours only if /proc/PID/environ carries this network's home marker, so a recycled
// PID is never signalled.
type Proc struct {
	Name    string    `json:"name"`
	Kind    string    `json:"kind"` // ca, orderer, peer, chaincode
	PID     int       `json:"pid"`
	Binary  string    `json:"binary"`
	Log     string    `json:"log"`
	Started time.Time `json:"started"`
}

const homeMarkerEnv = "EDOSSIER_NETWORK_HOME"

// alive reports whether p is still running and still the process we started.
func (n *Network) alive(p Proc) bool {
	if p.PID <= 0 {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.PID))
	if err != nil {
		return false
	}
	// state is the first field after the command name in parentheses
	if i := bytes.LastIndexByte(stat, ')'); i > 0 && i+2 < len(stat) {
		if s := stat[i+2]; s == 'Z' || s == 'X' {
			return false
		}
	}
	env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", p.PID))
	if err != nil {
		return false
	}
	want := []byte(homeMarkerEnv + "=" + n.home + "\x00")
	return bytes.Contains(env, want)
}

// startProc starts a process detached from the caller's terminal (own session), with
// stdout and stderr appended to its log file.
func (n *Network) startProc(name, kind, bin string, args, env []string) (Proc, error) {
	logPath := filepath.Join(n.home, "logs", name+".log")
	if err := os.MkdirAll(filepath.Dir(logPath), 0o755); err != nil {
		return Proc{}, err
	}
	lf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return Proc{}, err
	}
	defer lf.Close()
	fmt.Fprintf(lf, "\n==== %s starting %s at %s ====\n", name, filepath.Base(bin), time.Now().Format(time.RFC3339))
	cmd := exec.Command(bin, args...)
	_, netns := n.spec.placeOf(name)
	if netns != "" {
		// `ip netns exec` enters the namespace and execs the program in place: the PID
		// and the environment (with the home marker) stay the program's.
		ip, err := exec.LookPath("ip")
		if err != nil {
			return Proc{}, fmt.Errorf("start %s in network namespace %s: %w", name, netns, err)
		}
		cmd = exec.Command(ip, append([]string{"netns", "exec", netns, bin}, args...)...)
	}
	cmd.Env = append(baseEnv(), env...)
	cmd.Env = append(cmd.Env, homeMarkerEnv+"="+n.home)
	cmd.Dir = n.home
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return Proc{}, fmt.Errorf("start %s: %w", name, err)
	}
	// Reap the child when it exits so that a killed process does not linger as a zombie
	// while this process (a test binary, say) lives on.
	go func() { _ = cmd.Wait() }()
	// The kernel reports exec success to the parent a moment before the new program's
	// environment is visible in /proc; wait for it so alive() can recognise the process.
	// Through `ip netns exec`, wait until ip has exec'd the program: while it does,
	// /proc briefly shows no environment, which alive() would take for an exit.
	want, _ := filepath.EvalSymlinks(bin)
	for i := 0; i < 400; i++ {
		env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", cmd.Process.Pid))
		if err != nil {
			break
		}
		exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", cmd.Process.Pid))
		if len(env) > 0 && (netns == "" || exe == want) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	p := Proc{Name: name, Kind: kind, PID: cmd.Process.Pid, Binary: bin, Log: logPath, Started: time.Now().UTC()}
	n.setProc(p)
	return p, n.saveState()
}

// baseEnv is the environment children inherit: PATH and HOME only, so that a
// developer's FABRIC_* or CORE_* variables cannot change the network.
func baseEnv() []string {
	var env []string
	for _, k := range []string{"PATH", "HOME", "TMPDIR"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// stopProc sends SIGTERM, waits up to grace, then SIGKILL. It only signals processes
// that alive() recognises as ours.
func (n *Network) stopProc(p Proc, grace time.Duration) error {
	if !n.alive(p) {
		return nil
	}
	_ = syscall.Kill(p.PID, syscall.SIGTERM)
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) {
		if !n.alive(p) {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = syscall.Kill(p.PID, syscall.SIGKILL)
	for i := 0; i < 100; i++ {
		if !n.alive(p) {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("process %s (pid %d) did not stop", p.Name, p.PID)
}

// run executes a short-lived tool command and returns its combined output; on failure
// the error quotes the tail of the output.
func (n *Network) run(bin string, args, env []string) (string, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(baseEnv(), env...)
	cmd.Dir = n.home
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w: %s", filepath.Base(bin), strings.Join(redact(args), " "), err, tail(string(out), 800))
	}
	return string(out), nil
}

func redact(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if j := strings.Index(a, "://"); j >= 0 {
			if k := strings.Index(a[j:], "@"); k >= 0 {
				a = a[:j+3] + "***" + a[j+k:]
			}
		}
		if i > 0 && args[i-1] == "--id.secret" {
			a = "***"
		}
		out[i] = a
	}
	return out
}

func tail(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		s = "..." + s[len(s)-n:]
	}
	return s
}

func itoa(i int) string { return strconv.Itoa(i) }
