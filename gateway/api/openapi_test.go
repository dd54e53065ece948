package api

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/edossier-city/edossier/gateway"
	"github.com/edossier-city/edossier/gateway/httpsig"
	"github.com/edossier-city/edossier/gateway/service"
)

func newTestServer(t *testing.T) *Server {
	t.Helper()
	s, err := New(Options{
		Service: service.New(nil, nil, nil, service.Config{}),
		Keys: keysFunc(func(string) (gateway.Principal, error) {
			return gateway.Principal{}, gateway.Errorf(gateway.CodeUnauthorized, "no")
		}),
		Nonces: httpsig.NewMemoryNonceStore(0),
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

type keysFunc func(string) (gateway.Principal, error)

func (f keysFunc) Authenticate(k string) (gateway.Principal, error) { return f(k) }

// TestOpenAPIMatchesRoutes keeps /v1/openapi.json and the router in sync, both ways.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openAPIDocument, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi version %q", doc.OpenAPI)
	}
	var documented []string
	for path, ops := range doc.Paths {
		for method := range ops {
			documented = append(documented, strings.ToUpper(method)+" "+path)
		}
	}
	param := regexp.MustCompile(`:([A-Za-z]+)`)
	var routed []string
	for _, r := range newTestServer(t).Routes() {
		if !strings.HasPrefix(strings.SplitN(r, " ", 2)[1], "/v1/") {
			continue
		}
		routed = append(routed, param.ReplaceAllString(r, "{$1}"))
	}
	sort.Strings(documented)
	sort.Strings(routed)
	if strings.Join(documented, "\n") != strings.Join(routed, "\n") {
		t.Fatalf("openapi.json and routes differ:\ndocumented:\n%s\n\nrouted:\n%s", strings.Join(documented, "\n"), strings.Join(routed, "\n"))
	}
}

func TestOpenAPIServed(t *testing.T) {
	rec := httptest.NewRecorder()
	newTestServer(t).ServeHTTP(rec, httptest.NewRequest("GET", "/v1/openapi.json", nil))
	if rec.Code != 200 || !json.Valid(rec.Body.Bytes()) {
		t.Fatalf("GET /v1/openapi.json: %d", rec.Code)
	}
}

// TestEveryCodeHasAStatus: every code maps to its documented class, and only internal
// and unavailable are 5xx.
func TestEveryCodeHasAStatus(t *testing.T) {
	want := map[gateway.Code]int{
		gateway.CodeInvalid: 400, gateway.CodeRawIDNumber: 400, gateway.CodeUnauthorized: 401, gateway.CodeBadSignature: 401, gateway.CodeStaleSignature: 401,
		gateway.CodeReplay: 401, gateway.CodeUnknownKey: 401, gateway.CodeBadProof: 422, gateway.CodeForbidden: 403, gateway.CodeExpired: 403,
		gateway.CodeRevoked: 403, gateway.CodeOutOfScope: 403, gateway.CodeNotFound: 404, gateway.CodeConflict: 409,
		gateway.CodeTooLarge: 413, gateway.CodeUnsupported: 415, gateway.CodeRateLimited: 429,
		gateway.CodeUnavailable: 503, gateway.CodeInternal: 500,
		gateway.CodeStorageFull: 507, gateway.CodeBlobCorrupt: 500, gateway.CodeNotYetValid: 403,
		gateway.CodeUnknownMatter: 422,
	}
	for _, code := range declaredCodes(t) {
		if _, ok := want[code]; !ok {
			t.Errorf("code %s has no expected status in this test", code)
		}
	}
	for code, status := range want {
		if got := statusOf(code); got != status {
			t.Errorf("%s -> %d, want %d", code, got, status)
		}
	}
}

func TestProblemShapeAndUnknownRoute(t *testing.T) {
	s := newTestServer(t)
	for _, c := range []struct {
		method, path string
		status       int
		code         string
	}{
		{"GET", "/v1/nothing-here", 404, "not_found"},
		{"DELETE", "/v1/records/r-1", 400, "invalid"},
		{"GET", "/v1/records/r-1", 401, "unauthorized"}, // public caller on a department route
	} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(c.method, c.path, nil)
		s.ServeHTTP(rec, req)
		var p Problem
		if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
			t.Fatalf("%s %s: not JSON: %s", c.method, c.path, rec.Body)
		}
		if rec.Code != c.status || p.Code != c.code || p.Status != c.status || rec.Header().Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s %s: %d %+v (content type %q)", c.method, c.path, rec.Code, p, rec.Header().Get("Content-Type"))
		}
		if rec.Header().Get("X-Request-Id") == "" || p.RequestID == "" {
			t.Errorf("%s %s: no request ID", c.method, c.path)
		}
	}
}

func TestRateLimitPerClient(t *testing.T) {
	s, err := New(Options{
		Service:     service.New(nil, nil, nil, service.Config{}),
		Keys:        keysFunc(func(string) (gateway.Principal, error) { return gateway.Principal{}, nil }),
		Nonces:      httpsig.NewMemoryNonceStore(0),
		VerifyRate:  1,
		VerifyBurst: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	codes := []int{}
	for i := 0; i < 3; i++ {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/v1/verify/not-a-cid", nil)
		req.RemoteAddr = "192.0.2.1:1234"
		s.ServeHTTP(rec, req)
		codes = append(codes, rec.Code)
	}
	if codes[0] != 400 || codes[1] != 400 || codes[2] != http.StatusTooManyRequests {
		t.Fatalf("statuses %v, want 400 400 429", codes)
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/v1/verify/not-a-cid", nil)
	req.RemoteAddr = "192.0.2.2:1234" // another client has its own budget
	s.ServeHTTP(rec, req)
	if rec.Code != 400 {
		t.Fatalf("other client: %d", rec.Code)
	}
}

// declaredCodes lists the values of every Code constant declared in gateway/errors.go.
func declaredCodes(t *testing.T) []gateway.Code {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "../errors.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var codes []gateway.Code
	for _, decl := range f.Decls {
		gd, ok := decl.(*ast.GenDecl)
		if !ok || gd.Tok != token.CONST {
			continue
		}
		for _, spec := range gd.Specs {
			vs := spec.(*ast.ValueSpec)
			if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != "Code" {
				continue
			}
			for _, v := range vs.Values {
				if lit, ok := v.(*ast.BasicLit); ok {
					s, _ := strconv.Unquote(lit.Value)
					codes = append(codes, gateway.Code(s))
				}
			}
		}
	}
	if len(codes) < 10 {
		t.Fatalf("found only %d codes in gateway/errors.go", len(codes))
	}
	return codes
}

// TestOpenAPICodesMatchErrors: the Problem schema's code enum is exactly the set of
// codes gateway/errors.go declares.
func TestOpenAPICodesMatchErrors(t *testing.T) {
	var doc struct {
		Components struct {
			Schemas struct {
				Problem struct {
					Properties struct {
						Code struct {
							Enum []string `json:"enum"`
						} `json:"code"`
					} `json:"properties"`
				} `json:"Problem"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(openAPIDocument, &doc); err != nil {
		t.Fatal(err)
	}
	documented := doc.Components.Schemas.Problem.Properties.Code.Enum
	var declared []string
	for _, c := range declaredCodes(t) {
		declared = append(declared, string(c))
	}
	sort.Strings(documented)
	sort.Strings(declared)
	if strings.Join(documented, " ") != strings.Join(declared, " ") {
		t.Fatalf("openapi.json codes and gateway/errors.go differ:\ndocumented: %v\ndeclared:   %v", documented, declared)
	}
}
