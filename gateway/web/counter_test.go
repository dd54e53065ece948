package web

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
	"github.com/edossier-city/edossier/gateway/service"
)

// The fake ledger's delegations and recoveries for the counter: the subject has one
// live guardian and one past its end date attested by the police, one by market
// regulation; a pending recovery and a cancelled one by the police.
var (
	counterParent = "p-" + strings.Repeat("c", 32)
	counterNow    = time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
)

func (f *fakeService) counterDelegations() []wire.Delegation {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.delegations == nil {
		f.delegations = []wire.Delegation{
			{DelegationID: "d-live", SubjectID: subject, DelegateID: counterParent, Relation: wire.RelationGuardian, AttestedBy: "PoliceMSP",
				Status: wire.DelegationActive, EndsAt: wire.FormatTime(counterNow.AddDate(18, 0, 0))},
			{DelegationID: "d-past", SubjectID: subject, DelegateID: counterParent, Relation: wire.RelationGuardian, AttestedBy: "PoliceMSP",
				Status: wire.DelegationActive, EndsAt: wire.FormatTime(counterNow.Add(-time.Hour))},
			{DelegationID: "d-market", SubjectID: subject, DelegateID: counterParent, Relation: wire.RelationLegalRepresentative, AttestedBy: "MarketMSP",
				Status: wire.DelegationActive, EndsAt: wire.FormatTime(counterNow.AddDate(1, 0, 0))},
		}
	}
	return append([]wire.Delegation{}, f.delegations...)
}

func (f *fakeService) AttestedDelegations(ctx context.Context, p gateway.Principal, subjectID string) ([]wire.Delegation, error) {
	if p.Role != gateway.RoleDepartment {
		return nil, gateway.Errorf(gateway.CodeForbidden, "department only")
	}
	if err := service.CheckSubjectID("subjectId", subjectID); err != nil {
		return nil, err
	}
	out := []wire.Delegation{}
	for _, d := range f.counterDelegations() {
		if d.SubjectID == subjectID && d.AttestedBy == p.MSPID {
			out = append(out, d)
		}
	}
	return out, nil
}

// EndDelegation judges as the chaincode does: only the attesting organisation, only
// an active delegation.
func (f *fakeService) EndDelegation(ctx context.Context, p gateway.Principal, subjectID, id string) (*service.DelegationResult, error) {
	ds := f.counterDelegations()
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, d := range ds {
		if d.SubjectID != subjectID || d.DelegationID != id {
			continue
		}
		if d.AttestedBy != p.MSPID {
			return nil, gateway.Errorf(gateway.CodeForbidden, "not the attesting authority")
		}
		if d.Status != wire.DelegationActive {
			return nil, gateway.Errorf(gateway.CodeConflict, "already ended")
		}
		f.delegations[i].Status, f.delegations[i].RevokedAt = wire.DelegationRevoked, wire.FormatTime(counterNow)
		f.ended = append(f.ended, id)
		return &service.DelegationResult{Delegation: f.delegations[i], Receipt: gateway.Receipt{Channel: "datashare", TxID: "tx-end", Block: 9}}, nil
	}
	return nil, gateway.Errorf(gateway.CodeNotFound, "no such delegation")
}

func (f *fakeService) AttestedRecoveries(ctx context.Context, p gateway.Principal, subjectID string) ([]wire.KeyRecovery, error) {
	if p.Role != gateway.RoleDepartment {
		return nil, gateway.Errorf(gateway.CodeForbidden, "department only")
	}
	if err := service.CheckSubjectID("subjectId", subjectID); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.recoveries == nil {
		f.recoveries = []wire.KeyRecovery{
			{RecoveryID: "r-due", SubjectID: subject, AttestedBy: "PoliceMSP", Status: wire.RecoveryPending, RequestedAt: wire.FormatTime(counterNow.AddDate(0, 0, -8)), EffectiveAt: wire.FormatTime(counterNow.AddDate(0, 0, -1))},
			{RecoveryID: "r-early", SubjectID: subject, AttestedBy: "PoliceMSP", Status: wire.RecoveryPending, RequestedAt: wire.FormatTime(counterNow), EffectiveAt: wire.FormatTime(counterNow.AddDate(0, 0, 7))},
			{RecoveryID: "r-gone", SubjectID: subject, AttestedBy: "PoliceMSP", Status: wire.RecoveryCancelled, ClosedBy: "key:k1", ClosedAt: wire.FormatTime(counterNow)},
			{RecoveryID: "r-other", SubjectID: subject, AttestedBy: "OtherMSP", Status: wire.RecoveryPending},
		}
	}
	out := []wire.KeyRecovery{}
	for _, r := range f.recoveries {
		if r.SubjectID == subjectID && r.AttestedBy == p.MSPID {
			out = append(out, r)
		}
	}
	return out, nil
}

func (f *fakeService) CompleteKeyRecovery(ctx context.Context, subjectID, id string) (*service.KeyResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, r := range f.recoveries {
		if r.RecoveryID != id {
			continue
		}
		if r.Status != wire.RecoveryPending {
			return nil, gateway.Errorf(gateway.CodeConflict, "not pending")
		}
		if at, _ := wire.ParseTime("effectiveAt", r.EffectiveAt); counterNow.Before(at) {
			return nil, gateway.Errorf(gateway.CodeNotYetValid, "too early")
		}
		f.recoveries[i].Status = wire.RecoveryEffective
		f.completed = append(f.completed, id)
		return &service.KeyResult{Key: wire.SubjectKey{KeyID: "k-new"}, Receipt: gateway.Receipt{Channel: "datashare", TxID: "tx-rec", Block: 10}}, nil
	}
	return nil, gateway.Errorf(gateway.CodeNotFound, "no such recovery")
}

// The identity authority's counter lists the relations it attested for a subject (not
// market regulation's), ends a live one (once: the second time is a conflict shown as
// a sentence), offers no button for one past its end date; another department sees
// none of them and cannot end them; a raw ID number and a missing CSRF token are
// refused and change nothing.
func TestCounterEndsDelegation(t *testing.T) {
	f := newFixture(t)
	f.srv.opts.Keys = policeKeys{f.srv.opts.Keys}
	police := f.browser()
	csrf := police.signin(deptKey)
	page := police.get("/en/clerk/delegations?subject=" + subject).Body.String()
	for _, want := range []string{`data-delegation="d-live" data-status="active" data-live="true"`, `data-delegation="d-past" data-status="active" data-live="false"`,
		"end date passed", `value="d-live"`} {
		if !strings.Contains(page, want) {
			t.Errorf("counter page lacks %s", want)
		}
	}
	if strings.Contains(page, "d-market") || strings.Contains(page, `value="d-past"`) {
		t.Error("the counter lists another authority's relation, or an end button for an expired one")
	}
	if r := police.post("/en/clerk/delegations/end", url.Values{"subjectId": {subject}, "delegationId": {"d-live"}}); r.Code != 403 {
		t.Fatalf("no CSRF token: %d", r.Code)
	}
	r := police.post("/zh/clerk/delegations/end", url.Values{"subjectId": {subject}, "delegationId": {"d-live"}, "csrf": {csrf}})
	if r.Code != 200 || !strings.Contains(r.Body.String(), `id="ended-delegation"`) || !strings.Contains(r.Body.String(), `data-delegation="d-live" data-status="revoked" data-live="false"`) {
		t.Fatalf("end: %d %s", r.Code, r.Body)
	}
	r = police.post("/en/clerk/delegations/end", url.Values{"subjectId": {subject}, "delegationId": {"d-live"}, "csrf": {csrf}})
	if r.Code != 409 || !strings.Contains(r.Body.String(), "<code>conflict</code>") {
		t.Fatalf("end twice: %d", r.Code)
	}
	r = police.post("/en/clerk/delegations/end", url.Values{"subjectId": {subject}, "delegationId": {"d-market"}, "csrf": {csrf}})
	if r.Code != 403 || !strings.Contains(r.Body.String(), "<code>forbidden</code>") {
		t.Fatalf("end market regulation's relation: %d", r.Code)
	}
	if r := police.get("/en/clerk/delegations?subject=110101202611201235"); r.Code != 400 || !strings.Contains(r.Body.String(), "<code>raw_id_number</code>") {
		t.Fatalf("ID number: %d", r.Code)
	}
	if got := strings.Join(f.svc.ended, ","); got != "d-live" {
		t.Fatalf("ended %q", got)
	}
}

// The counter lists the recoveries it requested: a pending one past its time lock is
// completed; one before it is refused with the sentence for not_yet_valid; a cancelled
// one shows as cancelled by the citizen, without a button; another office's is neither
// listed nor completable from here.
func TestCounterRecoveries(t *testing.T) {
	f := newFixture(t)
	f.srv.opts.Keys = policeKeys{f.srv.opts.Keys}
	police := f.browser()
	csrf := police.signin(deptKey)
	page := police.get("/en/clerk/recoveries?subject=" + subject).Body.String()
	for _, want := range []string{`data-recovery="r-due" data-status="pending"`, `data-recovery="r-gone" data-status="cancelled"`, "cancelled by the citizen", `value="r-early"`} {
		if !strings.Contains(page, want) {
			t.Errorf("recoveries page lacks %s", want)
		}
	}
	if strings.Contains(page, "r-other") || strings.Contains(page, `value="r-gone"`) {
		t.Error("another office's recovery, or a button for a cancelled one")
	}
	post := func(id string) (int, string) {
		r := police.post("/en/clerk/recoveries/complete", url.Values{"subjectId": {subject}, "recoveryId": {id}, "csrf": {csrf}})
		return r.Code, r.Body.String()
	}
	if c, body := post("r-early"); c < 400 || c >= 500 || !strings.Contains(body, "<code>not_yet_valid</code>") ||
		!strings.Contains(body, "The waiting time has not ended: this recovery can take effect from 8 December 2026 16:00.") {
		t.Fatalf("before the time lock: %d", c)
	}
	if c, body := post("r-gone"); c != 409 || !strings.Contains(body, "<code>conflict</code>") || !strings.Contains(body, "no longer pending") {
		t.Fatalf("cancelled: %d", c)
	}
	if c, body := post("r-other"); c != 404 || !strings.Contains(body, "<code>not_found</code>") {
		t.Fatalf("another office's: %d", c)
	}
	if c, body := post("r-due"); c != 200 || !strings.Contains(body, `id="completed-recovery"`) || !strings.Contains(body, `data-recovery="r-due" data-status="effective"`) {
		t.Fatalf("complete: %d %s", c, body)
	}
	if got := strings.Join(f.svc.completed, ","); got != "r-due" {
		t.Fatalf("completed %q", got)
	}
	// The operator is not a counter.
	op := f.browser()
	op.signin(opKey)
	if r := op.get("/en/clerk/recoveries?subject=" + subject); r.Code != 403 {
		t.Fatalf("operator: %d", r.Code)
	}
}
