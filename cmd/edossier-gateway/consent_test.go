package main

import (
	"encoding/base64"
	"testing"
	"time"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
	"github.com/edossier-city/edossier/gateway/service"
)

// testConsentRequest: the social security bureau asks a citizen for access; the request
// appears to the citizen, who approves by signing exactly the requested grant (an
// altered document is refused); the bureau sees the outcome and reads under the grant.
// A second request is declined and can no longer be approved.
func testConsentRequest(t *testing.T, e *env, health, social string) {
	c := newCitizen(t, e.resolve(health, personID(71)))
	e.bindKey(c)
	r := e.appendRecord(health, c.subjectID, "birth-medical-certificate", "", []byte("%PDF consent request test"), "")
	expectStatus(t, r, 201)
	var rec recordResult
	r.json(t, &rec)
	now := time.Now().UTC().Truncate(time.Second)
	ask := func(grantID string) service.ConsentRequestResult {
		t.Helper()
		in := map[string]any{
			"grant": map[string]any{"grantId": grantID, "subjectId": c.subjectID, "grantee": "SocialSecurityMSP",
				"scope":   map[string]any{"recordTypes": []string{"birth-medical-certificate"}, "recordIds": []string{}},
				"purpose": "social-insurance-enrolment", "validFrom": wire.FormatTime(now.Add(-time.Minute)), "expiresAt": wire.FormatTime(now.Add(24 * time.Hour))},
			"reference": "app-2026-0071", "expiresAt": wire.FormatTime(now.Add(48 * time.Hour))}
		r := e.jsonCall("POST", "/v1/dossiers/"+c.subjectID+"/consent-requests", social, in)
		expectStatus(t, r, 201)
		var res service.ConsentRequestResult
		r.json(t, &res)
		return res
	}
	req := ask("g-consent-1")
	// The request appears to the citizen.
	r = e.do(e.signed(c, "GET", "/v1/dossiers/"+c.subjectID+"/consent-requests", nil, time.Now()))
	expectStatus(t, r, 200)
	var list struct {
		Requests []wire.ConsentRequest `json:"requests"`
	}
	r.json(t, &list)
	if len(list.Requests) != 1 || list.Requests[0].RequestID != req.Request.RequestID || list.Requests[0].Status != wire.RequestPending {
		t.Fatalf("requests %s", r.body)
	}
	// An altered grant (longer) is not what was asked: refused.
	g := req.Request.Grant
	g.ExpiresAt = wire.FormatTime(now.Add(365 * 24 * time.Hour))
	altered, _ := wire.EncodeGrant(g)
	asig, _ := wire.SignDocument(c.key, altered)
	approve := func(doc []byte, sig string) *response {
		return e.do(e.signed(c, "POST", "/v1/consent-requests/"+req.Request.RequestID+"/approve",
			map[string]string{"document": base64.StdEncoding.EncodeToString(doc), "signature": sig}, time.Now()))
	}
	expectProblem(t, approve(altered, asig), 400, gateway.CodeInvalid)
	doc, _ := base64.StdEncoding.DecodeString(req.Request.Document)
	sig, _ := wire.SignDocument(c.key, doc)
	expectStatus(t, approve(doc, sig), 201)
	// The department sees the outcome and reads under the grant.
	r = e.jsonCall("GET", "/v1/consent-requests/"+req.Request.RequestID, social, nil)
	expectStatus(t, r, 200)
	var outcome wire.ConsentRequest
	r.json(t, &outcome)
	if outcome.Status != wire.RequestApproved {
		t.Fatalf("outcome %s", r.body)
	}
	expectProblem(t, e.jsonCall("GET", "/v1/consent-requests/"+req.Request.RequestID, e.keys.Departments["civil"], nil), 404, gateway.CodeNotFound)
	r = e.jsonCall("GET", "/v1/records/"+rec.Record.RecordID+"/content?grantId=g-consent-1&purpose=social-insurance-enrolment", social, nil)
	expectStatus(t, r, 200)

	// Declined: no grant from it, ever.
	req2 := ask("g-consent-2")
	dec, _ := wire.Marshal(wire.ConsentDecline{Kind: wire.ConsentDeclineKind, RequestID: req2.Request.RequestID, SubjectID: c.subjectID,
		IssuedAt: wire.FormatTime(time.Now()), Nonce: "decline-nonce-00001"})
	dsig, _ := wire.SignDocument(c.key, dec)
	r = e.do(e.signed(c, "POST", "/v1/consent-requests/"+req2.Request.RequestID+"/decline",
		map[string]string{"document": base64.StdEncoding.EncodeToString(dec), "signature": dsig}, time.Now()))
	expectStatus(t, r, 200)
	doc2, _ := base64.StdEncoding.DecodeString(req2.Request.Document)
	sig2, _ := wire.SignDocument(c.key, doc2)
	r = e.do(e.signed(c, "POST", "/v1/consent-requests/"+req2.Request.RequestID+"/approve",
		map[string]string{"document": base64.StdEncoding.EncodeToString(doc2), "signature": sig2}, time.Now()))
	expectProblem(t, r, 409, gateway.CodeConflict)
	// A department cannot ask on another's behalf.
	in := map[string]any{"grant": map[string]any{"grantId": "g-consent-3", "subjectId": c.subjectID, "grantee": "HealthMSP",
		"scope": map[string]any{"recordTypes": []string{"birth-medical-certificate"}, "recordIds": []string{}}, "purpose": "social-insurance-enrolment",
		"validFrom": wire.FormatTime(now), "expiresAt": wire.FormatTime(now.Add(time.Hour))}, "reference": "app-x", "expiresAt": wire.FormatTime(now.Add(time.Hour))}
	expectProblem(t, e.jsonCall("POST", "/v1/dossiers/"+c.subjectID+"/consent-requests", social, in), 403, gateway.CodeForbidden)
	// A department lists its own requests to the subject with their outcome, and
	// nothing of another department's.
	for key, want := range map[string]int{social: 2, health: 0} {
		r = e.jsonCall("GET", "/v1/dossiers/"+c.subjectID+"/consent-requests", key, nil)
		expectStatus(t, r, 200)
		var own struct {
			Requests []wire.ConsentRequest `json:"requests"`
		}
		r.json(t, &own)
		if len(own.Requests) != want {
			t.Fatalf("department sees %d requests, want %d: %s", len(own.Requests), want, r.body)
		}
		for _, q := range own.Requests {
			if q.Requester != "SocialSecurityMSP" || (q.Status != wire.RequestApproved && q.Status != wire.RequestDeclined) {
				t.Fatalf("listed %+v", q)
			}
		}
	}
	testSentRequests(t, e, c, health, social, req.Request.RequestID, req2.Request.RequestID)
}

// sentRequests walks every page of GET /v1/consent-requests for key (pageSize 2).
func sentRequests(t *testing.T, e *env, key, status string) (ids map[string]wire.ConsentRequest, firstBookmark string) {
	t.Helper()
	ids = map[string]wire.ConsentRequest{}
	bm := ""
	for i := 0; i < 500; i++ {
		q := "/v1/consent-requests?pageSize=2&status=" + status
		if bm != "" {
			q += "&bookmark=" + bm
		}
		r := e.jsonCall("GET", q, key, nil)
		expectStatus(t, r, 200)
		var page wire.ConsentRequestPage
		r.json(t, &page)
		for _, x := range page.Requests {
			ids[x.RequestID] = x
		}
		if i == 0 {
			firstBookmark = page.Bookmark
		}
		if bm = page.Bookmark; bm == "" {
			return ids, firstBookmark
		}
	}
	t.Fatal("the listing never ends")
	return nil, ""
}

// testSentRequests: a department lists its own requests across subjects from the
// ledger's requester index, paged and filtered by status; it never sees another
// department's; a citizen or a foreign bookmark is refused.
func testSentRequests(t *testing.T, e *env, c *citizen, health, social, approved, declined string) {
	// A second subject, so the list spans subjects.
	other := e.resolve(health, personID(72))
	now := time.Now().UTC().Truncate(time.Second)
	in := map[string]any{"grant": map[string]any{"grantId": "g-consent-sent", "subjectId": other, "grantee": "SocialSecurityMSP",
		"scope": map[string]any{"recordTypes": []string{"birth-medical-certificate"}, "recordIds": []string{}}, "purpose": "social-insurance-enrolment",
		"validFrom": wire.FormatTime(now), "expiresAt": wire.FormatTime(now.Add(time.Hour))}, "reference": "app-2026-0072", "expiresAt": wire.FormatTime(now.Add(time.Hour))}
	r := e.jsonCall("POST", "/v1/dossiers/"+other+"/consent-requests", social, in)
	expectStatus(t, r, 201)
	var pending service.ConsentRequestResult
	r.json(t, &pending)

	all, bm := sentRequests(t, e, social, "")
	for _, id := range []string{approved, declined, pending.Request.RequestID} {
		if _, ok := all[id]; !ok {
			t.Fatalf("social's requests lack %s: %d listed", id, len(all))
		}
	}
	for _, q := range all {
		if q.Requester != "SocialSecurityMSP" {
			t.Fatalf("social lists a request of %s", q.Requester)
		}
	}
	theirs, _ := sentRequests(t, e, health, "")
	for id, q := range theirs {
		if q.Requester != "HealthMSP" || id == approved || id == declined || id == pending.Request.RequestID {
			t.Fatalf("health lists %+v", q)
		}
	}
	for status, want := range map[string]string{wire.RequestApproved: approved, wire.RequestDeclined: declined, wire.RequestPending: pending.Request.RequestID} {
		got, _ := sentRequests(t, e, social, status)
		if _, ok := got[want]; !ok {
			t.Fatalf("social's %s requests lack %s", status, want)
		}
		for _, q := range got {
			if q.Status != status {
				t.Fatalf("%s list holds %+v", status, q)
			}
		}
	}
	expectProblem(t, e.jsonCall("GET", "/v1/consent-requests?status=lost", social, nil), 400, gateway.CodeInvalid)
	if bm != "" {
		expectProblem(t, e.jsonCall("GET", "/v1/consent-requests?pageSize=2&bookmark="+bm, health, nil), 400, gateway.CodeInvalid)
	}
	expectProblem(t, e.do(e.signed(c, "GET", "/v1/consent-requests", nil, time.Now())), 403, gateway.CodeForbidden)
	expectProblem(t, e.jsonCall("GET", "/v1/consent-requests", "", nil), 401, gateway.CodeUnauthorized)
}

// testMatterConsent: the newborn matter through the REST API. Civil affairs asks for
// the matter by its code (the gateway fills in the current version's parts); the
// parent, as guardian, approves; each department reads within its own part only; the
// access log grouped by grant names the part of each read; an unknown matter version
// and a bad groupBy are refused and change nothing; one revocation ends every part.
func testMatterConsent(t *testing.T, e *env, health, civil, social string) {
	police := e.keys.Departments["police"]
	parent := newCitizen(t, e.resolve(health, personID(81)))
	e.bindKey(parent)
	baby := e.resolve(health, personID(82))
	now := time.Now().UTC().Truncate(time.Second)
	st := wire.DelegationStatement{Kind: wire.DelegationKind, SubjectID: baby, DelegateID: parent.subjectID, Relation: wire.RelationGuardian,
		EndsAt: wire.FormatTime(now.Add(18 * 365 * 24 * time.Hour)), IssuedAt: wire.FormatTime(now), Nonce: "matter-guardian-0001"}
	sdoc, _ := wire.Marshal(st)
	ssig, _ := wire.SignDocument(parent.key, sdoc)
	expectStatus(t, e.jsonCall("POST", "/v1/delegations", police, map[string]string{"document": base64.StdEncoding.EncodeToString(sdoc), "signature": ssig}), 201)
	r := e.appendRecord(health, baby, "birth-medical-certificate", "", []byte("%PDF birth of the matter test"), "")
	expectStatus(t, r, 201)
	var birth recordResult
	r.json(t, &birth)

	ask := func(version int) *response {
		return e.jsonCall("POST", "/v1/dossiers/"+baby+"/consent-requests", civil, map[string]any{
			"grant": map[string]any{"grantId": "g-matter-rest", "matter": map[string]any{"code": "newborn", "version": version},
				"validFrom": wire.FormatTime(now.Add(-time.Minute)), "expiresAt": wire.FormatTime(now.Add(24 * time.Hour))},
			"reference": "nb-rest-0082", "expiresAt": wire.FormatTime(now.Add(48 * time.Hour))})
	}
	before := e.snapshot()
	expectProblem(t, ask(99), 422, gateway.CodeUnknownMatter)
	expectProblem(t, e.do(e.signed(parent, "GET", "/v1/dossiers/"+baby+"/access-log?groupBy=org", nil, time.Now())), 400, gateway.CodeInvalid)
	if after := e.snapshot(); after != before {
		t.Fatalf("refused requests changed the ledger: %+v -> %+v", before, after)
	}
	r = ask(0)
	expectStatus(t, r, 201)
	var req service.ConsentRequestResult
	r.json(t, &req)
	if req.Request.Grant.Matter == nil || len(req.Request.Grant.Parts) != 4 {
		t.Fatalf("matter request %s", r.body)
	}
	doc, _ := base64.StdEncoding.DecodeString(req.Request.Document)
	sig, _ := wire.SignDocument(parent.key, doc)
	expectStatus(t, e.do(e.signed(parent, "POST", "/v1/consent-requests/"+req.Request.RequestID+"/approve",
		map[string]string{"document": base64.StdEncoding.EncodeToString(doc), "signature": sig}, time.Now())), 201)

	read := func(key, purpose string) *response {
		return e.jsonCall("GET", "/v1/records/"+birth.Record.RecordID+"/content?grantId=g-matter-rest&purpose="+purpose, key, nil)
	}
	expectStatus(t, read(police, "household-registration"), 200)
	expectStatus(t, read(social, "social-insurance-enrolment"), 200)
	// Health's part is the household register: the birth certificate (which four other
	// parts cover) is out of its part.
	expectProblem(t, read(health, "child-health-record"), 403, gateway.CodeOutOfScope)

	r = e.do(e.signed(parent, "GET", "/v1/dossiers/"+baby+"/access-log?groupBy=grant", nil, time.Now()))
	expectStatus(t, r, 200)
	var groups service.AccessGroups
	r.json(t, &groups)
	if len(groups.Groups) != 1 || groups.Groups[0].GrantID != "g-matter-rest" || groups.Groups[0].Matter == nil || len(groups.Groups[0].Entries) < 2 {
		t.Fatalf("access log by grant %s", r.body)
	}
	parts := map[int]bool{}
	for _, en := range groups.Groups[0].Entries {
		parts[en.Part] = true
	}
	if !parts[3] || !parts[4] { // PublicSecurityMSP and SocialSecurityMSP: parts 3 and 4
		t.Fatalf("parts used %v in %s", parts, r.body)
	}

	rev, _ := wire.EncodeRevocation(wire.Revocation{Kind: wire.RevocationKind, GrantID: "g-matter-rest", SubjectID: baby, IssuedAt: wire.FormatTime(time.Now())})
	rsig, _ := wire.SignDocument(parent.key, rev)
	expectStatus(t, e.do(e.signed(parent, "POST", "/v1/grants/g-matter-rest/revoke",
		map[string]string{"revocation": base64.StdEncoding.EncodeToString(rev), "signature": rsig}, time.Now())), 200)
	expectProblem(t, read(police, "household-registration"), 403, gateway.CodeRevoked)
	expectProblem(t, read(social, "social-insurance-enrolment"), 403, gateway.CodeRevoked)
}
