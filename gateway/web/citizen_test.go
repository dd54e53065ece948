package web

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
)

// bindRequest is what a phone sends: a bind statement signed by its new key.
func bindRequest(t *testing.T, subjectID string, signer *ecdsa.PrivateKey) (string, string) {
	t.Helper()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	doc, err := wire.EncodeKeyStatement(wire.KeyStatement{Kind: wire.KeyBindKind, SubjectID: subjectID,
		PublicKeyPEM: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), IssuedAt: wire.FormatTime(time.Now()), Nonce: "nonce-1234567890abcdef"})
	if err != nil {
		t.Fatal(err)
	}
	if signer == nil {
		signer = k
	}
	sig, _ := wire.SignDocument(signer, doc)
	body, _ := json.Marshal(map[string]string{"document": base64.StdEncoding.EncodeToString(doc), "popSignature": sig})
	return string(body), ""
}

func TestKeyRequestAndCounterBinding(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	post := func(body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "/zh/citizen/key-request", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		return b.do(req)
	}
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for name, body := range map[string]string{
		"not JSON":        "nope",
		"not base64":      `{"document":"***","popSignature":"x"}`,
		"wrong signer":    func() string { s, _ := bindRequest(t, subject, other); return s }(),
		"not a statement": `{"document":"` + base64.StdEncoding.EncodeToString([]byte(`{"kind":"x"}`)) + `","popSignature":"x"}`,
	} {
		if r := post(body); r.Code < 400 || r.Code >= 500 || !strings.Contains(r.Body.String(), `"code"`) {
			t.Errorf("%s: %d %s", name, r.Code, r.Body)
		}
	}
	if n := len(f.srv.pending.m); n != 0 {
		t.Fatalf("%d refused requests kept", n)
	}
	body, _ := bindRequest(t, subject, nil)
	r := post(body)
	var out struct {
		KeyID string `json:"keyId"`
	}
	if r.Code != 201 || json.Unmarshal(r.Body.Bytes(), &out) != nil || len(out.KeyID) != 64 {
		t.Fatalf("key request: %d %s", r.Code, r.Body)
	}
	page := b.get("/en/citizen/key/" + out.KeyID).Body.String()
	if !strings.Contains(page, fingerprint(out.KeyID)) || !strings.Contains(page, "<svg") || strings.Contains(page, "PRIVATE") {
		t.Fatal("key page lacks the fingerprint or its QR code")
	}
	// The counter: a department that is no identity authority is refused by the
	// ledger (the fake's rule here) and the request stays; the authority binds it.
	csrf := b.signin(deptKey)
	find := b.get("/zh/clerk/bindings?fingerprint=" + url.QueryEscape(fingerprint(out.KeyID)))
	if !strings.Contains(find.Body.String(), subject) {
		t.Fatalf("pending request not found by its fingerprint:\n%s", find.Body)
	}
	if r := b.get("/zh/clerk/bindings?fingerprint=" + out.KeyID[:6]); strings.Contains(r.Body.String(), subject) {
		t.Fatal("a 6-digit prefix finds requests")
	}
	if r := b.post("/zh/clerk/bindings", url.Values{"keyId": {out.KeyID}, "csrf": {csrf}}); r.Code != 403 || !strings.Contains(r.Body.String(), "<code>forbidden</code>") {
		t.Fatalf("bind by health: %d", r.Code)
	}
	if _, ok := f.srv.pending.m[out.KeyID]; !ok {
		t.Fatal("a refused binding dropped the request")
	}
	if r := b.post("/zh/clerk/bindings", url.Values{"keyId": {out.KeyID}}); r.Code != 403 {
		t.Fatalf("bind without CSRF: %d", r.Code)
	}
	police := f.browser()
	f.srv.opts.Keys = policeKeys{f.srv.opts.Keys}
	pcsrf := police.signin(deptKey)
	if r := police.post("/zh/clerk/bindings", url.Values{"keyId": {out.KeyID}, "csrf": {pcsrf}}); r.Code != 200 || !strings.Contains(r.Body.String(), `id="bound-key"`) {
		t.Fatalf("bind by the authority: %d %s", r.Code, r.Body)
	}
	if _, ok := f.srv.pending.m[out.KeyID]; ok {
		t.Fatal("a bound request is still pending")
	}
}

// policeKeys makes every department key an identity authority's.
type policeKeys struct{ Keys }

func (k policeKeys) Authenticate(key string) (gateway.Principal, error) {
	p, err := k.Keys.Authenticate(key)
	p.MSPID = "PoliceMSP"
	return p, err
}

func TestGrantPreviewIsTheLedgerEncoding(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	q := url.Values{"subjectId": {subject}, "grantee": {"HealthMSP"}, "type": {"birth-certificate"}, "purpose": {"newborn-registration"}, "days": {"30"}, "preview": {"1"}}
	r := b.get("/en/citizen/grant?" + q.Encode())
	body := r.Body.String()
	i := strings.Index(body, `data-document="`)
	if r.Code != 200 || i < 0 {
		t.Fatalf("preview: %d %s", r.Code, body)
	}
	b64 := body[i+len(`data-document="`):]
	b64 = strings.ReplaceAll(b64[:strings.IndexByte(b64, '"')], "&#43;", "+")
	doc, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	var g wire.Grant
	if err := wire.DecodeSigned(doc, &g, wire.MaxDocumentBytes); err != nil || g.SubjectID != subject || g.Grantee != "HealthMSP" || g.Purpose != "newborn-registration" ||
		len(g.Scope.RecordTypes) != 1 || g.Kind != wire.GrantKind {
		t.Fatalf("document %s: %v", doc, err)
	}
	again, _ := wire.EncodeGrant(g)
	if string(again) != string(doc) {
		t.Fatalf("not the ledger's encoding:\n%s\n%s", doc, again)
	}
	// Refusals keep the form: no type, a bad duration, a raw ID number.
	for name, v := range map[string]url.Values{
		"no type":  {"subjectId": {subject}, "grantee": {"HealthMSP"}, "purpose": {"newborn-registration"}, "days": {"30"}, "preview": {"1"}},
		"bad days": {"subjectId": {subject}, "grantee": {"HealthMSP"}, "type": {"birth-certificate"}, "purpose": {"newborn-registration"}, "days": {"9999"}, "preview": {"1"}},
		"raw ID":   {"subjectId": {"110101202611201235"}, "grantee": {"HealthMSP"}, "type": {"birth-certificate"}, "purpose": {"newborn-registration"}, "days": {"30"}, "preview": {"1"}},
	} {
		r := b.get("/en/citizen/grant?" + v.Encode())
		if r.Code != 400 || strings.Contains(r.Body.String(), "data-document") || !strings.Contains(r.Body.String(), `value="`+v.Get("days")+`"`) {
			t.Errorf("%s: %d", name, r.Code)
		}
	}
}

// A second device leaves a key-add statement; the subject's first device finds it by
// the subject ID and the full fingerprint, never by a shorter prefix or for another
// subject; the counter's binding page never offers it (it is no first key).
func TestSecondDeviceRequest(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	doc, err := wire.EncodeKeyStatement(wire.KeyStatement{Kind: wire.KeyAddKind, SubjectID: subject,
		PublicKeyPEM: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), IssuedAt: wire.FormatTime(time.Now()), Nonce: "nonce-1234567890abcdef"})
	if err != nil {
		t.Fatal(err)
	}
	sig, _ := wire.SignDocument(k, doc)
	body, _ := json.Marshal(map[string]string{"document": base64.StdEncoding.EncodeToString(doc), "popSignature": sig})
	req := httptest.NewRequest("POST", "/en/citizen/key-request", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", "application/json")
	r := b.do(req)
	var out struct {
		KeyID string `json:"keyId"`
	}
	if r.Code != 201 || json.Unmarshal(r.Body.Bytes(), &out) != nil {
		t.Fatalf("key-add request: %d %s", r.Code, r.Body)
	}
	if page := b.get("/en/citizen/key/" + out.KeyID + "?second=1").Body.String(); !strings.Contains(page, `id="second-intro"`) {
		t.Fatal("the second device's key page does not say how it is added")
	}
	lookup := func(subjectID, fp string) (int, string) {
		r := b.get("/en/citizen/device-request?subjectId=" + url.QueryEscape(subjectID) + "&fingerprint=" + url.QueryEscape(fp))
		return r.Code, r.Body.String()
	}
	if code, got := lookup(subject, fingerprint(out.KeyID)); code != 200 || !strings.Contains(got, out.KeyID) || !strings.Contains(got, sig) {
		t.Fatalf("first device's lookup: %d %s", code, got)
	}
	if _, got := lookup("p-"+strings.Repeat("c", 32), fingerprint(out.KeyID)); strings.Contains(got, out.KeyID) {
		t.Fatal("another subject finds the statement")
	}
	if code, got := lookup(subject, out.KeyID[:8]); code != 400 || strings.Contains(got, out.KeyID) {
		t.Fatalf("an 8-digit prefix: %d %s", code, got)
	}
	if code, _ := lookup("110101202611201235", fingerprint(out.KeyID)); code != 400 {
		t.Fatalf("an ID number as subject: %d", code)
	}
	csrf := b.signin(deptKey)
	if page := b.get("/zh/clerk/bindings?fingerprint=" + url.QueryEscape(fingerprint(out.KeyID))).Body.String(); strings.Contains(page, out.KeyID) {
		t.Fatal("the counter is offered a second device's key")
	}
	if r := b.post("/zh/clerk/bindings", url.Values{"keyId": {out.KeyID}, "csrf": {csrf}}); r.Code != 404 {
		t.Fatalf("the counter binds a key-add statement: %d", r.Code)
	}
	if _, ok := f.srv.pending.m[out.KeyID]; !ok {
		t.Fatal("the refused bind dropped the second device's statement")
	}
}
