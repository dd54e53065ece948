package web

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
	"github.com/edossier-city/edossier/gateway/service"
)

// The fake's consent requests (unit tests only).

func (f *fakeService) RequestConsent(ctx context.Context, p gateway.Principal, subjectID string, in wire.ConsentRequestInput) (*service.ConsentRequestResult, error) {
	if err := service.CheckSubjectID("subjectId", subjectID); err != nil {
		return nil, err
	}
	if err := wire.ValidateCode("reference", in.Reference); err != nil {
		return nil, gateway.Errorf(gateway.CodeInvalid, "bad reference")
	}
	if in.Grant.Matter != nil && in.Grant.Matter.Code != "newborn" {
		return nil, gateway.Errorf(gateway.CodeUnknownMatter, "no such matter")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	in.Grant.SubjectID = subjectID
	r := wire.ConsentRequest{RequestID: "req-1", SubjectID: subjectID, Requester: p.MSPID, Reference: in.Reference, Grant: in.Grant,
		CreatedAt: "2026-12-01T08:00:00Z", ExpiresAt: in.ExpiresAt, Status: wire.RequestPending}
	f.requests = append(f.requests, r)
	return &service.ConsentRequestResult{Request: r}, nil
}

func (f *fakeService) ConsentRequests(ctx context.Context, p gateway.Principal, subjectID string) ([]wire.ConsentRequest, error) {
	if err := service.CheckSubjectID("subjectId", subjectID); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]wire.ConsentRequest{}, f.requests...), nil
}

// DepartmentConsentRequests pages the fake's requests of p's department one at a time
// (bookmark: the next index), filtered by status.
func (f *fakeService) DepartmentConsentRequests(ctx context.Context, p gateway.Principal, status string, pageSize int, bookmark string) (*wire.ConsentRequestPage, error) {
	if err := wire.CheckRequestStatus(status); err != nil {
		return nil, gateway.Errorf(gateway.CodeInvalid, "bad status")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	var mine []wire.ConsentRequest
	for _, r := range f.requests {
		if r.Requester == p.MSPID && (status == "" || r.Status == status) {
			mine = append(mine, r)
		}
	}
	start := 0
	if bookmark != "" {
		n, err := strconv.Atoi(bookmark)
		if err != nil || n < 0 || n > len(mine) {
			return nil, gateway.Errorf(gateway.CodeInvalid, "bookmark is not one this query gave this caller")
		}
		start = n
	}
	page := &wire.ConsentRequestPage{Requests: []wire.ConsentRequest{}}
	if start < len(mine) {
		page.Requests = append(page.Requests, mine[start])
		if start+1 < len(mine) {
			page.Bookmark = strconv.Itoa(start + 1)
		}
	}
	return page, nil
}

func (f *fakeService) ConsentRequest(ctx context.Context, p gateway.Principal, id string) (*wire.ConsentRequest, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.requests {
		if r.RequestID == id {
			return &r, nil
		}
	}
	return nil, gateway.Errorf(gateway.CodeNotFound, "no such request")
}

func (f *fakeService) Matters(ctx context.Context) ([]wire.Matter, error) {
	return []wire.Matter{{Code: "newborn", Version: 2, Name: "Newborn", Parts: []wire.MatterPart{{Department: "HealthMSP", RecordTypes: []string{"birth-certificate"}, Purpose: "newborn-registration"}}}}, nil
}

// A clerk asks for consent through the form: the request carries the department itself
// as grantee, the chosen types, purpose and durations; the clerk sees it with its
// outcome and in the list. A refusal keeps what was typed; a forged token asks nothing.
func TestClerkConsentRequest(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	csrf := b.signin(deptKey)
	form := url.Values{"csrf": {csrf}, "subjectId": {subject}, "mode": {"scope"}, "type": {"birth-certificate", "marriage"},
		"purpose": {"newborn-registration"}, "days": {"10"}, "openDays": {"3"}, "reference": {"app-2026-1"}}
	r := b.post("/en/clerk/requests", form)
	if r.Code != http.StatusSeeOther || r.Header().Get("Location") != "/en/clerk/requests/req-1?done=1" {
		t.Fatalf("create: %d %s %s", r.Code, r.Header().Get("Location"), r.Body)
	}
	got := f.svc.requests[0]
	g := got.Grant
	if g.Grantee != "HealthMSP" || strings.Join(g.Scope.RecordTypes, ",") != "birth-certificate,marriage" || g.Purpose != "newborn-registration" ||
		g.ExpiresAt != "2026-12-11T08:00:00Z" || got.ExpiresAt != "2026-12-04T08:00:00Z" || got.Reference != "app-2026-1" || !strings.HasPrefix(g.GrantID, "g-") {
		t.Fatalf("asked %+v", got)
	}
	page := b.get("/zh/clerk/requests/req-1?done=1").Body.String()
	for _, want := range []string{`data-status="pending"`, "等待市民处理", "app-2026-1", g.GrantID, "出生医学证明", "新生儿出生登记"} {
		if !strings.Contains(page, want) {
			t.Errorf("request page lacks %s", want)
		}
	}
	list := b.get("/en/clerk/requests?subject=" + subject).Body.String()
	if !strings.Contains(list, `data-request="req-1"`) {
		t.Errorf("the list lacks the request:\n%s", list)
	}
	// Refusals: the sentence and code, what was typed kept, nothing asked.
	for _, c := range []struct {
		change map[string]string
		code   string
	}{
		{map[string]string{"reference": "free text with spaces", "days": "12"}, "invalid"},
		{map[string]string{"days": "0"}, "invalid"},
		{map[string]string{"openDays": "31"}, "invalid"},
		{map[string]string{"mode": "matter", "matter": "no-such"}, "unknown_matter"},
		{map[string]string{"subjectId": "110101202611201235"}, "raw_id_number"},
	} {
		v := url.Values{}
		for k, x := range form {
			v[k] = x
		}
		for k, x := range c.change {
			v.Set(k, x)
		}
		r := b.post("/en/clerk/requests", v)
		body := r.Body.String()
		if r.Code < 400 || r.Code >= 500 || !strings.Contains(body, "<code>"+c.code+"</code>") {
			t.Errorf("%v: %d, want code %s", c.change, r.Code, c.code)
		}
		for k, x := range c.change {
			if k != "mode" && k != "matter" && !strings.Contains(body, `value="`+x+`"`) {
				t.Errorf("%v: typed %s=%q not kept", c.change, k, x)
			}
		}
		if !strings.Contains(body, `value="marriage" checked`) {
			t.Errorf("%v: the checked types were not kept", c.change)
		}
	}
	form.Set("csrf", "forged")
	if r := b.post("/en/clerk/requests", form); r.Code != http.StatusForbidden {
		t.Fatalf("forged token: %d", r.Code)
	}
	if len(f.svc.requests) != 1 {
		t.Fatalf("%d requests reached the service", len(f.svc.requests))
	}
	// A matter request names the matter only: the service fills in its parts.
	form.Set("csrf", csrf)
	form.Set("mode", "matter")
	form.Set("matter", "newborn")
	if r := b.post("/en/clerk/requests", form); r.Code != http.StatusSeeOther {
		t.Fatalf("matter request: %d %s", r.Code, r.Body)
	}
	if g := f.svc.requests[1].Grant; g.Matter == nil || g.Matter.Code != "newborn" || g.Grantee != "" || len(g.Parts) != 0 {
		t.Fatalf("matter request %+v", g)
	}
	// Past its expiry a pending request shows as expired.
	f.clock.add(4 * 24 * time.Hour)
	b = f.browser()
	b.signin(deptKey)
	if page := b.get("/zh/clerk/requests/req-1").Body.String(); !strings.Contains(page, `data-status="expired"`) || !strings.Contains(page, "已过期") {
		t.Error("a lapsed request is not shown as expired")
	}
	// The citizen's request page is a shell the module fills; a bad ID is refused.
	if r := b.get("/zh/citizen/requests/req-1"); r.Code != 200 || !strings.Contains(r.Body.String(), `data-request="req-1"`) {
		t.Fatalf("citizen request page: %d", r.Code)
	}
	if r := b.get("/zh/citizen/requests/bad%20id"); r.Code != 400 {
		t.Fatalf("bad request ID: %d", r.Code)
	}
}

// The desk lists all the department's requests across subjects, newest first from the
// service, one page at a time with a link to the next, filtered by status; a bad filter
// is a sentence with its code, never a 5xx.
func TestClerkSentRequests(t *testing.T) {
	f := newFixture(t)
	f.svc.requests = []wire.ConsentRequest{
		{RequestID: "req-a", SubjectID: subject, Requester: "HealthMSP", Reference: "app-a", Status: wire.RequestPending, CreatedAt: "2026-12-01T07:00:00Z", ExpiresAt: "2026-12-09T07:00:00Z"},
		{RequestID: "req-other", SubjectID: subject, Requester: "CivilMSP", Reference: "app-civil", Status: wire.RequestPending, CreatedAt: "2026-12-01T06:00:00Z", ExpiresAt: "2026-12-09T07:00:00Z"},
		{RequestID: "req-b", SubjectID: subject, Requester: "HealthMSP", Reference: "app-b", Status: wire.RequestApproved, CreatedAt: "2026-12-01T05:00:00Z", ExpiresAt: "2026-12-09T07:00:00Z"},
	}
	b := f.browser()
	b.signin(deptKey)
	page := b.get("/en/clerk/requests").Body.String()
	if !strings.Contains(page, `data-request="req-a"`) || strings.Contains(page, "req-other") || strings.Contains(page, `data-request="req-b"`) ||
		!strings.Contains(page, `id="sent-more"`) || !strings.Contains(page, "bookmark=1") {
		t.Fatalf("first page: %s", page)
	}
	page = b.get("/en/clerk/requests?bookmark=1").Body.String()
	if !strings.Contains(page, `data-request="req-b"`) || strings.Contains(page, `data-request="req-a"`) || strings.Contains(page, `id="sent-more"`) {
		t.Fatalf("second page: %s", page)
	}
	page = b.get("/zh/clerk/requests?status=approved").Body.String()
	if !strings.Contains(page, `data-request="req-b"`) || strings.Contains(page, `data-request="req-a"`) || !strings.Contains(page, "已同意") {
		t.Fatalf("approved only: %s", page)
	}
	r := b.get("/en/clerk/requests?status=lost")
	if r.Code >= 500 || !strings.Contains(r.Body.String(), "invalid") {
		t.Fatalf("bad filter: %d %s", r.Code, r.Body)
	}
}
