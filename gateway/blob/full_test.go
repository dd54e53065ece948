package blob

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// fullDisk is a staging file on a disk that fills up after room bytes: writes past
// that fail with ENOSPC (as write(2) does), Sync after a failed write fails too.
type fullDisk struct {
	*os.File
	room   int64
	failed bool
}

func (f *fullDisk) take(n int) (int, error) {
	if int64(n) > f.room {
		k := int(max(f.room, 0))
		f.room = 0
		f.failed = true
		return k, &os.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
	}
	f.room -= int64(n)
	return n, nil
}

func (f *fullDisk) Write(p []byte) (int, error) {
	k, err := f.take(len(p))
	if k > 0 {
		if _, werr := f.File.Write(p[:k]); werr != nil {
			return 0, werr
		}
	}
	return k, err
}

func (f *fullDisk) WriteAt(p []byte, off int64) (int, error) {
	k, err := f.take(len(p))
	if k > 0 {
		if _, werr := f.File.WriteAt(p[:k], off); werr != nil {
			return 0, werr
		}
	}
	return k, err
}

func (f *fullDisk) Sync() error {
	if f.failed {
		return &os.PathError{Op: "fsync", Path: f.Name(), Err: syscall.ENOSPC}
	}
	return f.File.Sync()
}

// TestPutOnFullDisk: a disk that fills up while a blob is written fails Put and a batch
// (its Put, or for small files the Commit that writes the pack) with an error that is syscall.ENOSPC (the gateway answers 507 storage_full), and
// leaves no staging file and no blob behind; once there is room again the same content
// stores fine.
func TestPutOnFullDisk(t *testing.T) {
	s := newStore(t, 64<<20)
	for _, size := range []int{100, 15 << 10, 200 << 10, 3 << 20} {
		for _, room := range []int64{0, 512, int64(size) / 2, headerSize + int64(size)/2} {
			s.createTemp = func(dir, pattern string) (stagingFile, error) {
				f, err := os.CreateTemp(dir, pattern)
				if err != nil {
					return nil, err
				}
				return &fullDisk{File: f, room: room}, nil
			}
			data := randBytes(t, size)
			if _, err := s.Put(context.Background(), bytes.NewReader(data)); !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("size %d room %d: Put error %v, want ENOSPC", size, room, err)
			}
			b := s.NewBatch()
			_, err := b.Put(context.Background(), bytes.NewReader(data))
			if size <= smallFile && err == nil {
				// A small file waits in memory; Commit stages it.
				_, err = b.Commit(context.Background())
			}
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("size %d room %d: batch error %v, want ENOSPC", size, room, err)
			}
			b.Abort()
			if n, _ := s.TempFiles(); n != 0 {
				t.Fatalf("size %d room %d: %d staging files left", size, room, n)
			}
			if blobs, _, _ := s.Usage(); blobs != 0 {
				t.Fatalf("size %d room %d: %d blobs stored", size, room, blobs)
			}
		}
	}
	// A batch of small files: the pack does not fit.
	for _, room := range []int64{0, 8, 5000} {
		s.createTemp = func(dir, pattern string) (stagingFile, error) {
			f, err := os.CreateTemp(dir, pattern)
			if err != nil {
				return nil, err
			}
			return &fullDisk{File: f, room: room}, nil
		}
		b := s.NewBatch()
		for range packMin {
			if _, err := b.Put(context.Background(), bytes.NewReader(randBytes(t, 1000))); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := b.Commit(context.Background()); !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("pack, room %d: Commit error %v, want ENOSPC", room, err)
		}
		if n, _ := s.TempFiles(); n != 0 {
			t.Fatalf("pack, room %d: %d staging files left", room, n)
		}
		if blobs, _, _ := s.Usage(); blobs != 0 || len(packFiles(t, s)) != 0 {
			t.Fatalf("pack, room %d: %d blobs stored", room, blobs)
		}
	}
	s.createTemp = osCreateTemp
	if _, err := s.Put(context.Background(), bytes.NewReader(randBytes(t, 3<<20))); err != nil {
		t.Fatalf("with room again: %v", err)
	}
}

// TestSweepStagingOfACrash: the staging files of a Store whose process died (its
// staging lock is free) are removed by the next SweepTemp whatever their age; those of
// a live Store sharing the directory are not; Close removes a Store's own staging files
// (a gateway stopped by SIGTERM with an upload in flight leaves none).
func TestSweepStagingOfACrash(t *testing.T) {
	dir := t.TempDir()
	kek := randBytes(t, 32)
	open := func() *Store {
		s, err := Open(Options{Dir: dir, KEK: kek, MaxSize: 64 << 20})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	stageOne := func(s *Store) *Batch {
		b := s.newBatch()
		if _, err := b.Put(context.Background(), bytes.NewReader(randBytes(t, 100<<10))); err != nil {
			t.Fatal(err)
		}
		if n, _ := s.TempFiles(); n != 1 {
			t.Fatalf("%d staging files, want 1", n)
		}
		return b
	}
	crashed, live := open(), open()
	stageOne(crashed)
	stageOne(live)
	crashedDir := crashed.tmpDir
	// The crash: the process's locks go (the kernel releases them), its files stay.
	crashed.tmpLock.Close()
	crashed.lock.Close()

	next := open()
	defer next.Close()
	n, err := next.SweepTemp(time.Hour) // the files are seconds old
	if err != nil || n != 1 {
		t.Fatalf("SweepTemp = %d, %v; want the crashed store's 1 file", n, err)
	}
	if _, err := os.Stat(crashedDir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("crashed staging directory kept: %v", err)
	}
	if n, _ := live.TempFiles(); n != 1 {
		t.Fatalf("live store's staging file removed (%d left)", n)
	}
	// An unrelated file next to the staging directories is never touched.
	unrelated := filepath.Join(next.tmpRoot, "notes.txt")
	if err := os.WriteFile(unrelated, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	liveDir := live.tmpDir
	if err := live.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(liveDir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Close left its staging directory: %v", err)
	}
	if n, err := next.SweepTemp(0); err != nil || n != 0 {
		t.Fatalf("second SweepTemp = %d, %v", n, err)
	}
	if _, err := os.Stat(unrelated); err != nil {
		t.Fatal("unrelated file removed")
	}
	entries, _ := os.ReadDir(next.tmpRoot)
	if len(entries) != 2 { // next's own staging directory and notes.txt
		t.Fatalf("tmp holds %d entries, want 2", len(entries))
	}
}
