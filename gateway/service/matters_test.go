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

type consentLedger struct {
	fakeLedger
	matter *wire.Matter
	asked  []wire.ConsentRequestInput
}

func (m *consentLedger) GetMatter(_ context.Context, _ gateway.Actor, code string, version int) (*wire.Matter, error) {
	if m.matter == nil || code != m.matter.Code || (version != 0 && version != m.matter.Version) {
		return nil, gateway.Errorf(gateway.CodeNotFound, "no such matter")
	}
	return m.matter, nil
}

func (m *consentLedger) RequestConsent(_ context.Context, _ gateway.Actor, in wire.ConsentRequestInput) (*wire.ConsentRequest, gateway.Receipt, error) {
	m.asked = append(m.asked, in)
	return &wire.ConsentRequest{Grant: in.Grant}, gateway.Receipt{}, nil
}

// A department asks for a matter by code: the request carries exactly the current
// version's parts; an unknown matter or version is unknown_matter and asks nothing.
func TestRequestConsentForAMatter(t *testing.T) {
	l := &consentLedger{matter: &wire.Matter{Code: "newborn", Version: 3, Parts: []wire.MatterPart{
		{Department: "CivilMSP", RecordTypes: []string{"birth"}, Purpose: "newborn-registration"},
		{Department: "HealthMSP", RecordTypes: []string{"household-register"}, Purpose: "child-health-record"},
	}}}
	s := New(l, nil, nil, Config{})
	ctx := context.Background()
	subject := "p-" + "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	in := func(code string, version int) wire.ConsentRequestInput {
		return wire.ConsentRequestInput{Grant: wire.Grant{Kind: wire.GrantKind, GrantID: "g-1", Matter: &wire.MatterRef{Code: code, Version: version},
			ValidFrom: "2026-12-01T00:00:00Z", ExpiresAt: "2026-12-31T00:00:00Z"}, Reference: "nb-1", ExpiresAt: "2026-12-08T00:00:00Z"}
	}
	for _, c := range []wire.ConsentRequestInput{in("no-such", 0), in("newborn", 2)} {
		if _, err := s.RequestConsent(ctx, health, subject, c); gateway.ErrorCode(err) != gateway.CodeUnknownMatter {
			t.Fatalf("matter %+v: %v, want unknown_matter", c.Grant.Matter, err)
		}
	}
	if len(l.asked) != 0 {
		t.Fatal("refused requests reached the ledger")
	}
	res, err := s.RequestConsent(ctx, health, subject, in("newborn", 0))
	if err != nil {
		t.Fatal(err)
	}
	g := res.Request.Grant
	if g.Matter.Version != 3 || len(g.Parts) != 2 || g.Parts[1].Grantee != "HealthMSP" || g.Grantee != "" || g.SubjectID != subject {
		t.Fatalf("asked for %+v", g)
	}
	if err := l.matter.CheckGrant(&g); err != nil {
		t.Fatalf("the filled grant is not the matter's: %v", err)
	}
}

func TestGroupByGrant(t *testing.T) {
	nb := &wire.MatterRef{Code: "newborn", Version: 1}
	entries := []wire.AccessEntry{
		{EntryID: "1", GrantID: "g-a", Part: 2, Matter: nb}, {EntryID: "2", GrantID: "g-b"}, {EntryID: "3", GrantID: ""},
		{EntryID: "4", GrantID: "g-a", Part: 1, Matter: nb}, {EntryID: "5", GrantID: "g-b"},
	}
	got := GroupByGrant(entries)
	if len(got) != 3 || got[0].GrantID != "g-a" || got[0].Matter == nil || len(got[0].Entries) != 2 || got[0].Entries[1].EntryID != "4" ||
		got[1].GrantID != "g-b" || got[1].Matter != nil || len(got[1].Entries) != 2 || got[2].GrantID != "" {
		t.Fatalf("groups %+v", got)
	}
	if g := GroupByGrant(nil); g == nil || len(g) != 0 {
		t.Fatalf("no entries: %+v", g)
	}
}

func (m *consentLedger) ListConsentRequests(_ context.Context, _ gateway.Actor, subjectID string) ([]wire.ConsentRequest, error) {
	return []wire.ConsentRequest{
		{RequestID: "req-1", SubjectID: subjectID, Requester: "HealthMSP", Status: wire.RequestPending},
		{RequestID: "req-2", SubjectID: subjectID, Requester: "CivilMSP", Status: wire.RequestApproved},
	}, nil
}

// A department lists only the requests it made to a subject (their outcome); another
// department's requests stay unseen; a bad subject ID asks the ledger nothing.
func TestDepartmentListsOnlyItsOwnConsentRequests(t *testing.T) {
	s := New(&consentLedger{}, nil, nil, Config{})
	ctx := context.Background()
	subject := "p-" + "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	got, err := s.ConsentRequests(ctx, health, subject)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].RequestID != "req-1" {
		t.Fatalf("health sees %+v", got)
	}
	other := gateway.Principal{Role: gateway.RoleDepartment, Org: "tax", MSPID: "TaxMSP", User: "clerk"}
	if got, err := s.ConsentRequests(ctx, other, subject); err != nil || got == nil || len(got) != 0 {
		t.Fatalf("tax sees %+v, %v", got, err)
	}
	if _, err := s.ConsentRequests(ctx, health, "110101202611201235"); gateway.ErrorCode(err) != gateway.CodeRawIDNumber {
		t.Fatalf("ID number as subject: %v", err)
	}
	op := gateway.Principal{Role: gateway.RoleOperator, Org: "operator", MSPID: "OperatorMSP", User: "ops"}
	if got, err := s.ConsentRequests(ctx, op, subject); err != nil || len(got) != 2 {
		t.Fatalf("operator sees %+v, %v", got, err)
	}
}
