package service

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
)

// batchLedger adds what AppendBatch needs to fakeLedger and records whether every file
// was durable when the transaction was submitted.
type batchLedger struct {
	*fakeLedger
	blobs           *batchBlobs
	durableAtSubmit bool
	batches         int
}

func (l *batchLedger) ListAccreditations(context.Context, gateway.Actor, string) ([]wire.Accreditation, error) {
	return []wire.Accreditation{{MSPID: "HealthMSP", RecordType: "birth", Active: true}}, nil
}

func (l *batchLedger) AppendRecords(_ context.Context, _ gateway.Actor, b wire.AppendBatch) (*wire.BatchResult, gateway.Receipt, error) {
	l.batches++
	l.durableAtSubmit = true
	for _, r := range b.Records {
		if !l.blobs.isDurable(r.CID) {
			l.durableAtSubmit = false
		}
	}
	if l.appendErr != nil {
		return nil, gateway.Receipt{}, l.appendErr
	}
	return &wire.BatchResult{TxID: "tx9", Issuer: "HealthMSP", Count: len(b.Records), Created: len(b.Records), Existing: []string{}},
		gateway.Receipt{Channel: "municipal", TxID: "tx9", Block: 9}, nil
}

// batchBlobs is a fakeBlobs that also stages batches.
type batchBlobs struct {
	*fakeBlobs
	mu      sync.Mutex
	durable map[string]bool
	staged  int // staged and neither committed nor aborted
	commits int
}

func (b *batchBlobs) isDurable(cid string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.durable[cid]
}

func (b *batchBlobs) NewBatch() BlobBatch { return &fakeBatch{b: b} }

type fakeBatch struct {
	b     *batchBlobs
	infos []BlobInfo
}

func (f *fakeBatch) Put(_ context.Context, r io.Reader) (BlobInfo, error) {
	c, n, err := wire.CIDOf(r)
	if err != nil {
		return BlobInfo{}, err
	}
	f.b.mu.Lock()
	f.b.staged++
	f.b.mu.Unlock()
	info := BlobInfo{CID: c.String(), Size: n}
	f.infos = append(f.infos, info)
	return info, nil
}

func (f *fakeBatch) Commit(context.Context) ([]CommittedBlob, error) {
	f.b.mu.Lock()
	defer f.b.mu.Unlock()
	f.b.commits++
	out := make([]CommittedBlob, len(f.infos))
	for i, info := range f.infos {
		out[i] = CommittedBlob{BlobInfo: info, Created: !f.b.durable[info.CID]}
		f.b.durable[info.CID] = true
		f.b.fakeBlobs.mu.Lock()
		f.b.fakeBlobs.data[info.CID] = nil
		f.b.fakeBlobs.mu.Unlock()
	}
	f.b.staged -= len(f.infos)
	f.infos = nil
	return out, nil
}

func (f *fakeBatch) Abort() {
	f.b.mu.Lock()
	defer f.b.mu.Unlock()
	f.b.staged -= len(f.infos)
	f.infos = nil
}

func newBatchFakes() (*batchLedger, *batchBlobs, *Service) {
	fl, fb, _ := newFakes()
	b := &batchBlobs{fakeBlobs: fb, durable: map[string]bool{}}
	l := &batchLedger{fakeLedger: fl, blobs: b}
	return l, b, New(l, b, nil, Config{OrphanGrace: fakeGrace})
}

const fakeGrace = 20 * time.Millisecond

// files yields the parts of a bulk append: name i is "f<i>".
func files(contents ...string) (NextFile, []BatchItem) {
	items := make([]BatchItem, len(contents))
	for i := range contents {
		items[i] = BatchItem{File: fmt.Sprintf("f%d", i), SubjectID: "p-abc", Type: "birth", Title: "Birth", IdempotencyKey: fmt.Sprintf("k%d", i)}
	}
	i := 0
	return func() (string, string, io.Reader, error) {
		if i == len(contents) {
			return "", "", nil, io.EOF
		}
		i++
		return fmt.Sprintf("f%d", i-1), "application/pdf", strings.NewReader(contents[i-1]), nil
	}, items
}

func TestAppendBatchCommitsFilesBeforeTheTransaction(t *testing.T) {
	l, b, s := newBatchFakes()
	next, items := files("one", "two", "one")
	res, err := s.AppendBatch(context.Background(), health, items, next)
	if err != nil {
		t.Fatal(err)
	}
	if !l.durableAtSubmit || b.commits != 1 || b.puts != 0 {
		t.Fatalf("durable at submit %v, commits %d, single puts %d", l.durableAtSubmit, b.commits, b.puts)
	}
	if res.Count != 3 || len(res.Records) != 3 || res.Records[0].CID != res.Records[2].CID || res.Receipt.TxID != "tx9" {
		t.Fatalf("result %+v", res)
	}
	if len(s.inflight.n) != 0 {
		t.Fatalf("blobs still counted in flight: %v", s.inflight.n)
	}
}

func TestAppendBatchFailures(t *testing.T) {
	t.Run("transaction refused: the batch's new blobs go", func(t *testing.T) {
		l, b, s := newBatchFakes()
		l.appendErr = gateway.Errorf(gateway.CodeConflict, "clash")
		next, items := files("a", "b")
		if _, err := s.AppendBatch(context.Background(), health, items, next); gateway.ErrorCode(err) != gateway.CodeConflict {
			t.Fatalf("err = %v", err)
		}
		waitFor(t, func() bool { return b.count() == 0 })
	})
	t.Run("missing part: nothing committed, nothing staged", func(t *testing.T) {
		l, b, s := newBatchFakes()
		next, items := files("a")
		items = append(items, BatchItem{File: "f1", SubjectID: "p-abc", Type: "birth", Title: "Birth"})
		if _, err := s.AppendBatch(context.Background(), health, items, next); gateway.ErrorCode(err) != gateway.CodeInvalid {
			t.Fatalf("err = %v", err)
		}
		if l.batches != 0 || b.commits != 0 || b.staged != 0 {
			t.Fatalf("transactions %d, commits %d, staged %d", l.batches, b.commits, b.staged)
		}
	})
	t.Run("broken upload: nothing committed, nothing staged", func(t *testing.T) {
		l, b, s := newBatchFakes()
		next, items := files("a", "b")
		broken := func() (string, string, io.Reader, error) {
			name, mt, r, err := next()
			if name == "f1" {
				return "", "", nil, gateway.Errorf(gateway.CodeInvalid, "malformed multipart body")
			}
			return name, mt, r, err
		}
		if _, err := s.AppendBatch(context.Background(), health, items, broken); err == nil {
			t.Fatal("accepted")
		}
		if l.batches != 0 || b.commits != 0 || b.staged != 0 {
			t.Fatalf("transactions %d, commits %d, staged %d", l.batches, b.commits, b.staged)
		}
	})
	t.Run("without a batch store: one Put per file", func(t *testing.T) {
		fl, fb, _ := newFakes()
		l := &batchLedger{fakeLedger: fl, blobs: &batchBlobs{fakeBlobs: fb, durable: map[string]bool{}}}
		s := New(l, fb, nil, Config{OrphanGrace: fakeGrace})
		next, items := files("a", "b")
		if _, err := s.AppendBatch(context.Background(), health, items, next); err != nil {
			t.Fatal(err)
		}
		if fb.puts != 2 || len(s.inflight.n) != 0 {
			t.Fatalf("puts %d, in flight %v", fb.puts, s.inflight.n)
		}
	})
}
