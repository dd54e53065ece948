package sharing_test

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/edossier-city/edossier/chaincode/internal/cctest"
	"github.com/edossier-city/edossier/chaincode/internal/fakeledger"
	"github.com/edossier-city/edossier/chaincode/wire"
)

func consentInput(t *testing.T, e *cctest.Env, s *subject, grantee, grantID string, expires time.Duration) string {
	t.Helper()
	g := s.grant(grantID, grantee, []string{cctest.BirthCert}, nil)
	g.ValidFrom, g.ExpiresAt = wire.FormatTime(e.Net.Now), wire.FormatTime(e.Net.Now.Add(30*24*time.Hour))
	return cctest.JSON(t, wire.ConsentRequestInput{Grant: g, Reference: "app-2026-0042", ExpiresAt: wire.FormatTime(e.Net.Now.Add(expires))})
}

func declineDoc(t *testing.T, e *cctest.Env, s *subject, requestID string) []byte {
	t.Helper()
	nonceSeq++
	b, err := wire.Marshal(wire.ConsentDecline{Kind: wire.ConsentDeclineKind, RequestID: requestID, SubjectID: s.id,
		IssuedAt: wire.FormatTime(e.Net.Now), Nonce: fmt.Sprintf("nonce-%012d", nonceSeq)})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestConsentRequestApproved(t *testing.T) {
	e, s := setup(t)
	// Only an active department, for itself, for a bounded time.
	for _, c := range []struct {
		id   *fakeledger.Identity
		in   string
		want wire.Code
	}{
		{e.Outsider, consentInput(t, e, s, cctest.Outsider, "g-r0", 24*time.Hour), wire.CodeForbidden},
		{e.Civil, consentInput(t, e, s, cctest.Health, "g-r0", 24*time.Hour), wire.CodeForbidden},
		{e.Civil, consentInput(t, e, s, cctest.Civil, "g-r0", 31*24*time.Hour), wire.CodeInvalid},
		{e.Civil, consentInput(t, e, s, cctest.Civil, "g-r0", -time.Hour), wire.CodeInvalid},
		{e.Civil, strings.Replace(consentInput(t, e, s, cctest.Civil, "g-r0", time.Hour), `"app-2026-0042"`, `"李小明的申请"`, 1), wire.CodeInvalid},
	} {
		r := e.Sharing(c.id, "RequestConsent", c.in)
		if r.OK() || r.Err().Code != c.want || r.Writes != 0 {
			t.Fatalf("request by %s: %v, want %s", c.id.MSPID, r.Err(), c.want)
		}
	}
	req := cctest.Decode[wire.ConsentRequest](t, e.OK(e.Sharing(e.Civil, "RequestConsent", consentInput(t, e, s, cctest.Civil, "g-r1", 24*time.Hour))))
	if req.Status != wire.RequestPending || req.Requester != cctest.Civil || req.SubjectID != s.id {
		t.Fatalf("request %+v", req)
	}
	doc, _ := base64.StdEncoding.DecodeString(req.Document)
	// An altered grant (a longer expiry) is not the request.
	g := req.Grant
	g.ExpiresAt = wire.FormatTime(e.Net.Now.Add(365 * 24 * time.Hour))
	altered := encode(t, g)
	e.Code(e.Sharing(e.Op, "ApproveConsentRequest", req.RequestID, string(altered), s.sign(t, altered)), wire.CodeInvalid)
	e.Code(e.Sharing(e.Op, "ApproveConsentRequest", req.RequestID, string(doc), newSubject(t, s.id).sign(t, doc)), wire.CodeBadSignature)
	st := cctest.Decode[wire.GrantState](t, e.OK(e.Sharing(e.Op, "ApproveConsentRequest", req.RequestID, string(doc), s.sign(t, doc))))
	if st.GrantID != "g-r1" || st.Grantee != cctest.Civil || st.SignedBy != s.id {
		t.Fatalf("grant %+v", st)
	}
	e.Code(e.Sharing(e.Op, "ApproveConsentRequest", req.RequestID, string(doc), s.sign(t, doc)), wire.CodeConflict)
	// The department sees the outcome; another does not see the request at all.
	got := cctest.Decode[wire.ConsentRequest](t, e.OK(e.SharingQ(e.Civil, "GetConsentRequest", req.RequestID)))
	if got.Status != wire.RequestApproved || got.DecidedBy != "key:"+s.keyID(t) {
		t.Fatalf("outcome %+v", got)
	}
	e.Code(e.SharingQ(e.Health, "GetConsentRequest", req.RequestID), wire.CodeNotFound)
	list := cctest.Decode[[]wire.ConsentRequest](t, e.OK(e.SharingQ(e.Op, "ListConsentRequests", s.id)))
	if len(list) != 1 {
		t.Fatalf("list %+v", list)
	}
	e.Code(e.SharingQ(e.Civil, "ListConsentRequests", s.id), wire.CodeForbidden)
}

func TestConsentRequestDeclinedAndExpired(t *testing.T) {
	e, s := setup(t)
	req := cctest.Decode[wire.ConsentRequest](t, e.OK(e.Sharing(e.Civil, "RequestConsent", consentInput(t, e, s, cctest.Civil, "g-d1", 24*time.Hour))))
	stranger := newSubject(t, cctest.Subject("stranger"))
	stranger.bind(t, e)
	d := declineDoc(t, e, s, req.RequestID)
	e.Code(e.Sharing(e.Op, "DeclineConsentRequest", string(d), stranger.sign(t, d)), wire.CodeBadSignature)
	r := cctest.Decode[wire.ConsentRequest](t, e.OK(e.Sharing(e.Op, "DeclineConsentRequest", string(d), s.sign(t, d))))
	if r.Status != wire.RequestDeclined {
		t.Fatalf("declined %+v", r)
	}
	doc, _ := base64.StdEncoding.DecodeString(req.Document)
	e.Code(e.Sharing(e.Op, "ApproveConsentRequest", req.RequestID, string(doc), s.sign(t, doc)), wire.CodeConflict)

	// A request that lapsed cannot be approved.
	req2 := cctest.Decode[wire.ConsentRequest](t, e.OK(e.Sharing(e.Civil, "RequestConsent", consentInput(t, e, s, cctest.Civil, "g-d2", time.Hour))))
	e.Net.Advance(time.Hour)
	doc2, _ := base64.StdEncoding.DecodeString(req2.Document)
	e.Code(e.Sharing(e.Op, "ApproveConsentRequest", req2.RequestID, string(doc2), s.sign(t, doc2)), wire.CodeExpired)
	e.Code(e.Sharing(e.Op, "ApproveConsentRequest", "no-such", string(doc2), s.sign(t, doc2)), wire.CodeNotFound)
}

func TestMyConsentRequests(t *testing.T) {
	e, s := setup(t)
	other := newSubject(t, cctest.Subject("2"))
	other.bind(t, e)
	ask := func(id *fakeledger.Identity, who *subject, grantee, grantID string, open time.Duration) wire.ConsentRequest {
		t.Helper()
		e.Net.Advance(time.Second) // newest first
		return cctest.Decode[wire.ConsentRequest](t, e.OK(e.Sharing(id, "RequestConsent", consentInput(t, e, who, grantee, grantID, open))))
	}
	lapsing := ask(e.Civil, s, cctest.Civil, "g-m1", time.Hour)
	approved := ask(e.Civil, other, cctest.Civil, "g-m2", 24*time.Hour)
	declined := ask(e.Civil, s, cctest.Civil, "g-m3", 24*time.Hour)
	health := ask(e.Health, s, cctest.Health, "g-m4", 24*time.Hour)
	pending := ask(e.Civil, other, cctest.Civil, "g-m5", 24*time.Hour)
	doc, _ := base64.StdEncoding.DecodeString(approved.Document)
	e.OK(e.Sharing(e.Op, "ApproveConsentRequest", approved.RequestID, string(doc), other.sign(t, doc)))
	d := declineDoc(t, e, s, declined.RequestID)
	e.OK(e.Sharing(e.Op, "DeclineConsentRequest", string(d), s.sign(t, d)))
	e.Net.Advance(time.Hour)
	e.EndorserClock = nil

	ids := func(p wire.ConsentRequestPage) []string {
		var out []string
		for _, r := range p.Requests {
			out = append(out, r.RequestID)
		}
		return out
	}
	mine := func(id *fakeledger.Identity, status, size, bookmark string) wire.ConsentRequestPage {
		t.Helper()
		return cctest.Decode[wire.ConsentRequestPage](t, e.OK(e.SharingQ(id, "MyConsentRequests", status, size, bookmark)))
	}
	// Civil sees its four requests across both subjects, newest first, never health's.
	all := mine(e.Civil, "", "", "")
	if got, want := ids(all), []string{pending.RequestID, declined.RequestID, approved.RequestID, lapsing.RequestID}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("civil's requests %v, want %v", got, want)
	}
	if got := ids(mine(e.Health, "", "", "")); len(got) != 1 || got[0] != health.RequestID {
		t.Fatalf("health's requests %v", got)
	}
	for status, want := range map[string]string{
		wire.RequestPending: pending.RequestID, wire.RequestApproved: approved.RequestID,
		wire.RequestDeclined: declined.RequestID, wire.RequestExpired: lapsing.RequestID,
	} {
		if got := ids(mine(e.Civil, status, "", "")); len(got) != 1 || got[0] != want {
			t.Errorf("civil's %s requests %v, want %s", status, got, want)
		}
	}
	// Paged: one at a time, the bookmark walks all four.
	var walked []string
	bm := ""
	for i := 0; i < 10; i++ {
		p := mine(e.Civil, "", "1", bm)
		walked = append(walked, ids(p)...)
		if bm = p.Bookmark; bm == "" {
			break
		}
	}
	if fmt.Sprint(walked) != fmt.Sprint(ids(all)) {
		t.Fatalf("paged %v, want %v", walked, ids(all))
	}
	// Refused: not an active department, a bad filter, a bookmark of another query.
	e.Code(e.SharingQ(e.Outsider, "MyConsentRequests", "", "", ""), wire.CodeForbidden)
	e.Code(e.SharingQ(e.Civil, "MyConsentRequests", "lost", "", ""), wire.CodeInvalid)
	e.Code(e.SharingQ(e.Civil, "MyConsentRequests", "", "many", ""), wire.CodeInvalid)
	first := mine(e.Civil, "", "1", "")
	e.Code(e.SharingQ(e.Health, "MyConsentRequests", "", "1", first.Bookmark), wire.CodeInvalid)
}
