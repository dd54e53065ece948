package service

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
)

type fakeIndex struct {
	recs    []IndexedRecord
	batches []indexedBatch
	grants  []wire.GrantState  // by grant ID
	entries []wire.AccessEntry // newest first; key = EntryID
	h       IndexHeights
	err     error
	n       int
}

type indexedBatch struct {
	anchor wire.BatchAnchor
	leaves []wire.BatchLeaf
}

func (f *fakeIndex) RecordsByCID(_ context.Context, cid string) ([]IndexedRecord, IndexHeights, error) {
	f.n++
	var out []IndexedRecord
	for _, r := range f.recs {
		if r.Record.CID == cid {
			out = append(out, r)
		}
	}
	return out, f.h, f.err
}

func (f *fakeIndex) BatchRecordsByID(_ context.Context, id string) ([]IndexedRecord, IndexHeights, error) {
	var out []IndexedRecord
	for _, r := range f.recs {
		if r.Batch != nil && r.Record.RecordID == id {
			out = append(out, r)
		}
	}
	return out, f.h, f.err
}

func (f *fakeIndex) GrantsBySubject(_ context.Context, subject, after string, limit int) ([]wire.GrantState, IndexHeights, error) {
	var out []wire.GrantState
	for _, g := range f.grants {
		if g.SubjectID == subject && g.GrantID > after && len(out) < limit {
			out = append(out, g)
		}
	}
	return out, f.h, f.err
}

func (f *fakeIndex) AccessLog(_ context.Context, subject, after string, limit int) ([]wire.AccessEntry, []string, IndexHeights, error) {
	var out []wire.AccessEntry
	var keys []string
	for _, e := range f.entries {
		if e.SubjectID == subject && e.EntryID > after && len(out) < limit {
			out, keys = append(out, e), append(keys, e.EntryID)
		}
	}
	return out, keys, f.h, f.err
}

func (f *fakeIndex) BatchLeaves(_ context.Context, id string) (*wire.BatchAnchor, []wire.BatchLeaf, error) {
	if f.err != nil {
		return nil, nil, f.err
	}
	for _, b := range f.batches {
		if b.anchor.BatchID == id {
			return &b.anchor, b.leaves, nil
		}
	}
	return nil, nil, nil
}

// countingLedger counts chaincode CID queries.
type countingLedger struct {
	verifyLedger
	finds int
}

func (c *countingLedger) FindByCID(ctx context.Context, a gateway.Actor, cid string) ([]wire.Record, error) {
	c.finds++
	return c.verifyLedger.FindByCID(ctx, a, cid)
}

func TestVerifyFromIndexCarriesFreshness(t *testing.T) {
	fl, b, _ := newFakes()
	ledger := &countingLedger{verifyLedger: verifyLedger{fl}}
	s := New(ledger, b, nil, Config{OrphanGrace: fakeGrace})
	res, err := s.AppendRecord(context.Background(), health, appendInput("indexed"))
	if err != nil {
		t.Fatal(err)
	}
	rec := fl.records[res.Record.RecordID]
	ix := &fakeIndex{recs: []IndexedRecord{{Record: rec, Block: 41}}, h: IndexHeights{Municipal: 50, Datashare: 9}}
	s.UseIndex(ix)
	ctx := context.Background()

	v, err := s.VerifyCID(ctx, rec.CID)
	if err != nil {
		t.Fatal(err)
	}
	if v.Source != SourceIndex || v.FreshToBlock == nil || *v.FreshToBlock != 49 || !v.Verified || v.Records[0].Receipt.Block != 41 || ledger.finds != 0 {
		t.Fatalf("index answer %+v (finds %d)", v, ledger.finds)
	}
	// The switch: source=ledger asks the chaincode.
	v, err = s.VerifyCIDFrom(ctx, rec.CID, SourceLedger)
	if err != nil || v.Source != SourceLedger || v.FreshToBlock != nil || !v.Verified || ledger.finds != 1 {
		t.Fatalf("ledger answer %+v %v (finds %d)", v, err, ledger.finds)
	}
	// A failing index: auto falls back to the chaincode, source=index is unavailable.
	ix.err = errors.New("database gone")
	v, err = s.VerifyCID(ctx, rec.CID)
	if err != nil || v.Source != SourceLedger || ledger.finds != 2 {
		t.Fatalf("fallback %+v %v", v, err)
	}
	if _, err := s.VerifyCIDFrom(ctx, rec.CID, SourceIndex); gateway.ErrorCode(err) != gateway.CodeUnavailable {
		t.Fatalf("source=index with a failing index: %v", err)
	}
	// An index holding no block yet does not answer.
	ix.err, ix.h = nil, IndexHeights{}
	if v, err := s.VerifyCID(ctx, rec.CID); err != nil || v.Source != SourceLedger {
		t.Fatalf("empty index: %+v %v", v, err)
	}
	if _, err := s.VerifyCIDFrom(ctx, rec.CID, "blockchain"); gateway.ErrorCode(err) != gateway.CodeInvalid {
		t.Fatalf("unknown source: %v", err)
	}
	if _, err := s.VerifyCIDFrom(ctx, "not-a-cid", SourceIndex); gateway.ErrorCode(err) != gateway.CodeInvalid {
		t.Fatalf("bad CID: %v", err)
	}
}

type fakeProver struct {
	got     []wire.Record
	batches []wire.BatchRecord
}

func (f *fakeProver) Build(_ context.Context, rec wire.Record) (*gateway.ProofBundle, error) {
	f.got = append(f.got, rec)
	return &gateway.ProofBundle{Format: gateway.ProofFormat, RecordID: rec.RecordID}, nil
}

func (f *fakeProver) BuildBatch(_ context.Context, br wire.BatchRecord, p wire.BatchProof) (*gateway.ProofBundle, error) {
	f.batches = append(f.batches, br)
	return &gateway.ProofBundle{Format: gateway.ProofFormat, RecordID: p.Leaf.RecordID, Batch: &gateway.ProofBatch{Proof: p}}, nil
}

func TestRecordProofRoles(t *testing.T) {
	fl, b, s := newFakes()
	res, err := s.AppendRecord(context.Background(), health, appendInput("proved"))
	if err != nil {
		t.Fatal(err)
	}
	id := res.Record.RecordID
	if _, err := s.RecordProof(context.Background(), health, id); gateway.ErrorCode(err) != gateway.CodeUnavailable {
		t.Fatalf("without a prover: %v", err)
	}
	p := &fakeProver{}
	s.UseProver(p)
	_ = fl
	_ = b
	for _, who := range []gateway.Principal{health, {Role: gateway.RoleVerifier, Verifier: "bank"}, {Role: gateway.RoleOperator}} {
		bundle, err := s.RecordProof(context.Background(), who, id)
		if err != nil || bundle.RecordID != id {
			t.Fatalf("%s: %+v %v", who.Role, bundle, err)
		}
	}
	if _, err := s.RecordProof(context.Background(), gateway.Principal{Role: gateway.RolePublic}, id); gateway.ErrorCode(err) != gateway.CodeUnauthorized {
		t.Fatalf("anonymous: %v", err)
	}
	if _, err := s.RecordProof(context.Background(), gateway.Principal{Role: gateway.RoleCitizen}, id); gateway.ErrorCode(err) != gateway.CodeForbidden {
		t.Fatalf("citizen: %v", err)
	}
	if _, err := s.RecordProof(context.Background(), health, strings.Repeat("x", 300)); gateway.ErrorCode(err) != gateway.CodeInvalid {
		t.Fatalf("bad ID: %v", err)
	}
	if _, err := s.RecordProof(context.Background(), health, "r-missing"); gateway.ErrorCode(err) != gateway.CodeNotFound {
		t.Fatalf("missing record: %v", err)
	}
	if len(p.got) != 3 {
		t.Fatalf("prover called %d times", len(p.got))
	}
}

func TestGrantsAndAccessLogFromTheIndex(t *testing.T) {
	fl, b, _ := newFakes()
	s := New(verifyLedger{fl}, b, nil, Config{OrphanGrace: fakeGrace})
	ctx := context.Background()
	op := gateway.Principal{Role: gateway.RoleOperator, Org: "operator", MSPID: "OperatorMSP", User: "ops"}
	if _, err := s.ListGrantsIndexed(ctx, op, subj, 0, ""); gateway.ErrorCode(err) != gateway.CodeUnavailable {
		t.Fatalf("without an index: %v", err)
	}
	ix := &fakeIndex{h: IndexHeights{Municipal: 9, Datashare: 21}}
	for i := 0; i < 3; i++ {
		ix.grants = append(ix.grants, wire.GrantState{GrantID: fmt.Sprintf("g-%d", i), SubjectID: subj, Status: wire.GrantActive})
		ix.entries = append(ix.entries, wire.AccessEntry{EntryID: fmt.Sprintf("e-%d", i), SubjectID: subj, Kind: wire.AccessFile})
	}
	ix.grants = append(ix.grants, wire.GrantState{GrantID: "g-9", SubjectID: "p-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"})
	s.UseIndex(ix)
	page, err := s.ListGrantsIndexed(ctx, op, subj, 2, "")
	if err != nil || len(page.Grants) != 2 || page.Source != SourceIndex || page.FreshToBlock != 20 || page.Bookmark == "" {
		t.Fatalf("first page: %+v %v", page, err)
	}
	page, err = s.ListGrantsIndexed(ctx, op, subj, 2, page.Bookmark)
	if err != nil || len(page.Grants) != 1 || page.Grants[0].GrantID != "g-2" || page.Bookmark != "" {
		t.Fatalf("second page: %+v %v", page, err)
	}
	log, err := s.AccessLogIndexed(ctx, op, subj, 0, "")
	if err != nil || len(log.Entries) != 3 || log.FreshToBlock != 20 || log.Bookmark != "" {
		t.Fatalf("access log: %+v %v", log, err)
	}
	// A bookmark of another query, another caller: invalid.
	first, _ := s.AccessLogIndexed(ctx, op, subj, 1, "")
	if _, err := s.ListGrantsIndexed(ctx, op, subj, 1, first.Bookmark); gateway.ErrorCode(err) != gateway.CodeInvalid {
		t.Fatalf("an access-log bookmark for grants: %v", err)
	}
	// The same callers as the ledger's pages.
	if _, err := s.AccessLogIndexed(ctx, health, subj, 0, ""); gateway.ErrorCode(err) != gateway.CodeForbidden {
		t.Fatalf("a department reading a subject's access log: %v", err)
	}
	if _, err := s.ListGrantsIndexed(ctx, op, subj, wire.MaxPageSize+1, ""); gateway.ErrorCode(err) != gateway.CodeInvalid {
		t.Fatalf("page too large: %v", err)
	}
	// An index holding no datashare block, or failing: unavailable.
	ix.h.Datashare = 0
	if _, err := s.AccessLogIndexed(ctx, op, subj, 0, ""); gateway.ErrorCode(err) != gateway.CodeUnavailable {
		t.Fatalf("empty index: %v", err)
	}
	ix.h.Datashare, ix.err = 21, errors.New("database gone")
	if _, err := s.ListGrantsIndexed(ctx, op, subj, 0, ""); gateway.ErrorCode(err) != gateway.CodeUnavailable {
		t.Fatalf("failing index: %v", err)
	}
}
