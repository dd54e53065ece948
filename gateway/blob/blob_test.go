package blob

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"github.com/edossier-city/edossier/gateway"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multibase"
	"github.com/multiformats/go-multihash"
)

func newStore(t testing.TB, maxSize int64) *Store {
	t.Helper()
	kek := make([]byte, 32)
	if _, err := rand.Read(kek); err != nil {
		t.Fatal(err)
	}
	s, err := Open(Options{Dir: t.TempDir(), KEK: kek, MaxSize: maxSize})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func randBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// referenceCID computes the expected CID through go-cid's own prefix hashing,
// independently of the store's code path.
func referenceCID(t testing.TB, data []byte) string {
	t.Helper()
	c, err := cid.Prefix{Version: 1, Codec: cid.Raw, MhType: multihash.SHA2_256, MhLength: -1}.Sum(data)
	if err != nil {
		t.Fatal(err)
	}
	return c.String()
}

func readAll(t testing.TB, s *Store, c string) []byte {
	t.Helper()
	rc, info, err := s.Open(c)
	if err != nil {
		t.Fatalf("Open(%s): %v", c, err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %s: %v", c, err)
	}
	if int64(len(got)) != info.Size {
		t.Fatalf("read %d bytes, Info.Size %d", len(got), info.Size)
	}
	return got
}

func assertEmpty(t testing.TB, s *Store) {
	t.Helper()
	n, b, err := s.Usage()
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 || b != 0 {
		t.Fatalf("store not empty: %d blobs, %d bytes", n, b)
	}
	tf, err := s.TempFiles()
	if err != nil {
		t.Fatal(err)
	}
	if tf != 0 {
		t.Fatalf("%d temporary files left", tf)
	}
}

func TestOpenOptions(t *testing.T) {
	dir := t.TempDir()
	for _, o := range []Options{
		{Dir: "", KEK: make([]byte, 32), MaxSize: 1},
		{Dir: dir, KEK: make([]byte, 16), MaxSize: 1},
		{Dir: dir, KEK: nil, MaxSize: 1},
		{Dir: dir, KEK: make([]byte, 32), MaxSize: 0},
		{Dir: dir, KEK: make([]byte, 32), MaxSize: -5},
	} {
		if _, err := Open(o); err == nil {
			t.Errorf("Open(%+v) succeeded", o)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	s := newStore(t, 8<<20)
	firstSeg := segmentSize - 40 - 16 // plaintext bytes in Tink's first segment
	sizes := []int{0, 1, 17, 4095, firstSeg - 1, firstSeg, firstSeg + 1,
		segmentSize, 3*segmentSize + 7, 1<<20 + 13}
	for _, n := range sizes {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			data := randBytes(t, n)
			info, err := s.Put(context.Background(), bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			if want := referenceCID(t, data); info.CID != want {
				t.Fatalf("CID %s, want %s", info.CID, want)
			}
			if info.Size != int64(n) {
				t.Fatalf("size %d, want %d", info.Size, n)
			}
			if err := ValidateCID(info.CID); err != nil {
				t.Fatal(err)
			}
			if !info.Created {
				t.Fatal("Created false for new content")
			}
			st, err := s.Stat(info.CID)
			if err != nil || st.CID != info.CID || st.Size != info.Size {
				t.Fatalf("Stat = %+v, %v; want %+v", st, err, info)
			}
			if got := readAll(t, s, info.CID); !bytes.Equal(got, data) {
				t.Fatal("content differs")
			}
			sum, err := Sum(context.Background(), bytes.NewReader(data), int64(n))
			if err != nil || sum.CID != info.CID || sum.Size != info.Size {
				t.Fatalf("Sum = %+v, %v; want %+v", sum, err, info)
			}
		})
	}
	if tf, _ := s.TempFiles(); tf != 0 {
		t.Fatalf("%d temporary files left", tf)
	}
}

func TestKnownCID(t *testing.T) {
	// CIDv1 raw sha2-256 of the empty input, as published by IPFS tooling.
	const empty = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
	info, err := Sum(context.Background(), strings.NewReader(""), 1)
	if err != nil {
		t.Fatal(err)
	}
	if info.CID != empty || info.CID != referenceCID(t, nil) {
		t.Fatalf("empty CID %s", info.CID)
	}
}

// TestSmallReads feeds the store through a reader returning 1..7 bytes at a
// time, to cover odd write boundaries.
func TestSmallReads(t *testing.T) {
	s := newStore(t, 1<<20)
	data := randBytes(t, 3*segmentSize/2+3)
	info, err := s.Put(context.Background(), &choppyReader{data: data})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readAll(t, s, info.CID), data) {
		t.Fatal("content differs")
	}
}

type choppyReader struct {
	data []byte
	i    int
}

func (c *choppyReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	c.i++
	n := min(1+c.i%7, len(p), len(c.data))
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

func TestDedupe(t *testing.T) {
	s := newStore(t, 1<<20)
	data := randBytes(t, 100000)
	a, err := s.Put(context.Background(), bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	digest, _ := parseCID(a.CID)
	_, path := s.pathOf(a.CID, digest)
	before, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Put(context.Background(), bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if a.CID != b.CID || a.Size != b.Size || !a.Created || b.Created {
		t.Fatalf("first %+v, second %+v", a, b)
	}
	after, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) {
		t.Fatal("existing blob was replaced")
	}
	n, _, _ := s.Usage()
	if n != 1 {
		t.Fatalf("%d blobs, want 1", n)
	}
	if tf, _ := s.TempFiles(); tf != 0 {
		t.Fatalf("%d temporary files left", tf)
	}
}

func TestConcurrentPutSameContent(t *testing.T) {
	s := newStore(t, 1<<20)
	data := randBytes(t, 3*segmentSize+5)
	const n = 8
	infos := make([]gateway.CommittedBlob, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			infos[i], errs[i] = s.Put(context.Background(), bytes.NewReader(data))
		})
	}
	wg.Wait()
	created := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if infos[i].CID != infos[0].CID || infos[i].Size != infos[0].Size {
			t.Fatalf("%+v != %+v", infos[i], infos[0])
		}
		if infos[i].Created {
			created++
		}
	}
	if created != 1 {
		t.Fatalf("%d Puts report Created", created)
	}
	if blobs, _, _ := s.Usage(); blobs != 1 {
		t.Fatalf("%d blobs", blobs)
	}
	if tf, _ := s.TempFiles(); tf != 0 {
		t.Fatalf("%d temporary files left", tf)
	}
	if !bytes.Equal(readAll(t, s, infos[0].CID), data) {
		t.Fatal("content differs")
	}
}

func TestConcurrentPutDifferentContent(t *testing.T) {
	s := newStore(t, 1<<20)
	const n = 8
	datas := make([][]byte, n)
	infos := make([]gateway.CommittedBlob, n)
	errs := make([]error, n)
	for i := range n {
		datas[i] = randBytes(t, 1000*i+1)
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			infos[i], errs[i] = s.Put(context.Background(), bytes.NewReader(datas[i]))
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if !bytes.Equal(readAll(t, s, infos[i].CID), datas[i]) {
			t.Fatal("content differs")
		}
	}
	if blobs, _, _ := s.Usage(); blobs != n {
		t.Fatalf("%d blobs", blobs)
	}
}

func TestTooLarge(t *testing.T) {
	s := newStore(t, 1000)
	for _, n := range []int{1001, 5000, 3 * segmentSize} {
		_, err := s.Put(context.Background(), bytes.NewReader(randBytes(t, n)))
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("Put(%d bytes) = %v, want ErrTooLarge", n, err)
		}
		if _, err := Sum(context.Background(), bytes.NewReader(make([]byte, n)), 1000); !errors.Is(err, ErrTooLarge) {
			t.Fatalf("Sum(%d bytes) = %v, want ErrTooLarge", n, err)
		}
		assertEmpty(t, s)
	}
	if _, err := s.Put(context.Background(), bytes.NewReader(randBytes(t, 1000))); err != nil {
		t.Fatalf("exactly MaxSize: %v", err)
	}
}

func TestCancel(t *testing.T) {
	s := newStore(t, 1<<30)
	ctx, cancel := context.WithCancel(context.Background())
	r := &cancellingReader{cancel: cancel, after: 5 * bufSize}
	_, err := s.Put(ctx, r)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Put = %v, want context.Canceled", err)
	}
	if r.read > 7*bufSize {
		t.Fatalf("kept reading after cancellation: %d bytes", r.read)
	}
	assertEmpty(t, s)

	if _, err := s.Put(ctx, strings.NewReader("x")); !errors.Is(err, context.Canceled) {
		t.Fatalf("Put with cancelled ctx = %v", err)
	}
	assertEmpty(t, s)
}

type cancellingReader struct {
	cancel func()
	after  int
	read   int
}

func (c *cancellingReader) Read(p []byte) (int, error) {
	c.read += len(p)
	if c.read >= c.after {
		c.cancel()
	}
	return len(p), nil
}

func TestReaderError(t *testing.T) {
	s := newStore(t, 1<<20)
	boom := errors.New("boom")
	_, err := s.Put(context.Background(), io.MultiReader(bytes.NewReader(randBytes(t, 70000)), errReader{boom}))
	if !errors.Is(err, boom) {
		t.Fatalf("Put = %v, want boom", err)
	}
	assertEmpty(t, s)
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

func TestNotFound(t *testing.T) {
	s := newStore(t, 1<<20)
	c := referenceCID(t, []byte("never stored"))
	if _, err := s.Stat(c); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Stat = %v", err)
	}
	if _, _, err := s.Open(c); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Open = %v", err)
	}
	if err := s.Delete(c); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Delete = %v", err)
	}
}

func invalidCIDs(t testing.TB) []string {
	t.Helper()
	data := []byte("hello")
	good := referenceCID(t, data)
	c, _ := cid.Decode(good)
	mhSHA256, _ := multihash.Sum(data, multihash.SHA2_256, -1)
	mhSHA512, _ := multihash.Sum(data, multihash.SHA2_512, -1)
	mhID, _ := multihash.Sum(data, multihash.IDENTITY, -1)
	d512 := sha512.Sum512(data)
	mhTrunc, _ := multihash.Encode(d512[:32], multihash.SHA2_512)
	b58, _ := c.StringOfBase(multibase.Base58BTC)
	b36, _ := c.StringOfBase(multibase.Base36)
	b32up, _ := c.StringOfBase(multibase.Base32Upper)
	b32pad, _ := c.StringOfBase(multibase.Base32pad)
	b16, _ := c.StringOfBase(multibase.Base16)
	b64, _ := c.StringOfBase(multibase.Base64url)
	return []string{
		"",
		"../x",
		"..",
		"/etc/passwd",
		"b",
		"bafkrei",
		good[:len(good)-1],
		good + "a",
		good + "\n",
		" " + good,
		good + "/../x",
		"../" + good[3:],
		strings.Replace(good, "b", "/", 1),
		strings.ToUpper(good),
		b32up,
		b32pad,
		b58,
		b36,
		b16,
		b64,
		cid.NewCidV0(mhSHA256).String(), // CIDv0 "Qm..."
		cid.NewCidV1(cid.DagProtobuf, mhSHA256).String(), // other codec
		cid.NewCidV1(cid.DagCBOR, mhSHA256).String(),
		cid.NewCidV1(cid.Raw, mhSHA512).String(), // other hash
		cid.NewCidV1(cid.Raw, mhID).String(),     // identity "hash"
		cid.NewCidV1(cid.Raw, mhTrunc).String(),  // 32-byte digest of another function, same length
	}
}

func TestInvalidCID(t *testing.T) {
	s := newStore(t, 1<<20)
	if _, err := s.Put(context.Background(), strings.NewReader("hello")); err != nil {
		t.Fatal(err)
	}
	for _, c := range invalidCIDs(t) {
		if err := ValidateCID(c); !errors.Is(err, ErrInvalidCID) {
			t.Errorf("ValidateCID(%q) = %v", c, err)
		}
		if _, err := s.Stat(c); !errors.Is(err, ErrInvalidCID) {
			t.Errorf("Stat(%q) = %v", c, err)
		}
		if _, _, err := s.Open(c); !errors.Is(err, ErrInvalidCID) {
			t.Errorf("Open(%q) = %v", c, err)
		}
		if err := s.Delete(c); !errors.Is(err, ErrInvalidCID) {
			t.Errorf("Delete(%q) = %v", c, err)
		}
	}
	if blobs, _, _ := s.Usage(); blobs != 1 {
		t.Fatalf("%d blobs after refused deletes", blobs)
	}
}

// blobPath returns the on-disk path of a stored blob.
func blobPath(t testing.TB, s *Store, c string) string {
	t.Helper()
	digest, err := parseCID(c)
	if err != nil {
		t.Fatal(err)
	}
	_, p := s.pathOf(c, digest)
	return p
}

// expectCorrupt asserts that opening or reading c fails with ErrCorrupt and
// that no byte that differs from want is ever returned.
func expectCorrupt(t *testing.T, s *Store, c string, want []byte) {
	t.Helper()
	rc, _, err := s.Open(c)
	if err != nil {
		if !errors.Is(err, ErrCorrupt) {
			t.Fatalf("Open = %v, want ErrCorrupt", err)
		}
		if _, err := s.Stat(c); err == nil {
			t.Fatal("Stat succeeded on a blob Open refuses")
		}
		return
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("read = %v, want ErrCorrupt", err)
	}
	if !bytes.HasPrefix(want, got) {
		t.Fatal("returned bytes that are not the original content")
	}
}

func TestTamper(t *testing.T) {
	data := make([]byte, 3*segmentSize+100)
	copy(data, randBytes(t, len(data)))
	fileLen := func(s *Store, c string) int64 {
		fi, err := os.Stat(blobPath(t, s, c))
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	flip := func(off func(size int64) int64) func(*testing.T, *Store, string) {
		return func(t *testing.T, s *Store, c string) {
			p := blobPath(t, s, c)
			f, err := os.OpenFile(p, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			o := off(fileLen(s, c))
			b := make([]byte, 1)
			if _, err := f.ReadAt(b, o); err != nil {
				t.Fatal(err)
			}
			b[0] ^= 0x01
			if _, err := f.WriteAt(b, o); err != nil {
				t.Fatal(err)
			}
		}
	}
	cases := map[string]func(*testing.T, *Store, string){
		"magic":             flip(func(int64) int64 { return 0 }),
		"size field":        flip(func(int64) int64 { return offSize + 7 }),
		"wrapped key first": flip(func(int64) int64 { return offKey }),
		"wrapped key mid":   flip(func(int64) int64 { return offKey + 100 }),
		"header padding":    flip(func(int64) int64 { return headerSize - 1 }),
		"stream header":     flip(func(int64) int64 { return headerSize + 5 }),
		"first segment":     flip(func(int64) int64 { return headerSize + 1000 }),
		"middle segment":    flip(func(int64) int64 { return headerSize + 2*segmentSize + 10 }),
		"last byte":         flip(func(n int64) int64 { return n - 1 }),
		"truncated segment": func(t *testing.T, s *Store, c string) {
			if err := os.Truncate(blobPath(t, s, c), fileLen(s, c)-1); err != nil {
				t.Fatal(err)
			}
		},
		"truncated at segment boundary": func(t *testing.T, s *Store, c string) {
			if err := os.Truncate(blobPath(t, s, c), headerSize+2*segmentSize); err != nil {
				t.Fatal(err)
			}
		},
		"truncated header": func(t *testing.T, s *Store, c string) {
			if err := os.Truncate(blobPath(t, s, c), 100); err != nil {
				t.Fatal(err)
			}
		},
		"appended": func(t *testing.T, s *Store, c string) {
			f, err := os.OpenFile(blobPath(t, s, c), os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.Write([]byte("more")); err != nil {
				t.Fatal(err)
			}
		},
		"segment swapped": func(t *testing.T, s *Store, c string) {
			p := blobPath(t, s, c)
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			s1 := b[headerSize+segmentSize : headerSize+2*segmentSize]
			s2 := b[headerSize+2*segmentSize : headerSize+3*segmentSize]
			tmp := bytes.Clone(s1)
			copy(s1, s2)
			copy(s2, tmp)
			if err := os.WriteFile(p, b, 0o600); err != nil {
				t.Fatal(err)
			}
		},
	}
	for name, tamper := range cases {
		t.Run(name, func(t *testing.T) {
			s := newStore(t, 1<<20)
			info, err := s.Put(context.Background(), bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			tamper(t, s, info.CID)
			expectCorrupt(t, s, info.CID, data)
		})
	}
}

func TestSwappedFiles(t *testing.T) {
	s := newStore(t, 1<<20)
	a := randBytes(t, 2*segmentSize+1)
	b := randBytes(t, 2*segmentSize+1) // same size: only the keys differ
	ia, err := s.Put(context.Background(), bytes.NewReader(a))
	if err != nil {
		t.Fatal(err)
	}
	ib, err := s.Put(context.Background(), bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	fa, _ := os.ReadFile(blobPath(t, s, ia.CID))
	fb, _ := os.ReadFile(blobPath(t, s, ib.CID))

	t.Run("whole file of A under B", func(t *testing.T) {
		if err := os.WriteFile(blobPath(t, s, ib.CID), fa, 0o600); err != nil {
			t.Fatal(err)
		}
		expectCorrupt(t, s, ib.CID, b)
	})
	t.Run("key of A, ciphertext of B, under A", func(t *testing.T) {
		mixed := append(bytes.Clone(fa[:headerSize]), fb[headerSize:]...)
		if err := os.WriteFile(blobPath(t, s, ia.CID), mixed, 0o600); err != nil {
			t.Fatal(err)
		}
		expectCorrupt(t, s, ia.CID, a)
	})
	t.Run("key of B, ciphertext of A, under A", func(t *testing.T) {
		mixed := append(bytes.Clone(fb[:headerSize]), fa[headerSize:]...)
		if err := os.WriteFile(blobPath(t, s, ia.CID), mixed, 0o600); err != nil {
			t.Fatal(err)
		}
		expectCorrupt(t, s, ia.CID, a)
	})
}

func TestWrongKEK(t *testing.T) {
	dir := t.TempDir()
	k1, k2 := randBytes(t, 32), randBytes(t, 32)
	s1, err := Open(Options{Dir: dir, KEK: k1, MaxSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	info, err := s1.Put(context.Background(), strings.NewReader("secret document"))
	if err != nil {
		t.Fatal(err)
	}
	s2, err := Open(Options{Dir: dir, KEK: k2, MaxSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s2.Open(info.CID); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open with wrong KEK = %v", err)
	}
	// The plaintext is not on disk.
	raw, _ := os.ReadFile(blobPath(t, s1, info.CID))
	if bytes.Contains(raw, []byte("secret document")) {
		t.Fatal("plaintext found on disk")
	}
}

func TestDelete(t *testing.T) {
	s := newStore(t, 1<<20)
	data := randBytes(t, 100000)
	info, err := s.Put(context.Background(), bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	// A second name of the same inode (as a crash could leave in tmp/).
	extra := filepath.Join(t.TempDir(), "copy")
	if err := os.Link(blobPath(t, s, info.CID), extra); err != nil {
		t.Skipf("hard links not supported: %v", err)
	}
	if err := s.Delete(info.CID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Stat(info.CID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Stat after Delete = %v", err)
	}
	if _, _, err := s.Open(info.CID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Open after Delete = %v", err)
	}
	if err := s.Delete(info.CID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second Delete = %v", err)
	}
	assertEmpty(t, s)

	// Crypto-erase: the surviving name is unreadable even when put back.
	if err := os.Link(extra, blobPath(t, s, info.CID)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Open(info.CID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Open of erased file = %v", err)
	}
	// Storing the same content again repairs the erased entry.
	again, err := s.Put(context.Background(), bytes.NewReader(data))
	if err != nil || again.CID != info.CID || !again.Created {
		t.Fatalf("Put after erase = %+v, %v", again, err)
	}
	if !bytes.Equal(readAll(t, s, info.CID), data) {
		t.Fatal("content differs")
	}
}

func TestSweepTemp(t *testing.T) {
	s := newStore(t, 1<<20)
	// Loose staging files of an older version go by age.
	old := filepath.Join(s.tmpRoot, "put-1.partial")
	fresh := filepath.Join(s.tmpRoot, "put-2.partial")
	other := filepath.Join(s.tmpRoot, "unrelated")
	for _, p := range []string{old, fresh, other} {
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	past := time.Now().Add(-2 * time.Hour)
	for _, p := range []string{old, other} {
		if err := os.Chtimes(p, past, past); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.SweepTemp(time.Hour)
	if err != nil || n != 1 {
		t.Fatalf("SweepTemp = %d, %v", n, err)
	}
	if _, err := os.Stat(old); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("old temp file kept")
	}
	for _, p := range []string{fresh, other} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s removed", p)
		}
	}
}

// genReader produces n pseudo-random bytes without holding them.
type genReader struct {
	n     int64
	state uint64
}

func (g *genReader) Read(p []byte) (int, error) {
	if g.n == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > g.n {
		p = p[:g.n]
	}
	for i := range p {
		if i%8 == 0 {
			g.state ^= g.state << 13
			g.state ^= g.state >> 7
			g.state ^= g.state << 17
		}
		p[i] = byte(g.state >> (8 * (i % 8)))
	}
	g.n -= int64(len(p))
	return len(p), nil
}

func TestPutMemoryIndependentOfSize(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 256 MiB")
	}
	const size = 256 << 20
	const limit = 32 << 20
	s := newStore(t, size)

	var peak uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	wg.Go(func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		var m runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				runtime.ReadMemStats(&m)
				peak = max(peak, m.HeapInuse)
			}
		}
	})
	info, err := s.Put(context.Background(), &genReader{n: size, state: 0x9e3779b97f4a7c15})
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	allocated := after.TotalAlloc - before.TotalAlloc
	growth := int64(peak) - int64(before.HeapInuse)
	t.Logf("Put %d MiB: allocated %d KiB in total, peak heap growth %d KiB", size>>20, allocated>>10, growth>>10)
	if allocated > limit {
		t.Fatalf("Put allocated %d bytes for a %d-byte stream", allocated, size)
	}
	if growth > limit {
		t.Fatalf("heap grew by %d bytes", growth)
	}
	if info.Size != size {
		t.Fatalf("size %d", info.Size)
	}

	// Reading back is streamed too and verifies the hash at the end.
	runtime.GC()
	runtime.ReadMemStats(&before)
	rc, _, err := s.Open(info.CID)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	n, err := io.CopyBuffer(h, rc, make([]byte, 32<<10))
	rc.Close()
	if err != nil || n != size {
		t.Fatalf("read %d, %v", n, err)
	}
	runtime.ReadMemStats(&after)
	if allocated := after.TotalAlloc - before.TotalAlloc; allocated > limit {
		t.Fatalf("Open+read allocated %d bytes", allocated)
	}
}

// Benchmarks: 1 MiB blobs through the store, and a baseline doing the same
// durable steps without encryption (sha256 while writing a temp file, fsync,
// rename, directory fsync; read + sha256 for Open).

const benchSize = 1 << 20

func BenchmarkPut(b *testing.B) {
	data := make([]byte, benchSize)
	copy(data, randBytes(b, benchSize))
	b.Run("store", func(b *testing.B) {
		s := newStore(b, benchSize)
		// Steady state: shard directories exist (they are created lazily).
		for i := range 256 {
			if err := s.ensureDir(filepath.Join(s.blobsDir, fmt.Sprintf("%02x", i))); err != nil {
				b.Fatal(err)
			}
		}
		b.SetBytes(benchSize)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			data[0], data[1], data[2], data[3] = byte(i), byte(i>>8), byte(i>>16), byte(i>>24)
			info, err := s.Put(context.Background(), bytes.NewReader(data))
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if err := s.Delete(info.CID); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
	})
	b.Run("baseline", func(b *testing.B) {
		dir := b.TempDir()
		b.SetBytes(benchSize)
		b.ReportAllocs()
		buf := make([]byte, bufSize)
		for i := 0; b.Loop(); i++ {
			data[0], data[1], data[2], data[3] = byte(i), byte(i>>8), byte(i>>16), byte(i>>24)
			final := baselinePut(b, dir, bytes.NewReader(data), buf)
			b.StopTimer()
			os.Remove(final)
			b.StartTimer()
		}
	})
}

func baselinePut(b *testing.B, dir string, r io.Reader, buf []byte) string {
	f, err := os.CreateTemp(dir, "tmp-*")
	if err != nil {
		b.Fatal(err)
	}
	h := sha256.New()
	if _, err := io.CopyBuffer(io.MultiWriter(f, h), r, buf); err != nil {
		b.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	final := filepath.Join(dir, fmt.Sprintf("%x", h.Sum(nil)))
	if err := os.Rename(f.Name(), final); err != nil {
		b.Fatal(err)
	}
	if err := syncDir(dir); err != nil {
		b.Fatal(err)
	}
	return final
}

func BenchmarkOpen(b *testing.B) {
	data := randBytes(b, benchSize)
	buf := make([]byte, 32<<10)
	b.Run("store", func(b *testing.B) {
		s := newStore(b, benchSize)
		info, err := s.Put(context.Background(), bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(benchSize)
		b.ReportAllocs()
		for b.Loop() {
			rc, _, err := s.Open(info.CID)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.CopyBuffer(io.Discard, rc, buf); err != nil {
				b.Fatal(err)
			}
			rc.Close()
		}
	})
	b.Run("baseline", func(b *testing.B) {
		dir := b.TempDir()
		final := baselinePut(b, dir, bytes.NewReader(data), make([]byte, bufSize))
		want := sha256.Sum256(data)
		b.SetBytes(benchSize)
		b.ReportAllocs()
		for b.Loop() {
			f, err := os.Open(final)
			if err != nil {
				b.Fatal(err)
			}
			h := sha256.New()
			if _, err := io.CopyBuffer(h, f, buf); err != nil {
				b.Fatal(err)
			}
			f.Close()
			if !bytes.Equal(h.Sum(nil), want[:]) {
				b.Fatal("hash mismatch")
			}
		}
	})
}
