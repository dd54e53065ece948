package service

import (
	"context"
	"testing"
	"time"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
)

// reqLedger answers MyConsentRequests with two pages and records who asked.
type reqLedger struct {
	*logLedger
	asked []gateway.Actor
	raws  []string
}

func (l *reqLedger) MyConsentRequests(_ context.Context, a gateway.Actor, status string, _ int, bookmark string) (*wire.ConsentRequestPage, error) {
	l.asked = append(l.asked, a)
	l.raws = append(l.raws, bookmark)
	if bookmark == "" {
		return &wire.ConsentRequestPage{Requests: []wire.ConsentRequest{{RequestID: "q1", Requester: "SocialMSP", Status: status}}, Bookmark: "raw-next"}, nil
	}
	return &wire.ConsentRequestPage{}, nil
}

func TestDepartmentConsentRequests(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	l0, _ := newLogFakes(OwnershipLimits{}, &now)
	l := &reqLedger{logLedger: l0}
	s := New(l, fakeOpenBlobs{l0.blobs}, testSubjects, Config{Platform: platform, Now: func() time.Time { return now }})
	ctx := context.Background()
	page, err := s.DepartmentConsentRequests(ctx, social, wire.RequestPending, 0, "")
	if err != nil || len(page.Requests) != 1 || page.Bookmark == "" || page.Bookmark == "raw-next" {
		t.Fatalf("first page %+v %v", page, err)
	}
	// The department's own identity asks (the chaincode picks by its MSP ID).
	if l.asked[0] != social.Actor() {
		t.Fatalf("asked as %+v, want the department's identity", l.asked[0])
	}
	next, err := s.DepartmentConsentRequests(ctx, social, wire.RequestPending, 0, page.Bookmark)
	if err != nil || len(next.Requests) != 0 || next.Requests == nil || l.raws[1] != "raw-next" {
		t.Fatalf("second page %+v %v (raw %q)", next, err, l.raws)
	}
	health := gateway.Principal{Role: gateway.RoleDepartment, Org: "health", MSPID: "HealthMSP", User: "clerk", KeyID: "healthkey"}
	for name, c := range map[string]struct {
		p        gateway.Principal
		status   string
		size     int
		bookmark string
		code     gateway.Code
	}{
		"a citizen":                  {gateway.Principal{Role: gateway.RoleCitizen, SubjectID: testSubj("1")}, "", 0, "", gateway.CodeForbidden},
		"the operator":               {oper, "", 0, "", gateway.CodeForbidden},
		"anonymous":                  {anon, "", 0, "", gateway.CodeUnauthorized},
		"an unknown status":          {social, "lost", 0, "", gateway.CodeInvalid},
		"a page too large":           {social, "", wire.MaxPageSize + 1, "", gateway.CodeInvalid},
		"another department's mark":  {health, wire.RequestPending, 0, page.Bookmark, gateway.CodeInvalid},
		"the mark of another filter": {social, wire.RequestApproved, 0, page.Bookmark, gateway.CodeInvalid},
		"a raw chaincode bookmark":   {social, wire.RequestPending, 0, "raw-next", gateway.CodeInvalid},
	} {
		if _, err := s.DepartmentConsentRequests(ctx, c.p, c.status, c.size, c.bookmark); gateway.ErrorCode(err) != c.code {
			t.Errorf("%s: %v, want %s", name, err, c.code)
		}
	}
	if len(l.asked) != 2 {
		t.Fatalf("refusals reached the ledger: %d calls", len(l.asked))
	}
}
