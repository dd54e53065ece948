package main

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edossier-city/edossier/gateway/blob"
)

// The last step of a KEK rotation, as an operator runs it: refused while a gateway holds
// the store, then every old data key moves to the new KEK.
func TestRewrapBlobsCommand(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	oldFile, newFile := filepath.Join(dir, "kek-old.hex"), filepath.Join(dir, "kek-new.hex")
	oldKEK, err := secretFile(oldFile, 32)
	if err != nil {
		t.Fatal(err)
	}
	newKEK, err := secretFile(newFile, 32)
	if err != nil {
		t.Fatal(err)
	}
	blobs := filepath.Join(dir, "data", "blobs")
	s, err := blob.Open(blob.Options{Dir: blobs, KEK: oldKEK, MaxSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Put(ctx, strings.NewReader("a document under the old key"))
	if err != nil {
		t.Fatal(err)
	}

	cfg := defaultConfig()
	cfg.DataDir, cfg.KEKFile = filepath.Join(dir, "data"), newFile
	if err := rewrapBlobs(ctx, cfg, io.Discard); err == nil || !strings.Contains(err.Error(), "retiredKekFiles") {
		t.Fatalf("without retired keys: %v", err)
	}
	cfg.RetiredKEKFiles = oldFile + ", " + filepath.Join(dir, "missing.hex")
	if err := rewrapBlobs(ctx, cfg, io.Discard); err == nil || !strings.Contains(err.Error(), "missing.hex") {
		t.Fatalf("missing retired key file: %v", err)
	}
	cfg.RetiredKEKFiles = oldFile
	if err := rewrapBlobs(ctx, cfg, io.Discard); err == nil || !strings.Contains(err.Error(), "stop the gateways") {
		t.Fatalf("while the store is in use: %v", err)
	}
	s.Close()
	var out bytes.Buffer
	if err := rewrapBlobs(ctx, cfg, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "blobs: 1, rewrapped: 1,") {
		t.Fatalf("output: %s", out.String())
	}

	s, err = blob.Open(blob.Options{Dir: blobs, KEK: newKEK, MaxSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r, _, err := s.Open(info.CID)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got, err := io.ReadAll(r); err != nil || string(got) != "a document under the old key" {
		t.Fatalf("after the rewrap, with the new key alone: %q, %v", got, err)
	}
}
