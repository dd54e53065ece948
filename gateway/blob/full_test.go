package blob

import (
	"bytes"
	"context"
	"errors"
	"os"
	"syscall"
	"testing"
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
// Put with an error that is syscall.ENOSPC (the gateway answers 507 storage_full), and
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
			if _, err := b.Put(context.Background(), bytes.NewReader(data)); !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("size %d room %d: batch Put error %v, want ENOSPC", size, room, err)
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
	s.createTemp = osCreateTemp
	if _, err := s.Put(context.Background(), bytes.NewReader(randBytes(t, 3<<20))); err != nil {
		t.Fatalf("with room again: %v", err)
	}
}
