package sharing_test

import (
	"testing"
	"time"

	"github.com/edossier-city/edossier/chaincode/internal/cctest"
	"github.com/edossier-city/edossier/chaincode/wire"
)

// TestTransactionTimeIsBounded: a transaction stamped far from the endorsers' clock is
// refused before it runs, so no client can complete a recovery early by stamping it
// past the time lock, or use an expired grant by backdating a read.
func TestTransactionTimeIsBounded(t *testing.T) {
	e, s := setup(t)
	g := s.grant("g1", cctest.Civil, []string{cctest.BirthCert}, nil)
	g.ValidFrom, g.ExpiresAt = wire.FormatTime(e.Net.Now.Add(-time.Hour)), wire.FormatTime(e.Net.Now.Add(time.Hour))
	s.create(t, e, g)
	phone := newSubject(t, s.id)
	doc := phone.statement(t, e, wire.KeyRecoveryKind, nil)
	rec := cctest.Decode[wire.KeyRecovery](t, e.OK(e.Sharing(e.Authority, "RequestKeyRecovery", string(doc), phone.sign(t, doc))))

	// The grant expires and the endorsers' clocks show it; a client stamps its read
	// back into the grant's window: refused.
	e.Net.Advance(2 * time.Hour)
	now := e.Net.Now
	e.EndorserClock = func() time.Time { return now }
	e.Net.Now = now.Add(-90 * time.Minute)
	r := e.Sharing(e.Civil, "RecordAccess", "g1", "b1", "")
	if r.OK() || r.Err().Code != wire.CodeInvalid || r.Writes != 0 {
		t.Fatalf("backdated read: %v", r.Err())
	}
	// A client stamps the completion past the time lock: refused.
	e.Net.Now = now.Add(cctest.RecoveryDelay)
	r = e.Sharing(e.Outsider, "CompleteKeyRecovery", s.id, rec.RecoveryID)
	if r.OK() || r.Err().Code != wire.CodeInvalid || r.Writes != 0 {
		t.Fatalf("completion stamped ahead: %v", r.Err())
	}
	// Within the allowed skew the endorsers judge the transaction itself.
	e.Net.Now = now.Add(4 * time.Minute)
	e.Code(e.Sharing(e.Outsider, "CompleteKeyRecovery", s.id, rec.RecoveryID), wire.CodeNotYetValid)
	e.Code(e.Sharing(e.Civil, "RecordAccess", "g1", "b1", ""), wire.CodeExpired)
}
