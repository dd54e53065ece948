package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/edossier-city/edossier/network/backup"
)

// A gateway backup holds everything a gateway keeps that the ledger does not:
//
//	secrets/kek.hex             the key-encryption key (kekFile)
//	secrets/retired-kek-N.hex   former KEKs (retiredKekFiles, in order)
//	secrets/subject-secret.hex  the subject-ID HMAC secret (subjectSecretFile)
//	api-keys.json               the API key file (apiKeyFile) when it lies outside dataDir
//	data/...                    dataDir: blobs, wallet of enrolled identities, CA client
//	                            state, API keys; without uploads in progress (blobs/tmp),
//	                            lock files and the event-fed index (a cache of the ledger)
//	manifest.json               size and SHA-256 of every file
//
// Idempotency needs no state of its own: a record's ID is derived from the caller and
// its Idempotency-Key, and the ledger holds it.
const gatewayBackupFormat = "edossier-gateway-backup/1"

// backupGateway writes a backup of the gateway's state to out (which must not exist or
// be empty). It may run beside a running gateway: blob files and pack files are
// immutable files written by rename (an erasure meanwhile may or may not be in the
// copy), and the API key file is copied under its lock.
func backupGateway(cfg Config, out string, w io.Writer) error {
	if out == "" {
		return errors.New("backup: -out DIR is required")
	}
	b, err := backup.Create(out, gatewayBackupFormat)
	if err != nil {
		return err
	}
	for _, s := range []struct{ path, rel, what string }{
		{cfg.KEKFile, "secrets/kek.hex", "kekFile"},
		{cfg.SubjectSecret, "secrets/subject-secret.hex", "subjectSecretFile"},
	} {
		if _, err := existingSecret(s.path, 32); err != nil {
			return fmt.Errorf("backup: %s: %w", s.what, err)
		}
		if err := b.AddFile(s.path, s.rel); err != nil {
			return err
		}
	}
	skipAbs := map[string]bool{}
	for _, p := range []string{cfg.KEKFile, cfg.SubjectSecret} {
		if a, err := filepath.Abs(p); err == nil {
			skipAbs[a] = true
		}
	}
	retired := 0
	for _, path := range strings.Split(cfg.RetiredKEKFiles, ",") {
		if path = strings.TrimSpace(path); path == "" {
			continue
		}
		if _, err := existingSecret(path, 32); err != nil {
			return fmt.Errorf("backup: retiredKekFiles: %w", err)
		}
		retired++
		if err := b.AddFile(path, fmt.Sprintf("secrets/retired-kek-%d.hex", retired)); err != nil {
			return err
		}
		if a, err := filepath.Abs(path); err == nil {
			skipAbs[a] = true
		}
	}
	b.SetMeta("retiredKeks", fmt.Sprint(retired))

	dataAbs, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return err
	}
	keyFile := cfg.APIKeyFile
	if keyFile == "" {
		keyFile = filepath.Join(cfg.DataDir, "api-keys.json")
	}
	keyAbs, _ := filepath.Abs(keyFile)
	// The API key file changes under an exclusive flock of <file>.lock: copy it under
	// a shared one.
	unlock, err := sharedLock(keyAbs + ".lock")
	if err != nil {
		return err
	}
	defer unlock()
	if _, err := os.Stat(dataAbs); err != nil {
		return fmt.Errorf("backup: dataDir: %w", err)
	}
	err = b.AddTree(dataAbs, "data", func(rel string, d fs.DirEntry) bool {
		abs := filepath.Join(dataAbs, filepath.FromSlash(rel))
		// The index (index.db and its -wal, -shm) is a cache of the ledger: it is not
		// backed up (a copy taken while the follower writes could be torn); the
		// restored gateway rebuilds it from the ledger. The same holds for the blob
		// store's pack index (blobs/packs.db), a cache of the pack files, which the
		// restored store rebuilds from them.
		return skipAbs[abs] || rel == "blobs/tmp" || strings.HasSuffix(rel, ".lock") || strings.HasPrefix(rel, "index.db") || strings.HasPrefix(rel, "blobs/packs.db") ||
			strings.HasSuffix(rel, ".partial") || strings.HasSuffix(rel, ".tmp")
	})
	if err != nil {
		return err
	}
	if rel, err := filepath.Rel(dataAbs, keyAbs); err != nil || strings.HasPrefix(rel, "..") {
		if _, err := os.Stat(keyAbs); err == nil {
			if err := b.AddFile(keyAbs, "api-keys.json"); err != nil {
				return err
			}
			b.SetMeta("apiKeyFileOutsideDataDir", "true")
		}
	}
	if err := b.Close(); err != nil {
		return err
	}
	fmt.Fprintf(w, "gateway backup written to %s (KEK, %d retired KEKs, subject secret, %s)\n", out, retired, cfg.DataDir)
	fmt.Fprintln(w, "it holds the keys that decrypt every blob and derive every subject ID: keep it as secret as they are")
	return nil
}

// restoreGateway restores a backup into the configured locations. It refuses a
// non-empty dataDir and secret files that exist with other contents, checks every file
// of the backup before it writes anything, and writes nothing of a damaged backup.
func restoreGateway(cfg Config, from string, w io.Writer) error {
	if from == "" {
		return errors.New("restore: -from DIR is required")
	}
	m, err := backup.Open(from, gatewayBackupFormat)
	if err != nil {
		return err
	}
	if err := backup.EnsureEmpty(cfg.DataDir); err != nil {
		return fmt.Errorf("restore: dataDir %w", err)
	}
	type secret struct{ rel, dst, what string }
	secrets := []secret{{"secrets/kek.hex", cfg.KEKFile, "kekFile"}, {"secrets/subject-secret.hex", cfg.SubjectSecret, "subjectSecretFile"}}
	var retiredDst []string
	for _, p := range strings.Split(cfg.RetiredKEKFiles, ",") {
		if p = strings.TrimSpace(p); p != "" {
			retiredDst = append(retiredDst, p)
		}
	}
	n := 0
	fmt.Sscan(m.Meta["retiredKeks"], &n)
	if len(retiredDst) != 0 && len(retiredDst) != n {
		return fmt.Errorf("restore: the backup holds %d retired KEKs, retiredKekFiles names %d files", n, len(retiredDst))
	}
	for i := 1; i <= n; i++ {
		dst := filepath.Join(filepath.Dir(cfg.KEKFile), fmt.Sprintf("retired-kek-%d.hex", i))
		if len(retiredDst) > 0 {
			dst = retiredDst[i-1]
		}
		secrets = append(secrets, secret{fmt.Sprintf("secrets/retired-kek-%d.hex", i), dst, "retired KEK"})
	}
	keyFile := cfg.APIKeyFile
	if m.Meta["apiKeyFileOutsideDataDir"] == "true" {
		if keyFile == "" {
			return errors.New("restore: the backup's API key file lay outside dataDir: set apiKeyFile to where it goes")
		}
		secrets = append(secrets, secret{"api-keys.json", keyFile, "apiKeyFile"})
	}
	// Refuse before writing anything: a file that exists must already hold the same
	// bytes (secrets shared by every gateway of a platform may be provisioned already).
	var todo []secret
	for _, s := range secrets {
		f, ok := m.FileOf(s.rel)
		if !ok {
			return fmt.Errorf("restore: the backup lacks %s", s.rel)
		}
		b, err := os.ReadFile(s.dst)
		switch {
		case errors.Is(err, os.ErrNotExist):
			todo = append(todo, s)
		case err != nil:
			return err
		case backup.SHA256Hex(b) != f.SHA256:
			return fmt.Errorf("restore: %s %s exists with other contents: refusing to overwrite it", s.what, s.dst)
		}
	}
	count, err := backup.Restore(from, m, "data", cfg.DataDir)
	if err != nil {
		return err
	}
	for _, s := range todo {
		f, _ := m.FileOf(s.rel)
		if err := backup.RestoreFile(from, f, s.dst); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "restored %d files into %s and %d secret files\n", count, cfg.DataDir, len(todo))
	if n > 0 && cfg.RetiredKEKFiles == "" {
		var paths []string
		for _, s := range secrets {
			if s.what == "retired KEK" {
				paths = append(paths, s.dst)
			}
		}
		fmt.Fprintf(w, "set retiredKekFiles=%s so the blobs those keys wrapped stay readable\n", strings.Join(paths, ","))
	}
	return nil
}

func sharedLock(path string) (func(), error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH); err != nil {
		f.Close()
		return nil, err
	}
	return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}

// takeFlag removes -name DIR / --name=DIR from args (the backup and restore folders are
// not gateway settings) and returns its value.
func takeFlag(args []string, name string) (string, []string, error) {
	var value string
	var rest []string
	found := false
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-"+name || a == "--"+name:
			if i+1 >= len(args) || args[i+1] == "" {
				return "", nil, fmt.Errorf("-%s needs a folder", name)
			}
			value, found = args[i+1], true
			i++
		case strings.HasPrefix(a, "-"+name+"=") || strings.HasPrefix(a, "--"+name+"="):
			value, found = a[strings.IndexByte(a, '=')+1:], true
		default:
			rest = append(rest, a)
		}
	}
	if !found || value == "" {
		return "", nil, fmt.Errorf("-%s DIR is required", name)
	}
	return value, rest, nil
}
