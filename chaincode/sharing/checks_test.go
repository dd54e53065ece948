package sharing_test

import (
	"testing"
	"time"

	"github.com/edossier-city/edossier/chaincode/internal/cctest"
	"github.com/edossier-city/edossier/chaincode/wire"
)

func TestRecordOwnershipCheck(t *testing.T) {
	e, _ := setup(t)
	cid := cctest.FileCID("content:b1")
	// A department, in its own name: the chaincode computes the answer.
	res := e.Sharing(e.Civil, "RecordOwnershipCheck", cctest.Subject("1"), cid, "")
	a := cctest.Decode[wire.AccessEntry](t, e.OK(res))
	if a.Kind != wire.AccessOwnership || a.Result != wire.OwnershipInDossier || a.RecordID != "b1" || a.RecordType != cctest.BirthCert ||
		a.Checker != cctest.Civil || a.Org != cctest.Civil || a.User != "clerk.civil" || a.CID != cid || a.TxID != res.TxID || a.SubjectID != cctest.Subject("1") {
		t.Fatalf("entry %+v", a)
	}
	if res.Writes != 1 {
		t.Fatalf("one key per entry, wrote %d", res.Writes)
	}
	ev := cctest.Decode[wire.AccessRecordedEvent](t, res.Event.Payload)
	if res.Event.Name != wire.EventAccessRecorded || ev.Kind != wire.AccessOwnership || ev.SubjectID != cctest.Subject("1") {
		t.Fatalf("event %+v", ev)
	}
	// p-2's birth certificate asked against p-1: not in the dossier, and the
	// other dossier's record is not named in p-1's log.
	a = cctest.Decode[wire.AccessEntry](t, e.OK(e.Sharing(e.Health, "RecordOwnershipCheck", cctest.Subject("1"), cctest.FileCID("content:b2"), cctest.Health)))
	if a.Result != wire.OwnershipNotInDossier || a.RecordID != "" || a.RecordType != "" {
		t.Fatalf("entry %+v", a)
	}
	// The platform for a verifier it names.
	a = cctest.Decode[wire.AccessEntry](t, e.OK(e.Sharing(e.Op, "RecordOwnershipCheck", cctest.Subject("1"), cid, "city-bank")))
	if a.Checker != "city-bank" || a.Org != cctest.Operator || a.Result != wire.OwnershipInDossier {
		t.Fatalf("entry %+v", a)
	}
	// An unknown document is simply not in the dossier.
	a = cctest.Decode[wire.AccessEntry](t, e.OK(e.Sharing(e.Op, "RecordOwnershipCheck", cctest.Subject("1"), cctest.FileCID("never appended"), "city-bank")))
	if a.Result != wire.OwnershipNotInDossier {
		t.Fatalf("entry %+v", a)
	}

	// Refusals leave nothing.
	e.Code(e.Sharing(e.Op, "RecordOwnershipCheck", cctest.Subject("1"), cid, ""), wire.CodeInvalid)
	e.Code(e.Sharing(e.Outsider, "RecordOwnershipCheck", cctest.Subject("1"), cid, ""), wire.CodeForbidden)
	e.Code(e.Sharing(e.Civil, "RecordOwnershipCheck", cctest.Subject("1"), cid, "city-bank"), wire.CodeForbidden)
	e.Code(e.Sharing(e.Civil, "RecordOwnershipCheck", cctest.Subject("1"), "QmNotACID", ""), wire.CodeInvalid)
	e.Code(e.Sharing(e.Civil, "RecordOwnershipCheck", "", cid, ""), wire.CodeInvalid)
	e.Code(e.Sharing(e.Op, "RecordOwnershipCheck", cctest.Subject("1"), cid, "bad name\n"), wire.CodeInvalid)
	e.OK(e.Dossier(e.Op, "DeactivateDepartment", cctest.Civil))
	e.Code(e.Sharing(e.Civil, "RecordOwnershipCheck", cctest.Subject("1"), cid, ""), wire.CodeForbidden)

	log := cctest.Decode[wire.AccessPage](t, e.OK(e.SharingQ(e.Op, "AccessLog", cctest.Subject("1"), "", "")))
	if len(log.Entries) != 4 {
		t.Fatalf("%d entries, want 4: %+v", len(log.Entries), log.Entries)
	}
}

func TestRecordSelfAccess(t *testing.T) {
	e, _ := setup(t)
	res := e.Sharing(e.Op, "RecordSelfAccess", cctest.Subject("1"), "", wire.SelfList)
	a := cctest.Decode[wire.AccessEntry](t, e.OK(res))
	if a.Kind != wire.AccessSelf || a.Action != wire.SelfList || a.RecordID != "" || a.Org != cctest.Operator || a.TxID != res.TxID || res.Writes != 1 {
		t.Fatalf("entry %+v (writes %d)", a, res.Writes)
	}
	for _, action := range []string{wire.SelfGet, wire.SelfHistory, wire.SelfContent} {
		e.Net.Advance(time.Second)
		a = cctest.Decode[wire.AccessEntry](t, e.OK(e.Sharing(e.Op, "RecordSelfAccess", cctest.Subject("1"), "b1", action)))
		if a.Action != action || a.RecordID != "b1" || a.RecordType != cctest.BirthCert {
			t.Fatalf("entry %+v", a)
		}
	}
	// Refusals leave nothing.
	e.Code(e.Sharing(e.Civil, "RecordSelfAccess", cctest.Subject("1"), "", wire.SelfList), wire.CodeForbidden)
	e.Code(e.Sharing(e.Outsider, "RecordSelfAccess", cctest.Subject("1"), "b1", wire.SelfGet), wire.CodeForbidden)
	e.Code(e.Sharing(e.Op, "RecordSelfAccess", cctest.Subject("1"), "b2", wire.SelfGet), wire.CodeNotFound) // p-2's record
	e.Code(e.Sharing(e.Op, "RecordSelfAccess", cctest.Subject("1"), "nope", wire.SelfContent), wire.CodeNotFound)
	e.Code(e.Sharing(e.Op, "RecordSelfAccess", cctest.Subject("1"), "", wire.SelfGet), wire.CodeInvalid)
	e.Code(e.Sharing(e.Op, "RecordSelfAccess", cctest.Subject("1"), "b1", wire.SelfList), wire.CodeInvalid)
	e.Code(e.Sharing(e.Op, "RecordSelfAccess", cctest.Subject("1"), "b1", "delete"), wire.CodeInvalid)
	e.Code(e.Sharing(e.Op, "RecordSelfAccess", "", "", wire.SelfList), wire.CodeInvalid)
	log := cctest.Decode[wire.AccessPage](t, e.OK(e.SharingQ(e.Op, "AccessLog", cctest.Subject("1"), "", "")))
	if len(log.Entries) != 4 || log.Entries[0].Action != wire.SelfContent || log.Entries[3].Action != wire.SelfList {
		t.Fatalf("log %+v", log.Entries)
	}
}
