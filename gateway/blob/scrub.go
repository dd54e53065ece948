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
	Blobs  int      // blob files examined
	Intact int      // read in full: authenticated, and the content hashes to its CID
	Erased int      // crypto-erased by an interrupted Delete (not damage)
	Bytes  int64    // plaintext bytes read
	Damage []Damage // blobs that fail, sorted by CID (file name)
}

// Damage is one blob Scrub could not read intact.
type Damage struct {
	CID string // the CID the file is stored under (its file name without .blob)
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
	shards, err := os.ReadDir(s.blobsDir)
	if err != nil {
		return st, fmt.Errorf("blob: %w", err)
	}
	buf := make([]byte, bufSize)
	for _, sh := range shards {
		if !sh.IsDir() {
			continue
		}
		entries, err := os.ReadDir(filepath.Join(s.blobsDir, sh.Name()))
		if err != nil {
			return st, fmt.Errorf("blob: %w", err)
		}
		for _, e := range entries {
			name, ok := strings.CutSuffix(e.Name(), ".blob")
			if !ok || !e.Type().IsRegular() {
				continue
			}
			if err := ctx.Err(); err != nil {
				return st, err
			}
			st.Blobs++
			n, err := s.scrubOne(sh.Name(), name, buf)
			st.Bytes += n
			switch {
			case err == nil:
				st.Intact++
			case errors.Is(err, ErrNotFound):
				st.Erased++
			default:
				st.Damage = append(st.Damage, Damage{CID: name, Err: err})
			}
		}
	}
	slices.SortFunc(st.Damage, func(a, b Damage) int { return strings.Compare(a.CID, b.CID) })
	return st, nil
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
