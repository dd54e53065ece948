package service

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
)

// batchChainLedger is the chaincode's GetBatchRecord over one anchored batch: it
// checks the leaf and proof against the anchored root (bad_proof otherwise) and
// answers the status it holds (the authoritative one).
type batchChainLedger struct {
	verifyLedger
	anchor wire.BatchAnchor
	status map[uint64]*wire.BatchRecordStatus
	gets   int
}

func (l *batchChainLedger) GetBatchRecord(_ context.Context, _ gateway.Actor, p wire.BatchProof) (*wire.BatchRecord, error) {
	l.gets++
	if p.BatchID != l.anchor.BatchID {
		return nil, gateway.Errorf(gateway.CodeNotFound, "batch %s is not anchored", p.BatchID)
	}
	path, err := p.Path()
	if err != nil {
		return nil, gateway.Errorf(gateway.CodeBadProof, "%s", wire.AsError(err).Message)
	}
	c := wire.BatchContext{Channel: "municipal", Chaincode: wire.DossierContract, BatchID: p.BatchID, Issuer: l.anchor.Issuer}
	if err := wire.VerifyBatchLeaf(c, p.Index, l.anchor.Size, &p.Leaf, path, l.anchor.RootBytes()); err != nil {
		return nil, gateway.Errorf(gateway.CodeBadProof, "%s", wire.AsError(err).Message)
	}
	return &wire.BatchRecord{Record: l.anchor.RecordOf(&p.Leaf, l.status[p.Index]), BatchID: p.BatchID, Index: p.Index, Root: l.anchor.Root}, nil
}

// batchFixture: batch bt-1 of four leaves by Health (leaf 2 holds the file "batch doc"
// of subject testSubj("1")), indexed as anchored in block 30; the chaincode holds leaf
// 2 revoked (the index, behind, still active).
func batchFixture(t *testing.T, ledger *batchChainLedger) (*fakeIndex, string) {
	t.Helper()
	c := cid("batch doc")
	leaves := make([]wire.BatchLeaf, 4)
	for i := range leaves {
		lc := wire.CIDFromSHA256(mustHex(fmt.Sprintf("%064x", i+1))).String()
		if i == 2 {
			lc = c
		}
		leaves[i] = wire.BatchLeaf{RecordID: fmt.Sprintf("bt-1.%d", i), SubjectID: testSubj("1"), Type: "birth", CID: lc, Size: 9, MediaType: "application/pdf"}
	}
	ctx := wire.BatchContext{Channel: "municipal", Chaincode: wire.DossierContract, BatchID: "bt-1", Issuer: "HealthMSP"}
	root, err := wire.BatchRoot(ctx, leaves)
	if err != nil {
		t.Fatal(err)
	}
	a := wire.BatchAnchor{BatchID: "bt-1", Root: hex.EncodeToString(root), Size: 4, Issuer: "HealthMSP", AnchoredAt: "2026-12-01T09:00:00Z", TxID: "tx-anchor"}
	ledger.anchor = a
	ledger.status = map[uint64]*wire.BatchRecordStatus{2: {BatchID: "bt-1", Index: 2, RecordID: "bt-1.2", Status: wire.StatusRevoked, Reason: "issued-in-error", StatusTxID: "tx-revoke"}}
	ix := &fakeIndex{h: IndexHeights{Municipal: 40, Datashare: 5}, batches: []indexedBatch{{anchor: a, leaves: leaves}},
		recs: []IndexedRecord{{Record: a.RecordOf(&leaves[2], nil), Block: 30, Batch: &BatchPosition{BatchID: "bt-1", Index: 2, Root: a.Root}}}}
	return ix, c
}

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func cid(s string) string { c, _, _ := wire.CIDOf(strings.NewReader(s)); return c.String() }

func TestVerifyBatchRecordFromIndexAndLedger(t *testing.T) {
	fl, b, _ := newFakes()
	ledger := &batchChainLedger{verifyLedger: verifyLedger{fl}}
	s := New(ledger, b, nil, Config{OrphanGrace: fakeGrace})
	ix, c := batchFixture(t, ledger)
	ctx := context.Background()

	// Without an index, the ledger path sees single records only, and says so.
	v, err := s.VerifyCIDFrom(ctx, c, SourceLedger)
	if err != nil || v.Status != Unknown || v.BatchRecordsSearched || ledger.gets != 0 {
		t.Fatalf("ledger without index: %+v %v", v, err)
	}
	s.UseIndex(ix)
	// From the index: the batch record, its names, the anchoring receipt, the link to
	// its proof; fresh to block 39.
	v, err = s.VerifyCIDFrom(ctx, c, SourceIndex)
	if err != nil {
		t.Fatal(err)
	}
	r := v.Records[0]
	if v.Source != SourceIndex || !v.BatchRecordsSearched || *v.FreshToBlock != 39 || !v.Verified || len(v.Records) != 1 ||
		r.RecordID != "bt-1.2" || r.Issuer != "HealthMSP" || r.IssuerName != "Health Commission" || r.TypeName != "Birth medical certificate" ||
		r.Receipt.TxID != "tx-anchor" || r.Receipt.Block != 30 || r.Batch == nil || r.Batch.BatchID != "bt-1" || r.Batch.Index != 2 ||
		r.Proof != "/v1/records/bt-1.2/proof?batchId=bt-1" || ledger.gets != 0 {
		t.Fatalf("index answer %+v", v)
	}
	// From the ledger: the index finds the leaf, the gateway proves it from the index's
	// leaves, the chaincode confirms it and gives the status it holds (revoked).
	v, err = s.VerifyCIDFrom(ctx, c, SourceLedger)
	if err != nil {
		t.Fatal(err)
	}
	r = v.Records[0]
	if v.Source != SourceLedger || !v.BatchRecordsSearched || v.Verified || v.Status != Revoked || r.Reason != "issued-in-error" ||
		r.ReasonName != "Issued in error" || r.Receipt.TxID != "tx-anchor" || r.Receipt.Block != 3 || ledger.gets != 1 {
		t.Fatalf("ledger answer %+v", v)
	}
	// By file, the same.
	v, err = s.VerifyFileFrom(ctx, gateway.Principal{Role: gateway.RolePublic}, strings.NewReader("batch doc"), "", "", SourceIndex)
	if err != nil || len(v.Records) != 1 || v.Records[0].Batch == nil {
		t.Fatalf("by file: %+v %v", v, err)
	}
	if _, err := s.VerifyFileFrom(ctx, gateway.Principal{Role: gateway.RolePublic}, strings.NewReader("batch doc"), "", "", "chain"); gateway.ErrorCode(err) != gateway.CodeInvalid {
		t.Fatalf("unknown source: %v", err)
	}
	// An index that cannot answer: the default falls back to the chaincode, which
	// covers single records only, and says so (without asking the index again).
	ix.err = errors.New("database gone")
	n := ix.n
	v, err = s.VerifyCID(ctx, c)
	if err != nil || v.Source != SourceLedger || v.BatchRecordsSearched || v.Status != Unknown || ix.n != n+1 {
		t.Fatalf("fallback: %+v %v (index asked %d times)", v, err, ix.n-n)
	}
	ix.err = nil
	// An index whose leaves do not make the anchored root (a corrupted cache) cannot
	// make the ledger path confirm a record: bad_proof from the chaincode.
	ix.batches[0].leaves = append([]wire.BatchLeaf{}, ix.batches[0].leaves...)
	ix.batches[0].leaves[0].Size++
	if _, err := s.VerifyCIDFrom(ctx, c, SourceLedger); gateway.ErrorCode(err) != gateway.CodeBadProof {
		t.Fatalf("a corrupted index's leaves: %v, want bad_proof", err)
	}
}

func TestOwnershipCheckOfBatchRecord(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	l, _ := newLogFakes(OwnershipLimits{}, &now)
	ledger := &batchChainLedger{verifyLedger: verifyLedger{l.fakeLedger}}
	ix, _ := batchFixture(t, ledger)
	ledger.status = nil // active on the ledger, as in the index
	ob := &ownershipBatchLedger{batchChainLedger: ledger, log: l}
	s := New(ob, fakeOpenBlobs{l.blobs}, testSubjects, Config{Platform: platform, Now: func() time.Time { return now }})
	s.UseIndex(ix)
	ctx := context.Background()
	// The subject's batch record: proved to the chaincode, in the dossier, logged.
	v, err := s.VerifyFile(ctx, bank, strings.NewReader("batch doc"), "person", "1")
	if err != nil || !v.Verified || v.InDossier == nil || !*v.InDossier || len(v.Records) != 1 || v.Records[0].Batch == nil ||
		len(l.entries) != 1 || l.entries[0].Result != wire.OwnershipInDossier || ob.proved != 1 {
		t.Fatalf("ownership check of the subject's batch record: %+v %v (log %+v, proved %d)", v, err, l.entries, ob.proved)
	}
	// Another subject: not in that dossier; no proof is sent for another subject's
	// record, the single-record check answers.
	v, err = s.VerifyFile(ctx, bank, strings.NewReader("batch doc"), "person", "2")
	if err != nil || v.Verified || v.Status != NotInDossier || len(v.Records) != 0 || len(l.entries) != 2 ||
		l.entries[1].Result != wire.OwnershipNotInDossier || ob.proved != 1 {
		t.Fatalf("another subject: %+v %v (log %+v)", v, err, l.entries)
	}
	// A single record is still checked and logged (from the ledger: the fake index
	// holds the batch only).
	if v, err := s.VerifyFileFrom(ctx, bank, strings.NewReader("birth of 1"), "person", "1", SourceLedger); err != nil || !v.Verified || len(l.entries) != 3 {
		t.Fatalf("single record: %+v %v", v, err)
	}
	// A failing index: the check covers single records only, and says so.
	ix.err = errors.New("database gone")
	if v, err := s.VerifyFile(ctx, bank, strings.NewReader("batch doc"), "person", "1"); err != nil || v.BatchRecordsSearched || v.Status != Unknown || ob.proved != 1 {
		t.Fatalf("without the index: %+v %v", v, err)
	}
}

// ownershipBatchLedger is the batch ledger with the log ledger's ownership check and
// its batch variant (the proof checked as GetBatchRecord does).
type ownershipBatchLedger struct {
	*batchChainLedger
	log    *logLedger
	proved int
}

func (o *ownershipBatchLedger) RecordOwnershipCheck(ctx context.Context, a gateway.Actor, subjectID, cid, checker string) (*wire.AccessEntry, gateway.Receipt, error) {
	return o.log.RecordOwnershipCheck(ctx, a, subjectID, cid, checker)
}

func (o *ownershipBatchLedger) RecordBatchOwnershipCheck(ctx context.Context, a gateway.Actor, subjectID, cid, checker string, p wire.BatchProof) (*wire.AccessEntry, gateway.Receipt, error) {
	br, err := o.GetBatchRecord(ctx, a, p)
	if err != nil {
		return nil, gateway.Receipt{}, err
	}
	o.proved++
	e, r, err := o.log.RecordOwnershipCheck(ctx, a, subjectID, cid, checker)
	if err == nil && br.Record.CID == cid && br.Record.SubjectID == subjectID {
		e.Result = wire.OwnershipInDossier
		o.log.entries[len(o.log.entries)-1] = *e
	}
	return e, r, err
}

func (o *ownershipBatchLedger) FindByCID(ctx context.Context, a gateway.Actor, cid string) ([]wire.Record, error) {
	return o.log.FindByCID(ctx, a, cid)
}

func TestRecordProofOfBatchRecord(t *testing.T) {
	fl, b, _ := newFakes()
	ledger := &batchChainLedger{verifyLedger: verifyLedger{fl}}
	s := New(ledger, b, nil, Config{OrphanGrace: fakeGrace})
	ix, _ := batchFixture(t, ledger)
	p := &fakeProver{}
	s.UseProver(p)
	ctx := context.Background()
	if _, err := s.RecordProofIn(ctx, health, "bt-1.2", ""); gateway.ErrorCode(err) != gateway.CodeNotFound {
		t.Fatalf("without an index: %v", err)
	}
	s.UseIndex(ix)
	bundle, err := s.RecordProofIn(ctx, health, "bt-1.2", "")
	if err != nil || bundle.Batch == nil || bundle.Batch.Proof.Index != 2 || len(p.batches) != 1 || p.batches[0].Record.Status != wire.StatusRevoked {
		t.Fatalf("batch proof: %+v %v (built from %+v)", bundle, err, p.batches)
	}
	if _, err := s.RecordProofIn(ctx, health, "bt-1.2", "bt-9"); gateway.ErrorCode(err) != gateway.CodeNotFound {
		t.Fatalf("another batch named: %v", err)
	}
	if _, err := s.RecordProofIn(ctx, health, "bt-1.2", "bad id!"); gateway.ErrorCode(err) != gateway.CodeInvalid {
		t.Fatalf("bad batch ID: %v", err)
	}
	// The same record ID in two batches: name one.
	ix.recs = append(ix.recs, IndexedRecord{Record: ix.recs[0].Record, Batch: &BatchPosition{BatchID: "bt-0", Index: 2}})
	if _, err := s.RecordProofIn(ctx, health, "bt-1.2", ""); gateway.ErrorCode(err) != gateway.CodeConflict {
		t.Fatalf("ambiguous record ID: %v", err)
	}
	if bundle, err := s.RecordProofIn(ctx, health, "bt-1.2", "bt-1"); err != nil || bundle.Batch.Proof.BatchID != "bt-1" {
		t.Fatalf("batch named: %+v %v", bundle, err)
	}
	if _, err := s.RecordProofIn(ctx, gateway.Principal{Role: gateway.RolePublic}, "bt-1.2", "bt-1"); gateway.ErrorCode(err) != gateway.CodeUnauthorized {
		t.Fatalf("anonymous: %v", err)
	}
}
