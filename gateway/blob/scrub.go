package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ScrubStats says what Scrub found.
type ScrubStats struct {
	Blobs  int      // blobs examined (files and packed)
	Intact int      // read in full: authenticated, and the content hashes to its CID
	Erased int      // crypto-erased by an interrupted Delete (not damage)
	Bytes  int64    // plaintext bytes read
	Damage []Damage // blobs that fail, sorted by CID (file name)
}

// Damage is one blob Scrub could not read intact.
type Damage struct {
	CID string // the CID the blob is stored under (a file's name without .blob)
	// Err wraps ErrCorrupt for a damaged or misplaced file (tampered, truncated, another
	// blob's file, a wrapped key no configured KEK opens, a name that is no CID);
	// anything else is an I/O error.
	Err error
}

// Scrub reads every blob in full, exactly as a reader of the file would (header and
// wrapped key authenticated, every segment authenticated, the plaintext hashed against
// the CID it is stored under), and reports the ones that fail. It only reads: nothing
// is repaired or removed, so it can run beside gateways sharing the store. It stops when
// ctx ends.
func (s *Store) Scrub(ctx context.Context) (ScrubStats, error) {
	var st ScrubStats
	buf := make([]byte, bufSize)
	err := s.eachBlob(ctx, func(shard string, _ os.DirEntry, name string) error {
		n, err := s.scrubOne(shard, name, buf)
		st.count(name, n, err)
		return nil
	})
	if err != nil {
		return st, err
	}
	err = s.eachPacked(ctx, func(digest []byte, _ packLoc) error {
		plain, _, err := s.openPacked(digest)
		st.count(cidOf(digest), int64(len(plain)), err)
		return nil
	})
	if err != nil {
		return st, err
	}
	slices.SortFunc(st.Damage, func(a, b Damage) int { return strings.Compare(a.CID, b.CID) })
	return st, nil
}

// count adds one blob read (n bytes, err the outcome) to the stats.
func (st *ScrubStats) count(cid string, n int64, err error) {
	st.Blobs++
	st.Bytes += n
	switch {
	case err == nil:
		st.Intact++
	case errors.Is(err, ErrNotFound):
		st.Erased++
	default:
		st.Damage = append(st.Damage, Damage{CID: cid, Err: err})
	}
}

// scrubOne reads one blob file (in shard) to its end.
func (s *Store) scrubOne(shard, cidStr string, buf []byte) (int64, error) {
	digest, err := parseCID(cidStr)
	if err != nil {
		return 0, fmt.Errorf("%w: file name is not a content ID: %v", ErrCorrupt, err)
	}
	if dir, _ := s.pathOf(cidStr, digest); filepath.Base(dir) != shard {
		return 0, fmt.Errorf("%w: file in the wrong shard directory %s", ErrCorrupt, shard)
	}
	r, info, err := s.Open(cidStr)
	if err != nil {
		return 0, err
	}
	defer r.Close()
	n, err := io.CopyBuffer(io.Discard, r, buf)
	if err != nil {
		return n, err
	}
	if n != info.Size {
		return n, fmt.Errorf("%w: %d bytes, the header says %d", ErrCorrupt, n, info.Size)
	}
	return n, nil
}
