package service

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/edossier-city/edossier/gateway"
)

const fakeGrace = 20 * time.Millisecond

// subj is a valid subject ID (pseudonym form).
const subj = "p-aaaabbbbccccddddeeeeffffgggghhhh"

// files yields the parts of a bulk append: name i is "f<i>".
func files(contents ...string) (NextFile, []BatchItem) {
	items := make([]BatchItem, len(contents))
	for i := range contents {
		items[i] = BatchItem{File: fmt.Sprintf("f%d", i), SubjectID: subj, Type: "birth", IdempotencyKey: fmt.Sprintf("k%d", i)}
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
	l, b, s := newFakes()
	next, items := files("one", "two", "one")
	res, err := s.AppendBatch(context.Background(), health, items, next)
	if err != nil {
		t.Fatal(err)
	}
	if !l.durableAtSubmit || b.commits != 1 || l.endorsed != 1 || l.appended != 1 {
		t.Fatalf("durable at submit %v, commits %d, endorsements %d, transactions %d", l.durableAtSubmit, b.commits, l.endorsed, l.appended)
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
		l, b, s := newFakes()
		l.appendErr = gateway.Errorf(gateway.CodeConflict, "clash")
		next, items := files("a", "b")
		if _, err := s.AppendBatch(context.Background(), health, items, next); gateway.ErrorCode(err) != gateway.CodeConflict {
			t.Fatalf("err = %v", err)
		}
		waitFor(t, func() bool { return b.count() == 0 })
	})
	t.Run("missing part: nothing committed, nothing staged", func(t *testing.T) {
		l, b, s := newFakes()
		next, items := files("a")
		items = append(items, BatchItem{File: "f1", SubjectID: subj, Type: "birth"})
		if _, err := s.AppendBatch(context.Background(), health, items, next); gateway.ErrorCode(err) != gateway.CodeInvalid {
			t.Fatalf("err = %v", err)
		}
		if l.endorsed != 0 || b.commits != 0 || b.staged != 0 {
			t.Fatalf("endorsements %d, commits %d, staged %d", l.endorsed, b.commits, b.staged)
		}
	})
	t.Run("broken upload: nothing committed, nothing staged", func(t *testing.T) {
		l, b, s := newFakes()
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
		if l.endorsed != 0 || b.commits != 0 || b.staged != 0 {
			t.Fatalf("endorsements %d, commits %d, staged %d", l.endorsed, b.commits, b.staged)
		}
	})
	t.Run("batch refused by the chaincode: nothing stored", func(t *testing.T) {
		l, b, s := newFakes()
		l.checkErr = gateway.Errorf(gateway.CodeInvalid, "records[1]: bad subject")
		next, items := files("a", "b")
		if _, err := s.AppendBatch(context.Background(), health, items, next); gateway.ErrorCode(err) != gateway.CodeInvalid {
			t.Fatalf("err = %v", err)
		}
		if b.count() != 0 || b.commits != 0 || b.staged != 0 || l.appended != 0 {
			t.Fatalf("blobs %d, commits %d, staged %d, transactions %d", b.count(), b.commits, b.staged, l.appended)
		}
	})
}
