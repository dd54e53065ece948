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
