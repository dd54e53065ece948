package blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/edossier-city/edossier/gateway"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func TestBatchCommit(t *testing.T) {
	s := newStore(t, 1<<20)
	ctx := context.Background()
	existing := randBytes(t, 1000)
	pre, err := s.Put(ctx, bytes.NewReader(existing))
	if err != nil {
		t.Fatal(err)
	}
	files := [][]byte{randBytes(t, 1), randBytes(t, 70000), existing, randBytes(t, 0), nil}
	files[4] = files[1] // the same content twice in one batch
	b := s.NewBatch()
	staged := make([]gateway.BlobInfo, len(files))
	for i, f := range files {
		if staged[i], err = b.Put(ctx, bytes.NewReader(f)); err != nil {
			t.Fatal(err)
		}
		if staged[i].CID != referenceCID(t, f) || staged[i].Size != int64(len(f)) {
			t.Fatalf("staged %d: %+v", i, staged[i])
		}
		// Staged content is not visible before the commit.
		if _, err := s.Stat(staged[i].CID); i != 2 && !errors.Is(err, ErrNotFound) {
			t.Fatalf("staged blob %d visible before commit: %v", i, err)
		}
	}
	if b.(*Batch).Len() != len(files) {
		t.Fatalf("Len %d", b.(*Batch).Len())
	}
	infos, err := b.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantCreated := []bool{true, true, false, true, false}
	for i, info := range infos {
		if info.CID != staged[i].CID || info.Size != staged[i].Size || info.Created != wantCreated[i] {
			t.Fatalf("committed %d: %+v, want created %v", i, info, wantCreated[i])
		}
		if got := readAll(t, s, info.CID); !bytes.Equal(got, files[i]) {
			t.Fatalf("blob %d reads back differently", i)
		}
	}
	if infos[2].CID != pre.CID {
		t.Fatal("dedupe against the existing blob")
	}
	if n, _, _ := s.Usage(); n != 4 {
		t.Fatalf("%d blobs, want 4", n)
	}
	if tf, _ := s.TempFiles(); tf != 0 {
		t.Fatalf("%d temporary files left", tf)
	}
	if _, err := b.Put(ctx, bytes.NewReader(nil)); err == nil {
		t.Fatal("Put after Commit accepted")
	}
	if _, err := b.Commit(ctx); err == nil {
		t.Fatal("second Commit accepted")
	}
}

func TestBatchAbortAndFailures(t *testing.T) {
	s := newStore(t, 1000)
	ctx := context.Background()
	b := s.NewBatch()
	if _, err := b.Put(ctx, bytes.NewReader(randBytes(t, 10))); err != nil {
		t.Fatal(err)
	}
	// A failed Put leaves nothing of its own and keeps the others staged.
	if _, err := b.Put(ctx, bytes.NewReader(randBytes(t, 1001))); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("oversized Put: %v", err)
	}
	if _, err := b.Put(ctx, errReader{errors.New("broken")}); err == nil {
		t.Fatal("broken reader accepted")
	}
	if b.(*Batch).Len() != 1 {
		t.Fatalf("Len %d, want 1", b.(*Batch).Len())
	}
	if tf, _ := s.TempFiles(); tf != 0 {
		t.Fatalf("%d temporary files, want none (a small file waits in memory for Commit)", tf)
	}
	b.Abort()
	b.Abort()
	assertEmpty(t, s)

	// A cancelled context fails the commit and leaves nothing.
	b = s.NewBatch()
	if _, err := b.Put(ctx, bytes.NewReader(randBytes(t, 10))); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := b.Commit(cctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled commit: %v", err)
	}
	assertEmpty(t, s)

	// An erased blob (a Delete interrupted by a crash) is replaced by the batch's copy.
	data := randBytes(t, 100)
	info, err := s.Put(ctx, bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	eraseKeyOnly(t, s, info.CID)
	b = s.NewBatch()
	if _, err := b.Put(ctx, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	infos, err := b.Commit(ctx)
	if err != nil || !infos[0].Created {
		t.Fatalf("commit over an erased blob: %+v, %v", infos, err)
	}
	if !bytes.Equal(readAll(t, s, info.CID), data) {
		t.Fatal("replaced blob reads back differently")
	}
}

// eraseKeyOnly overwrites a blob's wrapped key as an interrupted Delete would.
func eraseKeyOnly(t *testing.T, s *Store, c string) {
	t.Helper()
	path := blobPath(t, s, c)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(make([]byte, headerSize-offKeyLen), offKeyLen); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkBatch compares storing 500 small files (1 KiB, as in a bulk import) one
// by one with Put and as one Batch: the durability passes dominate both.
func BenchmarkBatch(b *testing.B) {
	const files, size = 500, 1 << 10
	data := randBytes(b, size)
	warm := func(s *Store) {
		for i := range 256 {
			if err := s.ensureDir(filepath.Join(s.blobsDir, fmt.Sprintf("%02x", i))); err != nil {
				b.Fatal(err)
			}
		}
	}
	seq := 0
	next := func() *bytes.Reader {
		seq++
		data[0], data[1], data[2], data[3] = byte(seq), byte(seq>>8), byte(seq>>16), byte(seq>>24)
		return bytes.NewReader(data)
	}
	b.Run("put", func(b *testing.B) {
		s := newStore(b, size)
		warm(s)
		for b.Loop() {
			for range files {
				if _, err := s.Put(context.Background(), next()); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*files)/1e3, "µs/file")
	})
	b.Run("batch", func(b *testing.B) {
		s := newStore(b, size)
		warm(s)
		for b.Loop() {
			bt := s.NewBatch()
			for range files {
				if _, err := bt.Put(context.Background(), next()); err != nil {
					b.Fatal(err)
				}
			}
			if _, err := bt.Commit(context.Background()); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*files)/1e3, "µs/file")
	})
}

// TestSmallFiles covers the sizes around the small-file path (one write, small
// segments) and tampering with a small file of several segments.
func TestSmallFiles(t *testing.T) {
	s := newStore(t, 1<<20)
	for _, n := range []int{smallSegment - 57, smallSegment, 2*smallSegment + 5, smallFile - 1, smallFile, smallFile + 1} {
		data := randBytes(t, n)
		info, err := s.Put(context.Background(), bytes.NewReader(data))
		if err != nil || info.CID != referenceCID(t, data) || info.Size != int64(n) {
			t.Fatalf("size %d: %+v, %v", n, info, err)
		}
		if !bytes.Equal(readAll(t, s, info.CID), data) {
			t.Fatalf("size %d reads back differently", n)
		}
	}
	data := randBytes(t, 3*smallSegment+100)
	for _, at := range []int64{headerSize + 50, headerSize + smallSegment + 7, -1} {
		info, err := s.Put(context.Background(), bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		p := blobPath(t, s, info.CID)
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if at < 0 {
			raw = raw[:len(raw)-smallSegment/2] // truncated
		} else {
			raw[at] ^= 1
		}
		if err := os.WriteFile(p, raw, 0o600); err != nil {
			t.Fatal(err)
		}
		expectCorrupt(t, s, info.CID, data)
		if err := s.Delete(info.CID); err != nil {
			t.Fatal(err)
		}
	}
	// The size limit holds on the small path too.
	small := newStore(t, 100)
	if _, err := small.Put(context.Background(), bytes.NewReader(randBytes(t, 101))); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("101 bytes in a 100-byte store: %v", err)
	}
	if _, err := small.Put(context.Background(), bytes.NewReader(randBytes(t, 100))); err != nil {
		t.Fatal(err)
	}
}

func TestMoveNoReplace(t *testing.T) {
	for name, move := range map[string]func(string, string) error{"rename": moveNoReplace, "link fallback": linkAndRemove} {
		dir := t.TempDir()
		a, b, c := filepath.Join(dir, "a"), filepath.Join(dir, "b"), filepath.Join(dir, "c")
		for _, p := range []string{a, b} {
			if err := os.WriteFile(p, []byte(p), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if err := move(a, b); !errors.Is(err, fs.ErrExist) {
			t.Fatalf("%s onto an existing name: %v", name, err)
		}
		if got, _ := os.ReadFile(b); string(got) != b {
			t.Fatalf("%s replaced the existing file", name)
		}
		if err := move(a, c); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got, _ := os.ReadFile(c); string(got) != a {
			t.Fatalf("%s: moved content %q", name, got)
		}
		if _, err := os.Stat(a); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("%s kept the old name: %v", name, err)
		}
	}
}

// TestGroupCommit: a batch of GroupCommitMin blobs or more takes the group-commit path
// (syncfs on Linux) and ends exactly as a small batch does: every blob readable under
// its final name, nothing left in the staging directory.
func TestGroupCommit(t *testing.T) {
	s := newStore(t, 1<<20)
	ctx := context.Background()
	n := GroupCommitMin + 10
	b := s.NewBatch()
	files := make([][]byte, n)
	for i := range files {
		files[i] = randBytes(t, 1024)
		if _, err := b.Put(ctx, bytes.NewReader(files[i])); err != nil {
			t.Fatal(err)
		}
	}
	infos, err := b.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i, info := range infos {
		if !info.Created || !bytes.Equal(readAll(t, s, info.CID), files[i]) {
			t.Fatalf("blob %d: %+v", i, info)
		}
	}
	if tf, _ := s.TempFiles(); tf != 0 {
		t.Fatalf("%d temporary files left", tf)
	}
	if c, _, _ := s.Usage(); c != n {
		t.Fatalf("%d blobs, want %d", c, n)
	}
}

// BenchmarkBatchCommit: a batch of 1 KiB files (a bulk import's documents) packed, and
// the same with a file per blob (the layout before packs, the baseline), at a batch
// below the group commit and at 1,024.
// Run: go test ./gateway/blob -run '^$' -bench BatchCommit -benchtime 20x
func BenchmarkBatchCommit(b *testing.B) {
	for _, n := range []int{GroupCommitMin - 1, 1024, 8192} {
		for _, layout := range []string{"file-per-blob", "packed"} {
			b.Run(fmt.Sprintf("files=%d/%s", n, layout), func(b *testing.B) {
				s := newStore(b, 1<<20)
				s.filesOnly = layout == "file-per-blob"
				ctx := context.Background()
				data := make([][]byte, n)
				for i := range data {
					data[i] = randBytes(b, 1024)
				}
				cpu0 := cpuTime()
				for b.Loop() {
					bt := s.NewBatch()
					for i := range n {
						data[i][0]++
						if _, err := bt.Put(ctx, bytes.NewReader(data[i])); err != nil {
							b.Fatal(err)
						}
					}
					if _, err := bt.Commit(ctx); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n)/1e3, "µs/file")
				b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N*n)/1e3, "cpu-µs/file")
			})
		}
	}
}

// cpuTime is the CPU time (user and system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
