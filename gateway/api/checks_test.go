package api

import (
	"bytes"
	"mime/multipart"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/edossier-city/edossier/gateway"
)

// TestAnonymousOwnershipCheckRefused: kind and idNumber without an API key get 401
// before the file is read; the ledger (nil here) is never reached.
func TestAnonymousOwnershipCheckRefused(t *testing.T) {
	s := newTestServer(t)
	for _, fields := range [][]string{{"kind", "person", "idNumber", "110101202611201235"}, {"idNumber", "110101202611201235"}, {"kind", "person"}} {
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		for i := 0; i < len(fields); i += 2 {
			w.WriteField(fields[i], fields[i+1])
		}
		fw, _ := w.CreateFormFile("file", "doc.pdf")
		fw.Write([]byte("a document"))
		w.Close()
		req := httptest.NewRequest("POST", "/v1/verify", &buf)
		req.Header.Set("Content-Type", w.FormDataContentType())
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != 401 || !bytes.Contains(rec.Body.Bytes(), []byte(`"code":"unauthorized"`)) {
			t.Fatalf("%v: %d %s", fields, rec.Code, rec.Body)
		}
	}
}

func TestNewRoutesNeedCredentials(t *testing.T) {
	s := newTestServer(t)
	for _, c := range []struct {
		method, path string
		status       int
		code         string
	}{
		{"GET", "/v1/records/r-1/history", 401, "unauthorized"},
		{"GET", "/v1/records/a%00b/history", 400, "invalid"},
		{"GET", "/v1/admin/api-keys", 401, "unauthorized"}, // credentials first (the operator gets 503 here: TestHandlerAuthAndStatus)
		{"POST", "/v1/admin/api-keys/a%00b/revoke", 400, "invalid"},
	} {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest(c.method, c.path, nil))
		if rec.Code != c.status || !bytes.Contains(rec.Body.Bytes(), []byte(`"code":"`+c.code+`"`)) {
			t.Errorf("%s %s: %d %s", c.method, c.path, rec.Code, rec.Body)
		}
	}
}

// TestRetryAfterFromError: a rate_limited error's own RetryAfter becomes the header
// (rounded up to whole seconds).
func TestRetryAfterFromError(t *testing.T) {
	e := gin.New()
	e.GET("/x", func(c *gin.Context) {
		err := gateway.Errorf(gateway.CodeRateLimited, "slow down")
		err.RetryAfter = 89*time.Second + time.Millisecond
		abort(c, err)
	})
	e.GET("/y", func(c *gin.Context) { abort(c, gateway.Errorf(gateway.CodeRateLimited, "slow down")) })
	for path, want := range map[string]string{"/x": "90", "/y": "2"} {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != 429 || rec.Header().Get("Retry-After") != want {
			t.Errorf("%s: %d Retry-After %q, want %s", path, rec.Code, rec.Header().Get("Retry-After"), want)
		}
	}
}
