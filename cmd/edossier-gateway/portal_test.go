package main

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestMountRoutesAPIAndPortal: the REST API keeps /v1 and the operations routes, the
// portal gets everything else, on one handler.
func TestMountRoutesAPIAndPortal(t *testing.T) {
	tag := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Header().Set("X-Handler", name) })
	}
	h := mount(tag("api"), tag("portal"))
	for path, want := range map[string]string{
		"/v1": "api", "/v1/verify/x": "api", "/healthz": "api", "/readyz": "api", "/metrics": "api",
		"/": "portal", "/zh/verify": "portal", "/verify/x": "portal", "/static/verify.js": "portal", "/v1x": "portal", "/healthz/x": "portal",
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if got := rec.Header().Get("X-Handler"); got != want {
			t.Errorf("%s: served by %s, want %s", path, got, want)
		}
	}
}
