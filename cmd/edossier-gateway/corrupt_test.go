package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
	"github.com/edossier-city/edossier/gateway/api"
	"github.com/edossier-city/edossier/gateway/blob"
	"github.com/edossier-city/edossier/gateway/httpsig"
	"github.com/edossier-city/edossier/gateway/service"
)

// contentLedger is a fake ledger for file reads only: every access is granted and the
// record of ID "r-<cid>" names that CID with the size given in sizes.
type contentLedger struct {
	service.Ledger
	sizes map[string]int64
}

func (l contentLedger) RecordAccess(ctx context.Context, a gateway.Actor, grantID, recordID, purpose string) (*wire.AccessEntry, gateway.Receipt, error) {
	return &wire.AccessEntry{RecordID: recordID, GrantID: grantID}, gateway.Receipt{Channel: "datashare", TxID: "tx-" + recordID, Block: 7}, nil
}

func (l contentLedger) GetRecord(ctx context.Context, a gateway.Actor, recordID string) (*wire.Record, error) {
	cid := strings.TrimPrefix(recordID, "r-")
	return &wire.Record{RecordID: recordID, CID: cid, Size: l.sizes[cid], MediaType: "application/pdf"}, nil
}

type corruptRig struct {
	store *blob.Store
	dir   string
	srv   *httptest.Server
	reg   *prometheus.Registry
	sizes map[string]int64
}

func newCorruptRig(t *testing.T) *corruptRig {
	t.Helper()
	dir := t.TempDir()
	kek := make([]byte, 32)
	rand.Read(kek)
	st, err := blob.Open(blob.Options{Dir: dir, KEK: kek, MaxSize: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	r := &corruptRig{store: st, dir: dir, reg: prometheus.NewRegistry(), sizes: map[string]int64{}}
	svc := service.New(contentLedger{sizes: r.sizes}, st, nil, service.Config{})
	h, err := api.New(api.Options{
		Service: svc,
		Keys: keysFunc(func(string) (gateway.Principal, error) {
			return gateway.Principal{Role: gateway.RoleDepartment, Org: "health", User: "clerk"}, nil
		}),
		Nonces:   httpsig.NewMemoryNonceStore(0),
		Registry: r.reg,
	})
	if err != nil {
		t.Fatal(err)
	}
	r.srv = httptest.NewServer(h)
	t.Cleanup(r.srv.Close)
	return r
}

type keysFunc func(string) (gateway.Principal, error)

func (f keysFunc) Authenticate(k string) (gateway.Principal, error) { return f(k) }

func (r *corruptRig) put(t *testing.T, data []byte) string {
	t.Helper()
	info, err := r.store.Put(context.Background(), bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	r.sizes[info.CID] = info.Size
	return info.CID
}

func (r *corruptRig) path(t *testing.T, cid string) string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(r.dir, "blobs", "*", cid+".blob"))
	if err != nil || len(m) != 1 {
		t.Fatalf("blob file of %s: %v %v", cid, m, err)
	}
	return m[0]
}

// read fetches a record's file over HTTP and returns the status, the problem code (if
// any), the body read and the body's read error.
func (r *corruptRig) read(t *testing.T, cid string) (int, string, []byte, error) {
	t.Helper()
	req, _ := http.NewRequest("GET", r.srv.URL+"/v1/records/r-"+cid+"/content?grantId=g-1&purpose=benefit", nil)
	req.Header.Set("Authorization", "Bearer k")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, rerr := io.ReadAll(resp.Body)
	code := ""
	if resp.Header.Get("Content-Type") == "application/problem+json" {
		var p struct {
			Code string `json:"code"`
		}
		_ = json.Unmarshal(body, &p)
		code = p.Code
	}
	if resp.StatusCode == 200 && resp.Header.Get("Content-Length") != strconv.FormatInt(r.sizes[cid], 10) {
		t.Errorf("%s: Content-Length %q, record size %d", cid, resp.Header.Get("Content-Length"), r.sizes[cid])
	}
	return resp.StatusCode, code, body, rerr
}

func (r *corruptRig) corruptCount(t *testing.T) float64 {
	t.Helper()
	mfs, err := r.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "edossier_blob_corrupt_total" {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	return 0
}

func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x01
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// TestCorruptBlobReads: a damaged blob file (ciphertext byte, header byte, truncation,
// another blob's file under its name; small and large files) is never answered 200 with
// a complete body. Damage found before the status line (the whole of a small file, the
// first MiB of a large one) is 500 blob_corrupt; damage further into a large file aborts
// the connection, so the client reads fewer bytes than Content-Length and an error.
// Every case counts in edossier_blob_corrupt_total. No Fabric network is needed.
func TestCorruptBlobReads(t *testing.T) {
	const hdr = 1024 // blob file header (see gateway/blob)
	r := newCorruptRig(t)
	small := randomBytes(195)
	large := randomBytes(3<<20 + 12345)

	goodSmall, goodLarge := r.put(t, small), r.put(t, large)
	for cid, want := range map[string][]byte{goodSmall: small, goodLarge: large} {
		status, _, body, err := r.read(t, cid)
		if status != 200 || err != nil || !bytes.Equal(body, want) {
			t.Fatalf("intact %s: %d %v, %d bytes", cid, status, err, len(body))
		}
	}
	if n := r.corruptCount(t); n != 0 {
		t.Fatalf("corrupt count %v before any damage", n)
	}

	type tcase struct {
		name   string
		data   []byte
		damage func(t *testing.T, path string)
		abort  bool // found only after the status line: the connection is aborted
	}
	truncate := func(keep func(size int64) int64) func(*testing.T, string) {
		return func(t *testing.T, path string) {
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(path, keep(fi.Size())); err != nil {
				t.Fatal(err)
			}
		}
	}
	flipAt := func(off func(size int64) int64) func(*testing.T, string) {
		return func(t *testing.T, path string) {
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			flipByte(t, path, off(fi.Size()))
		}
	}
	swapWith := func(other []byte) func(*testing.T, string) {
		return func(t *testing.T, path string) {
			cid := r.put(t, other)
			b, err := os.ReadFile(r.path(t, cid))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	cases := []tcase{
		{"small ciphertext byte", randomBytes(195), flipAt(func(int64) int64 { return hdr + 100 }), false},
		{"small last ciphertext byte", randomBytes(195), flipAt(func(n int64) int64 { return n - 1 }), false},
		{"small header key byte", randomBytes(195), flipAt(func(int64) int64 { return 40 }), false},
		{"small header size byte", randomBytes(195), flipAt(func(int64) int64 { return 15 }), false},
		{"small magic byte", randomBytes(195), flipAt(func(int64) int64 { return 0 }), false},
		{"small truncated", randomBytes(195), truncate(func(n int64) int64 { return n - 20 }), false},
		{"small truncated to header", randomBytes(195), truncate(func(int64) int64 { return hdr }), false},
		{"small swapped", randomBytes(195), swapWith(randomBytes(195)), false},
		{"medium (whole file checked) last byte", randomBytes(900 << 10), flipAt(func(n int64) int64 { return n - 1 }), false},
		{"large first segment byte", randomBytes(3 << 20), flipAt(func(int64) int64 { return hdr + 500 }), false},
		{"large header byte", randomBytes(3 << 20), flipAt(func(int64) int64 { return 30 }), false},
		{"large truncated in the first MiB", randomBytes(3 << 20), truncate(func(int64) int64 { return hdr + 200<<10 }), false},
		{"large swapped", randomBytes(3 << 20), swapWith(randomBytes(3 << 20)), false},
		{"large swapped with small", randomBytes(3 << 20), swapWith(randomBytes(195)), false},
		{"large late ciphertext byte", randomBytes(3 << 20), flipAt(func(n int64) int64 { return n - 100<<10 }), true},
		{"large last byte", randomBytes(3 << 20), flipAt(func(n int64) int64 { return n - 1 }), true},
		{"large truncated late (below the header's size)", randomBytes(3 << 20), truncate(func(n int64) int64 { return n - 300<<10 }), false},
		{"large truncated by one byte", randomBytes(3 << 20), truncate(func(n int64) int64 { return n - 1 }), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cid := r.put(t, tc.data)
			tc.damage(t, r.path(t, cid))
			before := r.corruptCount(t)
			status, code, body, err := r.read(t, cid)
			if status == 200 && err == nil && len(body) == len(tc.data) {
				t.Fatalf("damaged file answered 200 with a complete body")
			}
			if tc.abort {
				if status != 200 || err == nil || len(body) >= len(tc.data) {
					t.Fatalf("want 200 then an aborted body: %d, %d of %d bytes, err %v", status, len(body), len(tc.data), err)
				}
				if len(body) < 1<<20 || !bytes.Equal(body, tc.data[:len(body)]) {
					t.Fatalf("aborted body: %d bytes, prefix intact %v", len(body), bytes.Equal(body, tc.data[:min(len(body), len(tc.data))]))
				}
			} else if status != 500 || code != "blob_corrupt" {
				t.Fatalf("want 500 blob_corrupt, got %d %q (%d bytes, err %v)", status, code, len(body), err)
			}
			if after := r.corruptCount(t); after != before+1 {
				t.Fatalf("edossier_blob_corrupt_total went from %v to %v", before, after)
			}
		})
	}
	// The intact files still read.
	for cid, want := range map[string][]byte{goodSmall: small, goodLarge: large} {
		status, _, body, err := r.read(t, cid)
		if status != 200 || err != nil || !bytes.Equal(body, want) {
			t.Fatalf("intact %s after the others: %d %v, %d bytes", cid, status, err, len(body))
		}
	}
}
