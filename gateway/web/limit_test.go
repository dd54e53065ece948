package web

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestVerifyPagesRateLimitedPerClient: the portal limits verification pages per client
// address with the API's limiter, so the X-Forwarded-For of a trusted proxy names the
// client and that of anyone else is ignored (before, the portal keyed on the TCP peer
// and ignored trustedProxies).
func TestVerifyPagesRateLimitedPerClient(t *testing.T) {
	f := &fixture{t: t, svc: &fakeService{}, keys: &fakeKeys{revoked: map[string]bool{}}, clock: &clock{t: time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)}}
	s, err := New(Options{Service: f.svc, Keys: f.keys, Now: f.clock.now, VerifyRate: 0.001, VerifyBurst: 1,
		TrustedProxies: []string{"10.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	get := func(peer, xff string) int {
		req := httptest.NewRequest("GET", "/en/verify/"+goodCID, nil)
		req.RemoteAddr = peer + ":4711"
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code == http.StatusTooManyRequests && rec.Header().Get("Retry-After") == "" {
			t.Error("429 without Retry-After")
		}
		return rec.Code
	}
	if c := get("10.0.0.1", "192.0.2.1"); c != http.StatusOK {
		t.Fatalf("first page of client 192.0.2.1 via the trusted proxy: %d", c)
	}
	if c := get("10.0.0.1", "192.0.2.1"); c != http.StatusTooManyRequests {
		t.Fatalf("second page of client 192.0.2.1 (burst 1): %d, want 429", c)
	}
	if c := get("10.0.0.1", "192.0.2.2"); c != http.StatusOK {
		t.Fatalf("another client behind the trusted proxy shares no budget: %d", c)
	}
	// An untrusted peer's X-Forwarded-For is ignored: it is counted as itself.
	if c := get("198.51.100.7", "192.0.2.3"); c != http.StatusOK {
		t.Fatalf("first page of untrusted peer: %d", c)
	}
	if c := get("198.51.100.7", "192.0.2.4"); c != http.StatusTooManyRequests {
		t.Fatalf("untrusted peer escaped the limit with a forged X-Forwarded-For: %d, want 429", c)
	}
	// No trusted proxy (the default): every X-Forwarded-For is ignored.
	s, err = New(Options{Service: f.svc, Keys: f.keys, Now: f.clock.now, VerifyRate: 0.001, VerifyBurst: 1})
	if err != nil {
		t.Fatal(err)
	}
	if c := get("10.0.0.1", "192.0.2.1"); c != http.StatusOK {
		t.Fatalf("first page without trusted proxies: %d", c)
	}
	if c := get("10.0.0.1", "192.0.2.2"); c != http.StatusTooManyRequests {
		t.Fatalf("X-Forwarded-For believed without trusted proxies: %d, want 429", c)
	}
	if _, err := New(Options{Service: f.svc, Keys: f.keys, TrustedProxies: []string{"not an address"}}); err == nil {
		t.Error("a bad trusted proxy was accepted")
	}
}
