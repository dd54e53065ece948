package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
)

// RewrapStats says what Rewrap did.
type RewrapStats struct {
	Blobs     int      // blobs examined (files and packed)
	Rewrapped int      // data keys moved from a retired KEK to the KEK
	Erased    int      // blobs erased by an interrupted Delete (left alone)
	Failed    []string // blobs that could not be read or rewritten (by file name)
}

// Rewrap wraps under the current KEK the data key of every blob that a retired KEK
// (Options.RetiredKEKs) wrapped, after which the retired KEKs can be destroyed (which
// also makes the old headers, wherever their bytes survive on disk, useless). Each such
// blob is written anew: a temporary file with the new header and the same ciphertext
// (not decrypted: the data key does not change), fsynced and renamed over the blob, its
// directory fsynced; a pack holding such keys is copied whole with its keys rewrapped
// (see rewrapPack). A crash leaves the old or the new file, both readable with the
// KEKs configured, and at most a temporary file that SweepTemp removes; running Rewrap
// again continues. The I/O is the size of the blobs rewritten. The store must be opened
// with Options.Exclusive, so that no gateway writes or deletes meanwhile. Rewrap stops
// when ctx ends; blobs it cannot handle are listed in Failed and make it return an
// error after the others are done.
func (s *Store) Rewrap(ctx context.Context) (RewrapStats, error) {
	var st RewrapStats
	if !s.excl {
		return st, errors.New("blob: Rewrap needs a store opened with Options.Exclusive")
	}
	err := s.eachBlob(ctx, func(_ string, e os.DirEntry, name string) error {
		st.Blobs++
		rewrapped, err := s.rewrapOne(name)
		switch {
		case errors.Is(err, ErrNotFound):
			st.Erased++
		case err != nil:
			st.Failed = append(st.Failed, e.Name()+": "+err.Error())
		case rewrapped:
			st.Rewrapped++
		}
		return nil
	})
	if err != nil {
		return st, err
	}
	// Packed blobs: each pack holding a key a retired KEK wrapped is rewritten whole.
	written := map[int64]bool{} // packs this run wrote (the walk may come upon them)
	err = s.eachPack(ctx, func(id int64, path string) error {
		if written[id] {
			return nil
		}
		n, rewrapped, nid, err := s.rewrapPack(ctx, id, path)
		if nid != 0 {
			written[nid] = true
		}
		st.Blobs += n
		st.Rewrapped += rewrapped
		if err != nil {
			st.Failed = append(st.Failed, fmt.Sprintf("pack %016x: %v", id, err))
		}
		return nil
	})
	if err != nil {
		return st, err
	}
	slices.Sort(st.Failed)
	if len(st.Failed) > 0 {
		return st, fmt.Errorf("blob: %d of %d blobs could not be rewrapped", len(st.Failed), st.Blobs)
	}
	return st, nil
}

// rewrapOne rewrites one blob if a retired KEK wrapped its key.
func (s *Store) rewrapOne(cidStr string) (bool, error) {
	digest, err := parseCID(cidStr)
	if err != nil {
		return false, err
	}
	dir, path := s.pathOf(cidStr, digest)
	mu := s.lockFor(digest)
	mu.Lock()
	defer mu.Unlock()
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil // deleted meanwhile
	}
	if err != nil {
		return false, fmt.Errorf("blob: %w", err)
	}
	defer f.Close()
	handle, size, retired, err := s.readHeaderKEK(f, cidStr)
	if err != nil || !retired {
		return false, err
	}
	fi, err := f.Stat()
	if err != nil {
		return false, fmt.Errorf("blob: %w", err)
	}
	hdr, err := s.header(handle, cidStr, size)
	if err != nil {
		return false, err
	}
	tmp, err := os.CreateTemp(s.tmpDir, "put-rewrap-*.partial")
	if err != nil {
		return false, fmt.Errorf("blob: %w", err)
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err := tmp.Write(hdr); err != nil {
		return false, fmt.Errorf("blob: %w", err)
	}
	if _, err := io.Copy(tmp, io.NewSectionReader(f, headerSize, fi.Size()-headerSize)); err != nil {
		return false, fmt.Errorf("blob: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return false, fmt.Errorf("blob: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return false, fmt.Errorf("blob: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return false, fmt.Errorf("blob: %w", err)
	}
	done = true
	if err := syncDir(dir); err != nil {
		return false, fmt.Errorf("blob: %w", err)
	}
	return true, nil
}
