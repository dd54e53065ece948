package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
	"github.com/edossier-city/edossier/gateway/service"
)

type fakeAdmin struct {
	mu      sync.Mutex
	changes []string
}

func (a *fakeAdmin) op(p gateway.Principal, what string) error {
	if p.Role != gateway.RoleOperator {
		return gateway.Errorf(gateway.CodeForbidden, "operator only")
	}
	a.mu.Lock()
	a.changes = append(a.changes, what)
	a.mu.Unlock()
	return nil
}

func (a *fakeAdmin) RegisterDepartment(_ context.Context, p gateway.Principal, msp, name, code string) (*service.AdminResult[wire.Department], error) {
	if msp == "bad msp" {
		return nil, gateway.Errorf(gateway.CodeInvalid, "bad MSP ID")
	}
	return &service.AdminResult[wire.Department]{}, a.op(p, "dept "+msp+" "+name+" "+code)
}
func (a *fakeAdmin) DefineRecordType(_ context.Context, p gateway.Principal, code, name string) (*service.AdminResult[wire.RecordType], error) {
	return &service.AdminResult[wire.RecordType]{}, a.op(p, "type "+code)
}
func (a *fakeAdmin) Accredit(_ context.Context, p gateway.Principal, msp, t string) (*service.AdminResult[wire.Accreditation], error) {
	return &service.AdminResult[wire.Accreditation]{}, a.op(p, "accredit "+msp+" "+t)
}
func (a *fakeAdmin) Unaccredit(_ context.Context, p gateway.Principal, msp, t string) (*service.AdminResult[wire.Accreditation], error) {
	return &service.AdminResult[wire.Accreditation]{}, a.op(p, "unaccredit "+msp+" "+t)
}
func (a *fakeAdmin) DefinePurpose(_ context.Context, p gateway.Principal, code, name string) (*service.AdminResult[wire.Purpose], error) {
	return &service.AdminResult[wire.Purpose]{}, a.op(p, "purpose "+code)
}
func (a *fakeAdmin) DefineReason(_ context.Context, p gateway.Principal, code, name string) (*service.AdminResult[wire.Reason], error) {
	return &service.AdminResult[wire.Reason]{}, a.op(p, "reason "+code)
}
func (a *fakeAdmin) ListAPIKeys(p gateway.Principal) ([]service.APIKey, error) {
	return []service.APIKey{{ID: "dept", Role: gateway.RoleDepartment, Org: "health", User: "clerk1"}}, nil
}
func (a *fakeAdmin) RevokeAPIKey(p gateway.Principal, id string) (*service.APIKey, error) {
	return &service.APIKey{}, a.op(p, "revoke "+id)
}

func (a *fakeAdmin) CreateUser(_ context.Context, p gateway.Principal, org, user string, role gateway.Role, label string) (*service.NewUser, error) {
	if user == "bad user" {
		return nil, gateway.Errorf(gateway.CodeInvalid, "bad user name")
	}
	if err := a.op(p, "user "+org+" "+user+" "+string(role)); err != nil {
		return nil, err
	}
	return &service.NewUser{Org: org, MSPID: "HealthMSP", User: user, Role: role, KeyID: "k-user", APIKey: "edk_newuserkeynewuserkey"}, nil
}

func (a *fakeAdmin) CreateVerifier(p gateway.Principal, name, label string) (*service.NewVerifier, error) {
	if err := a.op(p, "verifier "+name); err != nil {
		return nil, err
	}
	return &service.NewVerifier{APIKey: service.APIKey{ID: "k-ver", Verifier: name}, Key: "edk_newverifierkeynewverifierkey"}, nil
}

// The operator issues a department user's key and a verifier's key: each shown once,
// in the answer to the form's POST (no redirect, no URL, not on the next page); a
// refusal keeps what was typed; a department is refused.
func TestOperatorIssuesKeysShownOnce(t *testing.T) {
	f := newFixture(t)
	adm := &fakeAdmin{}
	f.srv.opts.Admin = adm
	op := f.browser()
	csrf := op.signin(opKey)
	r := op.post("/en/clerk/admin/users", url.Values{"org": {"health"}, "user": {"clerk7"}, "role": {"department"}, "csrf": {csrf}})
	if r.Code != 200 || r.Header().Get("Location") != "" || !strings.Contains(r.Body.String(), `value="edk_newuserkeynewuserkey"`) ||
		!strings.Contains(r.Body.String(), `id="issued"`) || r.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("create user: %d %q", r.Code, r.Header())
	}
	r = op.post("/zh/clerk/admin/verifiers", url.Values{"name": {"bank-a"}, "label": {"counter 1"}, "csrf": {csrf}})
	if r.Code != 200 || !strings.Contains(r.Body.String(), `value="edk_newverifierkeynewverifierkey"`) {
		t.Fatalf("create verifier: %d", r.Code)
	}
	if page := op.get("/en/clerk/admin").Body.String(); strings.Contains(page, "edk_new") {
		t.Fatal("an issued key is shown again")
	}
	r = op.post("/en/clerk/admin/users", url.Values{"org": {"health"}, "user": {"bad user"}, "label": {"desk <3>"}, "csrf": {csrf}})
	if r.Code != 400 || !strings.Contains(r.Body.String(), `value="bad user"`) || !strings.Contains(r.Body.String(), `value="desk &lt;3&gt;"`) {
		t.Fatalf("refused user: %d", r.Code)
	}
	dept := f.browser()
	dcsrf := dept.signin(deptKey)
	if r := dept.post("/en/clerk/admin/verifiers", url.Values{"name": {"bank-b"}, "csrf": {dcsrf}}); r.Code != 403 || strings.Contains(r.Body.String(), "edk_new") {
		t.Fatalf("department issues a verifier key: %d", r.Code)
	}
	if got := strings.Join(adm.changes, "; "); got != "user health clerk7 department; verifier bank-a" {
		t.Fatalf("changes %q", got)
	}
}

func TestOperatorPages(t *testing.T) {
	f := newFixture(t)
	adm := &fakeAdmin{}
	f.srv.opts.Admin = adm
	op := f.browser()
	csrf := op.signin(opKey)
	page := op.get("/en/clerk/admin").Body.String()
	for _, want := range []string{"HealthMSP", "newborn-registration", "issued-in-error", "<code>dept</code>", `id="form-departments"`} {
		if !strings.Contains(page, want) {
			t.Errorf("operator page lacks %s", want)
		}
	}
	if r := op.post("/en/clerk/admin/departments", url.Values{"mspId": {"TaxMSP"}, "name": {"Tax Bureau"}, "code": {"tax"}, "csrf": {csrf}}); r.Code != http.StatusSeeOther {
		t.Fatalf("register: %d %s", r.Code, r.Body)
	}
	if r := op.post("/en/clerk/admin/revoke-key", url.Values{"keyId": {"dept"}, "csrf": {csrf}}); r.Code != http.StatusSeeOther {
		t.Fatalf("revoke key: %d", r.Code)
	}
	// A refusal keeps what was typed; no token changes nothing; a department is refused.
	r := op.post("/en/clerk/admin/departments", url.Values{"mspId": {"bad msp"}, "name": {"Tax <b>"}, "code": {"tax"}, "csrf": {csrf}})
	if r.Code != 400 || !strings.Contains(r.Body.String(), `value="Tax &lt;b&gt;"`) || !strings.Contains(r.Body.String(), "<code>invalid</code>") {
		t.Fatalf("refused register: %d", r.Code)
	}
	if r := op.post("/en/clerk/admin/purposes", url.Values{"code": {"x"}, "name": {"y"}}); r.Code != 403 {
		t.Fatalf("no csrf: %d", r.Code)
	}
	dept := f.browser()
	dcsrf := dept.signin(deptKey)
	if r := dept.post("/en/clerk/admin/purposes", url.Values{"code": {"x"}, "name": {"y"}, "csrf": {dcsrf}}); r.Code != 403 || !strings.Contains(r.Body.String(), "<code>forbidden</code>") {
		t.Fatalf("department: %d", r.Code)
	}
	if got := strings.Join(adm.changes, "; "); got != "dept TaxMSP Tax Bureau tax; revoke dept" {
		t.Fatalf("changes %q", got)
	}
}
