package blob

import (
	"bytes"
	"context"
	"errors"
	"os"
	"testing"
)

// A KEK rotation: blobs of the old KEK stay readable with it retired, new blobs use the
// new KEK, Rewrap moves every old data key to the new KEK (after which the old KEK is
// not needed), and a second Rewrap has nothing to do.
func TestKEKRotation(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	oldKEK, newKEK := randBytes(t, 32), randBytes(t, 32)
	s1, err := Open(Options{Dir: dir, KEK: oldKEK, MaxSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, n := range []int{10, 20 << 10, 200 << 10} { // small path, streamed, several segments
		data := randBytes(t, n)
		info, err := s1.Put(ctx, bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		files[info.CID] = data
	}
	gone, err := s1.Put(ctx, bytes.NewReader([]byte("to be deleted")))
	if err != nil {
		t.Fatal(err)
	}
	s1.Close()

	// New KEK with the old one retired: everything readable, new blobs under the new KEK.
	s2, err := Open(Options{Dir: dir, KEK: newKEK, RetiredKEKs: [][]byte{oldKEK}, MaxSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	for c, data := range files {
		if got := readAll(t, s2, c); !bytes.Equal(got, data) {
			t.Fatalf("%s unreadable with the old KEK retired", c)
		}
	}
	fresh := randBytes(t, 5000)
	info, err := s2.Put(ctx, bytes.NewReader(fresh))
	if err != nil {
		t.Fatal(err)
	}
	files[info.CID] = fresh
	if err := s2.Delete(gone.CID); err != nil {
		t.Fatal(err)
	}
	if _, err := s2.Rewrap(ctx); err == nil {
		t.Fatal("Rewrap ran on a shared store")
	}
	s2.Close()

	// Rewrap, exclusively.
	s3, err := Open(Options{Dir: dir, KEK: newKEK, RetiredKEKs: [][]byte{oldKEK}, MaxSize: 1 << 20, Exclusive: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(Options{Dir: dir, KEK: newKEK, MaxSize: 1 << 20}); !errors.Is(err, ErrInUse) {
		t.Fatalf("a second process opened the store during a rewrap: %v", err)
	}
	st, err := s3.Rewrap(ctx)
	if err != nil || st.Blobs != 4 || st.Rewrapped != 3 || st.Erased != 0 || len(st.Failed) != 0 {
		t.Fatalf("rewrap: %+v, %v", st, err)
	}
	if st, err := s3.Rewrap(ctx); err != nil || st.Rewrapped != 0 {
		t.Fatalf("second rewrap: %+v, %v", st, err)
	}
	if n, _ := s3.TempFiles(); n != 0 {
		t.Fatalf("%d temporary files left", n)
	}
	s3.Close()

	// The old KEK is no longer needed; without the new one nothing opens.
	s4, err := Open(Options{Dir: dir, KEK: newKEK, MaxSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	for c, data := range files {
		if got := readAll(t, s4, c); !bytes.Equal(got, data) {
			t.Fatalf("%s unreadable after the rewrap without the old KEK", c)
		}
	}
	if _, err := s4.Stat(gone.CID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted blob: %v", err)
	}
	s4.Close()
	s5, err := Open(Options{Dir: dir, KEK: oldKEK, MaxSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	for c := range files {
		if _, err := s5.Stat(c); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("%s opens with the old KEK after the rewrap: %v", c, err)
		}
	}
}

func TestRewrapReportsDamagedBlobs(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	oldKEK, newKEK := randBytes(t, 32), randBytes(t, 32)
	s1, err := Open(Options{Dir: dir, KEK: oldKEK, MaxSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	good, _ := s1.Put(ctx, bytes.NewReader([]byte("good")))
	bad, _ := s1.Put(ctx, bytes.NewReader([]byte("bad")))
	path := blobPath(t, s1, bad.CID)
	raw, _ := os.ReadFile(path)
	raw[offKey+3] ^= 1 // damage the wrapped key
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	s1.Close()
	s2, err := Open(Options{Dir: dir, KEK: newKEK, RetiredKEKs: [][]byte{oldKEK}, MaxSize: 1 << 20, Exclusive: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	st, err := s2.Rewrap(ctx)
	if err == nil || st.Rewrapped != 1 || len(st.Failed) != 1 {
		t.Fatalf("rewrap: %+v, %v", st, err)
	}
	if got := readAll(t, s2, good.CID); string(got) != "good" {
		t.Fatalf("good blob: %q", got)
	}
}

func TestOpenRejectsBadRetiredKEKs(t *testing.T) {
	kek := randBytes(t, 32)
	for _, retired := range [][]byte{randBytes(t, 16), kek} {
		if _, err := Open(Options{Dir: t.TempDir(), KEK: kek, RetiredKEKs: [][]byte{retired}, MaxSize: 1}); err == nil {
			t.Fatalf("retired KEK of %d bytes accepted", len(retired))
		}
	}
}
