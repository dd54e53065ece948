package sharing_test

import (
	"strings"
	"testing"
	"time"

	"github.com/edossier-city/edossier/chaincode/internal/cctest"
	"github.com/edossier-city/edossier/chaincode/internal/fakeledger"
	"github.com/edossier-city/edossier/chaincode/sharing"
	"github.com/edossier-city/edossier/chaincode/wire"
)

func TestRecordAccessAllowed(t *testing.T) {
	e, s := setup(t)
	s.create(t, e, s.grant("g1", cctest.Civil, []string{cctest.BirthCert}, []string{"m1"}))
	e.Net.Advance(time.Minute)
	res := e.Sharing(e.Civil, "RecordAccess", "g1", "b1", "")
	a := cctest.Decode[wire.AccessEntry](t, e.OK(res))
	want := wire.AccessEntry{
		EntryID: res.TxID, Kind: wire.AccessFile, SubjectID: cctest.Subject("1"), RecordID: "b1", RecordType: cctest.BirthCert, GrantID: "g1",
		Org: cctest.Civil, User: "clerk.civil", UserID: "x509::CN=clerk.civil,OU=client,O=CivilMSP::CN=ca.CivilMSP,O=CivilMSP",
		Purpose: cctest.PurposeOneThing, Time: "2025-03-01T08:01:00Z", TxID: res.TxID,
	}
	if a != want {
		t.Fatalf("got  %+v\nwant %+v", a, want)
	}
	if res.Writes != 1 {
		t.Fatalf("one key per entry, wrote %d", res.Writes)
	}
	ev := cctest.Decode[wire.AccessRecordedEvent](t, res.Event.Payload)
	if res.Event.Name != wire.EventAccessRecorded || ev.EntryID != res.TxID || ev.RecordID != "b1" || ev.Org != cctest.Civil || ev.GrantID != "g1" {
		t.Fatalf("event %+v", ev)
	}
	// In scope by record ID, with an explicit purpose.
	a = cctest.Decode[wire.AccessEntry](t, e.OK(e.Sharing(e.Civil, "RecordAccess", "g1", "m1", cctest.PurposeMarriage)))
	if a.Purpose != cctest.PurposeMarriage || a.RecordType != cctest.Marriage {
		t.Fatalf("got %+v", a)
	}
	// A record past its validUntil is still readable (only status counts).
	req := cctest.Req("b-old", cctest.Subject("1"), cctest.BirthCert)
	req.ValidUntil = "2000-01-01T00:00:00Z"
	e.Append(e.Health, req)
	e.OK(e.Sharing(e.Civil, "RecordAccess", "g1", "b-old", ""))
	// The grant's last instant before expiry.
	e.Net.Now = time.Date(2025, 3, 31, 23, 59, 59, 999999999, time.UTC)
	e.OK(e.Sharing(e.Civil, "RecordAccess", "g1", "b1", ""))
}

func TestRecordAccessRefusals(t *testing.T) {
	e, s := setup(t)
	s.create(t, e, s.grant("g1", cctest.Civil, []string{cctest.BirthCert}, []string{"m1"}))
	future := s.grant("g-future", cctest.Civil, []string{cctest.BirthCert}, nil)
	future.ValidFrom = "2025-03-10T00:00:00Z"
	s.create(t, e, future)
	s.create(t, e, s.grant("g-health", cctest.Health, []string{cctest.Licence}, nil))

	e.Code(e.Sharing(e.Civil, "RecordAccess", "", "b1", ""), wire.CodeInvalid)
	e.Code(e.Sharing(e.Civil, "RecordAccess", "g1", "", ""), wire.CodeInvalid)
	e.Code(e.Sharing(e.Civil, "RecordAccess", "g1", "b1", strings.Repeat("p", wire.MaxCodeLen+1)), wire.CodeInvalid)
	// The stated purpose is a registered code: no free text, no personal data.
	e.Code(e.Sharing(e.Civil, "RecordAccess", "g1", "b1", "checking 李小明 110101202611201235"), wire.CodeInvalid)
	e.Code(e.Sharing(e.Civil, "RecordAccess", "g1", "b1", "checking marriage status"), wire.CodeInvalid)
	e.Code(e.Sharing(e.Civil, "RecordAccess", "g1", "b1", "not-registered"), wire.CodeInvalid)
	e.Code(e.Sharing(e.Civil, "RecordAccess", "g1", "b1", "line\nbreak"), wire.CodeInvalid)
	e.Code(e.Sharing(e.Civil, "RecordAccess", "g-none", "b1", ""), wire.CodeNotFound)
	// Wrong department (registered or not).
	e.Code(e.Sharing(e.Health, "RecordAccess", "g1", "b1", ""), wire.CodeForbidden)
	e.Code(e.Sharing(e.Outsider, "RecordAccess", "g1", "b1", ""), wire.CodeForbidden)
	e.Code(e.Sharing(e.Op, "RecordAccess", "g1", "b1", ""), wire.CodeForbidden)
	// Record does not exist (code passed through from dossier).
	e.Code(e.Sharing(e.Civil, "RecordAccess", "g1", "nope", ""), wire.CodeNotFound)
	// Out of scope: other type, other subject's record.
	e.Code(e.Sharing(e.Civil, "RecordAccess", "g1", "l1", ""), wire.CodeOutOfScope)
	e.Code(e.Sharing(e.Civil, "RecordAccess", "g1", "b2", ""), wire.CodeOutOfScope)
	// Not yet valid.
	e.Code(e.Sharing(e.Civil, "RecordAccess", "g-future", "b1", ""), wire.CodeNotYetValid)
	// Revoked and superseded records.
	e.Append(e.Health, cctest.Req("b3", cctest.Subject("1"), cctest.BirthCert))
	e.OK(e.Dossier(e.Health, "RevokeRecord", "b3", cctest.ReasonError))
	e.Code(e.Sharing(e.Civil, "RecordAccess", "g1", "b3", ""), wire.CodeRecordInactive)
	e.OK(e.Dossier(e.Health, "SupersedeRecord", "m1", cctest.JSON(t, cctest.Req("m1-v2", cctest.Subject("1"), cctest.Marriage))))
	e.Code(e.Sharing(e.Civil, "RecordAccess", "g1", "m1", ""), wire.CodeRecordInactive)
	e.Code(e.Sharing(e.Civil, "RecordAccess", "g1", "m1-v2", ""), wire.CodeOutOfScope) // scope named the old ID
	// Grantee deactivated.
	e.OK(e.Dossier(e.Op, "DeactivateDepartment", cctest.Health))
	e.Code(e.Sharing(e.Health, "RecordAccess", "g-health", "l1", ""), wire.CodeForbidden)
	// Revoked grant.
	rev := s.revocation(t, "g1")
	e.OK(e.Sharing(e.Civil, "RevokeGrant", string(rev), s.sign(t, rev)))
	e.Code(e.Sharing(e.Civil, "RecordAccess", "g1", "b1", ""), wire.CodeRevoked)
	// Expired grant.
	e.Net.Now = time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC)
	e.Code(e.Sharing(e.Civil, "RecordAccess", "g-future", "b1", ""), wire.CodeExpired)

	// Nothing was logged.
	log := cctest.Decode[wire.AccessPage](t, e.OK(e.SharingQ(e.Op, "AccessLog", cctest.Subject("1"), "", "")))
	if len(log.Entries) != 0 {
		t.Fatalf("refusals logged: %+v", log.Entries)
	}
}

func TestAccessLog(t *testing.T) {
	e, s := setup(t)
	s.create(t, e, s.grant("g1", cctest.Civil, []string{cctest.BirthCert, cctest.Marriage}, nil))
	var txs []string
	for i, rec := range []string{"b1", "m1", "b1", "m1", "b1"} {
		e.Net.Advance(time.Second)
		if i == 2 {
			// A refused access in between leaves no trace.
			e.Code(e.Sharing(e.Civil, "RecordAccess", "g1", "l1", ""), wire.CodeOutOfScope)
		}
		txs = append(txs, e.OK2(e.Sharing(e.Civil, "RecordAccess", "g1", rec, "")).TxID)
	}
	// Another subject's log stays separate (and cctest.Subject("10") shares a prefix).
	other := newSubject(t, cctest.Subject("10"))
	other.bind(t, e)
	e.Append(e.Health, cctest.Req("b10", cctest.Subject("10"), cctest.BirthCert))
	other.create(t, e, other.grant("g10", cctest.Civil, []string{cctest.BirthCert}, nil))
	e.OK(e.Sharing(e.Civil, "RecordAccess", "g10", "b10", ""))

	var got []string
	bm := ""
	for {
		p := cctest.Decode[wire.AccessPage](t, e.OK(e.SharingQ(e.Op, "AccessLog", cctest.Subject("1"), "2", bm)))
		for _, en := range p.Entries {
			got = append(got, en.TxID)
			if en.SubjectID != cctest.Subject("1") {
				t.Fatal("foreign entry")
			}
		}
		if p.Bookmark == "" {
			break
		}
		bm = p.Bookmark
	}
	if len(got) != 5 {
		t.Fatalf("got %d entries", len(got))
	}
	for i := range got {
		if got[i] != txs[len(txs)-1-i] {
			t.Fatalf("not newest first: %v vs %v", got, txs)
		}
	}
	e.Code(e.SharingQ(e.Op, "AccessLog", cctest.Subject("10"), "1", bm+"x"), wire.CodeInvalid)
	first := cctest.Decode[wire.AccessPage](t, e.OK(e.SharingQ(e.Op, "AccessLog", cctest.Subject("1"), "1", "")))
	e.Code(e.SharingQ(e.Op, "AccessLog", cctest.Subject("10"), "1", first.Bookmark), wire.CodeInvalid)
	e.Code(e.SharingQ(e.Op, "AccessLog", "", "", ""), wire.CodeInvalid)
	e.Code(e.SharingQ(e.Op, "AccessLog", cctest.Subject("1"), "999", ""), wire.CodeInvalid)
	// Raw ID numbers and other non-pseudonyms are no subject IDs.
	for _, subj := range []string{"110101202611201235", "91350100M000100Y43", "p-1"} {
		e.Code(e.SharingQ(e.Op, "AccessLog", subj, "", ""), wire.CodeInvalid)
		e.Code(e.SharingQ(e.Civil, "ListGrants", subj, "", ""), wire.CodeInvalid)
		e.Code(e.DossierQ(e.Civil, "ListDossier", subj, "", "", ""), wire.CodeInvalid)
	}
	// Only the operator reads access logs: not the grantee, the issuer or an outsider.
	for _, id := range []*fakeledger.Identity{e.Civil, e.Health, e.Outsider, e.Authority} {
		e.Code(e.SharingQ(id, "AccessLog", cctest.Subject("1"), "", ""), wire.CodeForbidden)
	}
	if raw := e.OK(e.SharingQ(e.Op, "AccessLog", cctest.Subject("none"), "", "")); string(raw) != `{"entries":[],"bookmark":""}` {
		t.Fatalf("empty log %s", raw)
	}
}

func TestCrossChannelFailures(t *testing.T) {
	e, s := setup(t)
	s.create(t, e, s.grant("g1", cctest.Civil, []string{cctest.BirthCert}, nil))
	// A sharing contract pointed at a channel without the dossier contract.
	c := sharing.New(sharing.Config{OperatorMSP: cctest.Operator, DossierChannel: "nowhere"})
	civil := &fakeledger.ClientIdentity{MSP: cctest.Civil, Cert: e.Civil.Cert}
	ctx := &fakeledger.Context{Stub: e.Net.NewStub(cctest.Datashare, e.Civil), Identity: civil}
	_, err := c.RecordAccess(ctx, "g1", "b1", "")
	if we, ok := err.(*wire.Error); !ok || we.Code != wire.CodeInternal {
		t.Fatalf("got %v", err)
	}
	doc := encode(t, s.grant("g2", cctest.Civil, []string{cctest.BirthCert}, nil))
	ctx = &fakeledger.Context{Stub: e.Net.NewStub(cctest.Datashare, e.Civil), Identity: civil}
	if _, err := c.CreateGrant(ctx, string(doc), s.sign(t, doc)); err == nil || err.(*wire.Error).Code != wire.CodeInternal {
		t.Fatalf("got %v", err)
	}
}

func TestDirectFailures(t *testing.T) {
	e, s := setup(t)
	s.create(t, e, s.grant("g1", cctest.Civil, []string{cctest.BirthCert}, nil))
	c := sharing.New(sharing.Config{OperatorMSP: cctest.Operator})
	code := func(err error) wire.Code {
		t.Helper()
		we, ok := err.(*wire.Error)
		if !ok {
			t.Fatalf("not a *wire.Error: %T %v", err, err)
		}
		return we.Code
	}
	failing := func(id *fakeledger.ClientIdentity) *fakeledger.Context {
		st := e.Net.NewStub(cctest.Datashare, e.Civil)
		st.FailState = true
		return &fakeledger.Context{Stub: st, Identity: id}
	}
	civil := &fakeledger.ClientIdentity{MSP: cctest.Civil, Cert: e.Civil.Cert}
	op := &fakeledger.ClientIdentity{MSP: cctest.Operator}
	if _, err := c.RecordAccess(failing(civil), "g1", "b1", ""); code(err) != wire.CodeInternal {
		t.Fatal("RecordAccess")
	}
	if _, err := c.GetGrant(failing(civil), "g1"); code(err) != wire.CodeInternal {
		t.Fatal("GetGrant")
	}
	if _, err := c.AccessLog(failing(op), cctest.Subject("1"), "", ""); code(err) != wire.CodeInternal {
		t.Fatal("AccessLog")
	}
	if _, err := c.ListGrants(failing(civil), cctest.Subject("1"), "", ""); code(err) != wire.CodeInternal {
		t.Fatal("ListGrants")
	}
	bindDoc := newSubject(t, cctest.Subject("5")).statement(t, e, wire.KeyBindKind, nil)
	if _, err := c.BindSubjectKey(failing(op), string(bindDoc), ""); code(err) != wire.CodeInternal {
		t.Fatal("BindSubjectKey")
	}
	doc := encode(t, s.grant("g2", cctest.Civil, []string{cctest.BirthCert}, nil))
	if _, err := c.CreateGrant(failing(civil), string(doc), s.sign(t, doc)); code(err) != wire.CodeInternal {
		t.Fatal("CreateGrant")
	}
	// Broken identity, and an identity without certificate or ID.
	ctx := &fakeledger.Context{Stub: e.Net.NewStub(cctest.Datashare, e.Civil), Identity: &fakeledger.ClientIdentity{Fail: true}}
	if _, err := c.RecordAccess(ctx, "g1", "b1", ""); code(err) != wire.CodeForbidden {
		t.Fatal("broken identity")
	}
	ctx = &fakeledger.Context{Stub: e.Net.NewStub(cctest.Datashare, e.Civil), Identity: &fakeledger.ClientIdentity{MSP: cctest.Civil}}
	if _, err := c.RecordAccess(ctx, "g1", "b1", ""); code(err) != wire.CodeForbidden {
		t.Fatal("identity without ID")
	}
	// Panic guard.
	if _, err := c.GetGrant(&fakeledger.Context{Identity: civil}, "g1"); code(err) != wire.CodeInternal {
		t.Fatal("panic not guarded")
	}
}
