// Package blob is the gateway's content-addressed, encrypted blob store on a
// local directory.
//
// # Addressing
//
// A blob is named by the CIDv1 of its exact plaintext bytes: raw codec (0x55),
// sha2-256 multihash, rendered in the default base32 lower-case multibase
// ("bafkrei..."). Only a string that parses as such a CID and renders back to
// exactly the same string (see [ValidateCID]) is ever turned into a path, so a
// path parameter cannot name anything outside the store.
//
// # Layout
//
//	<Dir>/blobs/<hh>/<cid>.blob   committed blobs; hh = hex of the first digest byte
//	<Dir>/tmp/s-*/put-*.partial   uploads in progress of one open Store (its staging
//	                              directory, flock'ed by <Dir>/tmp/s-*/lock while open)
//	<Dir>/tmp/put-*.partial       staging files of an older version (see SweepTemp)
//
// A blob file is one self-contained file:
//
//	offset 0     magic "EDBLOB\x00\x01" (8 bytes; the last byte is the format version)
//	offset 8     plaintext size, uint64 big-endian
//	offset 16    length L of the wrapped data key, uint16 big-endian
//	offset 18    wrapped data key (L bytes), zero padding up to headerSize (1 KiB)
//	offset 1024  Tink streaming-AEAD ciphertext of the plaintext
//
// # Encryption at rest
//
// Every blob gets a fresh Tink keyset holding one AES256-GCM-HKDF streaming
// key (the "data key"; 64 KiB ciphertext segments, 4 KiB for files of at
// most 16 KiB, see segmentSize and smallFile). The keyset
// is wrapped (Tink encrypted keyset) with AES-256-GCM under the store's
// key-encryption key (KEK); the associated data of the wrap is the CID and the
// plaintext size, so a wrapped key cannot be moved to another CID and the size
// in the header cannot be altered. The ciphertext is authenticated segment by
// segment (tampering, truncation, reordering are detected while reading); on
// top of that the reader re-hashes the plaintext and fails at the end of the
// stream if it does not match the CID.
//
// One file per blob makes the commit atomic: the temporary file is fsynced and
// then moved to its final name with renameat2(RENAME_NOREPLACE) (link + unlink
// where the file system lacks it), which fails if the name exists, so an
// existing blob is never replaced by a concurrent Put of the same content; then
// the directory is fsynced. A Batch does the same for many blobs with one pass
// of concurrent fsyncs (see Batch). Delete is a crypto-erase: the wrapped data key is
// overwritten in place and synced before the file is unlinked, so every other
// name of the same inode (a leftover temporary link after a crash) becomes
// unreadable too. On copy-on-write file systems or SSDs the old key bytes may
// survive physically until the KEK is rotated (RetiredKEKs, Rewrap) and the old
// KEK destroyed.
//
// The store's root holds a lock file: gateways share it (flock LOCK_SH), Rewrap
// takes it alone (LOCK_EX); Open never waits for it.
//
// Blobs written for a transaction that later failed are harmless: they are
// unreachable without a ledger record and are deduplicated if the same file is
// uploaded again. Deleting them on failure is not safe in general: another
// request may have stored the same content (Info.Created false for it) and be
// about to commit its own record. Concurrent Puts of the same content in one process and
// Delete are serialised per CID; across processes only the link/rename
// atomicity holds.
package blob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
	"github.com/tink-crypto/tink-go/v2/aead/subtle"
	"github.com/tink-crypto/tink-go/v2/keyset"
	"github.com/tink-crypto/tink-go/v2/streamingaead"
	"github.com/tink-crypto/tink-go/v2/streamingaead/aesgcmhkdf"
	"github.com/tink-crypto/tink-go/v2/tink"
)

// Errors returned by the store. Test with errors.Is.
var (
	// ErrNotFound: no blob with that CID (or it was erased).
	ErrNotFound = errors.New("blob: not found")
	// ErrTooLarge: the stream is longer than Options.MaxSize.
	ErrTooLarge = errors.New("blob: too large")
	// ErrInvalidCID: not a CIDv1 raw sha2-256 in canonical base32 form.
	ErrInvalidCID = errors.New("blob: invalid CID")
	// ErrCorrupt: the stored file fails authentication (tampered, truncated,
	// wrong KEK) or its content does not hash to its CID.
	ErrCorrupt = errors.New("blob: corrupt or tampered blob")
	// ErrInUse: another process holds the store in a mode that excludes this
	// Open (Rewrap runs alone).
	ErrInUse = errors.New("blob: store in use by another process")
)

const (
	fileMagic  = "EDBLOB\x00\x01"
	headerSize = 1024
	// offsets inside the header
	offSize   = 8
	offKeyLen = 16
	offKey    = 18
	maxKeyLen = headerSize - offKey

	// segmentSize is the Tink ciphertext segment size. 64 KiB keeps the
	// per-stream buffers small (about 130 KiB per Put or Open, which matters
	// with dozens of concurrent uploads of 64 KiB files, where Tink's 1 MB
	// template would allocate 2 MiB per request), while the per-segment
	// overhead (16-byte tag, one nonce) stays at 0.02 %. The segment size is
	// recorded in each wrapped keyset, so changing it later needs no
	// migration.
	segmentSize = 64 << 10
	// smallFile and smallSegment: a file of at most smallFile bytes (most
	// files of a bulk import) is read whole first, encrypted in memory with a
	// key of smallSegment-byte segments, and written with one write: Tink's
	// buffers are then 8 KiB instead of 128 KiB per file, which was a third of
	// the CPU of storing a 1 KiB file.
	smallFile    = 16 << 10
	smallSegment = 4 << 10
	// bufSize is the read buffer of Put.
	bufSize = 64 << 10

	dirPerm  = 0o700
	filePerm = 0o600
	lockN    = 64
)

// streamAAD is the associated data of every ciphertext stream; binding to the
// CID is done by the key wrap, because the CID is only known after the stream.
const streamAAD = "edossier/blob/data/v1"

// Options configure a Store.
type Options struct {
	// Dir is the root directory; it is created if missing.
	Dir string
	// KEK is the 32-byte key-encryption key (AES-256-GCM).
	KEK []byte
	// RetiredKEKs are former KEKs (32 bytes each): blobs whose data key one of them
	// wrapped stay readable until Rewrap has wrapped it under KEK. New blobs use KEK.
	RetiredKEKs [][]byte
	// MaxSize is the largest accepted blob in bytes (> 0).
	MaxSize int64
	// Exclusive opens the store for this process alone (Rewrap needs it); otherwise
	// several processes may share it. Either way Open fails while another process
	// holds it in the other mode or exclusively.
	Exclusive bool
}

// Store is a content-addressed, encrypted blob store. It is safe for
// concurrent use.
type Store struct {
	root     string
	blobsDir string
	tmpRoot  string   // <Dir>/tmp
	tmpDir   string   // this Store's staging directory under tmpRoot
	tmpLock  *os.File // exclusive flock on tmpDir/lock while open
	maxSize  int64
	kek      tink.AEAD
	retired  []tink.AEAD            // former KEKs, for reading and Rewrap
	lock     *os.File               // flock on root/lock held while open
	excl     bool                   // opened with Options.Exclusive
	params   *aesgcmhkdf.Parameters // data keys of files above smallFile
	small    *aesgcmhkdf.Parameters // data keys of files up to smallFile
	locks    [lockN]sync.Mutex
	packs    *packIndex // the index of packed blobs (pack.go)
	// filesOnly makes a Batch store every blob as a file of its own, as before packs
	// (the baseline of the benchmarks).
	filesOnly bool
	// createTemp creates a staging file (os.CreateTemp; tests inject write failures
	// such as ENOSPC here).
	createTemp func(dir, pattern string) (stagingFile, error)
}

// stagingFile is what a blob is written to before it is moved into place.
type stagingFile interface {
	io.Writer
	io.WriterAt
	Sync() error
	Close() error
	Name() string
}

func osCreateTemp(dir, pattern string) (stagingFile, error) { return os.CreateTemp(dir, pattern) }

// Open opens (creating if needed) a store in o.Dir.
func Open(o Options) (*Store, error) {
	if o.Dir == "" {
		return nil, errors.New("blob: Options.Dir is empty")
	}
	if len(o.KEK) != 32 {
		return nil, fmt.Errorf("blob: KEK must be 32 bytes, got %d", len(o.KEK))
	}
	if o.MaxSize <= 0 {
		return nil, errors.New("blob: Options.MaxSize must be > 0")
	}
	kek, err := subtle.NewAESGCM(bytes.Clone(o.KEK))
	if err != nil {
		return nil, fmt.Errorf("blob: KEK: %w", err)
	}
	retired := make([]tink.AEAD, len(o.RetiredKEKs))
	for i, k := range o.RetiredKEKs {
		if len(k) != 32 {
			return nil, fmt.Errorf("blob: retired KEK %d must be 32 bytes, got %d", i+1, len(k))
		}
		if bytes.Equal(k, o.KEK) {
			return nil, fmt.Errorf("blob: retired KEK %d is the current KEK", i+1)
		}
		if retired[i], err = subtle.NewAESGCM(bytes.Clone(k)); err != nil {
			return nil, fmt.Errorf("blob: retired KEK %d: %w", i+1, err)
		}
	}
	var params [2]*aesgcmhkdf.Parameters
	for i, seg := range []int32{segmentSize, smallSegment} {
		params[i], err = aesgcmhkdf.NewParameters(aesgcmhkdf.ParametersOpts{
			KeySizeInBytes:        32,
			DerivedKeySizeInBytes: 32,
			HKDFHashType:          aesgcmhkdf.SHA256,
			SegmentSizeInBytes:    seg,
		})
		if err != nil {
			return nil, fmt.Errorf("blob: streaming parameters: %w", err)
		}
	}
	root, err := filepath.Abs(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("blob: %w", err)
	}
	s := &Store{
		root:     root,
		blobsDir: filepath.Join(root, "blobs"),
		tmpRoot:  filepath.Join(root, "tmp"),
		maxSize:  o.MaxSize,
		kek:      kek,
		retired:  retired,
		excl:     o.Exclusive,
		params:   params[0],
		small:    params[1],

		createTemp: osCreateTemp,
	}
	for _, d := range []string{root, s.blobsDir, s.tmpRoot, filepath.Join(root, packDirName)} {
		if err := os.MkdirAll(d, dirPerm); err != nil {
			return nil, fmt.Errorf("blob: %w", err)
		}
	}
	for _, d := range []string{s.blobsDir, root} {
		if err := syncDir(d); err != nil {
			return nil, fmt.Errorf("blob: %w", err)
		}
	}
	if s.lock, err = lockStore(filepath.Join(root, "lock"), o.Exclusive); err != nil {
		return nil, err
	}
	// This Store's own staging directory, locked while it is open, so that SweepTemp
	// (of this or another process) can tell abandoned staging files from live ones.
	if s.tmpDir, err = os.MkdirTemp(s.tmpRoot, stagingPrefix+"*"); err != nil {
		s.lock.Close()
		return nil, fmt.Errorf("blob: %w", err)
	}
	if s.tmpLock, err = lockStore(filepath.Join(s.tmpDir, "lock"), true); err != nil {
		os.RemoveAll(s.tmpDir)
		s.lock.Close()
		return nil, err
	}
	if err := s.openPackIndex(context.Background()); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// stagingPrefix names the staging directories of open Stores under <Dir>/tmp.
const stagingPrefix = "s-"

// Close removes this Store's staging files (uploads still in progress fail) and
// releases its locks; the Store must not be used afterwards.
func (s *Store) Close() error {
	if s.lock == nil {
		return nil
	}
	removeStaging(s.tmpDir)
	os.Remove(filepath.Join(s.tmpDir, "lock"))
	s.tmpLock.Close()
	os.Remove(s.tmpDir)
	if s.packs != nil {
		s.packs.close()
		s.packs = nil
	}
	err := s.lock.Close()
	s.lock = nil
	return err
}

// isStagingName reports whether name is a staging file name the store gives.
func isStagingName(name string) bool {
	return strings.HasPrefix(name, "put-") && strings.HasSuffix(name, ".partial")
}

// removeStaging removes the staging files (and the lock file) in one staging
// directory and returns how many staging files it removed.
func removeStaging(dir string) (int, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return 0, nil
		}
		return 0, fmt.Errorf("blob: %w", err)
	}
	n := 0
	var firstErr error
	for _, e := range entries {
		if !e.Type().IsRegular() || !isStagingName(e.Name()) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
			if !errors.Is(err, fs.ErrNotExist) && firstErr == nil {
				firstErr = fmt.Errorf("blob: %w", err)
			}
			continue
		}
		n++
	}
	return n, firstErr
}

// MaxSize returns the configured size limit in bytes.
func (s *Store) MaxSize() int64 { return s.maxSize }

// ValidateCID returns nil if str is a CIDv1 with raw codec and a 32-byte
// sha2-256 multihash whose canonical string form is exactly str; otherwise an
// error wrapping ErrInvalidCID.
func ValidateCID(str string) error {
	_, err := parseCID(str)
	return err
}

// parseCID validates str (wire.ParseCID: the one canonical form) and returns its
// sha2-256 digest.
func parseCID(str string) ([]byte, error) {
	c, err := wire.ParseCID(str)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrInvalidCID, wire.AsError(err).Message)
	}
	return wire.SHA256Of(c), nil
}

// cidOf builds the canonical CID string of a sha2-256 digest.
func cidOf(digest []byte) string { return wire.CIDFromSHA256(digest).String() }

// pathOf returns the final path of a validated CID. It concatenates (a batch asks it
// per file; blobsDir is absolute and clean, so the answer is filepath.Join's).
func (s *Store) pathOf(cidStr string, digest []byte) (dir, file string) {
	const digits = "0123456789abcdef"
	dir = s.blobsDir + string(filepath.Separator) + string([]byte{digits[digest[0]>>4], digits[digest[0]&15]})
	return dir, dir + string(filepath.Separator) + cidStr + ".blob"
}

func (s *Store) lockFor(digest []byte) *sync.Mutex {
	return &s.locks[int(digest[len(digest)-1])%lockN]
}

// Sum computes the Info (CID and size) of a stream without storing it, with
// the same limit semantics as Put. It is what "verify by upload" needs.
func Sum(ctx context.Context, r io.Reader, maxSize int64) (gateway.BlobInfo, error) {
	h := sha256.New()
	n, err := copyLimited(ctx, h, r, maxSize, make([]byte, bufSize), nil)
	if err != nil {
		return gateway.BlobInfo{}, err
	}
	return gateway.BlobInfo{CID: cidOf(h.Sum(nil)), Size: n}, nil
}

// copyLimited copies r to w (and to h if not nil) with buf, failing with
// ErrTooLarge once more than max bytes arrive and with ctx.Err() once ctx is
// done.
func copyLimited(ctx context.Context, w io.Writer, r io.Reader, max int64, buf []byte, h hash.Hash) (int64, error) {
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n, rerr := r.Read(buf)
		if n > 0 {
			total += int64(n)
			if total > max {
				return total, ErrTooLarge
			}
			if h != nil {
				h.Write(buf[:n])
			}
			if _, err := w.Write(buf[:n]); err != nil {
				return total, err
			}
		}
		if rerr == io.EOF {
			return total, nil
		}
		if rerr != nil {
			return total, rerr
		}
	}
}

// Put streams r into the store and returns the CID and size of its bytes.
// The plaintext is hashed while it is encrypted into a temporary file; when
// Put returns nil the blob is durable under its final name (file and
// directory fsynced). If a valid blob with the same CID exists it is kept and
// the new copy discarded. More than MaxSize bytes fail with ErrTooLarge; a
// done ctx (checked between 64 KiB chunks and before the commit) fails with
// ctx.Err(); in both cases, as on any error, nothing is left behind. Memory
// use does not depend on the size of the stream.
func (s *Store) Put(ctx context.Context, r io.Reader) (gateway.CommittedBlob, error) {
	info, err := s.put(ctx, r)
	return info, s.codeErr(err)
}

func (s *Store) put(ctx context.Context, r io.Reader) (gateway.CommittedBlob, error) {
	st, err := s.stage(ctx, r, newBuffer(), true)
	if err != nil {
		return gateway.CommittedBlob{}, err
	}
	// On success the file has moved to its final name; otherwise (an error, or
	// the same content was there already) the temporary file goes.
	defer st.discard()
	if err := ctx.Err(); err != nil {
		return gateway.CommittedBlob{}, err
	}
	if st.size <= smallFile {
		// A batch may have packed this content: keep that copy (the request that put
		// it there may rely on it, and a file of ours would be removed with it).
		if _, ok, err := s.openPacked(st.digest); ok && err == nil {
			return gateway.CommittedBlob{BlobInfo: gateway.BlobInfo{CID: st.cid, Size: st.size}}, nil
		}
	}
	created, dir, err := s.install(&st)
	if err != nil {
		return gateway.CommittedBlob{}, err
	}
	if err := syncDir(dir); err != nil {
		return gateway.CommittedBlob{}, fmt.Errorf("blob: %w", err)
	}
	return gateway.CommittedBlob{BlobInfo: gateway.BlobInfo{CID: st.cid, Size: st.size}, Created: created}, nil
}

// staged is a blob written to a temporary file, not yet under its final name.
type staged struct {
	tmp    string // "" once moved to the final name
	cid    string
	digest []byte
	size   int64
}

// discard removes the temporary file unless it was installed.
func (st *staged) discard() {
	if st.tmp != "" {
		os.Remove(st.tmp)
		st.tmp = ""
	}
}

// stage encrypts r into a new temporary file with its header, fsynced if sync
// is set, and closes it. On error the file is removed.
func (s *Store) stage(ctx context.Context, r io.Reader, buf []byte, sync bool) (st staged, err error) {
	if err := ctx.Err(); err != nil {
		return st, err
	}
	tmp, err := s.createTemp(s.tmpDir, "put-*.partial")
	if err != nil {
		return st, fmt.Errorf("blob: %w", err)
	}
	defer func() {
		if tmp != nil {
			tmp.Close()
		}
		if err != nil {
			os.Remove(st.tmp)
		}
	}()
	st.tmp = tmp.Name()
	if st.cid, st.digest, st.size, err = s.encrypt(ctx, tmp, r, buf); err != nil {
		if errors.Is(err, ErrTooLarge) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return st, err
		}
		return st, fmt.Errorf("blob: %w", err)
	}
	if sync {
		if err := tmp.Sync(); err != nil {
			return st, fmt.Errorf("blob: %w", err)
		}
	}
	err = tmp.Close()
	tmp = nil
	if err != nil {
		return st, fmt.Errorf("blob: %w", err)
	}
	return st, nil
}

// newBuffer returns the buffer stage works with: bufSize bytes to copy with, then
// smallFile+1 bytes to hold the start of a file.
func newBuffer() []byte { return make([]byte, bufSize+smallFile+1) }

// encrypt writes the blob file of r to f (header, then ciphertext) and returns
// the CID, digest and size of the plaintext. buf comes from newBuffer.
func (s *Store) encrypt(ctx context.Context, f stagingFile, r io.Reader, buf []byte) (string, []byte, int64, error) {
	buf, head := buf[:bufSize], buf[bufSize:]
	n, err := io.ReadFull(r, head)
	switch {
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		// The whole file is in head: encrypt it in memory, one write.
		if int64(n) > s.maxSize {
			return "", nil, 0, ErrTooLarge
		}
		if err := ctx.Err(); err != nil {
			return "", nil, 0, err
		}
		handle, enc, out, err := s.encrypter(s.small, nil, n)
		if err != nil {
			return "", nil, 0, err
		}
		sum := sha256.Sum256(head[:n])
		if _, err := enc.Write(head[:n]); err != nil {
			return "", nil, 0, err
		}
		if err := enc.Close(); err != nil {
			return "", nil, 0, err
		}
		cidStr, hdr, err := s.seal(handle, sum[:], int64(n))
		if err != nil {
			return "", nil, 0, err
		}
		copy(out.Bytes(), hdr)
		if _, err := f.Write(out.Bytes()); err != nil {
			return "", nil, 0, err
		}
		return cidStr, sum[:], int64(n), nil
	case err != nil:
		return "", nil, 0, err
	}
	// A larger file streams through 64 KiB segments, starting with head.
	handle, enc, _, err := s.encrypter(s.params, f, 0)
	if err != nil {
		return "", nil, 0, err
	}
	h := sha256.New()
	size, err := copyLimited(ctx, enc, io.MultiReader(bytes.NewReader(head), r), s.maxSize, buf, h)
	if err != nil {
		return "", nil, 0, err
	}
	if err := enc.Close(); err != nil {
		return "", nil, 0, err
	}
	digest := h.Sum(nil)
	cidStr, hdr, err := s.seal(handle, digest, size)
	if err != nil {
		return "", nil, 0, err
	}
	if _, err := f.WriteAt(hdr, 0); err != nil {
		return "", nil, 0, err
	}
	return cidStr, digest, size, nil
}

// encrypter makes a fresh data key with params and an encrypting writer to f
// after a reserved header, or, if f is nil, to a buffer it returns, sized for n
// bytes of plaintext.
func (s *Store) encrypter(params *aesgcmhkdf.Parameters, f stagingFile, n int) (*keyset.Handle, io.WriteCloser, *bytes.Buffer, error) {
	handle, err := s.newDataKey(params)
	if err != nil {
		return nil, nil, nil, err
	}
	primitive, err := streamingaead.New(handle)
	if err != nil {
		return nil, nil, nil, err
	}
	var w io.Writer = f
	var out *bytes.Buffer
	if f == nil {
		// Tink's stream header (40 bytes) and a 16-byte tag per segment.
		out = bytes.NewBuffer(make([]byte, headerSize, headerSize+n+40+16*(n/(smallSegment-56)+2)))
		w = out
	} else if _, err := f.Write(make([]byte, headerSize)); err != nil {
		return nil, nil, nil, err
	}
	enc, err := primitive.NewEncryptingWriter(w, []byte(streamAAD))
	if err != nil {
		return nil, nil, nil, err
	}
	return handle, enc, out, nil
}

// seal returns the CID of a digest and the file header holding the wrapped data key.
func (s *Store) seal(handle *keyset.Handle, digest []byte, size int64) (string, []byte, error) {
	cidStr := cidOf(digest)
	hdr, err := s.header(handle, cidStr, size)
	return cidStr, hdr, err
}

// install moves an fsynced temporary file to its final name unless a valid
// blob with that CID already exists (then the temporary file stays for the
// caller to discard); it reports whether the file was installed and the
// directory whose entry must be synced before the blob counts as durable.
// That directory is returned for an existing blob too: a concurrent Put of the
// same content may have moved it there and not yet synced the directory.
func (s *Store) install(st *staged) (bool, string, error) {
	dir, final := s.pathOf(st.cid, st.digest)
	mu := s.lockFor(st.digest)
	mu.Lock()
	defer mu.Unlock()
	err := moveNoReplace(st.tmp, final)
	if errors.Is(err, fs.ErrNotExist) {
		// First blob of this shard: create the directory (once).
		if err := s.ensureDir(dir); err != nil {
			return false, "", err
		}
		err = moveNoReplace(st.tmp, final)
	}
	switch {
	case err == nil:
	case errors.Is(err, fs.ErrExist):
		if _, verr := s.stat(st.cid, final); verr == nil {
			return false, dir, nil // dedupe: keep the existing blob
		}
		// The existing file is erased (a Delete interrupted by a crash) or
		// damaged: replace it with the good copy.
		if err := os.Rename(st.tmp, final); err != nil {
			return false, "", fmt.Errorf("blob: %w", err)
		}
	default:
		return false, "", fmt.Errorf("blob: %w", err)
	}
	st.tmp = ""
	return true, dir, nil
}

// ensureDir creates a shard directory and makes its entry durable.
func (s *Store) ensureDir(dir string) error { return s.ensureDirIn(dir, s.blobsDir) }

func (s *Store) newDataKey(params *aesgcmhkdf.Parameters) (*keyset.Handle, error) {
	m := keyset.NewManager()
	id, err := m.AddNewKeyFromParameters(params)
	if err != nil {
		return nil, fmt.Errorf("blob: data key: %w", err)
	}
	if err := m.SetPrimary(id); err != nil {
		return nil, fmt.Errorf("blob: data key: %w", err)
	}
	h, err := m.Handle()
	if err != nil {
		return nil, fmt.Errorf("blob: data key: %w", err)
	}
	return h, nil
}

// wrapAAD is the associated data of the key wrap.
func wrapAAD(cidStr string, size int64) []byte {
	aad := make([]byte, 0, 64+len(cidStr))
	aad = append(aad, "edossier/blob/key/v1\x00"...)
	aad = append(aad, cidStr...)
	aad = append(aad, 0)
	return binary.BigEndian.AppendUint64(aad, uint64(size))
}

func (s *Store) header(h *keyset.Handle, cidStr string, size int64) ([]byte, error) {
	var wrapped bytes.Buffer
	if err := h.WriteWithAssociatedData(keyset.NewBinaryWriter(&wrapped), s.kek, wrapAAD(cidStr, size)); err != nil {
		return nil, fmt.Errorf("blob: wrap data key: %w", err)
	}
	if wrapped.Len() == 0 || wrapped.Len() > maxKeyLen {
		return nil, fmt.Errorf("blob: wrapped data key has unexpected size %d", wrapped.Len())
	}
	hdr := make([]byte, headerSize)
	copy(hdr, fileMagic)
	binary.BigEndian.PutUint64(hdr[offSize:], uint64(size))
	binary.BigEndian.PutUint16(hdr[offKeyLen:], uint16(wrapped.Len()))
	copy(hdr[offKey:], wrapped.Bytes())
	return hdr, nil
}

// readHeader reads and authenticates the header of f, returning the data key
// and plaintext size.
func (s *Store) readHeader(f *os.File, cidStr string) (*keyset.Handle, int64, error) {
	h, size, _, err := s.readHeaderKEK(f, cidStr)
	return h, size, err
}

// readHeaderKEK is readHeader that also tells whether a retired KEK wrapped the key.
func (s *Store) readHeaderKEK(f *os.File, cidStr string) (*keyset.Handle, int64, bool, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, 0, false, fmt.Errorf("blob: %w", err)
	}
	hdr := make([]byte, headerSize)
	if _, err := f.ReadAt(hdr, 0); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, 0, false, fmt.Errorf("%w: short header", ErrCorrupt)
		}
		return nil, 0, false, fmt.Errorf("blob: %w", err)
	}
	if string(hdr[:len(fileMagic)]) != fileMagic {
		return nil, 0, false, fmt.Errorf("%w: bad magic", ErrCorrupt)
	}
	size := binary.BigEndian.Uint64(hdr[offSize:])
	keyLen := int(binary.BigEndian.Uint16(hdr[offKeyLen:]))
	if keyLen == 0 {
		// The data key was overwritten by an interrupted Delete.
		return nil, 0, false, fmt.Errorf("%w (erased)", ErrNotFound)
	}
	if keyLen > maxKeyLen || size > uint64(fi.Size()) {
		return nil, 0, false, fmt.Errorf("%w: bad header", ErrCorrupt)
	}
	for _, b := range hdr[offKey+keyLen:] {
		if b != 0 {
			return nil, 0, false, fmt.Errorf("%w: bad header padding", ErrCorrupt)
		}
	}
	handle, retired, err := s.unwrap(hdr[offKey:offKey+keyLen], wrapAAD(cidStr, int64(size)))
	if err != nil {
		return nil, 0, false, err
	}
	return handle, int64(size), retired, nil
}

// unwrap decrypts a wrapped data key with the KEK or, failing that, a retired KEK;
// retired says which one did (false: the current KEK).
func (s *Store) unwrap(wrapped, aad []byte) (h *keyset.Handle, retired bool, err error) {
	for i, kek := range append([]tink.AEAD{s.kek}, s.retired...) {
		h, err = keyset.ReadWithAssociatedData(keyset.NewBinaryReader(bytes.NewReader(wrapped)), kek, aad)
		if err == nil {
			return h, i > 0, nil
		}
	}
	return nil, false, fmt.Errorf("%w: data key: %v", ErrCorrupt, err)
}

// stat opens the file at path and authenticates its header.
func (s *Store) stat(cidStr, path string) (gateway.BlobInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return gateway.BlobInfo{}, ErrNotFound
		}
		return gateway.BlobInfo{}, fmt.Errorf("blob: %w", err)
	}
	defer f.Close()
	_, size, err := s.readHeader(f, cidStr)
	if err != nil {
		return gateway.BlobInfo{}, err
	}
	return gateway.BlobInfo{CID: cidStr, Size: size}, nil
}

// Stat returns the Info of a stored blob after authenticating its header.
func (s *Store) Stat(cidStr string) (gateway.BlobInfo, error) {
	info, err := s.statCID(cidStr)
	return info, s.codeErr(err)
}

func (s *Store) statCID(cidStr string) (gateway.BlobInfo, error) {
	digest, err := parseCID(cidStr)
	if err != nil {
		return gateway.BlobInfo{}, err
	}
	_, path := s.pathOf(cidStr, digest)
	info, err := s.stat(cidStr, path)
	if errors.Is(err, ErrNotFound) {
		// Not a blob file (or an erased one): a packed blob?
		plain, ok, perr := s.openPacked(digest)
		if ok {
			return gateway.BlobInfo{CID: cidStr, Size: int64(len(plain))}, perr
		}
		if perr != nil {
			return info, perr
		}
	}
	return info, err
}

// Open returns a reader of the plaintext of a blob. Reading is streamed and
// authenticated: a damaged file makes Read return an error wrapping
// ErrCorrupt (never wrong bytes followed by io.EOF); the caller must treat a
// non-EOF error as failure of the whole transfer. The caller closes the
// reader.
func (s *Store) Open(cidStr string) (io.ReadCloser, gateway.BlobInfo, error) {
	rc, info, err := s.open(cidStr)
	if errors.Is(err, ErrNotFound) {
		// Not a blob file (or an erased one): a packed blob, read and authenticated
		// whole (at most smallFile bytes)?
		digest, _ := parseCID(cidStr)
		plain, ok, perr := s.openPacked(digest)
		if ok && perr == nil {
			return packedReader{bytes.NewReader(plain)}, gateway.BlobInfo{CID: cidStr, Size: int64(len(plain))}, nil
		}
		if ok || perr != nil {
			err = perr
		}
	}
	if err != nil {
		return nil, info, s.codeErr(err)
	}
	return rc, info, nil
}

func (s *Store) open(cidStr string) (*reader, gateway.BlobInfo, error) {
	digest, err := parseCID(cidStr)
	if err != nil {
		return nil, gateway.BlobInfo{}, err
	}
	_, path := s.pathOf(cidStr, digest)
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, gateway.BlobInfo{}, ErrNotFound
		}
		return nil, gateway.BlobInfo{}, fmt.Errorf("blob: %w", err)
	}
	handle, size, err := s.readHeader(f, cidStr)
	if err != nil {
		f.Close()
		return nil, gateway.BlobInfo{}, err
	}
	primitive, err := streamingaead.New(handle)
	if err != nil {
		f.Close()
		return nil, gateway.BlobInfo{}, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	src := &fileReader{r: io.NewSectionReader(f, headerSize, 1<<62)}
	dec, err := primitive.NewDecryptingReader(src, []byte(streamAAD))
	if err != nil {
		f.Close()
		return nil, gateway.BlobInfo{}, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return &reader{
		f:      f,
		src:    src,
		dec:    dec,
		h:      sha256.New(),
		digest: digest,
		size:   size,
		s:      s,
	}, gateway.BlobInfo{CID: cidStr, Size: size}, nil
}

// fileReader remembers I/O errors of the underlying file so that they are not
// reported as tampering.
type fileReader struct {
	r   io.Reader
	err error
}

func (f *fileReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err != nil && err != io.EOF {
		f.err = err
	}
	return n, err
}

type reader struct {
	s      *Store
	f      *os.File
	src    *fileReader
	dec    io.Reader
	h      hash.Hash
	digest []byte
	size   int64
	n      int64
	err    error
}

// Read streams the plaintext; its errors are *gateway.Error (blob_corrupt for a file
// that fails authentication or its CID while it is read), io.EOF at the end.
func (r *reader) Read(p []byte) (int, error) {
	n, err := r.read(p)
	if err != nil && err != io.EOF {
		return n, r.s.codeErr(err)
	}
	return n, err
}

func (r *reader) read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	n, err := r.dec.Read(p)
	if n > 0 {
		r.n += int64(n)
		if r.n > r.size {
			r.err = fmt.Errorf("%w: longer than recorded size", ErrCorrupt)
			return 0, r.err
		}
		r.h.Write(p[:n])
	}
	switch {
	case err == io.EOF:
		if r.n != r.size {
			r.err = fmt.Errorf("%w: shorter than recorded size", ErrCorrupt)
		} else if !bytes.Equal(r.h.Sum(nil), r.digest) {
			r.err = fmt.Errorf("%w: content does not match CID", ErrCorrupt)
		} else {
			r.err = io.EOF
		}
		if r.err != io.EOF {
			// Withhold this chunk: better nothing than a last wrong chunk.
			return 0, r.err
		}
		return n, io.EOF
	case err != nil:
		if r.src.err != nil {
			r.err = fmt.Errorf("blob: read: %w", r.src.err)
		} else {
			r.err = fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		return 0, r.err
	}
	return n, nil
}

func (r *reader) Close() error { return r.f.Close() }

// Delete crypto-erases a blob: the wrapped data key is overwritten and synced,
// then the file is removed (a packed blob: its entry's key is overwritten in the pack
// and synced, then its index row removed; a content stored both ways goes both ways).
// It returns ErrNotFound if there is no such blob.
func (s *Store) Delete(cidStr string) error { return s.codeErr(s.delete(cidStr)) }

func (s *Store) delete(cidStr string) error {
	digest, err := parseCID(cidStr)
	if err != nil {
		return err
	}
	mu := s.lockFor(digest)
	mu.Lock()
	defer mu.Unlock()
	err = s.deleteFile(cidStr, digest)
	packed, perr := s.deletePacked(digest)
	switch {
	case perr != nil:
		return perr
	case errors.Is(err, ErrNotFound) && packed:
		return nil
	}
	return err
}

// deleteFile crypto-erases the blob file of a CID (its lock held).
func (s *Store) deleteFile(cidStr string, digest []byte) error {
	dir, path := s.pathOf(cidStr, digest)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return ErrNotFound
		}
		return fmt.Errorf("blob: %w", err)
	}
	// Erase the key length and the wrapped key (the magic and size stay, so
	// a file left behind by a crash reads as "erased", not as "corrupt").
	if _, err := f.WriteAt(make([]byte, headerSize-offKeyLen), offKeyLen); err != nil {
		f.Close()
		return fmt.Errorf("blob: erase: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("blob: erase: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("blob: erase: %w", err)
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("blob: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("blob: %w", err)
	}
	return nil
}

// SweepTemp removes staging files a crash left behind. The staging directory of a
// Store that is no longer open (its process died: its lock is free) goes whole,
// whatever the age of its files, while this Store holds the store's lock; a directory
// whose lock is held belongs to a live Store (this one or another process sharing the
// store) and is left alone. Loose staging files of an older version, directly under
// <Dir>/tmp, are removed when not modified for olderThan. Only names the store gives
// its staging files and directories are touched. So are the packs such a Store was
// installing when it died, whose rows it never committed (sweepPending). It returns
// the number of staging files and packs removed.
func (s *Store) SweepTemp(olderThan time.Duration) (int, error) {
	removed, err := s.sweepPending(context.Background())
	if err != nil {
		return removed, err
	}
	entries, err := os.ReadDir(s.tmpRoot)
	if err != nil {
		return removed, fmt.Errorf("blob: %w", err)
	}
	cutoff := time.Now().Add(-olderThan)
	var firstErr error
	keep := func(err error) {
		if err != nil && firstErr == nil {
			firstErr = err
		}
	}
	for _, e := range entries {
		path := filepath.Join(s.tmpRoot, e.Name())
		switch {
		case e.IsDir() && strings.HasPrefix(e.Name(), stagingPrefix) && path != s.tmpDir:
			if !flockWorks {
				// Without flock a live directory cannot be told from an abandoned one.
				if fi, err := e.Info(); err != nil || fi.ModTime().After(cutoff) {
					continue
				}
			}
			lk, err := lockStore(filepath.Join(path, "lock"), true)
			if errors.Is(err, ErrInUse) {
				continue // a live Store
			}
			if err != nil {
				keep(err)
				continue
			}
			n, err := removeStaging(path)
			removed += n
			keep(err)
			os.Remove(filepath.Join(path, "lock"))
			lk.Close()
			if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				keep(fmt.Errorf("blob: %w", err)) // not empty: something else is in it
			}
		case e.Type().IsRegular() && isStagingName(e.Name()):
			fi, err := e.Info()
			if err != nil || fi.ModTime().After(cutoff) {
				continue
			}
			if err := os.Remove(path); err != nil {
				if !errors.Is(err, fs.ErrNotExist) {
					keep(fmt.Errorf("blob: %w", err))
				}
				continue
			}
			removed++
		}
	}
	return removed, firstErr
}

// Usage returns the number of committed blobs and their total size on disk (header
// and ciphertext included; for packed blobs their entries). It walks the whole store:
// meant for metrics at a modest rate and for tests.
func (s *Store) Usage() (blobs int, bytes int64, err error) {
	err = s.eachBlob(context.Background(), func(_ string, e os.DirEntry, _ string) error {
		fi, err := e.Info()
		if err != nil {
			return nil // removed meanwhile
		}
		blobs++
		bytes += fi.Size()
		return nil
	})
	if err != nil {
		return blobs, bytes, err
	}
	n, b, err := s.packedUsage()
	return blobs + n, bytes + b, err
}

// eachBlob calls fn for every committed blob file (shard directory name, entry, CID
// from the file name), shard by shard, until fn returns an error or ctx ends.
func (s *Store) eachBlob(ctx context.Context, fn func(shard string, e os.DirEntry, cid string) error) error {
	shards, err := os.ReadDir(s.blobsDir)
	if err != nil {
		return fmt.Errorf("blob: %w", err)
	}
	for _, sh := range shards {
		if !sh.IsDir() {
			continue
		}
		entries, err := os.ReadDir(filepath.Join(s.blobsDir, sh.Name()))
		if err != nil {
			return fmt.Errorf("blob: %w", err)
		}
		for _, e := range entries {
			name, ok := strings.CutSuffix(e.Name(), ".blob")
			if !ok || !e.Type().IsRegular() {
				continue
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := fn(sh.Name(), e, name); err != nil {
				return err
			}
		}
	}
	return nil
}

// TempFiles returns the number of this Store's staging files (for tests and
// metrics).
func (s *Store) TempFiles() (int, error) {
	entries, err := os.ReadDir(s.tmpDir)
	if err != nil {
		return 0, fmt.Errorf("blob: %w", err)
	}
	n := 0
	for _, e := range entries {
		if e.Name() != "lock" {
			n++
		}
	}
	return n, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
