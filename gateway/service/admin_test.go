package service

import (
	"context"
	"testing"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
)

// registryLedger answers the registry in one query and counts the queries.
type registryLedger struct {
	*fakeLedger
	calls int
	actor gateway.Actor
}

func (r *registryLedger) Registry(_ context.Context, a gateway.Actor) (*wire.Registry, error) {
	r.calls++
	r.actor = a
	return &wire.Registry{
		Departments:    []wire.Department{{MSPID: "HealthMSP"}, {MSPID: "CivilMSP"}},
		Accreditations: []wire.Accreditation{{MSPID: "HealthMSP", RecordType: "birth"}, {MSPID: "CivilMSP", RecordType: "marriage"}},
	}, nil
}

// TestRegistryIsOneLedgerQuery: the registry of any number of departments costs one
// ledger query, made as the caller; the public may not read it.
func TestRegistryIsOneLedgerQuery(t *testing.T) {
	fl, b, _ := newFakes()
	l := &registryLedger{fakeLedger: fl}
	s := New(l, b, nil, Config{OrphanGrace: fakeGrace})
	reg, err := s.Registry(context.Background(), health)
	if err != nil {
		t.Fatal(err)
	}
	if l.calls != 1 || l.actor != health.Actor() || len(reg.Departments) != 2 || len(reg.Accreditations) != 2 {
		t.Fatalf("calls %d as %+v: %+v", l.calls, l.actor, reg)
	}
	if _, err := s.Registry(context.Background(), gateway.Principal{Role: gateway.RolePublic}); gateway.ErrorCode(err) != gateway.CodeUnauthorized {
		t.Fatalf("public registry read: %v", err)
	}
	if l.calls != 1 {
		t.Fatalf("a refused read reached the ledger")
	}
}

// TestCreateUserWithoutUsersIsUnavailable: a service built without Config.Users answers
// unavailable, after the role check.
func TestCreateUserWithoutUsersIsUnavailable(t *testing.T) {
	_, _, s := newFakes()
	op := gateway.Principal{Role: gateway.RoleOperator, Org: "ops", MSPID: "OpsMSP", User: "admin"}
	if _, err := s.CreateUser(context.Background(), op, "health", "clerk2", "", ""); gateway.ErrorCode(err) != gateway.CodeUnavailable {
		t.Fatalf("got %v", err)
	}
	if _, err := s.CreateUser(context.Background(), health, "health", "clerk2", "", ""); gateway.ErrorCode(err) != gateway.CodeForbidden {
		t.Fatalf("department creating a user: %v", err)
	}
}
