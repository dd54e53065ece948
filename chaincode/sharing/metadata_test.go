package sharing_test

import (
	"strings"
	"testing"
	"time"

	"github.com/edossier-city/edossier/chaincode/internal/cctest"
	"github.com/edossier-city/edossier/chaincode/internal/fakeledger"
	"github.com/edossier-city/edossier/chaincode/wire"
)

func TestCoveringGrants(t *testing.T) {
	e, s := setup(t)
	p1 := cctest.Subject("1")
	s.create(t, e, s.grant("g1", cctest.Civil, []string{cctest.BirthCert}, nil))
	s.create(t, e, s.grant("g2", cctest.Health, []string{cctest.Licence}, nil))
	later := s.grant("g3", cctest.Civil, []string{cctest.Marriage}, nil)
	later.ValidFrom = "2025-03-05T00:00:00Z"
	s.create(t, e, later)
	got := cctest.Decode[[]wire.GrantState](t, e.OK(e.SharingQ(e.Civil, "CoveringGrants", p1)))
	if len(got) != 1 || got[0].GrantID != "g1" {
		t.Fatalf("civil's live grants %+v", got)
	}
	if raw := e.OK(e.SharingQ(e.Outsider, "CoveringGrants", p1)); string(raw) != "[]" {
		t.Fatalf("outsider %s", raw)
	}
	e.Net.Now = time.Date(2025, 3, 6, 0, 0, 0, 0, time.UTC)
	if got := cctest.Decode[[]wire.GrantState](t, e.OK(e.SharingQ(e.Civil, "CoveringGrants", p1))); len(got) != 2 {
		t.Fatalf("after validFrom %+v", got)
	}
	e.Code(e.SharingQ(e.Civil, "CoveringGrants", "110101202611201235"), wire.CodeInvalid)
}

func TestRecordMetadataAccess(t *testing.T) {
	e, s := setup(t)
	p1 := cctest.Subject("1")
	s.create(t, e, s.grant("g1", cctest.Civil, []string{cctest.BirthCert}, []string{"m1"}))
	e.Net.Advance(time.Second)
	r := e.OK2(e.Sharing(e.Civil, "RecordMetadataAccess", p1, `["b1","m1"]`, wire.MetadataList))
	entries := cctest.Decode[[]wire.AccessEntry](t, r.Payload)
	if len(entries) != 2 || r.Writes != 2 {
		t.Fatalf("entries %+v, %d writes", entries, r.Writes)
	}
	for i, en := range entries {
		if en.Kind != wire.AccessMetadata || en.Action != wire.MetadataList || en.Org != cctest.Civil || en.User != "clerk.civil" ||
			en.GrantID != "g1" || en.Purpose != cctest.PurposeOneThing || en.TxID != r.TxID || en.EntryID == en.TxID ||
			en.RecordID != []string{"b1", "m1"}[i] {
			t.Fatalf("entry %d %+v", i, en)
		}
	}
	if r.Event == nil || r.Event.Name != wire.EventAccessRecorded || !strings.Contains(string(r.Event.Payload), `"kind":"metadata"`) {
		t.Fatalf("event %+v", r.Event)
	}
	e.Net.Advance(time.Second)
	e.OK(e.Sharing(e.Civil, "RecordMetadataAccess", p1, `["b1"]`, wire.MetadataGet))
	e.Net.Advance(time.Second)
	e.OK(e.Sharing(e.Civil, "RecordMetadataAccess", p1, `["m1"]`, wire.MetadataHistory))
	log := cctest.Decode[wire.AccessPage](t, e.OK(e.SharingQ(e.Op, "AccessLog", p1, "", "")))
	var acts []string
	for _, en := range log.Entries {
		acts = append(acts, en.Action+":"+en.RecordID)
	}
	if got := strings.Join(acts, ","); got != "history:m1,get:b1,list:b1,list:m1" {
		t.Fatalf("log %s", got)
	}

	// Refusals write nothing.
	for _, c := range []struct {
		who          string
		subject, ids string
		action       string
		code         wire.Code
	}{
		{"civil", p1, `["l2"]`, wire.MetadataGet, wire.CodeNotFound},         // no such record
		{"civil", p1, `["b2"]`, wire.MetadataGet, wire.CodeNotFound},         // another subject's record
		{"civil", p1, `["l1"]`, wire.MetadataGet, wire.CodeOutOfScope},       // its own record: no grant covers it
		{"civil", p1, `["b1","l1"]`, wire.MetadataList, wire.CodeOutOfScope}, // one uncovered: all refused
		{"civil", p1, `["b1","m1"]`, wire.MetadataGet, wire.CodeInvalid},     // get names one record
		{"civil", p1, `["b1","b1"]`, wire.MetadataList, wire.CodeInvalid},
		{"civil", p1, `[]`, wire.MetadataList, wire.CodeInvalid},
		{"civil", p1, `"b1"`, wire.MetadataList, wire.CodeInvalid},
		{"civil", p1, `["bad id"]`, wire.MetadataList, wire.CodeInvalid},
		{"civil", p1, `["b1"]`, "content", wire.CodeInvalid},
		{"civil", "110101202611201235", `["b1"]`, wire.MetadataGet, wire.CodeInvalid},
		{"health", p1, `["b1"]`, wire.MetadataGet, wire.CodeOutOfScope},  // no grant for health
		{"outsider", p1, `["b1"]`, wire.MetadataGet, wire.CodeForbidden}, // not a department
		{"op", p1, `["b1"]`, wire.MetadataGet, wire.CodeForbidden},
	} {
		id := map[string]*fakeledger.Identity{"civil": e.Civil, "health": e.Health, "outsider": e.Outsider, "op": e.Op}[c.who]
		e.Code(e.Sharing(id, "RecordMetadataAccess", c.subject, c.ids, c.action), c.code)
	}
	// Revoked, expired: out of scope.
	doc := s.revocation(t, "g1")
	e.OK(e.Sharing(e.Civil, "RevokeGrant", string(doc), s.sign(t, doc)))
	e.Code(e.Sharing(e.Civil, "RecordMetadataAccess", p1, `["b1"]`, wire.MetadataGet), wire.CodeOutOfScope)
	s.create(t, e, s.grant("g2", cctest.Civil, []string{cctest.BirthCert}, nil))
	e.OK(e.Sharing(e.Civil, "RecordMetadataAccess", p1, `["b1"]`, wire.MetadataGet))
	e.Net.Now = time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC)
	e.Code(e.Sharing(e.Civil, "RecordMetadataAccess", p1, `["b1"]`, wire.MetadataGet), wire.CodeOutOfScope)
}
