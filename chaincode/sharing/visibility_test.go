package sharing_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/edossier-city/edossier/chaincode/internal/cctest"
	"github.com/edossier-city/edossier/chaincode/internal/fakeledger"
	"github.com/edossier-city/edossier/chaincode/wire"
)

// Who sees record metadata on the dossier contract (evaluated directly, as any
// channel member can with fabric-gateway): setup's records of p-1 are b1, m1
// (Health) and l1 (Civil).

// listIDs pages through ListDossier as id and returns the record IDs and the
// bookmarks.
func listIDs(t *testing.T, e *cctest.Env, id *fakeledger.Identity, subject, typ, size string) ([]string, []string) {
	t.Helper()
	var ids, bms []string
	bm := ""
	for i := 0; i < 100; i++ {
		p := cctest.Decode[wire.RecordPage](t, e.OK(e.DossierQ(id, "ListDossier", subject, typ, size, bm)))
		for _, r := range p.Records {
			ids = append(ids, r.RecordID)
		}
		if p.Bookmark == "" {
			return ids, bms
		}
		bms = append(bms, p.Bookmark)
		bm = p.Bookmark
	}
	t.Fatal("too many pages")
	return nil, nil
}

// sees reports what GetRecord and GetRecordHistory answer id for recordID:
// both succeed or both fail with not_found.
func sees(t *testing.T, e *cctest.Env, id *fakeledger.Identity, recordID string) bool {
	t.Helper()
	g := e.DossierQ(id, "GetRecord", recordID)
	h := e.DossierQ(id, "GetRecordHistory", recordID)
	if g.OK() != h.OK() {
		t.Fatalf("GetRecord %v and GetRecordHistory %v disagree for %s", g.OK(), h.OK(), recordID)
	}
	if !g.OK() {
		e.Code(g, wire.CodeNotFound)
		e.Code(h, wire.CodeNotFound)
	}
	return g.OK()
}

func TestMetadataVisibility(t *testing.T) {
	e, s := setup(t)
	p1 := cctest.Subject("1")
	all := "b1,l1,m1"
	check := func(what string, id *fakeledger.Identity, want string) {
		t.Helper()
		ids, _ := listIDs(t, e, id, p1, "", "")
		if got := strings.Join(ids, ","); got != want {
			t.Fatalf("%s lists %q, want %q", what, got, want)
		}
		var seen []string
		for _, r := range []string{"b1", "l1", "m1"} {
			if sees(t, e, id, r) {
				seen = append(seen, r)
			}
		}
		if got := strings.Join(seen, ","); got != want {
			t.Fatalf("%s gets %q, want %q", what, got, want)
		}
	}
	// No grant yet: the operator all, each issuer its own, others nothing.
	check("operator", e.Op, all)
	check("health (issuer)", e.Health, "b1,m1")
	check("civil (issuer)", e.Civil, "l1")
	check("outsider", e.Outsider, "")
	check("authority", e.Authority, "")

	// A live grant to the authority covering birth certificates and m1 by ID.
	s.create(t, e, s.grant("g-auth", cctest.Authority, []string{cctest.BirthCert}, []string{"m1"}))
	check("grantee (live)", e.Authority, "b1,m1")
	check("outsider with another's grant", e.Outsider, "")
	check("civil (its own only)", e.Civil, "l1")
	// Type filter: the same rule.
	if ids, _ := listIDs(t, e, e.Authority, p1, cctest.Marriage, ""); strings.Join(ids, ",") != "m1" {
		t.Fatalf("filtered %v", ids)
	}
	if ids, _ := listIDs(t, e, e.Authority, p1, cctest.Licence, ""); len(ids) != 0 {
		t.Fatalf("out of scope type %v", ids)
	}
	// Another subject's records are out of the grant's scope.
	if sees(t, e, e.Authority, "b2") {
		t.Fatal("grant of p-1 shows a record of p-2")
	}

	// Not yet valid: a grant starting tomorrow shows nothing yet.
	g := s.grant("g-civil-later", cctest.Civil, []string{cctest.BirthCert}, nil)
	g.ValidFrom = "2025-03-02T08:00:00Z"
	s.create(t, e, g)
	check("civil, grant not yet valid", e.Civil, "l1")

	// Revoked: nothing any more.
	doc := s.revocation(t, "g-auth")
	e.OK(e.Sharing(e.Civil, "RevokeGrant", string(doc), s.sign(t, doc)))
	check("grantee (revoked)", e.Authority, "")

	// Expired: the grants to Civil end at 2025-04-01.
	s.create(t, e, s.grant("g-civil-m", cctest.Civil, []string{cctest.Marriage}, nil))
	check("civil with a live grant", e.Civil, "l1,m1")
	e.Net.Now = time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC)
	check("civil (grants expired)", e.Civil, "l1")
	e.Net.Now = time.Date(2025, 3, 2, 9, 0, 0, 0, time.UTC)
	check("civil, both grants live", e.Civil, all)
	check("operator", e.Op, all)
}

// A missing record and an invisible one give byte-identical errors.
func TestInvisibleIsMissing(t *testing.T) {
	e, _ := setup(t)
	before := map[string]string{}
	for _, fn := range []string{"GetRecord", "GetRecordHistory"} {
		r := e.DossierQ(e.Civil, fn, "r-secret")
		before[fn] = fmt.Sprintf("%d %q %q", r.Status, r.Message, r.Payload)
	}
	e.Append(e.Health, cctest.Req("r-secret", cctest.Subject("1"), cctest.BirthCert))
	for _, fn := range []string{"GetRecord", "GetRecordHistory"} {
		// The same ID before it existed and now that it exists but is invisible.
		r := e.DossierQ(e.Civil, fn, "r-secret")
		if after := fmt.Sprintf("%d %q %q", r.Status, r.Message, r.Payload); after != before[fn] {
			t.Fatalf("%s: missing %s, invisible %s", fn, before[fn], after)
		}
		hidden := e.DossierQ(e.Civil, fn, "r-secret")
		missing := e.DossierQ(e.Civil, fn, "r-secreu")
		hm := strings.Replace(hidden.Message, "r-secret", "r-secreu", 1)
		if hidden.OK() || missing.OK() || hidden.Status != missing.Status || hm != missing.Message || !bytes.Equal(hidden.Payload, missing.Payload) {
			t.Fatalf("%s: invisible %d %q, missing %d %q", fn, hidden.Status, hidden.Message, missing.Status, missing.Message)
		}
		e.Code(hidden, wire.CodeNotFound)
	}
}

// FindByCID stays open but names the subject only to the operator and the
// issuer.
func TestFindByCIDWithholdsSubject(t *testing.T) {
	e, _ := setup(t)
	cid := cctest.FileCID("content:b1")
	for _, c := range []struct {
		id   *fakeledger.Identity
		want string
	}{{e.Op, cctest.Subject("1")}, {e.Health, cctest.Subject("1")}, {e.Civil, ""}, {e.Outsider, ""}} {
		recs := cctest.Decode[[]wire.Record](t, e.OK(e.DossierQ(c.id, "FindByCID", cid)))
		if len(recs) != 1 || recs[0].RecordID != "b1" || recs[0].SubjectID != c.want || recs[0].Issuer != cctest.Health {
			t.Fatalf("%s: %+v", c.id.MSPID, recs)
		}
	}
	// The sharing contract still sees the subject: an ownership check finds it.
	en := cctest.Decode[wire.AccessEntry](t, e.OK(e.Sharing(e.Civil, "RecordOwnershipCheck", cctest.Subject("1"), cid, "")))
	if en.Result != wire.OwnershipInDossier || en.RecordID != "b1" {
		t.Fatalf("ownership %+v", en)
	}
}

// Bookmarks never name a record the caller cannot see, and paging a partial
// view returns exactly the visible records.
func TestBookmarksNameVisibleRecordsOnly(t *testing.T) {
	e, s := setup(t)
	p1 := cctest.Subject("1")
	// Interleave: Health's birth certificates x0..x9, Civil's licences.
	for _, id := range []string{"x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9"} {
		e.Append(e.Health, cctest.Req(id, p1, cctest.BirthCert))
	}
	for _, id := range []string{"k1", "k2", "k3"} {
		e.Append(e.Civil, cctest.Req(id, p1, cctest.Licence))
	}
	// Civil may also see two birth certificates by ID.
	s.create(t, e, s.grant("g-ids", cctest.Civil, nil, []string{"x3", "x8"}))
	visible := map[string]bool{"x3": true, "x8": true, "l1": true, "k1": true, "k2": true, "k3": true}
	for _, size := range []string{"1", "2", "3", ""} {
		ids, bms := listIDs(t, e, e.Civil, p1, "", size)
		if got := strings.Join(ids, ","); got != "x3,x8,k1,k2,k3,l1" {
			t.Fatalf("size %s: %s", size, got)
		}
		for _, bm := range bms {
			_, attrs, err := splitKey(bm)
			if err != nil || len(attrs) != 3 || attrs[0] != p1 || !visible[attrs[2]] {
				t.Fatalf("size %s: bookmark %q names %v", size, bm, attrs)
			}
		}
		// A page that is full and followed by nothing visible has no bookmark.
		if size == "" && len(bms) != 0 {
			t.Fatalf("one page expected, bookmarks %q", bms)
		}
	}
	// The operator pages everything; a department's bookmark does not widen its view.
	ids, _ := listIDs(t, e, e.Op, p1, "", "4")
	if len(ids) != 16 {
		t.Fatalf("operator sees %d", len(ids))
	}
	opFirst := cctest.Decode[wire.RecordPage](t, e.OK(e.DossierQ(e.Op, "ListDossier", p1, "", "1", "")))
	p := cctest.Decode[wire.RecordPage](t, e.OK(e.DossierQ(e.Civil, "ListDossier", p1, "", "50", opFirst.Bookmark)))
	for _, r := range p.Records {
		if !visible[r.RecordID] {
			t.Fatalf("bookmark of another caller shows %s", r.RecordID)
		}
	}
	// Outsider: nothing and no bookmark.
	if ids, bms := listIDs(t, e, e.Outsider, p1, "", "1"); len(ids) != 0 || len(bms) != 0 {
		t.Fatalf("outsider %v %v", ids, bms)
	}
}

func splitKey(k string) (string, []string, error) {
	if len(k) < 2 || k[0] != 0 || k[len(k)-1] != 0 {
		return "", nil, errBadKey
	}
	parts := strings.Split(k[1:len(k)-1], "\x00")
	return parts[0], parts[1:], nil
}

var errBadKey = &wire.Error{Code: wire.CodeInvalid, Message: "not a composite key"}

// A department's scan reads at most dossier.MaxListScan index entries per
// call: past a longer run of records it may not see, the page ends (with the
// bookmark of its last record, or empty and without one); a type filter
// reaches the rest.
func TestListScanBudget(t *testing.T) {
	e, s := setup(t)
	p1 := cctest.Subject("1")
	for b := 0; b < 2; b++ {
		var batch wire.AppendBatch
		for i := 0; i < 600; i++ {
			batch.Records = append(batch.Records, cctest.Req(fmt.Sprintf("a%d%03d", b, i), p1, cctest.BirthCert))
		}
		e.OK(e.Dossier(e.Health, "AppendRecords", cctest.JSON(t, batch)))
	}
	// Civil sees a0000 (by ID), then 1199 invisible birth certificates, then l1.
	s.create(t, e, s.grant("g-first", cctest.Civil, nil, []string{"a0000"}))
	p := cctest.Decode[wire.RecordPage](t, e.OK(e.DossierQ(e.Civil, "ListDossier", p1, "", "5", "")))
	if len(p.Records) != 1 || p.Records[0].RecordID != "a0000" || !strings.Contains(p.Bookmark, "a0000") {
		t.Fatalf("first page %+v", p)
	}
	p = cctest.Decode[wire.RecordPage](t, e.OK(e.DossierQ(e.Civil, "ListDossier", p1, "", "5", p.Bookmark)))
	if len(p.Records) != 0 || p.Bookmark != "" {
		t.Fatalf("budget page %+v", p)
	}
	if ids, _ := listIDs(t, e, e.Civil, p1, cctest.Licence, ""); strings.Join(ids, ",") != "l1" {
		t.Fatalf("filtered %v", ids)
	}
	// The operator is not limited.
	if ids, _ := listIDs(t, e, e.Op, p1, "", "200"); len(ids) != 1203 {
		t.Fatalf("operator lists %d", len(ids))
	}
}
