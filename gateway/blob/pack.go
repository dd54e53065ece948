package blob

// # Packed blobs (the bulk path)
//
// A Batch stores every file of at most smallFile bytes (most documents of a legacy
// archive) as an entry of one pack file per commit instead of as a file of its own:
// creating and renaming one inode per 1 KiB document was two thirds of the gateway's CPU
// on a bulk import. Each entry keeps its own data key, so erasure and KEK rotation work
// per blob as for blob files.
//
//	<Dir>/packs/<pp>/<pack ID>.pack   committed packs: the ID is a random 63-bit number
//	                                  in 16 hex digits, pp its first two
//	<Dir>/packs.db                    the pack index (SQLite): digest -> pack ID, offset,
//	                                  size; a cache of the packs, rebuilt from them when
//	                                  missing (a backup leaves it out)
//
// A pack file is written once and never grows:
//
//	offset 0   magic "EDPACK\x00\x01" (the last byte is the format version)
//	offset 8   entries, one after the other:
//	  +0    sha2-256 digest of the plaintext (32 bytes)
//	  +32   plaintext size, uint64 big-endian
//	  +40   the entry's data key (32 random bytes) wrapped under the KEK with AES-256-GCM
//	        (12-byte IV, 16-byte tag: 60 bytes), associated data packKeyAAD(digest, size);
//	        all zero once the blob is erased
//	  +100  length C of the ciphertext, uint32 big-endian
//	  +104  AES-256-GCM ciphertext of the plaintext under the data key (IV, ciphertext,
//	        tag), associated data packDataAAD(digest, size)
//
// A reader authenticates the wrapped key and the ciphertext and re-hashes the
// plaintext against the CID. Delete overwrites the entry's wrapped key in place, syncs
// the pack and then removes the index row: a crash in between leaves an erased entry,
// which reads as not found and is replaced by the next write of the same content.
//
// Commit writes the pack into the Store's staging directory, makes it durable with the
// batch (fsync, or the group commit's syncfs), renames it into packs/, syncs that
// directory entry, and only then inserts its rows into the index (synchronous=FULL):
// the index never names a pack that a power loss could take back. A crash between the
// rename and the index commit leaves a pack whose entries no row names (unreachable,
// like the blob of a transaction that failed; a rebuild of the index would list them).

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/tink-crypto/tink-go/v2/aead/subtle"
	"github.com/tink-crypto/tink-go/v2/tink"
	_ "modernc.org/sqlite" // database/sql driver "sqlite"
)

const (
	packMagic     = "EDPACK\x00\x01"
	packSuffix    = ".pack"
	dataKeySize   = 32
	wrappedKeyLen = 12 + dataKeySize + 16
	// offsets inside an entry
	entSize      = 32
	entKey       = 40
	entCtLen     = entKey + wrappedKeyLen
	entryHeader  = entCtLen + 4
	gcmOverhead  = 12 + 16
	packIndexDB  = "packs.db"
	packDirName  = "packs"
	packIDDigits = 16
)

func packKeyAAD(digest []byte, size int64) []byte {
	aad := append([]byte("edossier/blob/pack-key/v1\x00"), digest...)
	return binary.BigEndian.AppendUint64(aad, uint64(size))
}

func packDataAAD(digest []byte, size int64) []byte {
	aad := append([]byte("edossier/blob/pack-data/v1\x00"), digest...)
	return binary.BigEndian.AppendUint64(aad, uint64(size))
}

// packMin is the number of small files from which a batch packs them; fewer (a daily
// append's file and note) get files of their own.
const packMin = 16

// packEntry is a small blob waiting in a Batch: its plaintext until Commit seals it
// into an entry of the pack (or stages it as a file of its own).
type packEntry struct {
	cid    string
	digest []byte
	size   int64
	plain  []byte // until sealed
	entry  []byte // the whole entry as written into the pack, once sealed
}

// newPackEntry holds a small plaintext (copied) for a batch.
func newPackEntry(plain []byte) packEntry {
	sum := sha256.Sum256(plain)
	return packEntry{cid: cidOf(sum[:]), digest: sum[:], size: int64(len(plain)), plain: bytes.Clone(plain)}
}

// sealPacked encrypts an entry's plaintext under a fresh data key wrapped with the KEK.
func (s *Store) sealPacked(pe *packEntry) error {
	digest, size := pe.digest, pe.size
	key := make([]byte, dataKeySize)
	if _, err := rand.Read(key); err != nil {
		return fmt.Errorf("blob: data key: %w", err)
	}
	wrapped, err := s.kek.Encrypt(key, packKeyAAD(digest, size))
	if err != nil || len(wrapped) != wrappedKeyLen {
		return fmt.Errorf("blob: wrap data key: %v", err)
	}
	data, err := subtle.NewAESGCM(key)
	if err != nil {
		return fmt.Errorf("blob: data key: %w", err)
	}
	e := make([]byte, entryHeader, entryHeader+int(size)+gcmOverhead)
	copy(e, digest)
	binary.BigEndian.PutUint64(e[entSize:], uint64(size))
	copy(e[entKey:], wrapped)
	binary.BigEndian.PutUint32(e[entCtLen:], uint32(int(size)+gcmOverhead))
	ct, err := data.Encrypt(pe.plain, packDataAAD(digest, size))
	if err != nil {
		return fmt.Errorf("blob: encrypt: %w", err)
	}
	pe.entry, pe.plain = append(e, ct...), nil
	return nil
}

// openEntry authenticates and decrypts one entry read from a pack, expected to hold the
// blob of digest.
func (s *Store) openEntry(e, digest []byte) ([]byte, error) {
	if len(e) < entryHeader || !bytes.Equal(e[:entSize], digest) {
		return nil, fmt.Errorf("%w: pack entry of another blob", ErrCorrupt)
	}
	size := int64(binary.BigEndian.Uint64(e[entSize:]))
	ctLen := int(binary.BigEndian.Uint32(e[entCtLen:]))
	if size > smallFile || ctLen != int(size)+gcmOverhead || len(e) != entryHeader+ctLen {
		return nil, fmt.Errorf("%w: bad pack entry", ErrCorrupt)
	}
	wrapped := e[entKey:entCtLen]
	if allZero(wrapped) {
		return nil, fmt.Errorf("%w (erased)", ErrNotFound)
	}
	key, _, err := s.unwrapPacked(wrapped, packKeyAAD(digest, size))
	if err != nil {
		return nil, err
	}
	data, err := subtle.NewAESGCM(key)
	if err != nil {
		return nil, fmt.Errorf("%w: data key: %v", ErrCorrupt, err)
	}
	plain, err := data.Decrypt(e[entryHeader:], packDataAAD(digest, size))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if sum := sha256.Sum256(plain); !bytes.Equal(sum[:], digest) || int64(len(plain)) != size {
		return nil, fmt.Errorf("%w: content does not match CID", ErrCorrupt)
	}
	return plain, nil
}

// unwrapPacked opens an entry's wrapped data key with the KEK or a retired KEK
// (retired: which one did).
func (s *Store) unwrapPacked(wrapped, aad []byte) (key []byte, retired bool, err error) {
	for i, kek := range append([]tink.AEAD{s.kek}, s.retired...) {
		if key, err = kek.Decrypt(wrapped, aad); err == nil && len(key) == dataKeySize {
			return key, i > 0, nil
		}
	}
	return nil, false, fmt.Errorf("%w: data key: %v", ErrCorrupt, err)
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// packLoc is where the index says a packed blob lives.
type packLoc struct {
	pack, off, size int64
}

// entryLen is the length of the entry of a blob of size bytes.
func entryLen(size int64) int64 { return entryHeader + size + gcmOverhead }

// packIndex is the SQLite index of the packed blobs.
type packIndex struct {
	db  *sql.DB
	get *sql.Stmt
}

// openPackIndex opens (creating it if needed) the pack index of a store and, until it
// has once been built, rebuilds it from the pack files.
func (s *Store) openPackIndex(ctx context.Context) error {
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "synchronous(FULL)") // a committed row survives a power loss
	// A pack's thousands of random-key inserts: their statement journal in memory, and
	// a page cache of 16 MiB per connection (at most 8) so that the touched B-tree
	// pages stay in memory until the commit.
	q.Add("_pragma", "temp_store(MEMORY)")
	q.Add("_pragma", "cache_size(-16384)")
	q.Add("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+filepath.Join(s.root, packIndexDB)+"?"+q.Encode())
	if err != nil {
		return fmt.Errorf("blob: pack index: %w", err)
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	for _, stmt := range []string{
		`CREATE TABLE IF NOT EXISTS entries (digest BLOB PRIMARY KEY, pack INTEGER NOT NULL, off INTEGER NOT NULL, size INTEGER NOT NULL) WITHOUT ROWID`,
		`CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL)`,
		// Packs being installed whose rows are not committed yet, and the staging
		// directory of the Store installing each (see markPending).
		`CREATE TABLE IF NOT EXISTS pending (pack INTEGER PRIMARY KEY, owner TEXT NOT NULL)`,
	} {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			db.Close()
			return fmt.Errorf("blob: pack index: %w", err)
		}
	}
	x := &packIndex{db: db}
	if x.get, err = db.PrepareContext(ctx, `SELECT pack, off, size FROM entries WHERE digest = ?`); err != nil {
		db.Close()
		return fmt.Errorf("blob: pack index: %w", err)
	}
	s.packs = x
	var built string
	switch err := db.QueryRowContext(ctx, `SELECT v FROM meta WHERE k = 'built'`).Scan(&built); {
	case errors.Is(err, sql.ErrNoRows):
		if err := s.rebuildPackIndex(ctx); err != nil {
			x.close()
			return err
		}
	case err != nil:
		x.close()
		return fmt.Errorf("blob: pack index: %w", err)
	}
	return nil
}

func (x *packIndex) close() error {
	x.get.Close()
	return x.db.Close()
}

// lookup returns where a packed blob lives (ok false: not packed).
func (x *packIndex) lookup(digest []byte) (packLoc, bool, error) {
	var l packLoc
	err := x.get.QueryRow(digest).Scan(&l.pack, &l.off, &l.size)
	if errors.Is(err, sql.ErrNoRows) {
		return l, false, nil
	}
	if err != nil {
		return l, false, fmt.Errorf("blob: pack index: %w", err)
	}
	return l, true, nil
}

// packPath is the file of a pack ID.
func (s *Store) packPath(id int64) (dir, file string, err error) {
	if id < 0 {
		return "", "", fmt.Errorf("%w: pack index names a pack %d", ErrCorrupt, id)
	}
	name := fmt.Sprintf("%016x", id)
	dir = filepath.Join(s.root, packDirName, name[:2])
	return dir, filepath.Join(dir, name+packSuffix), nil
}

// parsePackName returns the ID of a pack file name ("" if it is none).
func parsePackName(name string) (int64, bool) {
	hexID, ok := strings.CutSuffix(name, packSuffix)
	if !ok || len(hexID) != packIDDigits || strings.ToLower(hexID) != hexID {
		return 0, false
	}
	id, err := strconv.ParseInt(hexID, 16, 64)
	return id, err == nil
}

// readPacked reads the entry of a packed blob.
func (s *Store) readPacked(digest []byte) ([]byte, bool, error) {
	l, ok, err := s.packs.lookup(digest)
	if err != nil || !ok {
		return nil, ok, err
	}
	_, path, err := s.packPath(l.pack)
	if err != nil {
		return nil, true, err
	}
	if l.size < 0 || l.size > smallFile || l.off < int64(len(packMagic)) {
		return nil, true, fmt.Errorf("%w: pack index entry out of range", ErrCorrupt)
	}
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, true, fmt.Errorf("%w: pack %016x is missing", ErrCorrupt, l.pack)
		}
		return nil, true, fmt.Errorf("blob: %w", err)
	}
	defer f.Close()
	e := make([]byte, entryLen(l.size))
	if _, err := f.ReadAt(e, l.off); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, true, fmt.Errorf("%w: pack %016x is truncated", ErrCorrupt, l.pack)
		}
		return nil, true, fmt.Errorf("blob: %w", err)
	}
	return e, true, nil
}

// openPacked returns the plaintext of a packed blob (ok false: not packed).
func (s *Store) openPacked(digest []byte) ([]byte, bool, error) {
	e, ok, err := s.readPacked(digest)
	if err != nil || !ok {
		return nil, ok, err
	}
	plain, err := s.openEntry(e, digest)
	return plain, true, err
}

// packedReader reads the plaintext of a packed blob, already authenticated.
type packedReader struct{ *bytes.Reader }

func (packedReader) Close() error { return nil }

// deletePacked crypto-erases a packed blob (ok false: not packed): its wrapped key is
// overwritten in the pack and synced, then its index row goes.
func (s *Store) deletePacked(digest []byte) (bool, error) {
	l, ok, err := s.packs.lookup(digest)
	if err != nil || !ok {
		return ok, err
	}
	_, path, err := s.packPath(l.pack)
	if err != nil {
		return true, err
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// Nothing left to erase; the row goes.
	case err != nil:
		return true, fmt.Errorf("blob: %w", err)
	default:
		err := eraseKeyAt(f, l.off, digest)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return true, fmt.Errorf("blob: erase: %w", err)
		}
	}
	if _, err := s.packs.db.Exec(`DELETE FROM entries WHERE digest = ? AND pack = ? AND off = ?`, digest, l.pack, l.off); err != nil {
		return true, fmt.Errorf("blob: pack index: %w", err)
	}
	return true, nil
}

// eraseKeyAt overwrites the wrapped key of the entry at off (if it holds digest) and
// syncs the file.
func eraseKeyAt(f *os.File, off int64, digest []byte) error {
	head := make([]byte, entSize)
	if _, err := f.ReadAt(head, off); err != nil {
		return err
	}
	if !bytes.Equal(head, digest) {
		return fmt.Errorf("%w: pack entry of another blob", ErrCorrupt)
	}
	if _, err := f.WriteAt(make([]byte, wrappedKeyLen), off+entKey); err != nil {
		return err
	}
	return f.Sync()
}

// newPackID returns a fresh random pack ID (63 bits).
func newPackID() (int64, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return 0, err
	}
	return int64(binary.BigEndian.Uint64(b[:]) >> 1), nil
}

// stagedPack is a pack written to the staging directory, not yet under packs/.
type stagedPack struct {
	id   int64
	tmp  string
	offs []int64 // offset of each entry
}

// stagePack writes the entries into a new pack file in the staging directory (not
// synced: the batch's durability pass does that).
func (s *Store) stagePack(entries []*packEntry, sync bool) (stagedPack, error) {
	id, err := newPackID()
	if err != nil {
		return stagedPack{}, fmt.Errorf("blob: %w", err)
	}
	n := len(packMagic)
	for _, e := range entries {
		n += len(e.entry)
	}
	buf := make([]byte, 0, n)
	buf = append(buf, packMagic...)
	p := stagedPack{id: id, offs: make([]int64, len(entries))}
	for i, e := range entries {
		p.offs[i] = int64(len(buf))
		buf = append(buf, e.entry...)
	}
	f, err := s.createTemp(s.tmpDir, "put-pack-*.partial")
	if err != nil {
		return stagedPack{}, fmt.Errorf("blob: %w", err)
	}
	p.tmp = f.Name()
	_, err = f.Write(buf)
	if err == nil && sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(p.tmp)
		return stagedPack{}, fmt.Errorf("blob: %w", err)
	}
	return p, nil
}

// markPending records, durably and before a staged pack is moved into packs/, that
// this Store is installing it: the transaction that commits the pack's rows deletes
// the mark. A mark that outlives its Store (a crash between the rename and that
// commit) names a pack whose entries no row names but whose data keys are live; the
// next SweepTemp removes it (sweepPending), so that no unindexed copy of a blob
// survives its erasure or comes back in a rebuilt index.
func (s *Store) markPending(ctx context.Context, id int64) error {
	if _, err := s.packs.db.ExecContext(ctx, `INSERT INTO pending (pack, owner) VALUES (?, ?)`, id, filepath.Base(s.tmpDir)); err != nil {
		return fmt.Errorf("blob: pack index: %w", err)
	}
	return nil
}

// dropPending removes a pack marked pending (installed or not), then its mark; a pack
// whose rows are committed has no mark and is left alone. Errors leave the mark for
// sweepPending.
func (s *Store) dropPending(id int64) error {
	var one int
	switch err := s.packs.db.QueryRow(`SELECT 1 FROM pending WHERE pack = ?`, id).Scan(&one); {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return fmt.Errorf("blob: pack index: %w", err)
	}
	dir, path, err := s.packPath(id)
	if err != nil {
		return err
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blob: %w", err)
	}
	if err := syncDir(dir); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("blob: %w", err)
	}
	if _, err := s.packs.db.Exec(`DELETE FROM pending WHERE pack = ?`, id); err != nil {
		return fmt.Errorf("blob: pack index: %w", err)
	}
	return nil
}

// sweepPending removes the packs marked pending by Stores that are gone (their
// staging directory's lock is free, or the directory is gone) and returns how many
// marks it cleared. Marks of live Stores, this one included, are left alone; without
// flock nothing is removed (a live Store cannot be told from a dead one).
func (s *Store) sweepPending(ctx context.Context) (int, error) {
	if !flockWorks {
		return 0, nil
	}
	type mark struct {
		id    int64
		owner string
	}
	var marks []mark
	rows, err := s.packs.db.QueryContext(ctx, `SELECT pack, owner FROM pending ORDER BY pack`)
	if err != nil {
		return 0, fmt.Errorf("blob: pack index: %w", err)
	}
	for rows.Next() {
		var m mark
		if err := rows.Scan(&m.id, &m.owner); err != nil {
			rows.Close()
			return 0, fmt.Errorf("blob: pack index: %w", err)
		}
		marks = append(marks, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("blob: pack index: %w", err)
	}
	n := 0
	for _, m := range marks {
		ownerDir := filepath.Join(s.tmpRoot, m.owner)
		if ownerDir == s.tmpDir || !strings.HasPrefix(m.owner, stagingPrefix) {
			continue
		}
		if _, err := os.Stat(ownerDir); err == nil {
			lk, err := lockStore(filepath.Join(ownerDir, "lock"), true)
			if errors.Is(err, ErrInUse) {
				continue // a live Store's pack in progress
			}
			if err != nil {
				return n, err
			}
			defer lk.Close() // held until its packs are gone
		} else if !errors.Is(err, fs.ErrNotExist) {
			return n, fmt.Errorf("blob: %w", err)
		}
		if err := s.dropPending(m.id); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// installPack moves a staged pack to its final name and returns the directory whose
// entry must be synced. The pack must be marked pending (markPending).
func (s *Store) installPack(p *stagedPack) (string, error) {
	dir, final, err := s.packPath(p.id)
	if err != nil {
		return "", err
	}
	err = moveNoReplace(p.tmp, final)
	if errors.Is(err, fs.ErrNotExist) {
		// First pack of this shard: create the directory (once).
		if err := s.ensureDirIn(dir, filepath.Dir(dir)); err != nil {
			return "", err
		}
		err = moveNoReplace(p.tmp, final)
	}
	if err != nil {
		return "", fmt.Errorf("blob: %w", err)
	}
	p.tmp = ""
	return dir, nil
}

// indexPack records a pack's entries in one transaction and returns the entries
// whose digest the index held already (another copy, or another writer's meanwhile).
func (x *packIndex) indexPack(ctx context.Context, p stagedPack, entries []*packEntry) (taken []int, err error) {
	tx, err := x.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("blob: pack index: %w", err)
	}
	defer tx.Rollback()
	const chunk = 1000
	inserted := int64(0)
	for start := 0; start < len(entries); start += chunk {
		part := entries[start:min(start+chunk, len(entries))]
		var q strings.Builder
		q.WriteString(`INSERT INTO entries (digest, pack, off, size) VALUES (?, ?, ?, ?)`)
		q.WriteString(strings.Repeat(", (?, ?, ?, ?)", len(part)-1))
		q.WriteString(` ON CONFLICT (digest) DO NOTHING`)
		args := make([]any, 0, 4*len(part))
		for i, e := range part {
			args = append(args, e.digest, p.id, p.offs[start+i], e.size)
		}
		r, err := tx.ExecContext(ctx, q.String(), args...)
		if err != nil {
			return nil, fmt.Errorf("blob: pack index: %w", err)
		}
		n, _ := r.RowsAffected()
		inserted += n
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM pending WHERE pack = ?`, p.id); err != nil {
		return nil, fmt.Errorf("blob: pack index: %w", err)
	}
	if inserted != int64(len(entries)) {
		for i, e := range entries {
			var pack, off int64
			if err := tx.QueryRowContext(ctx, `SELECT pack, off FROM entries WHERE digest = ?`, e.digest).Scan(&pack, &off); err != nil {
				return nil, fmt.Errorf("blob: pack index: %w", err)
			}
			if pack != p.id || off != p.offs[i] {
				taken = append(taken, i)
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("blob: pack index: %w", err)
	}
	return taken, nil
}

// insert adds one row unless the digest has one; it reports whether it did.
func (x *packIndex) insert(digest []byte, id, off, size int64) (bool, error) {
	r, err := x.db.Exec(`INSERT INTO entries (digest, pack, off, size) VALUES (?, ?, ?, ?) ON CONFLICT (digest) DO NOTHING`, digest, id, off, size)
	if err != nil {
		return false, fmt.Errorf("blob: pack index: %w", err)
	}
	n, _ := r.RowsAffected()
	return n == 1, nil
}

// claim points the index row of digest at a new entry if the copy it names (at old)
// cannot be read (erased by an interrupted Delete, or damaged); it reports whether the
// row now names the new entry.
func (s *Store) claim(digest []byte, old packLoc, id, off int64) (bool, error) {
	if _, _, err := s.openPacked(digest); err == nil {
		return false, nil // an intact copy
	}
	r, err := s.packs.db.Exec(`UPDATE entries SET pack = ?, off = ? WHERE digest = ? AND pack = ? AND off = ?`, id, off, digest, old.pack, old.off)
	if err != nil {
		return false, fmt.Errorf("blob: pack index: %w", err)
	}
	n, _ := r.RowsAffected()
	return n == 1, nil
}

// eachPack calls fn with the path of every pack file.
func (s *Store) eachPack(ctx context.Context, fn func(id int64, path string) error) error {
	top := filepath.Join(s.root, packDirName)
	shards, err := os.ReadDir(top)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("blob: %w", err)
	}
	for _, sh := range shards {
		if !sh.IsDir() {
			continue
		}
		entries, err := os.ReadDir(filepath.Join(top, sh.Name()))
		if err != nil {
			return fmt.Errorf("blob: %w", err)
		}
		for _, e := range entries {
			id, ok := parsePackName(e.Name())
			if !ok || !e.Type().IsRegular() {
				continue
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := fn(id, filepath.Join(top, sh.Name(), e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// packEntries parses a pack file's entries (a torn tail ends the list), calling fn
// with each entry's offset and bytes.
func packEntries(data []byte, fn func(off int64, e []byte) error) error {
	if len(data) < len(packMagic) || string(data[:len(packMagic)]) != packMagic {
		return fmt.Errorf("%w: not a pack file", ErrCorrupt)
	}
	off := len(packMagic)
	for off+entryHeader <= len(data) {
		ctLen := int(binary.BigEndian.Uint32(data[off+entCtLen:]))
		end := off + entryHeader + ctLen
		if ctLen > smallFile+gcmOverhead || end > len(data) {
			return nil
		}
		if err := fn(int64(off), data[off:end]); err != nil {
			return err
		}
		off = end
	}
	return nil
}

// rebuildPackIndex indexes every entry of every pack (erased entries left out) and
// marks the index built.
func (s *Store) rebuildPackIndex(ctx context.Context) error {
	err := s.eachPack(ctx, func(id int64, path string) error {
		data, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("blob: %w", err)
		}
		tx, err := s.packs.db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("blob: pack index: %w", err)
		}
		defer tx.Rollback()
		err = packEntries(data, func(off int64, e []byte) error {
			if allZero(e[entKey:entCtLen]) {
				return nil
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO entries (digest, pack, off, size) VALUES (?, ?, ?, ?) ON CONFLICT (digest) DO NOTHING`,
				e[:entSize], id, off, int64(binary.BigEndian.Uint64(e[entSize:])))
			return err
		})
		if err != nil {
			return fmt.Errorf("blob: rebuild pack index from %s: %w", path, err)
		}
		return tx.Commit()
	})
	if err != nil {
		return err
	}
	if _, err := s.packs.db.ExecContext(ctx, `INSERT INTO meta (k, v) VALUES ('built', '1') ON CONFLICT (k) DO NOTHING`); err != nil {
		return fmt.Errorf("blob: pack index: %w", err)
	}
	return nil
}

// eachPacked calls fn for every indexed packed blob, in digest order, a page of rows
// at a time (no read transaction stays open while fn runs, and memory does not grow
// with the index).
func (s *Store) eachPacked(ctx context.Context, fn func(digest []byte, l packLoc) error) error {
	type row struct {
		d []byte
		l packLoc
	}
	after := []byte{}
	for {
		rows, err := s.packs.db.QueryContext(ctx, `SELECT digest, pack, off, size FROM entries WHERE digest > ? ORDER BY digest LIMIT 1000`, after)
		if err != nil {
			return fmt.Errorf("blob: pack index: %w", err)
		}
		var page []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.d, &r.l.pack, &r.l.off, &r.l.size); err != nil {
				rows.Close()
				return fmt.Errorf("blob: pack index: %w", err)
			}
			page = append(page, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("blob: pack index: %w", err)
		}
		if len(page) == 0 {
			return nil
		}
		for _, r := range page {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := fn(r.d, r.l); err != nil {
				return err
			}
		}
		after = page[len(page)-1].d
	}
}

// packedUsage returns the number of packed blobs and their entries' bytes.
func (s *Store) packedUsage() (int, int64, error) {
	var n, b int64
	if err := s.packs.db.QueryRow(`SELECT count(*), coalesce(sum(size), 0) FROM entries`).Scan(&n, &b); err != nil {
		return 0, 0, fmt.Errorf("blob: pack index: %w", err)
	}
	return int(n), b + n*(entryHeader+gcmOverhead), nil
}

// rewrapPack rewrites one pack whose entries a retired KEK wrapped: a copy with every
// indexed entry's key wrapped under the KEK (entries no index row names are erased in
// the copy), fsynced, renamed in under a new pack ID, the rows moved to it in one
// transaction, then the old pack removed. It returns the number of entries the index
// names in the pack, of keys rewrapped, and the new pack's ID (0: none written).
func (s *Store) rewrapPack(ctx context.Context, id int64, path string) (indexed, rewrapped int, nid int64, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("blob: %w", err)
	}
	var rows [][]byte // digests of the entries the index names here
	err = packEntries(data, func(off int64, e []byte) error {
		wrapped := e[entKey:entCtLen]
		digest := e[:entSize]
		l, ok, err := s.packs.lookup(digest)
		if err != nil {
			return err
		}
		if !ok || l.pack != id || l.off != off {
			clear(wrapped) // no row names it: nothing may read it again
			return nil
		}
		indexed++
		rows = append(rows, bytes.Clone(digest))
		if allZero(wrapped) {
			return nil
		}
		size := int64(binary.BigEndian.Uint64(e[entSize:]))
		key, retired, err := s.unwrapPacked(wrapped, packKeyAAD(digest, size))
		if err != nil || !retired {
			return err
		}
		nw, err := s.kek.Encrypt(key, packKeyAAD(digest, size))
		if err != nil || len(nw) != wrappedKeyLen {
			return fmt.Errorf("blob: wrap data key: %v", err)
		}
		copy(wrapped, nw)
		rewrapped++
		return nil
	})
	if err != nil || rewrapped == 0 {
		return indexed, 0, 0, err
	}
	nid, err = newPackID()
	if err != nil {
		return indexed, 0, 0, fmt.Errorf("blob: %w", err)
	}
	f, err := s.createTemp(s.tmpDir, "put-pack-*.partial")
	if err != nil {
		return indexed, 0, 0, fmt.Errorf("blob: %w", err)
	}
	p := stagedPack{id: nid, tmp: f.Name()}
	defer func() {
		if p.tmp != "" {
			os.Remove(p.tmp)
		}
	}()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return indexed, 0, 0, fmt.Errorf("blob: %w", err)
	}
	if err := s.markPending(ctx, nid); err != nil {
		return indexed, 0, 0, err
	}
	if err := s.moveRows(ctx, &p, id, rows); err != nil {
		s.dropPending(nid)
		return indexed, 0, 0, err
	}
	if err := os.Remove(path); err != nil {
		return indexed, rewrapped, nid, fmt.Errorf("blob: %w", err)
	}
	return indexed, rewrapped, nid, syncDir(filepath.Dir(path))
}

// moveRows installs the rewrapped copy p of pack id (marked pending) and points the
// rows of the given digests at it, clearing the mark in the same transaction.
func (s *Store) moveRows(ctx context.Context, p *stagedPack, id int64, digests [][]byte) error {
	dir, err := s.installPack(p)
	if err != nil {
		return err
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("blob: %w", err)
	}
	tx, err := s.packs.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("blob: pack index: %w", err)
	}
	defer tx.Rollback()
	for _, digest := range digests {
		if _, err := tx.ExecContext(ctx, `UPDATE entries SET pack = ? WHERE digest = ? AND pack = ?`, p.id, digest, id); err != nil {
			return fmt.Errorf("blob: pack index: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM pending WHERE pack = ?`, p.id); err != nil {
		return fmt.Errorf("blob: pack index: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("blob: pack index: %w", err)
	}
	return nil
}

// ensureDirIn creates dir (in parent) and makes its entry durable.
func (s *Store) ensureDirIn(dir, parent string) error {
	if err := os.Mkdir(dir, dirPerm); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("blob: %w", err)
	}
	if err := syncDir(parent); err != nil {
		return fmt.Errorf("blob: %w", err)
	}
	return nil
}
