package service

import (
	"context"
	"encoding/base64"
	"testing"
	"time"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
)

func TestDelegatesActOnlyWhileLive(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	l := &fakeLedger{records: map[string]wire.Record{}, blobs: &fakeBlobs{data: map[string][]byte{}}}
	s := New(l, nil, nil, Config{Now: func() time.Time { return now }})
	ctx := context.Background()
	baby, parent, stranger := testSubj("baby"), testSubj("parent"), testSubj("stranger")
	l.delegations = []wire.Delegation{{DelegationID: "d1", SubjectID: baby, DelegateID: parent, Relation: wire.RelationGuardian,
		EndsAt: wire.FormatTime(now.Add(time.Hour)), Status: wire.DelegationActive}}
	as := func(id string) gateway.Principal { return gateway.Principal{Role: gateway.RoleCitizen, SubjectID: id} }

	if err := s.actsFor(ctx, as(parent), baby); err != nil {
		t.Fatalf("live guardian refused: %v", err)
	}
	if err := s.actsFor(ctx, as(baby), baby); err != nil {
		t.Fatalf("the subject itself refused: %v", err)
	}
	if err := s.actsFor(ctx, as(stranger), baby); gateway.ErrorCode(err) != gateway.CodeForbidden {
		t.Fatalf("stranger: %v", err)
	}
	if err := s.actsFor(ctx, as(baby), parent); gateway.ErrorCode(err) != gateway.CodeForbidden {
		t.Fatalf("delegation is one way: %v", err)
	}
	now = now.Add(time.Hour) // the end date
	if err := s.actsFor(ctx, as(parent), baby); gateway.ErrorCode(err) != gateway.CodeForbidden {
		t.Fatalf("guardian after the end date: %v", err)
	}
	// A department's API key binds (the chaincode judges the authority); a citizen or
	// the operator cannot; an ID number in the statement is refused before the ledger.
	doc := base64.StdEncoding.EncodeToString([]byte(`{"kind":"edossier.delegation.v1","subjectId":"110101202611201235","delegateId":"` + parent + `"}`))
	if _, err := s.BindDelegation(ctx, health, doc, "sig"); gateway.ErrorCode(err) != gateway.CodeRawIDNumber {
		t.Fatalf("raw ID number: %v", err)
	}
	if _, err := s.BindDelegation(ctx, as(parent), doc, "sig"); gateway.ErrorCode(err) != gateway.CodeForbidden {
		t.Fatalf("citizen binds: %v", err)
	}
}
