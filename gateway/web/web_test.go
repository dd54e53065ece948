package web

import (
	"context"
	"crypto/tls"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
	"github.com/edossier-city/edossier/gateway/service"
)

// A small hand-written fake of the use cases (unit tests only; the real service runs
// in the browser tests of cmd/edossier-gateway on a real network).

const (
	goodCID  = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
	deptKey  = "edk_dept_secretsecretsecret"
	opKey    = "edk_op_secretsecretsecret"
	verKey   = "edk_ver_secretsecretsecret"
	subject  = "p-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	recordID = "r-one"
)

type fakeService struct {
	mu        sync.Mutex
	appended  []service.AppendInput
	fileBytes []string
	appendErr error
	note      string
	revoked   []string
	reads     []string
	requests  []wire.ConsentRequest
	// the counter's fake ledger (counter_test.go)
	delegations []wire.Delegation
	ended       []string
	recoveries  []wire.KeyRecovery
	completed   []string
}

func (f *fakeService) VerifyCID(ctx context.Context, cid string) (*service.Verification, error) {
	if _, err := wire.ParseCID(cid); err != nil {
		return nil, gateway.Errorf(gateway.CodeInvalid, "not a CID")
	}
	if cid != goodCID {
		return &service.Verification{CID: cid, Status: service.Unknown, Records: []service.VerifiedRecord{}}, nil
	}
	return &service.Verification{CID: cid, Verified: true, Status: service.Verified, Records: []service.VerifiedRecord{{
		RecordID: recordID, Type: "birth-certificate", TypeName: "出生医学证明", Issuer: "HealthMSP", IssuerName: "市卫生健康委员会",
		IssuedAt: "2026-11-20T02:03:04.5Z", Status: service.Verified, Receipt: gateway.Receipt{Channel: "municipal", TxID: "tx1", Block: 7},
		Batch: &service.BatchPosition{BatchID: "b-legacy-7", Index: 41}, Proof: "/v1/records/" + recordID + "/proof?batchId=b-legacy-7",
	}}}, nil
}

func (f *fakeService) ResolveSubject(p gateway.Principal, kind, idNumber string) (string, error) {
	if p.Role != gateway.RoleDepartment && p.Role != gateway.RoleOperator {
		return "", gateway.Errorf(gateway.CodeForbidden, "no")
	}
	if idNumber != "110101202611201235" {
		return "", gateway.Errorf(gateway.CodeInvalid, "bad ID number")
	}
	return subject, nil
}

func (f *fakeService) Registry(ctx context.Context, p gateway.Principal) (*service.Registry, error) {
	return &service.Registry{
		Departments:    []wire.Department{{MSPID: "HealthMSP", Name: "市卫生健康委员会", Active: true}},
		RecordTypes:    []wire.RecordType{{Code: "birth-certificate", Name: "出生医学证明"}, {Code: "marriage", Name: "结婚登记"}},
		Accreditations: []wire.Accreditation{{MSPID: "HealthMSP", RecordType: "birth-certificate", Active: true}},
		Purposes:       []wire.Purpose{{Code: "newborn-registration", Name: "新生儿登记"}},
		Reasons:        []wire.Reason{{Code: "issued-in-error", Name: "错发"}},
	}, nil
}

func (f *fakeService) AppendRecord(ctx context.Context, p gateway.Principal, in service.AppendInput) (*service.RecordResult, error) {
	b, err := io.ReadAll(in.File)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.appendErr != nil {
		return nil, f.appendErr
	}
	f.appended = append(f.appended, in)
	f.fileBytes = append(f.fileBytes, string(b))
	return &service.RecordResult{Record: wire.Record{RecordID: recordID}}, nil
}

func (f *fakeService) ListDossier(ctx context.Context, p gateway.Principal, subjectID, recordType string, pageSize int, bookmark string) (*service.RecordPage, error) {
	return &service.RecordPage{Records: []wire.Record{{RecordID: recordID, SubjectID: subjectID, Type: "birth-certificate", Issuer: "HealthMSP", IssuedAt: "2026-11-20T02:03:04Z", Status: "active"}}}, nil
}

func (f *fakeService) GetRecord(ctx context.Context, p gateway.Principal, id string) (*service.RecordView, error) {
	if id != recordID {
		return nil, gateway.Errorf(gateway.CodeNotFound, "no such record")
	}
	return &service.RecordView{Record: wire.Record{RecordID: id, SubjectID: subject, Type: "birth-certificate", CID: goodCID, Size: 5,
		MediaType: "application/pdf", Issuer: "HealthMSP", IssuedAt: "2026-11-20T02:03:04Z", Status: "active"}, Note: f.note}, nil
}

func (f *fakeService) RevokeRecord(ctx context.Context, p gateway.Principal, id, reason string) (*service.RecordResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if reason != "issued-in-error" {
		return nil, gateway.Errorf(gateway.CodeInvalid, "unknown reason")
	}
	f.revoked = append(f.revoked, id)
	return &service.RecordResult{}, nil
}

func (f *fakeService) SupersedeRecord(ctx context.Context, p gateway.Principal, oldID string, in service.AppendInput) (*service.SupersedeResult, error) {
	return nil, gateway.Errorf(gateway.CodeForbidden, "not yours")
}

func (f *fakeService) ReadContent(ctx context.Context, p gateway.Principal, id, grantID, purpose string) (*service.Content, error) {
	if grantID != "g-1" {
		return nil, gateway.Errorf(gateway.CodeOutOfScope, "no grant covers it")
	}
	f.mu.Lock()
	f.reads = append(f.reads, id)
	f.mu.Unlock()
	return &service.Content{Record: wire.Record{RecordID: id, Size: 5, MediaType: "application/pdf"}, Body: io.NopCloser(strings.NewReader("%PDF!"))}, nil
}

func (f *fakeService) BindSubjectKey(ctx context.Context, p gateway.Principal, doc, pop string) (*service.KeyResult, error) {
	if p.MSPID != "PoliceMSP" {
		return nil, gateway.Errorf(gateway.CodeForbidden, "not an identity authority")
	}
	return &service.KeyResult{Key: wire.SubjectKey{KeyID: "k"}, Receipt: gateway.Receipt{Channel: "datashare", TxID: "tx", Block: 3}}, nil
}

type fakeKeys struct {
	mu      sync.Mutex
	revoked map[string]bool
}

func (k *fakeKeys) Authenticate(key string) (gateway.Principal, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.revoked[key] {
		return gateway.Principal{}, gateway.Errorf(gateway.CodeUnauthorized, "revoked")
	}
	switch key {
	case deptKey:
		return gateway.Principal{Role: gateway.RoleDepartment, Org: "health", MSPID: "HealthMSP", User: "clerk1", KeyID: "dept"}, nil
	case opKey:
		return gateway.Principal{Role: gateway.RoleOperator, Org: "operator", MSPID: "OperatorMSP", User: "ops", KeyID: "op"}, nil
	case verKey:
		return gateway.Principal{Role: gateway.RoleVerifier, Org: "operator", MSPID: "OperatorMSP", User: "ops", KeyID: "ver", Verifier: "bank"}, nil
	}
	return gateway.Principal{}, gateway.Errorf(gateway.CodeUnauthorized, "unknown key")
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	t     *testing.T
	srv   *Server
	svc   *fakeService
	keys  *fakeKeys
	clock *clock
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{t: t, svc: &fakeService{}, keys: &fakeKeys{revoked: map[string]bool{}}, clock: &clock{t: time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)}}
	loc := time.FixedZone("CST", 8*3600)
	s, err := New(Options{Service: f.svc, Keys: f.keys, Now: f.clock.now, Location: loc, SessionTTL: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	f.srv = s
	return f
}

// browser is a cookie-keeping client of the fixture (httptest, no network).
type browser struct {
	f       *fixture
	cookies map[string]*http.Cookie
}

func (f *fixture) browser() *browser { return &browser{f: f, cookies: map[string]*http.Cookie{}} }

func (b *browser) do(req *http.Request) *httptest.ResponseRecorder {
	for _, c := range b.cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	b.f.srv.ServeHTTP(rec, req)
	for _, c := range rec.Result().Cookies() {
		if c.MaxAge < 0 {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c
		}
	}
	return rec
}

func (b *browser) get(path string) *httptest.ResponseRecorder {
	return b.do(httptest.NewRequest("GET", path, nil))
}

func (b *browser) post(path string, form url.Values) *httptest.ResponseRecorder {
	req := httptest.NewRequest("POST", path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "http://example.com")
	return b.do(req)
}

// hidden extracts the value of the hidden csrf field of a page.
func hidden(t *testing.T, body string) string {
	t.Helper()
	const marker = `name="csrf" value="`
	i := strings.Index(body, marker)
	if i < 0 {
		t.Fatalf("no csrf field in page:\n%s", body)
	}
	rest := body[i+len(marker):]
	return rest[:strings.IndexByte(rest, '"')]
}

// signin signs a browser in with key and returns the session's CSRF token.
func (b *browser) signin(key string) string {
	t := b.f.t
	t.Helper()
	page := b.get("/zh/clerk/signin")
	rec := b.post("/zh/clerk/signin", url.Values{"csrf": {hidden(t, page.Body.String())}, "apiKey": {key}})
	if rec.Code != http.StatusSeeOther || rec.Header().Get("Location") != "/zh/clerk" {
		t.Fatalf("sign-in: %d %s %s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	home := b.get("/zh/clerk")
	if home.Code != 200 {
		t.Fatalf("clerk home: %d %s", home.Code, home.Body)
	}
	return hidden(t, home.Body.String())
}

func TestSecurityHeadersOnEveryPage(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	b.signin(deptKey)
	for _, path := range []string{"/", "/zh/", "/en/", "/zh/verify", "/en/verify", "/zh/verify/" + goodCID, "/en/verify/" + goodCID + "/slip",
		"/verify/" + goodCID, "/zh/clerk/signin", "/zh/clerk", "/zh/clerk/dossier/" + subject, "/zh/clerk/records/" + recordID,
		"/static/style.css", "/static/verify.js", "/static/nope.js", "/nope", "/zh/verify/not-a-cid",
		"/zh/citizen", "/en/citizen/grant", "/zh/citizen/key/" + strings.Repeat("ab", 32), "/zh/clerk/bindings", "/qr/verify/" + goodCID, "/static/citizen.js", "/static/citizen-page.js"} {
		rec := b.get(path)
		h := rec.Header()
		if h.Get("Content-Security-Policy") != ContentSecurityPolicy || h.Get("X-Frame-Options") != "DENY" || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: headers %v", path, h)
		}
		if !strings.Contains(ContentSecurityPolicy, "frame-ancestors 'none'") || strings.Contains(ContentSecurityPolicy, "unsafe-inline") {
			t.Fatalf("policy %q", ContentSecurityPolicy)
		}
		if rec.Code >= 500 {
			t.Errorf("%s: %d", path, rec.Code)
		}
		if ct := h.Get("Content-Type"); strings.HasPrefix(ct, "text/html") {
			body := rec.Body.String()
			// No inline script and no inline style anywhere: every script has a src.
			if strings.Contains(body, "<script>") || strings.Contains(body, "style=") || strings.Contains(body, " on") && strings.Contains(body, "onclick") {
				t.Errorf("%s: inline script or style", path)
			}
			if strings.Contains(body, deptKey) {
				t.Errorf("%s: the API key is in the page", path)
			}
		}
	}
}

func TestCataloguesHaveEveryKey(t *testing.T) {
	cat, err := loadCatalogues()
	if err != nil {
		t.Fatal(err)
	}
	for k := range cat["zh"] {
		if !cat["en"].has(k) {
			t.Errorf("%s: in zh, not in en", k)
		}
	}
	for k := range cat["en"] {
		if !cat["zh"].has(k) {
			t.Errorf("%s: in en, not in zh", k)
		}
	}
	// Every key a template or the code names, every status and every error code.
	used := map[string]bool{}
	for _, dir := range []string{"templates", "."} {
		entries, _ := templateFS.ReadDir("templates")
		_ = dir
		for _, e := range entries {
			b, _ := templateFS.ReadFile("templates/" + e.Name())
			for _, k := range quotedAfter(string(b), `.T "`) {
				used[k] = true
			}
		}
	}
	for _, s := range []string{service.Verified, service.Revoked, service.Superseded, service.Expired, service.Unknown, service.NotInDossier, wire.StatusActive} {
		used["status."+s] = true
		if s != wire.StatusActive {
			used["verdict."+s] = true
		}
	}
	for _, c := range []gateway.Code{gateway.CodeInvalid, gateway.CodeRawIDNumber, gateway.CodeUnauthorized, gateway.CodeBadSignature,
		gateway.CodeStaleSignature, gateway.CodeReplay, gateway.CodeForbidden, gateway.CodeNotFound, gateway.CodeConflict, gateway.CodeExpired,
		gateway.CodeNotYetValid, gateway.CodeRevoked, gateway.CodeOutOfScope, gateway.CodeUnknownKey, gateway.CodeTooLarge, gateway.CodeUnsupported,
		gateway.CodeRateLimited, gateway.CodeUnavailable, gateway.CodeStorageFull, gateway.CodeBlobCorrupt, gateway.CodeInternal} {
		used["err."+string(c)] = true
	}
	for _, k := range []string{"record.done.appended", "record.done.revoked", "record.done.superseded", "home.title", "error.title",
		"verify.title", "verified.title", "slip.title", "signin.title", "signin.expired", "clerk.title", "dossier.title", "record.title", "verify.qr"} {
		used[k] = true
	}
	if len(used) < 100 {
		t.Fatalf("only %d keys found in use: the scan is broken", len(used))
	}
	for k := range used {
		for _, l := range languages {
			if !cat[l].has(k) {
				t.Errorf("%s: missing in %s", k, l)
			}
		}
	}
}

func quotedAfter(s, marker string) []string {
	var out []string
	for {
		i := strings.Index(s, marker)
		if i < 0 {
			return out
		}
		s = s[i+len(marker):]
		j := strings.IndexByte(s, '"')
		if j < 0 {
			return out
		}
		out = append(out, s[:j])
		s = s[j:]
	}
}

func TestVerifyPages(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	rec := b.get("/zh/verify/" + goodCID)
	body := rec.Body.String()
	for _, want := range []string{"市卫生健康委员会", "出生医学证明", "2026年11月20日 10:03", "有效", "区块 7", `src="/qr/verify/` + goodCID + `"`, "/verify/" + goodCID, `data-status="verified"`} {
		if !strings.Contains(body, want) {
			t.Errorf("zh result lacks %q", want)
		}
	}
	if strings.Contains(body, "HealthMSP") {
		t.Error("the issuer is shown by its MSP ID, not its registered name")
	}
	en := b.get("/en/verify/" + goodCID).Body.String()
	for _, want := range []string{"20 November 2026 10:03", "Valid", "block 7", `lang="en"`} {
		if !strings.Contains(en, want) {
			t.Errorf("en result lacks %q", want)
		}
	}
	slip := b.get("/en/verify/" + goodCID + "/slip").Body.String()
	if !strings.Contains(slip, `src="/qr/verify/`+goodCID+`"`) || !strings.Contains(slip, "Verification slip") {
		t.Error("slip without QR code")
	}
	// The result and the slip name the record's proof to keep.
	for name, page := range map[string]string{"result": en, "slip": slip} {
		if !strings.Contains(page, "Proof to keep") || !strings.Contains(page, "/proof?batchId=b-legacy-7</code>") ||
			!strings.Contains(page, "<code>b-legacy-7</code> (leaf 41;") {
			t.Errorf("the %s does not link the record's proof", name)
		}
	}
	// The QR image: an SVG of the link, cached for good; only for a CID.
	qr := b.get("/qr/verify/" + goodCID)
	if qr.Code != 200 || qr.Header().Get("Content-Type") != "image/svg+xml" || !strings.HasPrefix(qr.Body.String(), "<svg") ||
		!strings.Contains(qr.Header().Get("Cache-Control"), "immutable") {
		t.Errorf("QR image: %d %v", qr.Code, qr.Header())
	}
	if r := b.get("/qr/verify/not-a-cid"); r.Code != 400 {
		t.Errorf("QR of a non-CID: %d", r.Code)
	}
	other := "bafkreiaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	if r := b.get("/en/verify/" + other); r.Code != 200 || !strings.Contains(r.Body.String(), `data-status="not_found"`) {
		t.Errorf("unknown file: %d", r.Code)
	}
	// A CID typed into the form goes to its page; a wrong one is refused in the page's
	// language with its code, and the field keeps what was typed.
	if r := b.get("/zh/verify?cid=" + goodCID); r.Code != http.StatusSeeOther || r.Header().Get("Location") != "/zh/verify/"+goodCID {
		t.Errorf("form: %d %s", r.Code, r.Header().Get("Location"))
	}
	r := b.get("/zh/verify?cid=" + url.QueryEscape("<b>xyz"))
	if r.Code != 400 || !strings.Contains(r.Body.String(), "填写的内容有误") || !strings.Contains(r.Body.String(), "<code>invalid</code>") ||
		!strings.Contains(r.Body.String(), `value="&lt;b&gt;xyz"`) {
		t.Errorf("bad cid: %d %s", r.Code, r.Body)
	}
	r = b.get("/en/verify/not-a-cid")
	if r.Code != 400 || !strings.Contains(r.Body.String(), "Something in the form is not right") {
		t.Errorf("bad cid path: %d", r.Code)
	}
	// The language-neutral QR link follows the remembered language.
	if r := b.get("/verify/" + goodCID); r.Header().Get("Location") != "/en/verify/"+goodCID {
		t.Errorf("QR link: %s", r.Header().Get("Location"))
	}
}

func TestLanguageSwitch(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	if r := b.get("/"); r.Header().Get("Location") != "/zh/" {
		t.Errorf("default language: %s", r.Header().Get("Location"))
	}
	zh := b.get("/zh/verify?x=1").Body.String()
	if !strings.Contains(zh, `id="lang-switch" href="/en/verify?x=1"`) || !strings.Contains(zh, `<html lang="zh-CN">`) {
		t.Errorf("zh page has no switch to en:\n%s", zh)
	}
	en := b.get("/en/verify").Body.String()
	if !strings.Contains(en, `id="lang-switch" href="/zh/verify"`) {
		t.Error("en page has no switch to zh")
	}
	if r := b.get("/"); r.Header().Get("Location") != "/en/" {
		t.Errorf("remembered language: %s", r.Header().Get("Location"))
	}
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("Accept-Language", "en-GB,en;q=0.8")
	rec := httptest.NewRecorder()
	f.srv.ServeHTTP(rec, req)
	if rec.Header().Get("Location") != "/en/" {
		t.Errorf("Accept-Language: %s", rec.Header().Get("Location"))
	}
}

func TestSignInCookieFlagsAndSignOut(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	csrf := b.signin(deptKey)
	c := b.cookies[sessionCookie]
	if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.MaxAge != 600 || c.Path != "/" || c.Secure {
		t.Fatalf("session cookie %+v", c)
	}
	if strings.Contains(c.Value, deptKey) || len(c.Value) < 40 {
		t.Fatalf("cookie value %q", c.Value)
	}
	// Over TLS (or with SecureCookies) the cookies are Secure.
	page := httptest.NewRequest("GET", "https://example.com/zh/clerk/signin", nil)
	page.TLS = &tls.ConnectionState{}
	rec := httptest.NewRecorder()
	f.srv.ServeHTTP(rec, page)
	for _, c := range rec.Result().Cookies() {
		if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
			t.Errorf("TLS cookie %+v", c)
		}
	}
	home := b.get("/zh/clerk").Body.String()
	if !strings.Contains(home, "health") || !strings.Contains(home, "出生医学证明") || strings.Contains(home, "结婚登记") {
		t.Error("home: clerk or accredited types missing, or a type the department may not issue shown")
	}
	if r := b.post("/zh/clerk/signout", url.Values{"csrf": {csrf}}); r.Code != http.StatusSeeOther {
		t.Fatalf("sign-out: %d", r.Code)
	}
	if _, ok := b.cookies[sessionCookie]; ok {
		t.Fatal("cookie kept after sign-out")
	}
	// The old cookie no longer works either.
	old := f.browser()
	old.cookies[sessionCookie] = c
	if r := old.get("/zh/clerk"); r.Code != http.StatusSeeOther || !strings.HasPrefix(r.Header().Get("Location"), "/zh/clerk/signin") {
		t.Fatalf("signed-out session still works: %d", r.Code)
	}
}

func TestSignInRefusals(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	tok := hidden(t, b.get("/en/clerk/signin").Body.String())
	wrong := "x" + tok[1:]
	if tok[0] == 'x' { // a token starting with x would be "wrong" and right (1 in 64 runs)
		wrong = "y" + tok[1:]
	}
	for _, c := range []struct {
		name   string
		form   url.Values
		status int
		code   string
	}{
		{"no csrf", url.Values{"apiKey": {deptKey}}, 403, "forbidden"},
		{"wrong csrf", url.Values{"apiKey": {deptKey}, "csrf": {wrong}}, 403, "forbidden"},
		{"bad key", url.Values{"apiKey": {"edk_nope"}, "csrf": {tok}}, 401, "unauthorized"},
		{"verifier key", url.Values{"apiKey": {verKey}, "csrf": {tok}}, 403, "forbidden"},
	} {
		r := b.post("/en/clerk/signin", c.form)
		if r.Code != c.status || !strings.Contains(r.Body.String(), "<code>"+c.code+"</code>") {
			t.Errorf("%s: %d %s", c.name, r.Code, r.Body)
		}
		if strings.Contains(r.Body.String(), "edk_") && strings.Contains(r.Body.String(), c.form.Get("apiKey")) {
			t.Errorf("%s: the typed key is shown again", c.name)
		}
		if _, ok := b.cookies[sessionCookie]; ok {
			t.Fatalf("%s: a session was started", c.name)
		}
	}
}

func TestCSRFRefused(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	csrf := b.signin(deptKey)
	for _, c := range []struct {
		name string
		form url.Values
	}{
		{"missing", url.Values{"kind": {"person"}, "idNumber": {"110101202611201235"}}},
		{"wrong", url.Values{"kind": {"person"}, "idNumber": {"110101202611201235"}, "csrf": {"nope"}}},
	} {
		r := b.post("/zh/clerk/resolve", c.form)
		if r.Code != 403 || !strings.Contains(r.Body.String(), "<code>forbidden</code>") || strings.Contains(r.Body.String(), subject) {
			t.Errorf("resolve, csrf %s: %d", c.name, r.Code)
		}
		r = b.post("/zh/clerk/records/"+recordID+"/revoke", url.Values{"reason": {"issued-in-error"}, "csrf": c.form["csrf"]})
		if r.Code != 403 {
			t.Errorf("revoke, csrf %s: %d", c.name, r.Code)
		}
	}
	if len(f.svc.revoked) != 0 {
		t.Fatalf("revoked without a CSRF token: %v", f.svc.revoked)
	}
	// Another site's form, even with the token: refused by its Origin.
	req := httptest.NewRequest("POST", "/zh/clerk/records/"+recordID+"/revoke", strings.NewReader(url.Values{"reason": {"issued-in-error"}, "csrf": {csrf}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	if r := b.do(req); r.Code != 403 || len(f.svc.revoked) != 0 {
		t.Fatalf("cross-origin revoke: %d %v", r.Code, f.svc.revoked)
	}
	// A multipart append without the token as first part is refused and stores nothing.
	body, ct := multipartForm(t, [][2]string{{"subjectId", subject}, {"csrf", csrf}, {"type", "birth-certificate"}}, "doc.pdf", "%PDF")
	if r := b.postMultipart("/zh/clerk/append", body, ct); r.Code != 403 || len(f.svc.appended) != 0 {
		t.Fatalf("append without leading csrf: %d %d", r.Code, len(f.svc.appended))
	}
	// With it, the revoke works.
	if r := b.post("/zh/clerk/records/"+recordID+"/revoke", url.Values{"reason": {"issued-in-error"}, "csrf": {csrf}}); r.Code != http.StatusSeeOther || len(f.svc.revoked) != 1 {
		t.Fatalf("revoke: %d %s", r.Code, r.Body)
	}
}

func TestSessionExpiry(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	csrf := b.signin(deptKey)
	f.clock.add(9 * time.Minute)
	if r := b.get("/zh/clerk"); r.Code != 200 {
		t.Fatalf("before expiry: %d", r.Code)
	}
	f.clock.add(time.Minute)
	r := b.post("/zh/clerk/resolve", url.Values{"kind": {"person"}, "idNumber": {"110101202611201235"}, "csrf": {csrf}})
	if r.Code != http.StatusSeeOther || r.Header().Get("Location") != "/zh/clerk/signin?why=expired" {
		t.Fatalf("after expiry: %d %s", r.Code, r.Header().Get("Location"))
	}
	if !strings.Contains(b.get("/zh/clerk/signin?why=expired").Body.String(), "会话已过期") {
		t.Error("no expiry notice")
	}
	if r := b.get("/zh/clerk"); r.Code != http.StatusSeeOther {
		t.Fatalf("expired session works again: %d", r.Code)
	}
}

func TestRevokedKeyEndsSession(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	b.signin(deptKey)
	f.keys.mu.Lock()
	f.keys.revoked[deptKey] = true
	f.keys.mu.Unlock()
	if r := b.get("/zh/clerk"); r.Code != 401 || !strings.Contains(r.Body.String(), "<code>unauthorized</code>") {
		t.Fatalf("revoked key: %d", r.Code)
	}
	if _, ok := b.cookies[sessionCookie]; ok {
		t.Fatal("session cookie kept")
	}
}

func TestResolveKeepsTypedAndNeverPutsNumberInURL(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	csrf := b.signin(deptKey)
	r := b.post("/en/clerk/resolve", url.Values{"kind": {"enterprise"}, "idNumber": {"91110000X"}, "csrf": {csrf}})
	body := r.Body.String()
	if r.Code != 400 || !strings.Contains(body, `value="91110000X"`) || !strings.Contains(body, `value="enterprise" checked`) {
		t.Fatalf("refused resolve does not keep the form: %d\n%s", r.Code, body)
	}
	r = b.post("/en/clerk/resolve", url.Values{"kind": {"person"}, "idNumber": {"110101202611201235"}, "csrf": {csrf}})
	body = r.Body.String()
	if r.Code != 200 || !strings.Contains(body, subject) || strings.Contains(body, "110101202611201235") {
		t.Fatalf("resolve: %d", r.Code)
	}
	if loc := r.Header().Get("Location"); strings.Contains(loc, "110101") {
		t.Fatalf("ID number in a URL: %s", loc)
	}
}

func TestAppendStreamsFileAndKeepsFormOnRefusal(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	csrf := b.signin(deptKey)
	fields := [][2]string{{"csrf", csrf}, {"idempotencyKey", "web-k1"}, {"subjectId", subject}, {"type", "birth-certificate"}, {"validUntil", "2027-01-31"}, {"note", "婴儿 <b>王</b>"}}
	body, ct := multipartForm(t, fields, "birth.pdf", "%PDF-1.7 newborn")
	r := b.postMultipart("/zh/clerk/append", body, ct)
	if r.Code != http.StatusSeeOther || r.Header().Get("Location") != "/zh/clerk/records/"+recordID+"?done=appended" {
		t.Fatalf("append: %d %s", r.Code, r.Body)
	}
	in := f.svc.appended[0]
	if f.svc.fileBytes[0] != "%PDF-1.7 newborn" || in.Meta.Type != "birth-certificate" || in.Meta.Note != "婴儿 <b>王</b>" || in.IdempotencyKey != "web-k1" ||
		in.FileMediaType != "application/pdf" || in.Meta.ValidUntil != "2027-01-31T15:59:59.999999999Z" {
		t.Fatalf("append input %+v %q", in, f.svc.fileBytes[0])
	}
	f.svc.appendErr = gateway.Errorf(gateway.CodeForbidden, "not accredited")
	body, ct = multipartForm(t, fields, "birth.pdf", "%PDF-1.7 newborn")
	r = b.postMultipart("/en/clerk/append", body, ct)
	page := r.Body.String()
	if r.Code != 403 || !strings.Contains(page, "You may not do this") || !strings.Contains(page, "<code>forbidden</code>") ||
		!strings.Contains(page, "婴儿 &lt;b&gt;王&lt;/b&gt;") || !strings.Contains(page, `value="2027-01-31"`) || !strings.Contains(page, `value="`+subject+`"`) {
		t.Fatalf("refused append does not keep the form: %d\n%s", r.Code, page)
	}
	// No file chosen: refused before the service.
	body, ct = multipartForm(t, fields, "", "")
	if r := b.postMultipart("/en/clerk/append", body, ct); r.Code != 400 {
		t.Fatalf("no file: %d", r.Code)
	}
	// A raw ID number where the subject ID goes: refused with its code, nothing appended.
	f.svc.appendErr = nil
	bad := append([][2]string{}, fields...)
	bad[2] = [2]string{"subjectId", "110101202611201235"}
	body, ct = multipartForm(t, bad, "birth.pdf", "x")
	if r := b.postMultipart("/en/clerk/append", body, ct); r.Code != 400 || !strings.Contains(r.Body.String(), "<code>raw_id_number</code>") || len(f.svc.appended) != 1 {
		t.Fatalf("raw ID number: %d %d", r.Code, len(f.svc.appended))
	}
}

// TestUserTextShownAsText: a note (the only free text a clerk types) holding markup is
// shown as text.
func TestUserTextShownAsText(t *testing.T) {
	f := newFixture(t)
	f.svc.note = `<script>alert("x")</script><img src=x onerror=alert(1)>`
	b := f.browser()
	b.signin(deptKey)
	body := b.get("/zh/clerk/records/" + recordID).Body.String()
	if strings.Contains(body, "<script>alert") || strings.Contains(body, "<img src=x") || !strings.Contains(body, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;") {
		t.Fatalf("note not escaped:\n%s", body)
	}
}

func TestReadContentUnderGrant(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	csrf := b.signin(deptKey)
	r := b.post("/zh/clerk/records/"+recordID+"/content", url.Values{"grantId": {"g-2"}, "purpose": {"newborn-registration"}, "csrf": {csrf}})
	if r.Code != 403 || !strings.Contains(r.Body.String(), "<code>out_of_scope</code>") || !strings.Contains(r.Body.String(), `value="g-2"`) {
		t.Fatalf("refused read: %d %s", r.Code, r.Body)
	}
	r = b.post("/zh/clerk/records/"+recordID+"/content", url.Values{"grantId": {"g-1"}, "purpose": {"newborn-registration"}, "csrf": {csrf}})
	if r.Code != 200 || r.Body.String() != "%PDF!" || !strings.HasPrefix(r.Header().Get("Content-Disposition"), "attachment") {
		t.Fatalf("read: %d %q", r.Code, r.Body)
	}
}

func TestJavaScriptBudget(t *testing.T) {
	total := 0
	entries, err := staticFS.ReadDir("static")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".js") {
			b, _ := staticFS.ReadFile("static/" + e.Name())
			total += len(b)
		}
	}
	if total == 0 || total >= 60<<10 {
		t.Fatalf("JavaScript total %d bytes (budget 60 KiB)", total)
	}
	t.Logf("JavaScript total: %d bytes", total)
}

func multipartForm(t *testing.T, fields [][2]string, filename, content string) (io.Reader, string) {
	t.Helper()
	var buf strings.Builder
	w := multipart.NewWriter(&buf)
	for _, f := range fields {
		if err := w.WriteField(f[0], f[1]); err != nil {
			t.Fatal(err)
		}
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="file"; filename="`+filename+`"`)
	h.Set("Content-Type", "application/pdf")
	fw, err := w.CreatePart(h)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(fw, content)
	w.Close()
	return strings.NewReader(buf.String()), w.FormDataContentType()
}

func (b *browser) postMultipart(path string, body io.Reader, ct string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("POST", path, body)
	req.Header.Set("Content-Type", ct)
	return b.do(req)
}
