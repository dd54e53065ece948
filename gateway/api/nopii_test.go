package api

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"mime/multipart"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/edossier-city/edossier/gateway"
	"github.com/edossier-city/edossier/gateway/httpsig"
	"github.com/edossier-city/edossier/gateway/service"
)

const (
	rawIDNumber   = "110101202611201235"
	rawCreditCode = "91350100M000100Y43"
)

// TestRawIDNumberIsRefused: a raw ID number where a subject ID goes (URL path, JSON
// body, multipart metadata, batch manifest) is 400 raw_id_number, and the problem
// repeats the number nowhere (not in detail, not in instance); other non-pseudonyms
// are 400 invalid. The service has no ledger: the refusal comes first.
func TestRawIDNumberIsRefused(t *testing.T) {
	dept := gateway.Principal{Role: gateway.RoleDepartment, Org: "health", MSPID: "HealthMSP", User: "clerk"}
	op := gateway.Principal{Role: gateway.RoleOperator, Org: "operator", MSPID: "OperatorMSP", User: "ops"}
	server := func(p gateway.Principal) *Server {
		s, err := New(Options{
			Service: service.New(nil, nil, nil, service.Config{}),
			Keys:    keysFunc(func(string) (gateway.Principal, error) { return p, nil }),
			Nonces:  httpsig.NewMemoryNonceStore(0),
		})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	multipartBody := func(parts ...[2]string) (*bytes.Buffer, string) {
		var b bytes.Buffer
		w := multipart.NewWriter(&b)
		for _, p := range parts {
			fw, _ := w.CreateFormField(p[0])
			fw.Write([]byte(p[1]))
		}
		w.Close()
		return &b, w.FormDataContentType()
	}
	type call struct {
		name, method, path, contentType string
		body                            func() (*bytes.Buffer, string)
		p                               gateway.Principal
	}
	var calls []call
	for _, raw := range []string{rawIDNumber, rawCreditCode} {
		raw := raw
		calls = append(calls,
			call{name: "list dossier path", method: "GET", path: "/v1/dossiers/" + raw + "/records", p: dept},
			call{name: "grants path", method: "GET", path: "/v1/dossiers/" + raw + "/grants", p: op},
			call{name: "access log path", method: "GET", path: "/v1/dossiers/" + raw + "/access-log", p: op},
			call{name: "keys path", method: "GET", path: "/v1/dossiers/" + raw + "/keys", p: op},
			call{name: "key events path", method: "GET", path: "/v1/dossiers/" + raw + "/key-events", p: op},
			call{name: "complete recovery path", method: "POST", path: "/v1/dossiers/" + raw + "/recoveries/r1/complete", p: op},
			call{name: "bind statement", method: "POST", path: "/v1/subject-keys/bind", p: dept,
				body: func() (*bytes.Buffer, string) {
					doc := base64.StdEncoding.EncodeToString([]byte(`{"kind":"edossier.key-bind.v1","subjectId":"` + raw + `"}`))
					return bytes.NewBufferString(`{"document":"` + doc + `","popSignature":"x"}`), "application/json"
				}},
			call{name: "append path", method: "POST", path: "/v1/dossiers/" + raw + "/records", p: dept,
				body: func() (*bytes.Buffer, string) {
					return multipartBody([2]string{"metadata", `{"type":"birth"}`}, [2]string{"file", "x"})
				}},
			call{name: "supersede metadata", method: "POST", path: "/v1/records/r-1/supersede", p: dept,
				body: func() (*bytes.Buffer, string) {
					return multipartBody([2]string{"metadata", `{"subjectId":"` + raw + `","type":"birth"}`}, [2]string{"file", "x"})
				}},
			call{name: "batch manifest", method: "POST", path: "/v1/records/batch", p: dept,
				body: func() (*bytes.Buffer, string) {
					return multipartBody([2]string{"manifest", `{"records":[{"file":"f0","subjectId":"` + raw + `","type":"birth"}]}`}, [2]string{"f0", "x"})
				}},
		)
	}
	for _, c := range calls {
		var body *bytes.Buffer = &bytes.Buffer{}
		ct := ""
		if c.body != nil {
			body, ct = c.body()
		}
		req := httptest.NewRequest(c.method, c.path, body)
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		req.Header.Set("Authorization", "Bearer edk_x_y")
		rec := httptest.NewRecorder()
		server(c.p).ServeHTTP(rec, req)
		var p Problem
		if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
			t.Fatalf("%s: not JSON: %s", c.name, rec.Body)
		}
		if rec.Code != 400 || p.Code != "raw_id_number" {
			t.Errorf("%s: %d %+v", c.name, rec.Code, p)
		}
		if strings.Contains(rec.Body.String(), rawIDNumber) || strings.Contains(rec.Body.String(), rawCreditCode) {
			t.Errorf("%s: the problem repeats the number: %s", c.name, rec.Body)
		}
		if !strings.Contains(p.Detail, "/v1/subjects/resolve") {
			t.Errorf("%s: the problem does not say how to resolve: %s", c.name, p.Detail)
		}
	}
	// Not an ID number, not a pseudonym: invalid.
	for _, bad := range []string{"p-1", "someone", "110101202611201234"} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/v1/dossiers/"+bad+"/records", nil)
		req.Header.Set("Authorization", "Bearer edk_x_y")
		server(dept).ServeHTTP(rec, req)
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), `"code":"invalid"`) {
			t.Errorf("%s: %d %s", bad, rec.Code, rec.Body)
		}
	}
}

// TestPurposeAndReasonRoutes: the registry routes exist and are operator-only (a
// department is refused before the ledger is asked; the service here has none).
func TestPurposeAndReasonRoutes(t *testing.T) {
	dept := gateway.Principal{Role: gateway.RoleDepartment, Org: "health", MSPID: "HealthMSP", User: "clerk"}
	s, err := New(Options{
		Service: service.New(nil, nil, nil, service.Config{}),
		Keys:    keysFunc(func(string) (gateway.Principal, error) { return dept, nil }),
		Nonces:  httpsig.NewMemoryNonceStore(0),
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/v1/admin/purposes", "/v1/admin/reasons"} {
		req := httptest.NewRequest("POST", path, strings.NewReader(`{"code":"x","name":"X"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer edk_x_y")
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != 403 || !strings.Contains(rec.Body.String(), `"code":"forbidden"`) {
			t.Errorf("%s by a department: %d %s", path, rec.Code, rec.Body)
		}
		req = httptest.NewRequest("POST", path, strings.NewReader(`{"code":"x","name":"X","extra":1}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer edk_x_y")
		rec = httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != 400 {
			t.Errorf("%s with an unknown field: %d %s", path, rec.Code, rec.Body)
		}
	}
}
