package sharing_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/edossier-city/edossier/chaincode/internal/cctest"
	"github.com/edossier-city/edossier/chaincode/internal/fakeledger"
	"github.com/edossier-city/edossier/chaincode/wire"
)

// delegationDoc is delegate's statement accepting to act for subjectID.
func delegationDoc(t *testing.T, e *cctest.Env, subjectID string, delegate *subject, relation string, ends time.Time) []byte {
	t.Helper()
	nonceSeq++
	b, err := wire.Marshal(wire.DelegationStatement{Kind: wire.DelegationKind, SubjectID: subjectID, DelegateID: delegate.id,
		Relation: relation, EndsAt: wire.FormatTime(ends), IssuedAt: wire.FormatTime(e.Net.Now), Nonce: fmt.Sprintf("nonce-%012d", nonceSeq)})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func bindDelegation(e *cctest.Env, by *fakeledger.Identity, doc []byte, sig string) fakeledger.Result {
	return e.Sharing(by, "BindDelegation", string(doc), sig)
}

func revocationOfDelegation(t *testing.T, e *cctest.Env, subjectID, id string) []byte {
	t.Helper()
	nonceSeq++
	b, err := wire.Marshal(wire.DelegationRevocation{Kind: wire.DelegationRevocationKind, SubjectID: subjectID, DelegationID: id,
		IssuedAt: wire.FormatTime(e.Net.Now), Nonce: fmt.Sprintf("nonce-%012d", nonceSeq)})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// grantFor is a grant document for subjectID signed by signer.
func grantFor(t *testing.T, e *cctest.Env, subjectID string, signer *subject) fakeledger.Result {
	t.Helper()
	nonceSeq++
	g := wire.Grant{Kind: wire.GrantKind, GrantID: fmt.Sprintf("g-%d", nonceSeq), SubjectID: subjectID, Grantee: cctest.Civil,
		Scope: wire.GrantScope{RecordTypes: []string{cctest.BirthCert}}, Purpose: cctest.PurposeOneThing,
		ValidFrom: wire.FormatTime(e.Net.Now.Add(-time.Minute)), ExpiresAt: wire.FormatTime(e.Net.Now.Add(time.Hour))}
	doc := encode(t, g)
	return e.Sharing(e.Civil, "CreateGrant", string(doc), signer.sign(t, doc))
}

func TestGuardianSignsForAMinor(t *testing.T) {
	e := cctest.NewEnv(t)
	e.BootstrapSharing()
	parent := newSubject(t, cctest.Subject("parent"))
	parent.bind(t, e)
	baby := cctest.Subject("baby") // no key of its own
	eighteen := e.Net.Now.Add(18 * 365 * 24 * time.Hour)

	// Before any delegation, the parent's key does not sign for the baby.
	e.Code(grantFor(t, e, baby, parent), wire.CodeUnknownKey)

	doc := delegationDoc(t, e, baby, parent, wire.RelationGuardian, eighteen)
	sig := parent.sign(t, doc)
	for _, id := range []*fakeledger.Identity{e.Op, e.Health, e.Civil} { // civil attests legal representatives only
		r := bindDelegation(e, id, doc, sig)
		if r.OK() || r.Err().Code != wire.CodeForbidden || r.Writes != 0 {
			t.Fatalf("%s attested a guardian: %v", id.MSPID, r.Err())
		}
	}
	e.Code(bindDelegation(e, e.Authority, doc, newSubject(t, parent.id).sign(t, doc)), wire.CodeBadSignature)
	e.Code(bindDelegation(e, e.Authority, delegationDoc(t, e, baby, parent, wire.RelationGuardian, e.Net.Now.Add(-time.Hour)), sig), wire.CodeInvalid)
	e.Code(bindDelegation(e, e.Authority, delegationDoc(t, e, parent.id, parent, wire.RelationGuardian, eighteen), sig), wire.CodeInvalid)
	d := cctest.Decode[wire.Delegation](t, e.OK(bindDelegation(e, e.Authority, doc, sig)))
	if d.Status != wire.DelegationActive || d.AttestedBy != cctest.Authority || d.DelegateID != parent.id {
		t.Fatalf("delegation %+v", d)
	}
	e.Code(bindDelegation(e, e.Authority, doc, sig), wire.CodeConflict) // replay
	e.Code(bindDelegation(e, e.Authority, delegationDoc(t, e, baby, parent, wire.RelationGuardian, eighteen), parent.sign(t, delegationDoc(t, e, baby, parent, wire.RelationGuardian, eighteen))), wire.CodeBadSignature)

	// The guardian signs grants for the baby with its own key; the grant says who.
	st := cctest.Decode[wire.GrantState](t, e.OK(grantFor(t, e, baby, parent)))
	if st.SignedBy != parent.id || st.SignerKeyID != parent.keyID(t) || st.SubjectID != baby {
		t.Fatalf("grant %+v", st)
	}
	// The baby's key log shows the delegation.
	ev := keyEvents(t, e, baby)
	if len(ev) != 1 || ev[0].Type != wire.KeyEventDelegationBound || ev[0].DelegationID != d.DelegationID {
		t.Fatalf("baby's key log %+v", ev)
	}
	// It never outlives its end date.
	e.Net.Advance(eighteen.Sub(e.Net.Now) + time.Second)
	e.EndorserClock = nil
	e.Code(grantFor(t, e, baby, parent), wire.CodeUnknownKey)
}

func TestDelegationRevoked(t *testing.T) {
	e := cctest.NewEnv(t)
	e.BootstrapSharing()
	parent := newSubject(t, cctest.Subject("parent"))
	parent.bind(t, e)
	other := newSubject(t, cctest.Subject("stranger"))
	other.bind(t, e)
	baby := cctest.Subject("baby")
	doc := delegationDoc(t, e, baby, parent, wire.RelationGuardian, e.Net.Now.Add(24*time.Hour))
	d := cctest.Decode[wire.Delegation](t, e.OK(bindDelegation(e, e.Authority, doc, parent.sign(t, doc))))
	e.OK(grantFor(t, e, baby, parent))

	rev := revocationOfDelegation(t, e, baby, d.DelegationID)
	e.Code(e.Sharing(e.Outsider, "RevokeDelegation", string(rev), other.sign(t, rev)), wire.CodeBadSignature) // not a party
	e.Code(e.Sharing(e.Health, "RevokeDelegation", string(rev), ""), wire.CodeForbidden)                      // not the attester
	e.Code(e.Sharing(e.Op, "RevokeDelegation", string(rev), ""), wire.CodeForbidden)
	r := cctest.Decode[wire.Delegation](t, e.OK(e.Sharing(e.Outsider, "RevokeDelegation", string(rev), parent.sign(t, rev))))
	if r.Status != wire.DelegationRevoked || r.RevokedBy != "key:"+parent.keyID(t) {
		t.Fatalf("revoked %+v", r)
	}
	e.Code(grantFor(t, e, baby, parent), wire.CodeUnknownKey)
	again := revocationOfDelegation(t, e, baby, d.DelegationID)
	e.Code(e.Sharing(e.Outsider, "RevokeDelegation", string(again), parent.sign(t, again)), wire.CodeConflict)

	// The attesting authority revokes without a signature.
	doc2 := delegationDoc(t, e, baby, parent, wire.RelationGuardian, e.Net.Now.Add(24*time.Hour))
	d2 := cctest.Decode[wire.Delegation](t, e.OK(bindDelegation(e, e.Authority, doc2, parent.sign(t, doc2))))
	r2 := cctest.Decode[wire.Delegation](t, e.OK(e.Sharing(e.Authority, "RevokeDelegation", string(revocationOfDelegation(t, e, baby, d2.DelegationID)), "")))
	if r2.RevokedBy != "authority:"+cctest.Authority {
		t.Fatalf("authority revocation %+v", r2)
	}
	list := cctest.Decode[[]wire.Delegation](t, e.OK(e.SharingQ(e.Op, "ListDelegations", baby)))
	if len(list) != 2 {
		t.Fatalf("delegations %+v", list)
	}
	e.Code(e.SharingQ(e.Authority, "ListDelegations", baby), wire.CodeForbidden)
}

func TestLegalRepresentative(t *testing.T) {
	e := cctest.NewEnv(t)
	e.BootstrapSharing()
	rep := newSubject(t, cctest.Subject("legal-rep"))
	rep.bind(t, e)
	firm := "e-" + cctest.Subject("firm")[2:]
	doc := delegationDoc(t, e, firm, rep, wire.RelationLegalRepresentative, e.Net.Now.Add(365*24*time.Hour))
	sig := rep.sign(t, doc)
	// The identity authority attests guardians, not legal representatives.
	e.Code(bindDelegation(e, e.Authority, doc, sig), wire.CodeForbidden)
	e.Code(bindDelegation(e, e.Op, doc, sig), wire.CodeForbidden)
	e.OK(bindDelegation(e, e.Civil, doc, sig)) // the test network's representative authority
	st := cctest.Decode[wire.GrantState](t, e.OK(grantFor(t, e, firm, rep)))
	if st.SignedBy != rep.id {
		t.Fatalf("grant %+v", st)
	}
}
