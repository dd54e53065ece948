package dossier_test

import (
	"strings"
	"testing"

	"github.com/edossier-city/edossier/chaincode/internal/cctest"
	"github.com/edossier-city/edossier/chaincode/wire"
)

func TestAnchorBatch(t *testing.T) {
	e := cctest.NewEnv(t)
	e.Bootstrap()
	leaves := cctest.Leaves("legacy", 1000)
	res := e.Dossier(e.Health, "AnchorBatch", e.EncodeBatch("b-1", leaves))
	a := cctest.Decode[wire.BatchAnchor](t, e.OK(res))
	root, err := wire.BatchRoot(wire.BatchContext{Channel: cctest.Municipal, Chaincode: "dossier", BatchID: "b-1", Issuer: cctest.Health}, leaves)
	if err != nil {
		t.Fatal(err)
	}
	want := wire.BatchAnchor{BatchID: "b-1", Root: a.Root, Size: 1000, Issuer: cctest.Health, AnchoredAt: "2025-03-01T08:00:00Z", TxID: res.TxID}
	if a != want || a.Root != hexOf(root) {
		t.Fatalf("got %+v\nwant %+v (root %x)", a, want, root)
	}
	// One key for the whole batch, pinned to the issuer; one event.
	if res.Writes != 1 {
		t.Fatalf("a batch of 1000 wrote %d keys, want 1", res.Writes)
	}
	ch := e.Net.Channel(cctest.Municipal)
	if orgs := policyOrgs(t, ch.ValidationParameter(key(t, "batch", "b-1"))); len(orgs) != 1 || orgs[0] != cctest.Health {
		t.Fatalf("batch policy %v", orgs)
	}
	if res.Event == nil || res.Event.Name != wire.EventBatchAnchored {
		t.Fatalf("event %+v", res.Event)
	}
	if got := cctest.Decode[wire.BatchAnchor](t, e.OK(e.DossierQ(e.Outsider, "GetBatch", "b-1"))); got != want {
		t.Fatalf("GetBatch %+v", got)
	}
	// Retry of the same batch: the stored anchor, nothing written.
	res = e.Dossier(e.Health, "AnchorBatch", e.EncodeBatch("b-1", leaves))
	if again := cctest.Decode[wire.BatchAnchor](t, e.OK(res)); again != want || res.Writes != 0 || res.Event != nil {
		t.Fatalf("retry: %+v writes=%d", again, res.Writes)
	}
	// The largest batch is one transaction too.
	big := cctest.Leaves("big", wire.MaxAnchorBatch)
	if res := e.Dossier(e.Health, "AnchorBatch", e.EncodeBatch("b-big", big)); !res.OK() || res.Writes != 1 {
		t.Fatalf("largest batch: %s writes=%d", res.Message, res.Writes)
	}
}

func TestAnchorBatchRefusals(t *testing.T) {
	e := cctest.NewEnv(t)
	e.Bootstrap()
	leaves := cctest.Leaves("legacy", 10)
	e.Anchor(e.Health, "b-1", leaves)
	// Duplicate batch ID with other records (also from another department).
	e.Code(e.Dossier(e.Health, "AnchorBatch", e.EncodeBatch("b-1", leaves[:9])), wire.CodeConflict)
	e.OK(e.Dossier(e.Op, "Accredit", cctest.Civil, cctest.BirthCert))
	e.OK(e.Dossier(e.Op, "Accredit", cctest.Civil, cctest.Marriage))
	e.Code(e.Dossier(e.Civil, "AnchorBatch", e.EncodeBatch("b-1", leaves)), wire.CodeConflict)
	// Not accredited for one type of the batch; not a department.
	lic := cctest.Leaves("lic", 3)
	lic[2].Type = cctest.Licence
	e.Code(e.Dossier(e.Health, "AnchorBatch", e.EncodeBatch("b-2", lic)), wire.CodeForbidden)
	e.Code(e.Dossier(e.Outsider, "AnchorBatch", e.EncodeBatch("b-3", leaves)), wire.CodeForbidden)
	// Empty, oversized, malformed, non-canonical.
	e.Code(e.Dossier(e.Health, "AnchorBatch", ""), wire.CodeInvalid)
	e.Code(e.Dossier(e.Health, "AnchorBatch", "EDB1"), wire.CodeInvalid)
	enc := e.EncodeBatch("b-4", leaves)
	e.Code(e.Dossier(e.Health, "AnchorBatch", enc[:len(enc)-1]), wire.CodeInvalid)
	e.Code(e.Dossier(e.Health, "AnchorBatch", enc+"x"), wire.CodeInvalid)
	e.Code(e.Dossier(e.Health, "AnchorBatch", strings.Repeat("x", wire.MaxAnchorBatchBytes+1)), wire.CodeInvalid)
}

func TestBatchRecordProofs(t *testing.T) {
	e := cctest.NewEnv(t)
	e.Bootstrap()
	leaves := cctest.Leaves("legacy", 100)
	a := e.Anchor(e.Health, "b-1", leaves)
	e.Anchor(e.Health, "b-2", leaves) // the same records, again: another batch
	br := cctest.Decode[wire.BatchRecord](t, e.OK(e.DossierQ(e.Outsider, "GetBatchRecord", e.Proof(cctest.Health, "b-1", leaves, 42))))
	want := wire.Record{RecordID: leaves[42].RecordID, SubjectID: leaves[42].SubjectID, Type: leaves[42].Type, CID: leaves[42].CID,
		Size: leaves[42].Size, MediaType: "application/pdf", Issuer: cctest.Health, IssuedAt: a.AnchoredAt, Status: wire.StatusActive, TxID: a.TxID}
	if br.Record != want || br.BatchID != "b-1" || br.Index != 42 || br.Root != a.Root {
		t.Fatalf("got %+v\nwant %+v", br, want)
	}
	// A forged leaf (each field), a leaf replayed into another batch or at
	// another index, a truncated or altered proof: bad_proof.
	for _, f := range []func(p *wire.BatchProof){
		func(p *wire.BatchProof) { p.Leaf.SubjectID = cctest.Subject("9") },
		func(p *wire.BatchProof) { p.Leaf.Type = cctest.Marriage },
		func(p *wire.BatchProof) { p.Leaf.CID = cctest.FileCID("forged") },
		func(p *wire.BatchProof) { p.Leaf.Size++ },
		func(p *wire.BatchProof) { p.Leaf.RecordID = "legacy-99999" },
		func(p *wire.BatchProof) { p.Leaf.MediaType = "image/png" },
		func(p *wire.BatchProof) { p.Index = 43 },
		func(p *wire.BatchProof) { p.Proof = p.Proof[:len(p.Proof)-1] },
		func(p *wire.BatchProof) { p.Proof[0] = strings.Repeat("00", 32) },
	} {
		p := e.ProofDoc(cctest.Health, "b-1", leaves, 42)
		f(&p)
		e.Code(e.DossierQ(e.Outsider, "GetBatchRecord", cctest.JSON(t, p)), wire.CodeBadProof)
	}
	replay := e.ProofDoc(cctest.Health, "b-1", leaves, 42)
	replay.BatchID = "b-2"
	e.Code(e.DossierQ(e.Outsider, "GetBatchRecord", cctest.JSON(t, replay)), wire.CodeBadProof)
	// A proof made as if another department had anchored it.
	e.Code(e.DossierQ(e.Outsider, "GetBatchRecord", e.Proof(cctest.Civil, "b-1", leaves, 42)), wire.CodeBadProof)
	e.Code(e.DossierQ(e.Outsider, "GetBatchRecord", e.Proof(cctest.Health, "b-9", leaves, 42)), wire.CodeNotFound)
	e.Code(e.DossierQ(e.Outsider, "GetBatchRecord", `{"batchId":"b-1"}`), wire.CodeInvalid)
}

func TestRevokeAndSupersedeBatchRecord(t *testing.T) {
	e := cctest.NewEnv(t)
	e.Bootstrap()
	leaves := cctest.Leaves("legacy", 50)
	e.Anchor(e.Health, "b-1", leaves)
	p7 := e.Proof(cctest.Health, "b-1", leaves, 7)
	// Only the issuer; registered reasons only; a forged proof is bad_proof.
	e.Code(e.Dossier(e.Civil, "RevokeBatchRecord", p7, cctest.ReasonError), wire.CodeForbidden)
	e.Code(e.Dossier(e.Health, "RevokeBatchRecord", p7, "no-such-reason"), wire.CodeInvalid)
	forged := e.ProofDoc(cctest.Health, "b-1", leaves, 7)
	forged.Leaf.Size = 1
	e.Code(e.Dossier(e.Health, "RevokeBatchRecord", cctest.JSON(t, forged), cctest.ReasonError), wire.CodeBadProof)

	res := e.Dossier(e.Health, "RevokeBatchRecord", p7, cctest.ReasonError)
	br := cctest.Decode[wire.BatchRecord](t, e.OK(res))
	// The status key, and the batch key rewritten unchanged (its issuer policy then
	// governs the transaction).
	if br.Record.Status != wire.StatusRevoked || br.Record.Reason != cctest.ReasonError || br.Record.StatusTxID != res.TxID || res.Writes != 2 {
		t.Fatalf("revoked: %+v writes=%d", br.Record, res.Writes)
	}
	ch := e.Net.Channel(cctest.Municipal)
	if orgs := policyOrgs(t, ch.ValidationParameter(key(t, "bstatus", "b-1", "7"))); len(orgs) != 1 || orgs[0] != cctest.Health {
		t.Fatalf("status key policy %v", orgs)
	}
	if res.Event == nil || res.Event.Name != wire.EventBatchRecordChanged {
		t.Fatalf("event %+v", res.Event)
	}
	if again := e.Dossier(e.Health, "RevokeBatchRecord", p7, cctest.ReasonError); !again.OK() || again.Writes != 0 {
		t.Fatalf("repeat: %s writes=%d", again.Message, again.Writes)
	}
	e.Code(e.Dossier(e.Health, "RevokeBatchRecord", p7, cctest.ReasonFraud), wire.CodeConflict)
	got := cctest.Decode[wire.BatchRecord](t, e.OK(e.DossierQ(e.Outsider, "GetBatchRecord", p7)))
	if got.Record.Status != wire.StatusRevoked {
		t.Fatalf("status after revoke: %+v", got.Record)
	}
	// Other records of the batch are unchanged (no key of theirs was written).
	if got := cctest.Decode[wire.BatchRecord](t, e.OK(e.DossierQ(e.Outsider, "GetBatchRecord", e.Proof(cctest.Health, "b-1", leaves, 8)))); got.Record.Status != wire.StatusActive {
		t.Fatalf("neighbour: %+v", got.Record)
	}

	// Supersede record 9 by a single record.
	p9 := e.Proof(cctest.Health, "b-1", leaves, 9)
	repl := cctest.Req("new-9", leaves[9].SubjectID, leaves[9].Type)
	e.Code(e.Dossier(e.Civil, "SupersedeBatchRecord", p9, cctest.JSON(t, repl)), wire.CodeForbidden)
	other := repl
	other.SubjectID = cctest.Subject("9")
	e.Code(e.Dossier(e.Health, "SupersedeBatchRecord", p9, cctest.JSON(t, other)), wire.CodeInvalid)
	e.Code(e.Dossier(e.Health, "SupersedeBatchRecord", p7, cctest.JSON(t, repl)), wire.CodeConflict) // revoked already
	res = e.Dossier(e.Health, "SupersedeBatchRecord", p9, cctest.JSON(t, repl))
	sr := cctest.Decode[wire.BatchSupersedeResult](t, e.OK(res))
	if sr.Superseded.Record.Status != wire.StatusSuperseded || sr.Superseded.Record.SupersededBy != "new-9" ||
		sr.Record.Supersedes != leaves[9].RecordID || sr.Record.RecordID != "new-9" || sr.Record.Status != wire.StatusActive {
		t.Fatalf("supersede: %+v", sr)
	}
	if again := e.Dossier(e.Health, "SupersedeBatchRecord", p9, cctest.JSON(t, repl)); !again.OK() || again.Writes != 0 {
		t.Fatalf("repeat supersede: %s writes=%d", again.Message, again.Writes)
	}
	if got := cctest.Decode[wire.Record](t, e.OK(e.DossierQ(e.Health, "GetRecord", "new-9"))); got.Supersedes != leaves[9].RecordID {
		t.Fatalf("new record %+v", got)
	}
	if got := cctest.Decode[wire.BatchRecord](t, e.OK(e.DossierQ(e.Outsider, "GetBatchRecord", p9))); got.Record.Status != wire.StatusSuperseded {
		t.Fatalf("status after supersede: %+v", got.Record)
	}
}

func hexOf(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 2*len(b))
	for i, c := range b {
		out[2*i], out[2*i+1] = digits[c>>4], digits[c&15]
	}
	return string(out)
}
