package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGatewayBackupRestoreRefusals: the backup holds the secrets (retired KEKs too) and
// the data folder without uploads in progress; restore refuses a non-empty dataDir, a
// damaged backup and a secret file with other contents, writing nothing; restored
// files are byte for byte the originals.
func TestGatewayBackupRestoreRefusals(t *testing.T) {
	src := t.TempDir()
	cfg := defaultConfig()
	cfg.DataDir = filepath.Join(src, "gateway")
	cfg.KEKFile = filepath.Join(src, "gateway", "secrets", "kek.hex") // inside dataDir, as by default
	cfg.SubjectSecret = filepath.Join(src, "secrets", "subject.hex")
	cfg.RetiredKEKFiles = filepath.Join(src, "secrets", "old.hex")
	for _, p := range []string{cfg.KEKFile, cfg.SubjectSecret, cfg.RetiredKEKFiles} {
		if _, err := secretFile(p, 32); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		"blobs/ab/bafkreiexample.blob":                         "ciphertext",
		"blobs/packs/0f/0f00000000000000000000000000000a.pack": "packed ciphertext",
		"blobs/packs.db":           "sqlite",
		"blobs/packs.db-wal":       "sqlite wal",
		"wallet/health/clerk.json": "identity",
		"api-keys.json":            `{"keys":[]}`,
	}
	for rel, body := range files {
		p := filepath.Join(cfg.DataDir, rel)
		os.MkdirAll(filepath.Dir(p), 0o700)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	os.MkdirAll(filepath.Join(cfg.DataDir, "blobs", "tmp"), 0o700)
	os.WriteFile(filepath.Join(cfg.DataDir, "blobs", "tmp", "put-1.partial"), []byte("half"), 0o600)
	os.WriteFile(filepath.Join(cfg.DataDir, "api-keys.json.lock"), nil, 0o600)

	out := filepath.Join(t.TempDir(), "backup")
	if err := backupGateway(cfg, out, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	if err := backupGateway(cfg, out, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("backup into a non-empty folder: %v", err)
	}
	if _, err := os.Stat(filepath.Join(out, "data/blobs/packs/0f/0f00000000000000000000000000000a.pack")); err != nil {
		t.Errorf("backup lacks the pack file: %v", err)
	}
	// The pack index is a cache of the pack files (rebuilt from them at open).
	for _, absent := range []string{"data/blobs/tmp/put-1.partial", "data/api-keys.json.lock", "data/secrets/kek.hex", "data/blobs/packs.db", "data/blobs/packs.db-wal"} {
		if _, err := os.Stat(filepath.Join(out, absent)); err == nil {
			t.Errorf("backup holds %s", absent)
		}
	}

	dst := t.TempDir()
	fresh := defaultConfig()
	fresh.DataDir = filepath.Join(dst, "gateway")
	fresh.KEKFile = filepath.Join(dst, "secrets", "kek.hex")
	fresh.SubjectSecret = filepath.Join(dst, "secrets", "subject.hex")
	empty := func() {
		t.Helper()
		if entries, _ := os.ReadDir(fresh.DataDir); len(entries) > 0 {
			t.Fatalf("a refused restore wrote into dataDir")
		}
	}

	// A damaged backup is refused, nothing written.
	blob := filepath.Join(out, "data", "blobs", "ab", "bafkreiexample.blob")
	orig, _ := os.ReadFile(blob)
	os.WriteFile(blob, []byte("ciphertexT"), 0o600)
	if err := restoreGateway(fresh, out, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("damaged backup: %v", err)
	}
	empty()
	os.WriteFile(blob, orig, 0o600)

	// A KEK file that exists with other contents is refused.
	if _, err := secretFile(fresh.KEKFile, 32); err != nil {
		t.Fatal(err)
	}
	if err := restoreGateway(fresh, out, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "other contents") {
		t.Fatalf("other KEK present: %v", err)
	}
	empty()
	os.Remove(fresh.KEKFile)

	// A non-empty dataDir is refused.
	os.MkdirAll(fresh.DataDir, 0o700)
	os.WriteFile(filepath.Join(fresh.DataDir, "x"), nil, 0o600)
	if err := restoreGateway(fresh, out, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("non-empty dataDir: %v", err)
	}
	os.Remove(filepath.Join(fresh.DataDir, "x"))

	var msg bytes.Buffer
	if err := restoreGateway(fresh, out, &msg); err != nil {
		t.Fatal(err)
	}
	for rel, body := range files {
		if strings.HasPrefix(rel, "blobs/packs.db") {
			continue // not backed up
		}
		if b, err := os.ReadFile(filepath.Join(fresh.DataDir, rel)); err != nil || string(b) != body {
			t.Errorf("%s restored as %q, %v", rel, b, err)
		}
	}
	same := func(a, b string) {
		t.Helper()
		x, _ := os.ReadFile(a)
		y, err := os.ReadFile(b)
		if err != nil || !bytes.Equal(x, y) {
			t.Errorf("%s not restored as %s: %v", b, a, err)
		}
	}
	same(cfg.KEKFile, fresh.KEKFile)
	same(cfg.SubjectSecret, fresh.SubjectSecret)
	retired := filepath.Join(dst, "secrets", "retired-kek-1.hex")
	same(cfg.RetiredKEKFiles, retired)
	if !strings.Contains(msg.String(), "retiredKekFiles="+retired) {
		t.Errorf("restore does not say how to use the retired KEK: %s", msg.String())
	}
}
