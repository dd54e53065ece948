package blob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// packFiles lists a store's pack files.
func packFiles(t testing.TB, s *Store) []string {
	t.Helper()
	var out []string
	if err := s.eachPack(context.Background(), func(_ int64, path string) error {
		out = append(out, path)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// blobFiles counts a store's blob files (not packed).
func blobFiles(t testing.TB, s *Store) int {
	t.Helper()
	n := 0
	if err := s.eachBlob(context.Background(), func(string, os.DirEntry, string) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// fillers returns n small random files (to make a batch large enough to pack).
func fillers(t testing.TB, n int) [][]byte {
	var out [][]byte
	for range n {
		out = append(out, randBytes(t, 64))
	}
	return out
}

// packed stores files in one batch together with fillers up to packMin, so that the
// small ones are packed, and returns the CIDs of files Commit says it created.
func packed(t testing.TB, s *Store, files ...[]byte) []string {
	t.Helper()
	created := commitBatch(t, s, append(files, fillers(t, max(0, packMin-len(files)))...)...)
	var out []string
	for _, f := range files {
		c := referenceCID(t, f)
		for _, x := range created {
			if x == c {
				out = append(out, c)
				break
			}
		}
	}
	return out
}

// commitBatch stores files in one batch and returns the CIDs Commit says it created.
func commitBatch(t testing.TB, s *Store, files ...[]byte) []string {
	t.Helper()
	b := s.NewBatch()
	for _, f := range files {
		if _, err := b.Put(context.Background(), bytes.NewReader(f)); err != nil {
			t.Fatal(err)
		}
	}
	infos, err := b.Commit(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var created []string
	for i, in := range infos {
		if in.CID != referenceCID(t, files[i]) || in.Size != int64(len(files[i])) {
			t.Fatalf("file %d: %+v", i, in)
		}
		if in.Created {
			created = append(created, in.CID)
		}
	}
	return created
}

// entryAt returns the pack file and offset the index gives a packed blob.
func entryAt(t testing.TB, s *Store, c string) (string, int64) {
	t.Helper()
	digest, _ := parseCID(c)
	l, ok, err := s.packs.lookup(digest)
	if err != nil || !ok {
		t.Fatalf("%s is not packed: %v", c, err)
	}
	_, path, _ := s.packPath(l.pack)
	return path, l.off
}

// patch overwrites bytes of a file.
func patch(t testing.TB, path string, off int64, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// TestPackedBatch: the small files of a batch (from packMin of them; with the group
// commit and without) go into one pack file, the larger ones into files of their own;
// fewer small files are files of their own too. Every blob reads back by its CID with
// Open and Stat, a file twice in a batch is stored once, and nothing is left in staging.
func TestPackedBatch(t *testing.T) {
	for _, n := range []int{packMin - 3, packMin - 2, GroupCommitMin + 10} {
		s := newStore(t, 64<<20)
		var files [][]byte
		for i := range n {
			files = append(files, randBytes(t, i*37%smallFile))
		}
		files = append(files, randBytes(t, smallFile), randBytes(t, smallFile+1), randBytes(t, 300<<10), files[1])
		if created := commitBatch(t, s, files...); len(created) != n+3 {
			t.Fatalf("n=%d: %d created, want %d (the repeated file once)", n, len(created), n+3)
		}
		small := n + 2 // with the file of smallFile bytes and the repeated one
		wantPacks, wantFiles := 1, 2
		if small < packMin {
			wantPacks, wantFiles = 0, n+3
		}
		if p := packFiles(t, s); len(p) != wantPacks {
			t.Fatalf("n=%d: %d pack files, want %d", n, len(p), wantPacks)
		}
		if f := blobFiles(t, s); f != wantFiles {
			t.Fatalf("n=%d: %d blob files, want %d", n, f, wantFiles)
		}
		if blobs, _, _ := s.Usage(); blobs != n+3 {
			t.Fatalf("n=%d: Usage says %d blobs", n, blobs)
		}
		for i, f := range files {
			c := referenceCID(t, f)
			if got := readAll(t, s, c); !bytes.Equal(got, f) {
				t.Fatalf("n=%d: file %d reads back different bytes", n, i)
			}
			if info, err := s.Stat(c); err != nil || info.Size != int64(len(f)) {
				t.Fatalf("n=%d: Stat file %d: %+v %v", n, i, info, err)
			}
		}
		if tf, _ := s.TempFiles(); tf != 0 {
			t.Fatalf("%d staging files left", tf)
		}
		s.Close()
	}
}

// TestPackedDedupe: content stored already (as a blob file or packed) is not stored
// again by a batch or by Put, and is reported as not created: a failed transaction of
// that request must not remove a copy another record relies on.
func TestPackedDedupe(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, 64<<20)
	asFile, inPack := randBytes(t, 500), randBytes(t, 700)
	if info, err := s.Put(ctx, bytes.NewReader(asFile)); err != nil || !info.Created {
		t.Fatal(info, err)
	}
	if created := packed(t, s, inPack); len(created) != 1 {
		t.Fatal("first batch did not create its file")
	}
	path, off := entryAt(t, s, referenceCID(t, inPack))
	if created := packed(t, s, asFile, inPack); len(created) != 0 {
		t.Fatalf("a batch of stored content created %v", created)
	}
	if p2, off2 := entryAt(t, s, referenceCID(t, inPack)); p2 != path || off2 != off {
		t.Fatal("the index names the second batch's copy")
	}
	// The second batch's copy of it is erased in its pack: no live key outside the index.
	sum := sha256.Sum256(inPack)
	copies := 0
	for _, pf := range packFiles(t, s) {
		data, _ := os.ReadFile(pf)
		packEntries(data, func(_ int64, e []byte) error {
			if bytes.Equal(e[:entSize], sum[:]) && !allZero(e[entKey:entCtLen]) {
				copies++
			}
			return nil
		})
	}
	if copies != 1 {
		t.Fatalf("%d live packed copies of the content, want 1", copies)
	}
	digest, _ := parseCID(referenceCID(t, asFile))
	if _, ok, _ := s.packs.lookup(digest); ok {
		t.Fatal("the second batch packed the content of a blob file")
	}
	if info, err := s.Put(ctx, bytes.NewReader(inPack)); err != nil || info.Created {
		t.Fatalf("Put of packed content: %+v %v, want not created", info, err)
	}
	if f := blobFiles(t, s); f != 1 {
		t.Fatalf("%d blob files: Put of packed content wrote a file", f)
	}
	if blobs, _, _ := s.Usage(); blobs != 2+2*(packMin-2)+1 {
		t.Fatalf("Usage %d blobs, want %d", blobs, 2+2*(packMin-2)+1)
	}
}

// TestPackedDelete: Delete crypto-erases a packed blob (its wrapped key in the pack is
// zero, Open and Stat say not found, the pack's other blobs read on); a Delete
// interrupted after the erasure (index row kept) reads as not found too, and the next
// batch of that content stores it again.
func TestPackedDelete(t *testing.T) {
	s := newStore(t, 64<<20)
	a, b, c := randBytes(t, 100), randBytes(t, 200), randBytes(t, 300)
	packed(t, s, a, b, c)
	before, _, _ := s.Usage()
	ca, cb, cc := referenceCID(t, a), referenceCID(t, b), referenceCID(t, c)
	path, off := entryAt(t, s, ca)
	if err := s.Delete(ca); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	if !allZero(raw[off+entKey : off+entCtLen]) {
		t.Fatal("the deleted blob's wrapped key is still in the pack")
	}
	if _, _, err := s.Open(ca); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Open after Delete: %v", err)
	}
	if _, err := s.Stat(ca); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Stat after Delete: %v", err)
	}
	if err := s.Delete(ca); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second Delete: %v", err)
	}
	if got := readAll(t, s, cb); !bytes.Equal(got, b) {
		t.Fatal("a neighbour of the deleted blob reads differently")
	}
	// Interrupted: the key is erased, the row stays.
	path, off = entryAt(t, s, cc)
	patch(t, path, off+entKey, make([]byte, wrappedKeyLen))
	if _, _, err := s.Open(cc); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Open of an erased entry: %v", err)
	}
	if created := packed(t, s, c, a); len(created) != 2 {
		t.Fatalf("re-storing erased content created %v", created)
	}
	for _, f := range [][]byte{a, b, c} {
		if got := readAll(t, s, referenceCID(t, f)); !bytes.Equal(got, f) {
			t.Fatal("content stored again reads differently")
		}
	}
	if blobs, _, _ := s.Usage(); blobs != before+packMin-2 {
		t.Fatalf("Usage %d blobs, want %d", blobs, before+packMin-2)
	}
}

// TestPackedTamper: a changed byte anywhere in an entry, an entry swapped for another,
// a truncated or missing pack: Open refuses with ErrCorrupt (never other bytes), and
// Scrub names exactly the damaged blobs.
func TestPackedTamper(t *testing.T) {
	s := newStore(t, 64<<20)
	var files [][]byte
	for range packMin {
		files = append(files, randBytes(t, 1000))
	}
	commitBatch(t, s, files...)
	cids := make([]string, len(files))
	for i, f := range files {
		cids[i] = referenceCID(t, f)
	}
	// Every byte of entry 0, one at a time.
	path, off := entryAt(t, s, cids[0])
	raw, _ := os.ReadFile(path)
	entryLen := int64(entryHeader + 1000 + gcmOverhead)
	for i := off; i < off+entryLen; i++ {
		patch(t, path, i, []byte{raw[i] ^ 0x40})
		_, _, err := s.Open(cids[0])
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("byte %d of the entry flipped: Open = %v, want ErrCorrupt", i-off, err)
		}
		patch(t, path, i, raw[i:i+1])
	}
	if got := readAll(t, s, cids[0]); !bytes.Equal(got, files[0]) {
		t.Fatal("restored entry reads differently")
	}
	// Entry 1's bytes where entry 2 should be: refused as another blob's entry.
	_, off1 := entryAt(t, s, cids[1])
	_, off2 := entryAt(t, s, cids[2])
	patch(t, path, off2, raw[off1:off1+entryLen])
	expectCorrupt(t, s, cids[2], files[2])
	// A changed ciphertext byte of entry 3 (Scrub finds it).
	_, off3 := entryAt(t, s, cids[3])
	patch(t, path, off3+entryHeader+20, []byte{raw[off3+entryHeader+20] ^ 1})
	st, err := s.Scrub(context.Background())
	if err != nil || st.Blobs != packMin || st.Intact != packMin-2 || len(st.Damage) != 2 {
		t.Fatalf("Scrub: %+v %v", st, err)
	}
	for _, d := range st.Damage {
		if (d.CID != cids[2] && d.CID != cids[3]) || !errors.Is(d.Err, ErrCorrupt) {
			t.Fatalf("Scrub damage %+v", d)
		}
	}
	// A truncated pack, then a missing one.
	_, off5 := entryAt(t, s, cids[5])
	if err := os.Truncate(path, off5+10); err != nil {
		t.Fatal(err)
	}
	expectCorrupt(t, s, cids[5], files[5])
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	expectCorrupt(t, s, cids[0], files[0])
}

// TestPackIndexRebuilt: without its index (a restored backup leaves it out) a store
// rebuilds it from the pack files at Open: every blob reads again, an erased one stays
// erased, and a torn pack's complete entries count.
func TestPackIndexRebuilt(t *testing.T) {
	dir := t.TempDir()
	kek := randBytes(t, 32)
	s, err := Open(Options{Dir: dir, KEK: kek, MaxSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	var files [][]byte
	for range 2 * packMin {
		files = append(files, randBytes(t, 900))
	}
	commitBatch(t, s, files[:packMin]...)
	commitBatch(t, s, files[packMin:]...)
	if err := s.Delete(referenceCID(t, files[3])); err != nil {
		t.Fatal(err)
	}
	s.Close()
	for _, suffix := range []string{"", "-wal", "-shm"} {
		os.Remove(filepath.Join(dir, packIndexDB+suffix))
	}
	s, err = Open(Options{Dir: dir, KEK: kek, MaxSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i, f := range files {
		c := referenceCID(t, f)
		if i == 3 {
			if _, _, err := s.Open(c); !errors.Is(err, ErrNotFound) {
				t.Fatalf("the erased blob after the rebuild: %v", err)
			}
			continue
		}
		if got := readAll(t, s, c); !bytes.Equal(got, f) {
			t.Fatalf("file %d after the rebuild", i)
		}
	}
	if blobs, _, _ := s.Usage(); blobs != 2*packMin-1 {
		t.Fatalf("Usage %d blobs after the rebuild, want %d", blobs, 2*packMin-1)
	}
}

// TestPackedSharedStore: a second Store on the same directory (another gateway) reads
// and dedupes what the first packed.
func TestPackedSharedStore(t *testing.T) {
	dir := t.TempDir()
	kek := randBytes(t, 32)
	a, err := Open(Options{Dir: dir, KEK: kek, MaxSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(Options{Dir: dir, KEK: kek, MaxSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	f := randBytes(t, 2000)
	packed(t, a, f)
	if got := readAll(t, b, referenceCID(t, f)); !bytes.Equal(got, f) {
		t.Fatal("the other store reads differently")
	}
	if created := packed(t, b, f); len(created) != 0 {
		t.Fatal("the other store stored the content again")
	}
	if err := b.Delete(referenceCID(t, f)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := a.Open(referenceCID(t, f)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("erased by the other store, Open: %v", err)
	}
}

// TestPackedRewrap: after a KEK rotation Rewrap rewrites each pack with every key
// wrapped under the new KEK (a new pack file; the old one goes), and the blobs read
// with the new KEK alone; a second run finds nothing to do.
func TestPackedRewrap(t *testing.T) {
	dir := t.TempDir()
	old, kek := randBytes(t, 32), randBytes(t, 32)
	s, err := Open(Options{Dir: dir, KEK: old, MaxSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	var files [][]byte
	for range packMin {
		files = append(files, randBytes(t, 3000))
	}
	commitBatch(t, s, files...)
	if err := s.Delete(referenceCID(t, files[0])); err != nil {
		t.Fatal(err)
	}
	before := packFiles(t, s)
	s.Close()
	s, err = Open(Options{Dir: dir, KEK: kek, RetiredKEKs: [][]byte{old}, MaxSize: 1 << 20, Exclusive: true})
	if err != nil {
		t.Fatal(err)
	}
	st, err := s.Rewrap(context.Background())
	if err != nil || st.Rewrapped != packMin-1 || st.Blobs != packMin-1 {
		t.Fatalf("Rewrap: %+v %v", st, err)
	}
	if after := packFiles(t, s); len(after) != 1 || after[0] == before[0] {
		t.Fatalf("packs before %v, after %v", before, after)
	}
	if st, err := s.Rewrap(context.Background()); err != nil || st.Rewrapped != 0 {
		t.Fatalf("second Rewrap: %+v %v", st, err)
	}
	s.Close()
	s, err = Open(Options{Dir: dir, KEK: kek, MaxSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i, f := range files[1:] {
		if got := readAll(t, s, referenceCID(t, f)); !bytes.Equal(got, f) {
			t.Fatalf("file %d after Rewrap", i+1)
		}
	}
	if _, _, err := s.Open(referenceCID(t, files[0])); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the erased blob after Rewrap: %v", err)
	}
}

// TestPackNotIndexed: a pack installed whose rows never reached the index (its Store
// died between the rename and the index commit) holds nothing a reader finds, and the
// next SweepTemp of another Store removes it: its data keys are live, and a rebuilt
// index would otherwise list it again. A live Store's pack in progress is left alone.
func TestPackNotIndexed(t *testing.T) {
	dir := t.TempDir()
	kek := randBytes(t, 32)
	open := func() *Store {
		s, err := Open(Options{Dir: dir, KEK: kek, MaxSize: 1 << 20})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	ctx := context.Background()
	a := open()
	f := randBytes(t, 100)
	e := newPackEntry(f)
	if err := a.sealPacked(&e); err != nil {
		t.Fatal(err)
	}
	p, err := a.stagePack([]*packEntry{&e}, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.markPending(ctx, p.id); err != nil {
		t.Fatal(err)
	}
	if _, err := a.installPack(&p); err != nil {
		t.Fatal(err)
	}
	_, path, _ := a.packPath(p.id)
	b := open()
	if _, _, err := b.Open(referenceCID(t, f)); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Open of an unindexed entry: %v", err)
	}
	if blobs, _, _ := b.Usage(); blobs != 0 {
		t.Fatalf("Usage %d", blobs)
	}
	if n, err := b.SweepTemp(time.Minute); err != nil || n != 0 {
		t.Fatalf("SweepTemp beside a live Store: %d %v", n, err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("a live Store's pack in progress was touched: %v", err)
	}
	a.Close() // a dies before committing the pack's rows
	if n, err := b.SweepTemp(time.Minute); err != nil || n != 1 {
		t.Fatalf("SweepTemp after the Store died: %d %v", n, err)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the unindexed pack is still there: %v", err)
	}
	var marks int
	if err := b.packs.db.QueryRow(`SELECT count(*) FROM pending`).Scan(&marks); err != nil || marks != 0 {
		t.Fatalf("pending marks left: %d %v", marks, err)
	}
	// A committed batch leaves no mark.
	commitBatch(t, b, fillers(t, 20)...)
	if err := b.packs.db.QueryRow(`SELECT count(*) FROM pending`).Scan(&marks); err != nil || marks != 0 {
		t.Fatalf("pending marks after a commit: %d %v", marks, err)
	}
}

// TestScrubPagesThePackIndex: Scrub walks the pack index a page at a time and sees
// every packed blob once.
func TestScrubPagesThePackIndex(t *testing.T) {
	s := newStore(t, 1<<20)
	files := fillers(t, 2500)
	commitBatch(t, s, files...)
	st, err := s.Scrub(context.Background())
	if err != nil || st.Blobs != 2500 || st.Intact != 2500 || st.Bytes != 2500*64 {
		t.Fatalf("Scrub: %+v %v", st, err)
	}
}

// TestPackHoldsBoundedMemory: a batch keeps at most maxPackBytes of small files in
// memory for its pack; the ones after that become files of their own, and all read back.
func TestPackHoldsBoundedMemory(t *testing.T) {
	s := newStore(t, 1<<20)
	n := maxPackBytes/smallFile + 10
	b := s.NewBatch()
	var files [][]byte
	for range n {
		f := randBytes(t, smallFile)
		files = append(files, f)
		if _, err := b.Put(context.Background(), bytes.NewReader(f)); err != nil {
			t.Fatal(err)
		}
	}
	if held := b.(*Batch).held; held > maxPackBytes {
		t.Fatalf("the batch holds %d bytes, more than %d", held, maxPackBytes)
	}
	if _, err := b.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	if f := blobFiles(t, s); f != 10 {
		t.Fatalf("%d blob files, want the 10 past the bound", f)
	}
	for i, f := range files {
		if got := readAll(t, s, referenceCID(t, f)); !bytes.Equal(got, f) {
			t.Fatalf("file %d reads differently", i)
		}
	}
}
