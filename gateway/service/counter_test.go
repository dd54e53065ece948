package service

import (
	"context"
	"testing"
	"time"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
)

type counterLedger struct {
	fakeLedger
	keys    wire.SubjectKeys
	revoked []string // revocation documents submitted
	by      []gateway.Actor
	matters []wire.Matter
	defined int
}

func (c *counterLedger) ListSubjectKeys(_ context.Context, _ gateway.Actor, subjectID string) (*wire.SubjectKeys, error) {
	k := c.keys
	k.SubjectID = subjectID
	return &k, nil
}

func (c *counterLedger) RevokeDelegation(_ context.Context, a gateway.Actor, doc, sig string) (*wire.Delegation, gateway.Receipt, error) {
	c.revoked, c.by = append(c.revoked, doc), append(c.by, a)
	return &wire.Delegation{DelegationID: "d1", Status: wire.DelegationRevoked}, gateway.Receipt{}, nil
}

func (c *counterLedger) GetMatter(_ context.Context, _ gateway.Actor, code string, version int) (*wire.Matter, error) {
	for i := len(c.matters) - 1; i >= 0; i-- {
		if c.matters[i].Code == code {
			return &c.matters[i], nil
		}
	}
	return nil, gateway.Errorf(gateway.CodeNotFound, "matter %s is not defined", code)
}

// DefineMatter keeps the latest version for the same content, as the chaincode does.
func (c *counterLedger) DefineMatter(ctx context.Context, a gateway.Actor, d wire.MatterDefinition) (*wire.Matter, gateway.Receipt, error) {
	next := 1
	if m, err := c.GetMatter(ctx, a, d.Code, 0); err == nil {
		if m.SameContent(&d) {
			return m, gateway.Receipt{}, nil
		}
		next = m.Version + 1
	}
	c.defined++
	c.matters = append(c.matters, wire.Matter{Code: d.Code, Version: next, Name: d.Name, Parts: d.Parts})
	return &c.matters[len(c.matters)-1], gateway.Receipt{}, nil
}

// The counter sees only what its own organisation attested; it ends a delegation
// with an unsigned revocation of exactly that delegation, submitted as itself.
// Citizens and the operator may not use the counter's routes.
func TestCounterSeesWhatItAttested(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	l := &counterLedger{fakeLedger: fakeLedger{records: map[string]wire.Record{}, blobs: &fakeBlobs{data: map[string][]byte{}}}}
	s := New(l, nil, nil, Config{Now: func() time.Time { return now }})
	ctx := context.Background()
	baby, parent := testSubj("baby"), testSubj("parent")
	police := gateway.Principal{Role: gateway.RoleDepartment, Org: "police", MSPID: "PoliceMSP", User: "clerk"}
	l.delegations = []wire.Delegation{
		{DelegationID: "d1", SubjectID: baby, DelegateID: parent, AttestedBy: "PoliceMSP", Status: wire.DelegationActive},
		{DelegationID: "d2", SubjectID: baby, DelegateID: parent, AttestedBy: "MarketMSP", Status: wire.DelegationActive},
	}
	l.keys.Recoveries = []wire.KeyRecovery{{RecoveryID: "r1", AttestedBy: "PoliceMSP", Status: wire.RecoveryPending}, {RecoveryID: "r2", AttestedBy: "OtherMSP"}}
	ds, err := s.AttestedDelegations(ctx, police, baby)
	if err != nil || len(ds) != 1 || ds[0].DelegationID != "d1" {
		t.Fatalf("police's delegations: %+v %v", ds, err)
	}
	if ds, _ := s.AttestedDelegations(ctx, health, baby); len(ds) != 0 {
		t.Fatalf("health sees delegations it did not attest: %+v", ds)
	}
	rs, err := s.AttestedRecoveries(ctx, police, baby)
	if err != nil || len(rs) != 1 || rs[0].RecoveryID != "r1" {
		t.Fatalf("police's recoveries: %+v %v", rs, err)
	}
	op := gateway.Principal{Role: gateway.RoleOperator, Org: "operator", MSPID: "OperatorMSP", User: "ops"}
	citizen := gateway.Principal{Role: gateway.RoleCitizen, SubjectID: parent}
	for _, p := range []gateway.Principal{op, citizen} {
		if _, err := s.AttestedDelegations(ctx, p, baby); gateway.ErrorCode(err) != gateway.CodeForbidden {
			t.Errorf("%s lists the counter's delegations: %v", p.Role, err)
		}
		if _, err := s.AttestedRecoveries(ctx, p, baby); gateway.ErrorCode(err) != gateway.CodeForbidden {
			t.Errorf("%s lists the counter's recoveries: %v", p.Role, err)
		}
		if _, err := s.EndDelegation(ctx, p, baby, "d1"); gateway.ErrorCode(err) != gateway.CodeForbidden {
			t.Errorf("%s ends at the counter: %v", p.Role, err)
		}
	}
	if _, err := s.AttestedDelegations(ctx, police, "110101202611201235"); gateway.ErrorCode(err) != gateway.CodeRawIDNumber {
		t.Fatalf("an ID number for a subject: %v", err)
	}
	if _, err := s.EndDelegation(ctx, police, baby, "bad id!"); gateway.ErrorCode(err) != gateway.CodeInvalid {
		t.Fatalf("bad delegation ID: %v", err)
	}
	if len(l.revoked) != 0 {
		t.Fatal("a refused end reached the ledger")
	}
	if _, err := s.EndDelegation(ctx, police, baby, "d1"); err != nil {
		t.Fatal(err)
	}
	r, issued, err := wire.ParseDelegationRevocation([]byte(l.revoked[0]))
	if err != nil || r.SubjectID != baby || r.DelegationID != "d1" || !issued.Equal(now) || l.by[0] != police.Actor() {
		t.Fatalf("revocation %s by %+v: %v", l.revoked[0], l.by[0], err)
	}
}

// A matter's version is the latest + 1: a number that does not increase (or skips)
// is a conflict and reaches no ledger; the same content again defines nothing.
func TestDefineMatterVersion(t *testing.T) {
	l := &counterLedger{}
	s := New(l, nil, nil, Config{})
	ctx := context.Background()
	op := gateway.Principal{Role: gateway.RoleOperator, Org: "operator", MSPID: "OperatorMSP", User: "ops"}
	d := wire.MatterDefinition{Code: "newborn", Name: "Newborn", Parts: []wire.MatterPart{
		{Department: "PoliceMSP", RecordTypes: []string{"birth"}, Purpose: "household-registration"}}}
	if _, err := s.DefineMatterVersion(ctx, health, d, 1); gateway.ErrorCode(err) != gateway.CodeForbidden {
		t.Fatalf("a department defines: %v", err)
	}
	for _, v := range []int{0, 2} {
		if _, err := s.DefineMatterVersion(ctx, op, d, v); gateway.ErrorCode(err) != gateway.CodeConflict {
			t.Fatalf("version %d of a new matter: %v", v, err)
		}
	}
	if res, err := s.DefineMatterVersion(ctx, op, d, 1); err != nil || res.Value.Version != 1 {
		t.Fatalf("version 1: %+v %v", res, err)
	}
	if _, err := s.DefineMatterVersion(ctx, op, d, 1); gateway.ErrorCode(err) != gateway.CodeConflict {
		t.Fatalf("version 1 again: %v", err)
	}
	if _, err := s.DefineMatterVersion(ctx, op, d, 2); gateway.ErrorCode(err) != gateway.CodeConflict {
		t.Fatalf("the same content as version 2: %v", err)
	}
	d.Parts = append(d.Parts, wire.MatterPart{Department: "SocialMSP", RecordTypes: []string{"birth"}, Purpose: "social-insurance-enrolment"})
	if res, err := s.DefineMatterVersion(ctx, op, d, 2); err != nil || res.Value.Version != 2 {
		t.Fatalf("version 2: %+v %v", res, err)
	}
	if l.defined != 2 {
		t.Fatalf("%d versions defined, want 2", l.defined)
	}
}
