package main

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"testing"
	"time"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
	"github.com/edossier-city/edossier/gateway/api"
	"github.com/edossier-city/edossier/gateway/httpsig"
	"github.com/edossier-city/edossier/gateway/service"
)

// testGuardian: a newborn has no key; the public security bureau's counter attests
// that the parent is its guardian until its 18th birthday (the parent's signed
// statement, the bureau's transaction). The parent then grants for the baby with the
// parent's own key; the grant says who signed; the parent reads the baby's access log;
// nobody else can; after the parent ends the relation, its key signs nothing more.
func testGuardian(t *testing.T, e *env, health, social string) {
	parent := newCitizen(t, e.resolve(health, personID(61)))
	e.bindKey(parent)
	baby := e.resolve(health, personID(62))
	stranger := newCitizen(t, e.resolve(health, personID(63)))
	e.bindKey(stranger)
	file := []byte("%PDF birth of the guardian test")
	r := e.appendRecord(health, baby, "birth-medical-certificate", "", file, "")
	expectStatus(t, r, 201)
	var rec service.RecordResult
	r.json(t, &rec)

	now := time.Now()
	st := wire.DelegationStatement{Kind: wire.DelegationKind, SubjectID: baby, DelegateID: parent.subjectID,
		Relation: wire.RelationGuardian, EndsAt: wire.FormatTime(now.Add(18 * 365 * 24 * time.Hour)),
		IssuedAt: wire.FormatTime(now), Nonce: "guardian-nonce-0001"}
	doc, err := wire.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	sig, _ := wire.SignDocument(parent.key, doc)
	body := map[string]string{"document": base64.StdEncoding.EncodeToString(doc), "signature": sig}
	before := e.snapshot()
	expectProblem(t, e.jsonCall("POST", "/v1/delegations", e.keys.Operator, body), 403, gateway.CodeForbidden)
	expectProblem(t, e.jsonCall("POST", "/v1/delegations", health, body), 403, gateway.CodeForbidden)
	if after := e.snapshot(); after != before {
		t.Fatalf("refused delegations changed the ledger: %+v -> %+v", before, after)
	}
	r = e.jsonCall("POST", "/v1/delegations", e.keys.Departments["police"], body)
	expectStatus(t, r, 201)
	var d service.DelegationResult
	r.json(t, &d)

	grant := func(signer *citizen, id string) *response {
		return e.do(e.signed(signer, "POST", "/v1/dossiers/"+baby+"/grants",
			signer.grantFor(t, baby, id, "SocialSecurityMSP", "social-insurance-enrolment", []string{"birth-medical-certificate"}, now.Add(-time.Minute), now.Add(time.Hour)), time.Now()))
	}
	r = grant(parent, "g-guardian-1")
	expectStatus(t, r, 201)
	var g service.GrantResult
	r.json(t, &g)
	if g.Grant.SignedBy != parent.subjectID || g.Grant.SubjectID != baby {
		t.Fatalf("grant %s", r.body)
	}
	expectProblem(t, grant(stranger, "g-stranger-1"), 403, gateway.CodeForbidden)
	expectStatus(t, e.do(e.signed(parent, "GET", "/v1/dossiers/"+baby+"/access-log", nil, time.Now())), 200)
	expectProblem(t, e.do(e.signed(stranger, "GET", "/v1/dossiers/"+baby+"/access-log", nil, time.Now())), 403, gateway.CodeForbidden)
	r = e.do(e.signed(parent, "GET", "/v1/dossiers/"+baby+"/delegations", nil, time.Now()))
	expectStatus(t, r, 200)
	testDelegateReads(t, e, parent, stranger, baby, d.Delegation.DelegationID, rec.Record.RecordID, file)

	// The parent ends the relation; from then on its key signs nothing for the baby.
	rev, _ := wire.Marshal(wire.DelegationRevocation{Kind: wire.DelegationRevocationKind, SubjectID: baby,
		DelegationID: d.Delegation.DelegationID, IssuedAt: wire.FormatTime(time.Now()), Nonce: "guardian-nonce-0002"})
	rsig, _ := wire.SignDocument(parent.key, rev)
	r = e.do(e.signed(parent, "POST", "/v1/dossiers/"+baby+"/delegations/"+d.Delegation.DelegationID+"/revoke",
		map[string]string{"document": base64.StdEncoding.EncodeToString(rev), "signature": rsig}, time.Now()))
	expectStatus(t, r, 200)
	expectProblem(t, grant(parent, "g-guardian-2"), 403, gateway.CodeForbidden)
	// Its reads end with it: the chaincode refuses the statement (revoked).
	expectProblem(t, e.do(delegateRead(t, e, parent, parent, baby, d.Delegation.DelegationID, wire.SelfList, "")), 403, gateway.CodeRevoked)
}

// delegateRead is signer's signed request, as delegate of subject under delegationID,
// carrying a read statement signed by by's key.
func delegateRead(t *testing.T, e *env, signer, by *citizen, subject, delegationID, action, recordID string) *http.Request {
	t.Helper()
	nonce, _ := httpsig.NewNonce()
	doc, err := wire.Marshal(wire.DelegateRead{Kind: wire.DelegateReadKind, SubjectID: subject, DelegateID: signer.subjectID, DelegationID: delegationID,
		Action: action, RecordID: recordID, IssuedAt: wire.FormatTime(time.Now()), Nonce: nonce})
	if err != nil {
		t.Fatal(err)
	}
	sig, _ := wire.SignDocument(by.key, doc)
	path := "/v1/dossiers/" + subject + "/records"
	if action == wire.SelfContent {
		path = "/v1/records/" + recordID + "/content"
	}
	req := e.signed(signer, "GET", path, nil, time.Now())
	req.Header.Set(api.HeaderDelegateRead, base64.StdEncoding.EncodeToString(doc))
	req.Header.Set(api.HeaderDelegateSignature, sig)
	return req
}

// testDelegateReads: the guardian lists the baby's dossier and downloads its file, each
// read signed with the guardian's key and logged in the baby's log as the guardian's
// (kind delegate, naming the delegation); a stranger, a stranger's key, a missing
// statement or a statement for another read are refused and change nothing.
func testDelegateReads(t *testing.T, e *env, parent, stranger *citizen, baby, delegationID, recordID string, file []byte) {
	r := e.do(delegateRead(t, e, parent, parent, baby, delegationID, wire.SelfList, ""))
	expectStatus(t, r, 200)
	var page service.RecordPage
	r.json(t, &page)
	if len(page.Records) != 1 || page.Records[0].RecordID != recordID {
		t.Fatalf("the guardian's view of the dossier: %s", r.body)
	}
	r = e.do(delegateRead(t, e, parent, parent, baby, delegationID, wire.SelfContent, recordID))
	expectStatus(t, r, 200)
	if !bytes.Equal(r.body, file) || r.header.Get("X-Edossier-Access-Tx") == "" {
		t.Fatalf("the guardian's download: %q", r.body)
	}
	readTx := r.header.Get("X-Edossier-Access-Tx")

	before := e.snapshot()
	expectProblem(t, e.do(e.signed(parent, "GET", "/v1/dossiers/"+baby+"/records", nil, time.Now())), 403, gateway.CodeForbidden)
	expectProblem(t, e.do(e.signed(parent, "GET", "/v1/records/"+recordID+"/content", nil, time.Now())), 404, gateway.CodeNotFound)
	expectProblem(t, e.do(delegateRead(t, e, parent, stranger, baby, delegationID, wire.SelfContent, recordID)), 401, gateway.CodeBadSignature)
	expectProblem(t, e.do(delegateRead(t, e, stranger, stranger, baby, delegationID, wire.SelfContent, recordID)), 403, gateway.CodeForbidden)
	// The parent's statement sent with the stranger's request.
	req := delegateRead(t, e, parent, parent, baby, delegationID, wire.SelfList, "")
	forged := e.signed(stranger, "GET", "/v1/dossiers/"+baby+"/records", nil, time.Now())
	forged.Header.Set(api.HeaderDelegateRead, req.Header.Get(api.HeaderDelegateRead))
	forged.Header.Set(api.HeaderDelegateSignature, req.Header.Get(api.HeaderDelegateSignature))
	expectProblem(t, e.do(forged), 403, gateway.CodeForbidden)
	// A listing's statement does not open a file.
	list := delegateRead(t, e, parent, parent, baby, delegationID, wire.SelfList, "")
	file2 := e.signed(parent, "GET", "/v1/records/"+recordID+"/content", nil, time.Now())
	file2.Header.Set(api.HeaderDelegateRead, list.Header.Get(api.HeaderDelegateRead))
	file2.Header.Set(api.HeaderDelegateSignature, list.Header.Get(api.HeaderDelegateSignature))
	expectProblem(t, e.do(file2), 400, gateway.CodeInvalid)
	if after := e.snapshot(); after != before {
		t.Fatalf("refused delegate reads changed the ledger: %+v -> %+v", before, after)
	}

	// The baby's log names the guardian, the delegation and the read file.
	r = e.do(e.signed(parent, "GET", "/v1/dossiers/"+baby+"/access-log", nil, time.Now()))
	expectStatus(t, r, 200)
	var log wire.AccessPage
	r.json(t, &log)
	var kinds []string
	found := false
	for _, a := range log.Entries {
		kinds = append(kinds, a.Kind+"/"+a.Action)
		if a.Kind == wire.AccessSelf {
			t.Fatalf("a delegate read logged as the baby's own: %+v", a)
		}
		if a.TxID == readTx {
			found = a.Kind == wire.AccessDelegate && a.Action == wire.SelfContent && a.DelegateID == parent.subjectID &&
				a.DelegationID == delegationID && a.Relation == wire.RelationGuardian && a.RecordID == recordID
		}
	}
	if !found || len(kinds) < 2 {
		t.Fatalf("the baby's log: %v\n%s", kinds, r.body)
	}
}
