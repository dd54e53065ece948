package network

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"github.com/edossier-city/edossier/network/backup"
)

const networkBackupFormat = "edossier-network-backup/1"

// Backup copies a stopped network's home folder (ledgers, Raft WAL and snapshots,
// crypto material, CA databases, channel blocks, process table) to out, which must not
// exist or be empty, with a manifest of checksums. It refuses while any process of
// the network runs: a stopped copy is consistent, a running one is not. Logs are left
// out. The copy holds every private key of the network: keep it as secret as they are.
func (n *Network) Backup(out string) error {
	if err := n.lock(); err != nil {
		return err
	}
	defer n.unlock()
	if !n.state.Steps[stepDeployed] {
		return fmt.Errorf("network %s is not set up: nothing to back up", n.home)
	}
	var running []string
	for name, p := range n.state.Procs {
		if n.alive(p) {
			running = append(running, name)
		}
	}
	if len(running) > 0 {
		return fmt.Errorf("network %s is running (%s): stop it first with `edossierctl network down`", n.home, strings.Join(running, ", "))
	}
	outAbs, err := filepath.Abs(out)
	if err != nil {
		return err
	}
	if rel, err := filepath.Rel(n.home, outAbs); err == nil && !strings.HasPrefix(rel, "..") {
		return fmt.Errorf("the backup folder %s lies inside the network's home %s", outAbs, n.home)
	}
	w, err := backup.Create(outAbs, networkBackupFormat)
	if err != nil {
		return err
	}
	w.SetMeta("home", n.home)
	w.SetMeta("spec", n.spec.Name)
	w.SetMeta("specHash", n.specHash())
	err = w.AddTree(n.home, "home", func(rel string, d fs.DirEntry) bool {
		return rel == "logs" || rel == ".lock" || strings.HasSuffix(rel, ".tmp")
	})
	if err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	n.say("network %s backed up to %s", n.home, outAbs)
	return nil
}

// Restore puts a backup made by Backup into the network's home folder, which must not
// exist or be empty and must be the folder the backup was taken from (configuration
// and crypto material name it). Every file is checked against the manifest before
// anything is written. `up` then starts the network on the restored ledgers.
func (n *Network) Restore(from string) error {
	m, err := backup.Open(from, networkBackupFormat)
	if err != nil {
		return err
	}
	if m.Meta["home"] != n.home {
		return fmt.Errorf("the backup was taken of %s; restore it there (--home), not into %s", m.Meta["home"], n.home)
	}
	if m.Meta["specHash"] != n.specHash() {
		return fmt.Errorf("the backup was taken of network %q with a different spec: restore with the spec it was taken with", m.Meta["spec"])
	}
	if err := backup.EnsureEmpty(n.home); err != nil {
		return errors.New("restore: network home " + err.Error())
	}
	count, err := backup.Restore(from, m, "home", n.home)
	if err != nil {
		return err
	}
	n.say("restored %d files into %s; start it with `edossierctl network up`", count, n.home)
	return nil
}
