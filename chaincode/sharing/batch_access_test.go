package sharing_test

import (
	"testing"
	"time"

	"github.com/edossier-city/edossier/chaincode/internal/cctest"
	"github.com/edossier-city/edossier/chaincode/wire"
)

func TestRecordBatchAccess(t *testing.T) {
	e, s := setup(t)
	leaves := cctest.Leaves("legacy", 20) // even: subject 1 birth-cert; odd: subject 2 marriage
	e.Anchor(e.Health, "b-1", leaves)
	s.create(t, e, s.grant("g1", cctest.Civil, []string{cctest.BirthCert}, nil))
	e.Net.Advance(time.Minute)

	res := e.Sharing(e.Civil, "RecordBatchAccess", "g1", e.Proof(cctest.Health, "b-1", leaves, 4), "")
	a := cctest.Decode[wire.AccessEntry](t, e.OK(res))
	if a.Kind != wire.AccessFile || a.RecordID != leaves[4].RecordID || a.RecordType != cctest.BirthCert || a.GrantID != "g1" ||
		a.SubjectID != cctest.Subject("1") || a.Org != cctest.Civil || a.TxID != res.TxID || res.Writes != 1 {
		t.Fatalf("entry %+v writes=%d", a, res.Writes)
	}
	if res.Event == nil || res.Event.Name != wire.EventAccessRecorded {
		t.Fatalf("event %+v", res.Event)
	}
	log := cctest.Decode[wire.AccessPage](t, e.OK(e.SharingQ(e.Op, "AccessLog", cctest.Subject("1"), "", "")))
	if len(log.Entries) == 0 || log.Entries[0].RecordID != leaves[4].RecordID {
		t.Fatalf("access log %+v", log.Entries)
	}

	// Another subject's record: out of scope. Another department: forbidden.
	e.Code(e.Sharing(e.Civil, "RecordBatchAccess", "g1", e.Proof(cctest.Health, "b-1", leaves, 5), ""), wire.CodeOutOfScope)
	e.Code(e.Sharing(e.Health, "RecordBatchAccess", "g1", e.Proof(cctest.Health, "b-1", leaves, 4), ""), wire.CodeForbidden)
	// A forged leaf, a leaf replayed into another batch: bad_proof.
	forged := e.ProofDoc(cctest.Health, "b-1", leaves, 6)
	forged.Leaf.CID = cctest.FileCID("forged")
	e.Code(e.Sharing(e.Civil, "RecordBatchAccess", "g1", cctest.JSON(t, forged), ""), wire.CodeBadProof)
	e.Anchor(e.Health, "b-2", leaves[:8])
	replay := e.ProofDoc(cctest.Health, "b-1", leaves, 6)
	replay.BatchID = "b-2"
	e.Code(e.Sharing(e.Civil, "RecordBatchAccess", "g1", cctest.JSON(t, replay), ""), wire.CodeBadProof)
	e.Code(e.Sharing(e.Civil, "RecordBatchAccess", "g1", "{}", ""), wire.CodeInvalid)
	// A revoked batch record cannot be read.
	p8 := e.Proof(cctest.Health, "b-1", leaves, 8)
	e.OK(e.Sharing(e.Civil, "RecordBatchAccess", "g1", p8, ""))
	e.OK(e.Dossier(e.Health, "RevokeBatchRecord", p8, cctest.ReasonError))
	e.Code(e.Sharing(e.Civil, "RecordBatchAccess", "g1", p8, ""), wire.CodeRecordInactive)
	// A revoked grant stops batch reads as it stops single reads.
	e.OK(e.Sharing(e.Civil, "RevokeGrant", string(s.revocation(t, "g1")), s.sign(t, s.revocation(t, "g1"))))
	e.Code(e.Sharing(e.Civil, "RecordBatchAccess", "g1", e.Proof(cctest.Health, "b-1", leaves, 4), ""), wire.CodeRevoked)
}

func TestRecordBatchOwnershipCheck(t *testing.T) {
	e, _ := setup(t)
	leaves := cctest.Leaves("legacy", 10) // even: subject 1; odd: subject 2
	e.Anchor(e.Health, "b-1", leaves)
	p4 := e.Proof(cctest.Health, "b-1", leaves, 4)
	// The subject's own batch record: in the dossier, named in the entry.
	res := e.Sharing(e.Op, "RecordBatchOwnershipCheck", cctest.Subject("1"), leaves[4].CID, "city-bank", p4)
	a := cctest.Decode[wire.AccessEntry](t, e.OK(res))
	if a.Kind != wire.AccessOwnership || a.Result != wire.OwnershipInDossier || a.RecordID != leaves[4].RecordID || a.RecordType != leaves[4].Type ||
		a.Checker != "city-bank" || a.CID != leaves[4].CID || a.SubjectID != cctest.Subject("1") || res.Writes != 1 {
		t.Fatalf("entry %+v (writes %d)", a, res.Writes)
	}
	// Another subject's batch record asked against subject 1: not in the dossier, and
	// not named.
	a = cctest.Decode[wire.AccessEntry](t, e.OK(e.Sharing(e.Civil, "RecordBatchOwnershipCheck", cctest.Subject("1"), leaves[5].CID, "",
		e.Proof(cctest.Health, "b-1", leaves, 5))))
	if a.Result != wire.OwnershipNotInDossier || a.RecordID != "" {
		t.Fatalf("other subject's record: %+v", a)
	}
	// Refusals leave nothing: a forged leaf, a leaf replayed into another batch, a
	// proof of another document, no proof, the rules of RecordOwnershipCheck.
	forged := e.ProofDoc(cctest.Health, "b-1", leaves, 6)
	forged.Leaf.SubjectID = cctest.Subject("2")
	e.Code(e.Sharing(e.Op, "RecordBatchOwnershipCheck", cctest.Subject("2"), leaves[6].CID, "city-bank", cctest.JSON(t, forged)), wire.CodeBadProof)
	e.Anchor(e.Health, "b-2", leaves[:8])
	replay := e.ProofDoc(cctest.Health, "b-1", leaves, 8)
	replay.BatchID = "b-2"
	e.Code(e.Sharing(e.Op, "RecordBatchOwnershipCheck", cctest.Subject("1"), leaves[8].CID, "city-bank", cctest.JSON(t, replay)), wire.CodeBadProof)
	e.Code(e.Sharing(e.Op, "RecordBatchOwnershipCheck", cctest.Subject("1"), leaves[2].CID, "city-bank", p4), wire.CodeInvalid)
	e.Code(e.Sharing(e.Op, "RecordBatchOwnershipCheck", cctest.Subject("1"), leaves[4].CID, "city-bank", ""), wire.CodeInvalid)
	e.Code(e.Sharing(e.Op, "RecordBatchOwnershipCheck", cctest.Subject("1"), leaves[4].CID, "", p4), wire.CodeInvalid)
	e.Code(e.Sharing(e.Outsider, "RecordBatchOwnershipCheck", cctest.Subject("1"), leaves[4].CID, "", p4), wire.CodeForbidden)
	log := cctest.Decode[wire.AccessPage](t, e.OK(e.SharingQ(e.Op, "AccessLog", cctest.Subject("1"), "", "")))
	if len(log.Entries) != 2 {
		t.Fatalf("%d entries, want 2: %+v", len(log.Entries), log.Entries)
	}
}
