package web

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
	"github.com/edossier-city/edossier/gateway/service"
)

func (f *fakeService) BindDelegation(ctx context.Context, p gateway.Principal, doc, sig string) (*service.DelegationResult, error) {
	if p.MSPID != "PoliceMSP" {
		return nil, gateway.Errorf(gateway.CodeForbidden, "not an identity authority")
	}
	return &service.DelegationResult{Delegation: wire.Delegation{DelegationID: "d-1"}, Receipt: gateway.Receipt{Channel: "datashare", TxID: "tx", Block: 4}}, nil
}

// A guardian's device leaves a signed delegation statement for the counter and gets
// a code; the counter finds it by the code; a department that may not attest is
// refused (the statement stays), the authority binds it. Bad statements are refused
// and kept nowhere.
func TestDelegationRequestAndCounter(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	post := func(body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "/zh/citizen/delegation-request", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		return b.do(req)
	}
	parent := "p-" + strings.Repeat("b", 32)
	statement := func(subjectID, relation string) string {
		doc, _ := wire.Marshal(wire.DelegationStatement{Kind: wire.DelegationKind, SubjectID: subjectID, DelegateID: parent, Relation: relation,
			EndsAt: wire.FormatTime(time.Now().Add(18 * 365 * 24 * time.Hour)), IssuedAt: wire.FormatTime(time.Now()), Nonce: "guardian-nonce-000001"})
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		sig, _ := wire.SignDocument(k, doc)
		body, _ := json.Marshal(map[string]string{"document": base64.StdEncoding.EncodeToString(doc), "signature": sig})
		return string(body)
	}
	for name, c := range map[string]struct{ body, code string }{
		"not JSON":     {"nope", "invalid"},
		"ID number":    {statement("110101202611201235", wire.RelationGuardian), "raw_id_number"},
		"bad relation": {statement(subject, "friend"), "invalid"},
		"no signature": {`{"document":"` + base64.StdEncoding.EncodeToString([]byte(`{}`)) + `"}`, "invalid"},
	} {
		if r := post(c.body); r.Code < 400 || r.Code >= 500 || !strings.Contains(r.Body.String(), `"code":"`+c.code+`"`) {
			t.Errorf("%s: %d %s", name, r.Code, r.Body)
		}
	}
	if n := len(f.srv.delegations.m); n != 0 {
		t.Fatalf("%d refused statements kept", n)
	}
	r := post(statement(subject, wire.RelationGuardian))
	var out struct {
		Code string `json:"code"`
	}
	if r.Code != 201 || json.Unmarshal(r.Body.Bytes(), &out) != nil || len(strings.ReplaceAll(out.Code, " ", "")) != 16 {
		t.Fatalf("delegation request: %d %s", r.Code, r.Body)
	}
	csrf := b.signin(deptKey)
	find := b.get("/zh/clerk/delegations?code=" + url.QueryEscape(out.Code)).Body.String()
	if !strings.Contains(find, subject) || !strings.Contains(find, parent) || !strings.Contains(find, "监护人") {
		t.Fatalf("the counter does not find the statement by its code:\n%s", find)
	}
	var full string
	for k := range f.srv.delegations.m {
		full = k
	}
	if r := b.post("/zh/clerk/delegations", url.Values{"code": {full}, "csrf": {csrf}}); r.Code != 403 || !strings.Contains(r.Body.String(), "<code>forbidden</code>") {
		t.Fatalf("bind by health: %d", r.Code)
	}
	if _, ok := f.srv.delegations.m[full]; !ok {
		t.Fatal("a refused binding dropped the statement")
	}
	if r := b.post("/zh/clerk/delegations", url.Values{"code": {full}}); r.Code != 403 {
		t.Fatalf("bind without CSRF: %d", r.Code)
	}
	police := f.browser()
	f.srv.opts.Keys = policeKeys{f.srv.opts.Keys}
	pcsrf := police.signin(deptKey)
	if r := police.post("/en/clerk/delegations", url.Values{"code": {full}, "csrf": {pcsrf}}); r.Code != 200 || !strings.Contains(r.Body.String(), `id="bound-delegation"`) {
		t.Fatalf("bind by the authority: %d %s", r.Code, r.Body)
	}
	if len(f.srv.delegations.m) != 0 {
		t.Fatal("a bound statement is still waiting")
	}
}
