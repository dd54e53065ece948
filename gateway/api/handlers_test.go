package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
	"github.com/edossier-city/edossier/gateway/httpsig"
	"github.com/edossier-city/edossier/gateway/service"
	"github.com/edossier-city/edossier/gateway/service/servicetest"
)

// Principals the fake key store knows, by API key.
var testPrincipals = map[string]gateway.Principal{
	"op-key":     {Role: gateway.RoleOperator, Org: "ops", MSPID: "OpsMSP", User: "admin", KeyID: "k-op"},
	"health-key": {Role: gateway.RoleDepartment, Org: "health", MSPID: "HealthMSP", User: "clerk", KeyID: "k-health"},
}

// registryLedger is a small fake of the service's ledger: the registry query, counted;
// every other call answers an internal error (servicetest.Ledger).
type registryLedger struct {
	servicetest.Ledger
	calls int
}

func (l *registryLedger) Registry(context.Context, gateway.Actor) (*wire.Registry, error) {
	l.calls++
	return &wire.Registry{Departments: []wire.Department{{MSPID: "HealthMSP", Name: "Health", Code: "health", Active: true}},
		RecordTypes: []wire.RecordType{}, Accreditations: []wire.Accreditation{}, Purposes: []wire.Purpose{}, Reasons: []wire.Reason{}}, nil
}

// handlerServer is a real router over a real service with fake adapters, authenticating
// the keys of testPrincipals, with an upload limit of maxUpload bytes.
func handlerServer(t *testing.T, l service.Ledger, maxUpload int64) *Server {
	t.Helper()
	s, err := New(Options{
		Service: service.New(l, nil, nil, service.Config{}),
		Keys: keysFunc(func(k string) (gateway.Principal, error) {
			if p, ok := testPrincipals[k]; ok {
				return p, nil
			}
			return gateway.Principal{}, gateway.Errorf(gateway.CodeUnauthorized, "unknown API key")
		}),
		Nonces:    httpsig.NewMemoryNonceStore(0),
		MaxUpload: maxUpload,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// problemOf checks that rec is a problem+json answer with status and code.
func problemOf(t *testing.T, what string, rec *httptest.ResponseRecorder, status int, code gateway.Code) {
	t.Helper()
	var p Problem
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatalf("%s: %d, not a problem: %s", what, rec.Code, rec.Body)
	}
	if rec.Code != status || p.Status != status || p.Code != string(code) || rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("%s: %d %+v (%s), want %d %s", what, rec.Code, p, rec.Header().Get("Content-Type"), status, code)
	}
}

// verifyBody is a multipart verify upload of a file of n bytes; the body is streamed
// through a pipe, so the request has no Content-Length (chunked).
func verifyBody(t *testing.T, n int) (io.Reader, string) {
	t.Helper()
	pr, pw := io.Pipe()
	w := multipart.NewWriter(pw)
	go func() {
		fw, err := w.CreateFormFile("file", "doc.pdf")
		if err == nil {
			_, err = fw.Write(bytes.Repeat([]byte("x"), n))
		}
		if err == nil {
			err = w.Close()
		}
		pw.CloseWithError(err)
	}()
	return pr, w.FormDataContentType()
}

// TestVerifyUploadLimit: a verify upload above the limit is 413 too_large, with a
// Content-Length (refused before reading) and without one (chunked: refused while the
// file is hashed); one under the limit is hashed and looked up.
func TestVerifyUploadLimit(t *testing.T) {
	const limit = 1 << 10
	s := handlerServer(t, &registryLedger{}, limit)
	big := limit + multipartSlack + 1

	body, ct := verifyBody(t, big)
	req := httptest.NewRequest("POST", "/v1/verify", body)
	req.Header.Set("Content-Type", ct)
	req.ContentLength = -1
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	problemOf(t, "chunked oversized verify upload", rec, http.StatusRequestEntityTooLarge, gateway.CodeTooLarge)

	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	fw, _ := w.CreateFormFile("file", "doc.pdf")
	fw.Write(bytes.Repeat([]byte("x"), big))
	w.Close()
	req = httptest.NewRequest("POST", "/v1/verify", &buf)
	req.Header.Set("Content-Type", w.FormDataContentType())
	rec = httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	problemOf(t, "oversized verify upload with Content-Length", rec, http.StatusRequestEntityTooLarge, gateway.CodeTooLarge)

	// Under the limit the file is hashed and looked up: the fake ledger has no
	// FindByCID, so the lookup fails as an internal error, after the upload was read.
	body, ct = verifyBody(t, 100)
	req = httptest.NewRequest("POST", "/v1/verify", body)
	req.Header.Set("Content-Type", ct)
	req.ContentLength = -1
	rec = httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	problemOf(t, "small verify upload", rec, http.StatusInternalServerError, gateway.CodeInternal)
}

// TestVerifyBrokenUploadIsInvalid: a multipart body cut short is 400 invalid.
func TestVerifyBrokenUploadIsInvalid(t *testing.T) {
	s := handlerServer(t, &registryLedger{}, 1<<20)
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	fw, _ := w.CreateFormFile("file", "doc.pdf")
	fw.Write([]byte("a document"))
	cut := buf.Bytes() // no closing boundary
	req := httptest.NewRequest("POST", "/v1/verify", bytes.NewReader(cut))
	req.Header.Set("Content-Type", w.FormDataContentType())
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	problemOf(t, "truncated verify upload", rec, http.StatusBadRequest, gateway.CodeInvalid)
}

// TestHandlerAuthAndStatus: credentials, roles, media types and body limits map to
// their status and problem code before the service reaches the ledger; an allowed call
// reaches it once.
func TestHandlerAuthAndStatus(t *testing.T) {
	l := &registryLedger{}
	s := handlerServer(t, l, 1<<10)
	bigJSON := `{"mspId":"X","name":"` + strings.Repeat("n", 2<<20) + `"}`
	for _, c := range []struct {
		name, method, path, key, contentType, body string
		status                                     int
		code                                       gateway.Code
	}{
		{"no key", "GET", "/v1/admin/registry", "", "", "", 401, gateway.CodeUnauthorized},
		{"unknown key", "GET", "/v1/admin/registry", "nope", "", "", 401, gateway.CodeUnauthorized},
		{"department on an operator route", "POST", "/v1/admin/departments", "health-key", "application/json", `{"mspId":"CivilMSP","name":"Civil","code":"civil"}`, 403, gateway.CodeForbidden},
		{"operator creating a user without enrolment", "POST", "/v1/admin/users", "op-key", "application/json", `{"org":"health","user":"clerk2"}`, 503, gateway.CodeUnavailable},
		{"operator listing keys without key administration", "GET", "/v1/admin/api-keys", "op-key", "", "", 503, gateway.CodeUnavailable},
		{"department revoking a key without key administration", "POST", "/v1/admin/api-keys/k-1/revoke", "health-key", "", "", 503, gateway.CodeUnavailable},
		{"department issuing a verifier key", "POST", "/v1/admin/verifiers", "health-key", "application/json", `{"name":"city-bank"}`, 403, gateway.CodeForbidden},
		{"unknown JSON field", "POST", "/v1/admin/departments", "op-key", "application/json", `{"mspId":"CivilMSP","surprise":1}`, 400, gateway.CodeInvalid},
		{"JSON body above its limit", "POST", "/v1/admin/departments", "op-key", "application/json", bigJSON, 413, gateway.CodeTooLarge},
		{"append without multipart", "POST", "/v1/dossiers/p-" + strings.Repeat("a", 32) + "/records", "health-key", "application/json", `{}`, 415, gateway.CodeUnsupported},
		{"append above the upload limit", "POST", "/v1/dossiers/p-" + strings.Repeat("a", 32) + "/records", "health-key", "multipart/form-data; boundary=x", strings.Repeat("x", 1<<10+multipartSlack+1), 413, gateway.CodeTooLarge},
	} {
		req := httptest.NewRequest(c.method, c.path, strings.NewReader(c.body))
		if c.key != "" {
			req.Header.Set("Authorization", "Bearer "+c.key)
		}
		if c.contentType != "" {
			req.Header.Set("Content-Type", c.contentType)
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		problemOf(t, c.name, rec, c.status, c.code)
	}
	if l.calls != 0 {
		t.Fatalf("a refused request reached the ledger (%d registry calls)", l.calls)
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/v1/admin/registry", nil)
	req.Header.Set("Authorization", "Bearer health-key")
	s.ServeHTTP(rec, req)
	var reg service.Registry
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &reg) != nil || len(reg.Departments) != 1 || l.calls != 1 {
		t.Fatalf("registry: %d %s (%d calls)", rec.Code, rec.Body, l.calls)
	}
}
