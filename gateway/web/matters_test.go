package web

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
	"github.com/edossier-city/edossier/gateway/service"
)

// Matter returns a version of the fake's newborn matter (v1 had one record type less).
func (f *fakeService) Matter(ctx context.Context, code string, version int) (*wire.Matter, error) {
	ms, _ := f.Matters(ctx)
	for _, m := range ms {
		if m.Code != code {
			continue
		}
		if version == 0 || version == m.Version {
			return &m, nil
		}
		if version == 1 {
			m.Version, m.Parts = 1, []wire.MatterPart{{Department: "HealthMSP", RecordTypes: []string{"marriage"}, Purpose: "newborn-registration"}}
			return &m, nil
		}
	}
	return nil, gateway.Errorf(gateway.CodeNotFound, "no such matter")
}

// DefineMatterVersion judges as the service and the chaincode do, against the fake's
// registry: the next version only, registered departments, types and purposes.
func (a *fakeAdmin) DefineMatterVersion(ctx context.Context, p gateway.Principal, d wire.MatterDefinition, version int) (*service.AdminResult[wire.Matter], error) {
	if p.Role != gateway.RoleOperator {
		return nil, gateway.Errorf(gateway.CodeForbidden, "operator only")
	}
	latest := 0
	if d.Code == "newborn" {
		latest = 2
	}
	if version != latest+1 {
		return nil, gateway.Errorf(gateway.CodeConflict, "not the next version")
	}
	if len(d.Parts) == 0 {
		return nil, gateway.Errorf(gateway.CodeInvalid, "no parts")
	}
	for _, part := range d.Parts {
		if part.Department != "HealthMSP" || part.Purpose != "newborn-registration" {
			return nil, gateway.Errorf(gateway.CodeInvalid, "unknown department or purpose")
		}
		for _, t := range part.RecordTypes {
			if t != "birth-certificate" && t != "marriage" {
				return nil, gateway.Errorf(gateway.CodeInvalid, "unknown type")
			}
		}
	}
	if err := a.op(p, "matter "+d.Code+" "+strings.Join(d.Parts[0].RecordTypes, "+")); err != nil {
		return nil, err
	}
	return &service.AdminResult[wire.Matter]{Value: wire.Matter{Code: d.Code, Version: version, Name: d.Name, Parts: d.Parts, TxID: "tx-m"}}, nil
}

// The operator's matters page lists every version of every matter with its parts;
// "new version" fills the form with the latest content and the next number; each
// refusal says in the page's language which department, record type or purpose is
// unknown, or which version comes next, and keeps what was typed; the next version is
// defined; a department and a missing CSRF token are refused and define nothing.
func TestOperatorDefinesMatters(t *testing.T) {
	f := newFixture(t)
	adm := &fakeAdmin{}
	f.srv.opts.Admin = adm
	op := f.browser()
	csrf := op.signin(opKey)
	page := op.get("/en/clerk/matters").Body.String()
	for _, want := range []string{`data-matter="newborn" data-version="2"`, `data-version="1"`, "Version 2", "Version 1", "出生医学证明", "<code>HealthMSP</code>", `id="matter-form"`} {
		if !strings.Contains(page, want) {
			t.Errorf("matters page lacks %s", want)
		}
	}
	edit := op.get("/zh/clerk/matters?edit=newborn").Body.String()
	if !strings.Contains(edit, `id="m-version" name="version" value="3"`) || !strings.Contains(edit, `name="types0" value="birth-certificate"`) || !strings.Contains(edit, "第 2 版") {
		t.Fatalf("new version form: %s", edit)
	}
	form := func(version, dept, types, purpose string) url.Values {
		return url.Values{"csrf": {csrf}, "code": {"newborn"}, "name": {"Newborn <one>"}, "version": {version}, "dept0": {dept}, "types0": {types}, "purpose0": {purpose}}
	}
	for _, c := range []struct {
		name, lang  string
		form        url.Values
		status      int
		code, sense string
	}{
		{"unknown department", "en", form("3", "TaxMSP", "birth-certificate", "newborn-registration"), 400, "invalid", "TaxMSP is not an active registered department."},
		{"unknown type", "en", form("3", "HealthMSP", "birth-certificate passport", "newborn-registration"), 400, "invalid", "Record type passport is not defined."},
		{"unknown purpose", "zh", form("3", "HealthMSP", "marriage", "curiosity"), 400, "invalid", "用途 curiosity 未登记。"},
		{"version not increasing", "en", form("2", "HealthMSP", "marriage", "newborn-registration"), 409, "conflict", "The version does not follow the latest one: the next version is 3."},
		{"version skipping", "zh", form("5", "HealthMSP", "marriage", "newborn-registration"), 409, "conflict", "版本号没有接在最新版本之后：下一个版本是 3。"},
		{"version not a number", "en", form("two", "HealthMSP", "marriage", "newborn-registration"), 400, "invalid", "The version must be a positive whole number."},
	} {
		r := op.post("/"+c.lang+"/clerk/matters", c.form)
		body := r.Body.String()
		if r.Code != c.status || !strings.Contains(body, "<code>"+c.code+"</code>") || !strings.Contains(body, c.sense) {
			t.Errorf("%s: %d, sentence %q missing", c.name, r.Code, c.sense)
		}
		if !strings.Contains(body, `value="Newborn &lt;one&gt;"`) || !strings.Contains(body, `name="types0" value="`+c.form.Get("types0")+`"`) ||
			!strings.Contains(body, `name="version" value="`+c.form.Get("version")+`"`) {
			t.Errorf("%s: the form lost what was typed", c.name)
		}
	}
	if r := op.post("/en/clerk/matters", form("3", "HealthMSP", "birth-certificate, marriage", "newborn-registration")); r.Code != 200 ||
		!strings.Contains(r.Body.String(), `id="defined-matter"`) || !strings.Contains(r.Body.String(), "Matter newborn version 3 is on the ledger.") {
		t.Fatalf("define v3: %d %s", r.Code, r.Body)
	}
	noCSRF := form("3", "HealthMSP", "marriage", "newborn-registration")
	noCSRF.Del("csrf")
	if r := op.post("/en/clerk/matters", noCSRF); r.Code != 403 {
		t.Fatalf("no CSRF: %d", r.Code)
	}
	dept := f.browser()
	dcsrf := dept.signin(deptKey)
	df := form("3", "HealthMSP", "marriage", "newborn-registration")
	df.Set("csrf", dcsrf)
	if r := dept.post("/en/clerk/matters", df); r.Code != 403 || !strings.Contains(r.Body.String(), "<code>forbidden</code>") {
		t.Fatalf("department: %d", r.Code)
	}
	if r := dept.get("/en/clerk/matters"); r.Code != 403 {
		t.Fatalf("department sees the form: %d", r.Code)
	}
	if got := strings.Join(adm.changes, "; "); got != "matter newborn birth-certificate+marriage" {
		t.Fatalf("changes %q", got)
	}
}
