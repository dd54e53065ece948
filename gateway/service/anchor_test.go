package service

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
)

// fakeBatchLedger is fakeLedger plus AnchorBatch: it decodes the compact batch (as the
// chaincode does) and records it.
type fakeBatchLedger struct {
	*fakeLedger
	batches []*wire.Batch
}

func (f *fakeBatchLedger) EndorseAnchorBatch(_ context.Context, _ gateway.Actor, enc []byte) (gateway.Pending[wire.BatchAnchor], error) {
	if err := f.endorse(); err != nil {
		return nil, err
	}
	b, err := wire.DecodeBatch(enc)
	if err != nil {
		return nil, gateway.Errorf(gateway.CodeInvalid, "%s", wire.AsError(err).Message)
	}
	cids := make([]string, len(b.Leaves))
	for i, l := range b.Leaves {
		cids[i] = l.CID
	}
	a := &wire.BatchAnchor{BatchID: b.BatchID, Size: uint64(len(b.Leaves)), Issuer: "HealthMSP", TxID: "tx-b"}
	return &fakePending[wire.BatchAnchor]{l: f.fakeLedger, v: a, txID: "tx-b", cids: cids, apply: func() { f.batches = append(f.batches, b) }}, nil
}

func newBatchFakes() (*fakeBatchLedger, *fakeBlobs, *Service) {
	b := &fakeBlobs{data: map[string][]byte{}}
	l := &fakeBatchLedger{fakeLedger: &fakeLedger{records: map[string]wire.Record{}, blobs: b}}
	return l, b, New(l, b, nil, Config{OrphanGrace: fakeGrace})
}

// anchorParts yields the named parts in order.
func anchorParts(parts ...string) NextFile {
	i := 0
	return func() (string, string, io.Reader, error) {
		if i >= len(parts) {
			return "", "", nil, io.EOF
		}
		i++
		return parts[i-1], "application/pdf", strings.NewReader("content of " + parts[i-1]), nil
	}
}

func TestAnchorBatchStoresFilesDurablyBeforeSubmit(t *testing.T) {
	l, b, s := newBatchFakes()
	in := AnchorInput{BatchID: "b-1", Records: []AnchorItem{
		{File: "a", SubjectID: subj, Type: "birth", MediaType: "application/pdf"},
		{File: "b", SubjectID: subj, Type: "birth"},
	}}
	res, err := s.AnchorBatch(context.Background(), health, in, anchorParts("a", "b"))
	if err != nil {
		t.Fatal(err)
	}
	if !l.durableAtSubmit || b.count() != 2 || b.commits != 1 || res.Stored != 2 || len(l.batches) != 1 {
		t.Fatalf("durable at submit %v, blobs %d, commits %d, result %+v", l.durableAtSubmit, b.count(), b.commits, res)
	}
	leaves := l.batches[0].Leaves
	if leaves[0].RecordID != "b-1.0" || leaves[1].RecordID != "b-1.1" || leaves[1].MediaType != DefaultBatchMediaType ||
		leaves[0].CID != res.Leaves[0].CID || res.Channel != "municipal" || res.Chaincode != wire.DossierContract {
		t.Fatalf("leaves %+v, result %+v", leaves, res)
	}
}

func TestAnchorBatchCIDOnlyStoresNothing(t *testing.T) {
	l, b, s := newBatchFakes()
	c := wire.CIDFromSHA256(make([]byte, 32)).String()
	res, err := s.AnchorBatch(context.Background(), health, AnchorInput{BatchID: "b-2", Records: []AnchorItem{
		{CID: c, Size: 10, SubjectID: subj, Type: "birth"}}}, anchorParts())
	if err != nil {
		t.Fatal(err)
	}
	if b.puts != 0 || res.Stored != 0 || len(l.batches) != 1 || l.batches[0].Leaves[0].CID != c {
		t.Fatalf("puts %d, result %+v", b.puts, res)
	}
}

// Bad input: a clear code, nothing stored, nothing endorsed.
func TestAnchorBatchRefusals(t *testing.T) {
	c := wire.CIDFromSHA256(make([]byte, 32)).String()
	ok := AnchorItem{File: "a", SubjectID: subj, Type: "birth"}
	cases := map[string]struct {
		p     gateway.Principal
		in    AnchorInput
		parts []string
		code  gateway.Code
	}{
		"citizen":         {gateway.Principal{Role: gateway.RoleCitizen}, AnchorInput{BatchID: "b", Records: []AnchorItem{ok}}, []string{"a"}, gateway.CodeForbidden},
		"no batch id":     {health, AnchorInput{Records: []AnchorItem{ok}}, []string{"a"}, gateway.CodeInvalid},
		"empty":           {health, AnchorInput{BatchID: "b"}, nil, gateway.CodeInvalid},
		"oversized":       {health, AnchorInput{BatchID: "b", Records: make([]AnchorItem, wire.MaxAnchorBatch+1)}, nil, gateway.CodeInvalid},
		"file and cid":    {health, AnchorInput{BatchID: "b", Records: []AnchorItem{{File: "a", CID: c, SubjectID: subj, Type: "birth"}}}, []string{"a"}, gateway.CodeInvalid},
		"neither":         {health, AnchorInput{BatchID: "b", Records: []AnchorItem{{SubjectID: subj, Type: "birth"}}}, nil, gateway.CodeInvalid},
		"raw id number":   {health, AnchorInput{BatchID: "b", Records: []AnchorItem{{File: "a", SubjectID: "110101202611201235", Type: "birth"}}}, []string{"a"}, gateway.CodeRawIDNumber},
		"not accredited":  {health, AnchorInput{BatchID: "b", Records: []AnchorItem{{File: "a", SubjectID: subj, Type: "licence"}}}, []string{"a"}, gateway.CodeForbidden},
		"file twice":      {health, AnchorInput{BatchID: "b", Records: []AnchorItem{ok, ok}}, []string{"a"}, gateway.CodeInvalid},
		"missing part":    {health, AnchorInput{BatchID: "b", Records: []AnchorItem{ok}}, nil, gateway.CodeInvalid},
		"unknown part":    {health, AnchorInput{BatchID: "b", Records: []AnchorItem{ok}}, []string{"a", "zz"}, gateway.CodeInvalid},
		"record id twice": {health, AnchorInput{BatchID: "b", Records: []AnchorItem{{File: "a", RecordID: "x", SubjectID: subj, Type: "birth"}, {File: "b", RecordID: "x", SubjectID: subj, Type: "birth"}}}, []string{"a", "b"}, gateway.CodeInvalid},
		"bad media type":  {health, AnchorInput{BatchID: "b", Records: []AnchorItem{{File: "a", SubjectID: subj, Type: "birth", MediaType: "pdf"}}}, []string{"a"}, gateway.CodeInvalid},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			l, b, s := newBatchFakes()
			_, err := s.AnchorBatch(context.Background(), tc.p, tc.in, anchorParts(tc.parts...))
			if gateway.ErrorCode(err) != tc.code {
				t.Fatalf("err = %v, want %s", err, tc.code)
			}
			if b.count() != 0 || b.staged != 0 || l.appended != 0 || len(l.batches) != 0 {
				t.Fatalf("blobs %d, staged %d, transactions %d", b.count(), b.staged, l.appended)
			}
		})
	}
}

// TestReadBatchFiles: the one file-part rule of both bulk paths (AppendBatch and
// AnchorBatch): each part once, only named parts, every named part, the first missing
// one by index named in the refusal.
func TestReadBatchFiles(t *testing.T) {
	byFile := map[string]int{"a": 0, "b": 1, "c": 2}
	cases := map[string]struct {
		parts []string
		want  string
	}{
		"all":     {[]string{"c", "a", "b"}, ""},
		"twice":   {[]string{"a", "a"}, `file part "a" is not in the manifest (or sent twice)`},
		"unknown": {[]string{"a", "zz"}, `file part "zz" is not in the manifest (or sent twice)`},
		"missing": {[]string{"a"}, `records[1]: file part "b" missing`},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, b, s := newBatchFakes()
			files := s.newRequestFiles()
			defer files.finish()
			got := map[int]string{}
			err := readBatchFiles(context.Background(), files, anchorParts(tc.parts...), byFile, "manifest", func(i int, mt string, info BlobInfo) error {
				got[i] = info.CID
				if mt != "application/pdf" {
					t.Errorf("media type %q", mt)
				}
				return nil
			})
			if tc.want == "" {
				if err != nil || len(got) != 3 || b.staged != 3 {
					t.Fatalf("err %v, stored %v, staged %d", err, got, b.staged)
				}
				return
			}
			if gateway.ErrorCode(err) != gateway.CodeInvalid || gateway.ErrorMessage(err) != tc.want {
				t.Fatalf("err = %v, want invalid: %s", err, tc.want)
			}
		})
	}
}
