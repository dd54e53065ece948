package main

import (
	"encoding/base64"
	"testing"
	"time"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
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
	r := e.appendRecord(health, baby, "birth-medical-certificate", "", []byte("%PDF birth of the guardian test"), "")
	expectStatus(t, r, 201)

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

	// The parent ends the relation; from then on its key signs nothing for the baby.
	rev, _ := wire.Marshal(wire.DelegationRevocation{Kind: wire.DelegationRevocationKind, SubjectID: baby,
		DelegationID: d.Delegation.DelegationID, IssuedAt: wire.FormatTime(time.Now()), Nonce: "guardian-nonce-0002"})
	rsig, _ := wire.SignDocument(parent.key, rev)
	r = e.do(e.signed(parent, "POST", "/v1/dossiers/"+baby+"/delegations/"+d.Delegation.DelegationID+"/revoke",
		map[string]string{"document": base64.StdEncoding.EncodeToString(rev), "signature": rsig}, time.Now()))
	expectStatus(t, r, 200)
	expectProblem(t, grant(parent, "g-guardian-2"), 403, gateway.CodeForbidden)
}
