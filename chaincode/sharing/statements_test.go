package sharing_test

import (
	"testing"
	"time"

	"github.com/edossier-city/edossier/chaincode/internal/cctest"
	"github.com/edossier-city/edossier/chaincode/wire"
)

// TestStaleStatementsRefused: a delegation statement, a delegation revocation and a
// consent decline issued longer than wire.MaxStatementAge before the transaction are
// expired, and change nothing (ccutil.ParseStatement, one rule for all three).
func TestStaleStatementsRefused(t *testing.T) {
	e, s := setup(t)
	parent := newSubject(t, cctest.Subject("parent"))
	parent.bind(t, e)
	baby := cctest.Subject("baby")
	req := cctest.Decode[wire.ConsentRequest](t, e.OK(e.Sharing(e.Civil, "RequestConsent", consentInput(t, e, s, cctest.Civil, "g-stale", 24*time.Hour))))
	live := delegationDoc(t, e, baby, parent, wire.RelationGuardian, e.Net.Now.Add(48*time.Hour))
	d := cctest.Decode[wire.Delegation](t, e.OK(bindDelegation(e, e.Authority, live, parent.sign(t, live))))

	bind := delegationDoc(t, e, baby, parent, wire.RelationGuardian, e.Net.Now.Add(48*time.Hour))
	rev := revocationOfDelegation(t, e, baby, d.DelegationID)
	decline := declineDoc(t, e, s, req.RequestID)
	e.Net.Advance(wire.MaxStatementAge + time.Minute)

	e.Code(bindDelegation(e, e.Authority, bind, parent.sign(t, bind)), wire.CodeExpired)
	e.Code(e.Sharing(e.Outsider, "RevokeDelegation", string(rev), parent.sign(t, rev)), wire.CodeExpired)
	e.Code(e.Sharing(e.Op, "DeclineConsentRequest", string(decline), s.sign(t, decline)), wire.CodeExpired)

	list := cctest.Decode[[]wire.Delegation](t, e.OK(e.SharingQ(e.Op, "ListDelegations", baby)))
	if len(list) != 1 || list[0].Status != wire.DelegationActive {
		t.Fatalf("delegations after stale statements: %+v", list)
	}
	r := cctest.Decode[wire.ConsentRequest](t, e.OK(e.SharingQ(e.Op, "GetConsentRequest", req.RequestID)))
	if r.Status == wire.RequestDeclined {
		t.Fatalf("a stale decline declined %+v", r)
	}
}
