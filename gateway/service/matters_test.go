package service

import (
	"context"
	"testing"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
)

type matterLedger struct {
	fakeLedger
	defined []wire.MatterDefinition
}

func (m *matterLedger) DefineMatter(_ context.Context, _ gateway.Actor, d wire.MatterDefinition) (*wire.Matter, gateway.Receipt, error) {
	m.defined = append(m.defined, d)
	return &wire.Matter{Code: d.Code, Version: 1, Name: d.Name, Parts: d.Parts}, gateway.Receipt{}, nil
}

func TestDefineMatter(t *testing.T) {
	l := &matterLedger{}
	s := New(l, nil, nil, Config{})
	ctx := context.Background()
	op := gateway.Principal{Role: gateway.RoleOperator, Org: "operator", MSPID: "OperatorMSP", User: "ops"}
	d := wire.MatterDefinition{Code: "newborn", Name: "Newborn", Parts: []wire.MatterPart{
		{Department: "SocialMSP", RecordTypes: []string{"household-register", "birth"}, Purpose: "social-insurance-enrolment"},
		{Department: "PoliceMSP", RecordTypes: []string{"birth"}, Purpose: "household-registration"},
	}}
	if _, err := s.DefineMatter(ctx, health, d); gateway.ErrorCode(err) != gateway.CodeForbidden {
		t.Fatalf("department defines a matter: %v", err)
	}
	bad := d
	bad.Parts = append([]wire.MatterPart{}, d.Parts...)
	bad.Parts[0].Purpose = "free text purpose"
	if _, err := s.DefineMatter(ctx, op, bad); gateway.ErrorCode(err) != gateway.CodeInvalid {
		t.Fatalf("free-text purpose: %v", err)
	}
	if len(l.defined) != 0 {
		t.Fatal("refused definitions reached the ledger")
	}
	res, err := s.DefineMatter(ctx, op, d)
	if err != nil {
		t.Fatal(err)
	}
	// What reaches the ledger is normalised: parts by department, types sorted.
	got := l.defined[0]
	if got.Parts[0].Department != "PoliceMSP" || got.Parts[1].RecordTypes[0] != "birth" || res.Value.Code != "newborn" {
		t.Fatalf("defined %+v", got)
	}
	if _, err := s.Matter(ctx, "bad code", 0); gateway.ErrorCode(err) != gateway.CodeInvalid {
		t.Fatalf("bad code: %v", err)
	}
	if _, err := s.Matter(ctx, "newborn", -1); gateway.ErrorCode(err) != gateway.CodeInvalid {
		t.Fatalf("bad version: %v", err)
	}
}
