package network

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"syscall"
	"time"
)

// Options configure a Network.
type Options struct {
	Spec *Spec
	// Home is the folder that holds everything the network creates: crypto material,
	// ledgers, logs, the connection file and the process table.
	Home string
	// ToolsDir holds the pinned Fabric binaries (bin/) and their sample configuration
	// (config/), as built by scripts/build-tools.sh.
	ToolsDir string
	// ChaincodeBin is the chaincode server binary (cmd/edossier-chaincode).
	ChaincodeBin string
	// Progress receives one line per step; nil discards.
	Progress io.Writer
}

// Network drives one network described by a spec in one home folder.
type Network struct {
	spec       *Spec
	home       string
	tools      string
	ccBin      string
	progress   io.Writer
	state      *State
	lockFile   *os.File
	mu         sync.Mutex // guards state
	joined     []string   // organisations the last Up added live
	retiredNow []string   // organisations the last Up retired
}

// State is what the network remembers between commands (home/state.json).
type State struct {
	SpecHash   string                       `json:"specHash"`
	Steps      map[string]bool              `json:"steps"`
	PackageIDs map[string]map[string]string `json:"packageIds"` // chaincode -> org -> package ID
	Procs      map[string]Proc              `json:"processes"`
	// Added lists the organisations added to the running network by a spec change
	// (reconfig.go); their set-up steps are recorded per organisation.
	Added []string `json:"added,omitempty"`
	// RestartChaincodes is set by a spec change that changes the chaincode servers'
	// environment (the authorities); the next start restarts every chaincode server.
	RestartChaincodes bool `json:"restartChaincodes,omitempty"`
	// Consenters is the number of orderers in the channels' Raft membership (orderer0
	// up to orderer<Consenters-1>); a spec change moves it towards the spec's count one
	// orderer at a time (ordering.go). 0: not set up yet.
	Consenters int `json:"consenters,omitempty"`
}

// setProc records a started process. Waiters read the table concurrently.
func (n *Network) setProc(p Proc) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.state.Procs[p.Name] = p
}

func (n *Network) proc(name string) (Proc, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	p, ok := n.state.Procs[name]
	return p, ok
}

// New prepares a Network; it starts nothing.
func New(o Options) (*Network, error) {
	if o.Spec == nil {
		return nil, errors.New("network: no spec")
	}
	if err := o.Spec.Validate(); err != nil {
		return nil, err
	}
	home, err := filepath.Abs(o.Home)
	if err != nil {
		return nil, err
	}
	tools, err := filepath.Abs(o.ToolsDir)
	if err != nil {
		return nil, err
	}
	n := &Network{spec: o.Spec, home: home, tools: tools, ccBin: o.ChaincodeBin, progress: o.Progress}
	if n.progress == nil {
		n.progress = io.Discard
	}
	if n.ccBin != "" {
		if n.ccBin, err = filepath.Abs(n.ccBin); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// Home is the network's state folder.
func (n *Network) Home() string { return n.home }

// Spec is the network's spec.
func (n *Network) Spec() *Spec { return n.spec }

// ConnectionFile is the path of the connection file written by Up.
func (n *Network) ConnectionFile() string { return filepath.Join(n.home, "connection.json") }

func (n *Network) statePath() string { return filepath.Join(n.home, "state.json") }

func (n *Network) specHash() string {
	b, _ := json.Marshal(n.spec)
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:8])
}

func (n *Network) loadState() error {
	n.state = &State{Steps: map[string]bool{}, PackageIDs: map[string]map[string]string{}, Procs: map[string]Proc{}}
	b, err := os.ReadFile(n.statePath())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, n.state); err != nil {
		return fmt.Errorf("state file %s: %w", n.statePath(), err)
	}
	if n.state.Steps == nil {
		n.state.Steps = map[string]bool{}
	}
	if n.state.PackageIDs == nil {
		n.state.PackageIDs = map[string]map[string]string{}
	}
	if n.state.Procs == nil {
		n.state.Procs = map[string]Proc{}
	}
	return nil
}

func (n *Network) saveState() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	b, err := json.MarshalIndent(n.state, "", "  ")
	if err != nil {
		return err
	}
	tmp := n.statePath() + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, n.statePath())
}

// lock takes an exclusive lock on the home folder so two commands cannot drive the same
// network at once.
func (n *Network) lock() error {
	if err := os.MkdirAll(n.home, 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(n.home, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return fmt.Errorf("network %s is busy: %w", n.home, errBusy)
	}
	n.lockFile = f
	return n.loadState()
}

func (n *Network) unlock() {
	if n.lockFile != nil {
		_ = syscall.Flock(int(n.lockFile.Fd()), syscall.LOCK_UN)
		n.lockFile.Close()
		n.lockFile = nil
	}
}

func (n *Network) say(format string, a ...any) {
	fmt.Fprintf(n.progress, format+"\n", a...)
}

// StepError says which step of Up failed and where its log is.
type StepError struct {
	Step string
	Log  string
	Err  error
}

func (e *StepError) Error() string {
	s := fmt.Sprintf("network up failed at step %q: %v", e.Step, e.Err)
	if e.Log != "" {
		s += " (log: " + e.Log + ")"
	}
	return s
}

func (e *StepError) Unwrap() error { return e.Err }

// ProcStatus is one line of Status.
type ProcStatus struct {
	Proc
	Running bool `json:"running"`
	// Healthy: running and doing its job (for an orderer: following its Raft cluster
	// on every channel). Problem says why not.
	Healthy bool   `json:"healthy"`
	Problem string `json:"problem,omitempty"`
}

// Status is what `network status` shows.
type Status struct {
	Home           string       `json:"home"`
	Ready          bool         `json:"ready"`
	SetUp          bool         `json:"setUp"`
	Processes      []ProcStatus `json:"processes"`
	ConnectionFile string       `json:"connectionFile,omitempty"`
}

// Status reports the processes of the network, whether all of them run, and whether
// every running orderer follows its Raft cluster (see judgeOrderers).
func (n *Network) Status() (*Status, error) {
	if err := n.loadState(); err != nil {
		return nil, err
	}
	st := &Status{Home: n.home, SetUp: n.state.Steps[stepDeployed]}
	expected := n.expectedProcs()
	all := true
	var orderers []string
	for _, name := range expected {
		p, ok := n.state.Procs[name]
		if !ok {
			p = Proc{Name: name}
		}
		run := ok && n.alive(p)
		all = all && run
		if run && p.Kind == "orderer" {
			orderers = append(orderers, name)
		}
		st.Processes = append(st.Processes, ProcStatus{Proc: p, Running: run, Healthy: run})
	}
	// Only a network that was set up has channels to follow.
	if st.SetUp {
		problems := n.ordererProblems(orderers)
		for i, p := range st.Processes {
			if prob, ok := problems[p.Name]; ok {
				st.Processes[i].Healthy, st.Processes[i].Problem = false, prob
				all = false
			}
		}
	}
	st.Ready = all && st.SetUp
	if _, err := os.Stat(n.ConnectionFile()); err == nil {
		st.ConnectionFile = n.ConnectionFile()
	}
	return st, nil
}

// expectedProcs lists the process names of a fully running network, in start order.
func (n *Network) expectedProcs() []string {
	var names []string
	active := n.spec.Active()
	for _, o := range active {
		names = append(names, "ca."+o.Name)
	}
	for j := 0; j < n.spec.Ordering.Orderers; j++ {
		names = append(names, OrdererName(j))
	}
	for _, o := range active {
		names = append(names, PeerName(o))
	}
	for _, cc := range n.spec.Chaincodes {
		for _, o := range active {
			names = append(names, ChaincodeServerName(cc.Name, o))
		}
	}
	return names
}

// Down stops every process the network started (by PID, recognised by its home marker)
// and keeps all state, so a later Up resumes with the same ledgers.
func (n *Network) Down() error {
	if err := n.lock(); err != nil {
		return err
	}
	defer n.unlock()
	return n.stopAll()
}

// stopAll stops processes in reverse dependency order: chaincode servers, peers,
// orderers, CAs.
func (n *Network) stopAll() error {
	order := map[string]int{"chaincode": 0, "peer": 1, "orderer": 2, "ca": 3}
	var procs []Proc
	for _, p := range n.state.Procs {
		procs = append(procs, p)
	}
	sort.Slice(procs, func(i, j int) bool {
		if order[procs[i].Kind] != order[procs[j].Kind] {
			return order[procs[i].Kind] < order[procs[j].Kind]
		}
		return procs[i].Name < procs[j].Name
	})
	var errs []error
	for _, p := range procs {
		if n.alive(p) {
			n.say("  stopping %-28s pid %d", p.Name, p.PID)
		}
		if err := n.stopProc(p, 10*time.Second); err != nil {
			errs = append(errs, err)
			continue
		}
		delete(n.state.Procs, p.Name)
	}
	if err := n.saveState(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Clean stops the network and removes its home folder: crypto material, ledgers, logs.
func (n *Network) Clean() error {
	if _, err := os.Stat(n.home); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err := n.Down(); err != nil {
		return err
	}
	return os.RemoveAll(n.home)
}

// Kill sends SIGKILL to one process of the network (tests use it to simulate crashes).
func (n *Network) Kill(name string) error {
	if err := n.loadState(); err != nil {
		return err
	}
	p, ok := n.state.Procs[name]
	if !ok || !n.alive(p) {
		return fmt.Errorf("process %s is not running", name)
	}
	if err := syscall.Kill(p.PID, syscall.SIGKILL); err != nil {
		return err
	}
	for i := 0; i < 250 && n.alive(p); i++ {
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

// PIDs returns the PIDs of the processes the network recorded, by name.
func (n *Network) PIDs() (map[string]int, error) {
	if err := n.loadState(); err != nil {
		return nil, err
	}
	m := map[string]int{}
	for name, p := range n.state.Procs {
		m[name] = p.PID
	}
	return m, nil
}
