package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edossier-city/edossier/gateway/blob"
)

// TestScrubBlobsCommand: scrub-blobs runs beside a gateway holding the store, lists
// exactly the damaged CIDs (a flipped ciphertext byte, a flipped header byte, a
// truncated file, another blob's file under a CID), exits with an error only then, and
// changes no file.
func TestScrubBlobsCommand(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	kekFile := filepath.Join(dir, "kek.hex")
	kek, err := secretFile(kekFile, 32)
	if err != nil {
		t.Fatal(err)
	}
	cfg := defaultConfig()
	cfg.DataDir, cfg.KEKFile = filepath.Join(dir, "data"), kekFile
	if err := scrubBlobs(ctx, cfg, &bytes.Buffer{}); err == nil || errors.Is(err, errBlobsDamaged) {
		t.Fatalf("without a store: %v", err)
	}
	s, err := blob.Open(blob.Options{Dir: filepath.Join(cfg.DataDir, "blobs"), KEK: kek, MaxSize: 16 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close() // the "gateway" keeps the store open throughout
	var cids []string
	for _, size := range []int{195, 195, 3 << 20, 3 << 20, 200, 70 << 10} {
		info, err := s.Put(ctx, bytes.NewReader(randomBytes(size)))
		if err != nil {
			t.Fatal(err)
		}
		cids = append(cids, info.CID)
	}
	var out bytes.Buffer
	if err := scrubBlobs(ctx, cfg, &out); err != nil || !strings.Contains(out.String(), "blobs: 6, intact: 6, erased: 0, damaged: 0") {
		t.Fatalf("intact store: %v\n%s", err, out.String())
	}
	path := func(cid string) string {
		m, _ := filepath.Glob(filepath.Join(cfg.DataDir, "blobs", "blobs", "*", cid+".blob"))
		if len(m) != 1 {
			t.Fatalf("file of %s: %v", cid, m)
		}
		return m[0]
	}
	flipByte(t, path(cids[0]), 1024+50) // a ciphertext byte
	flipByte(t, path(cids[2]), 20)      // a header byte (the wrapped key)
	fi, _ := os.Stat(path(cids[3]))
	os.Truncate(path(cids[3]), fi.Size()-1) // the last byte gone
	other, _ := os.ReadFile(path(cids[4]))
	os.WriteFile(path(cids[5]), other, 0o600) // another blob's file under cids[5]
	damaged := []string{cids[0], cids[2], cids[3], cids[5]}

	before := map[string][]byte{}
	for _, c := range cids {
		before[c], _ = os.ReadFile(path(c))
	}
	out.Reset()
	err = scrubBlobs(ctx, cfg, &out)
	if !errors.Is(err, errBlobsDamaged) {
		t.Fatalf("damaged store: %v\n%s", err, out.String())
	}
	for _, c := range cids {
		listed := strings.Contains(out.String(), "damaged "+c+":")
		want := false
		for _, d := range damaged {
			want = want || d == c
		}
		if listed != want {
			t.Errorf("%s listed %v, damaged %v:\n%s", c, listed, want, out.String())
		}
		if now, _ := os.ReadFile(path(c)); !bytes.Equal(now, before[c]) {
			t.Errorf("scrub changed %s", c)
		}
	}
	if !strings.Contains(out.String(), "blobs: 6, intact: 2, erased: 0, damaged: 4") {
		t.Errorf("summary:\n%s", out.String())
	}
}
