package api

import (
	"bufio"
	"context"
	"github.com/edossier-city/edossier/internal/syncbuf"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/edossier-city/edossier/gateway"
	"github.com/edossier-city/edossier/gateway/httpsig"
	"github.com/edossier-city/edossier/gateway/service"
)

func captureLogs(t *testing.T) *syncbuf.Buffer {
	t.Helper()
	buf := &syncbuf.Buffer{}
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	t.Cleanup(func() { slog.SetDefault(old) })
	return buf
}

// TestClientGoneIsNotAServerError: a request whose client half-closes the connection
// (net/http cancels its context) or cancels it, and which then fails as a 5xx would, is
// logged as 499 at WARN, never as an ERROR or a 500.
func TestClientGoneIsNotAServerError(t *testing.T) {
	logs := captureLogs(t)
	reg := prometheus.NewRegistry()
	s := bareServer(t, reg)
	s.engine.GET("/test/wait", func(c *gin.Context) {
		select {
		case <-c.Request.Context().Done():
		case <-time.After(10 * time.Second):
		}
		// What a Fabric call or a blob write returns once its context is cancelled.
		abort(c, gateway.Wrap(gateway.CodeInternal, c.Request.Context().Err(), "ledger call failed"))
	})
	srv := httptest.NewServer(s)
	defer srv.Close()

	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("GET /test/wait HTTP/1.1\r\nHost: gw\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	conn.(*net.TCPConn).CloseWrite() // half-close
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != StatusClientClosedRequest {
			t.Errorf("half-closed request answered %d, want 499", resp.StatusCode)
		}
	}

	// A cancelled request context (the client gave up) the same way.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/test/wait", nil).WithContext(ctx))
	if rec.Code != StatusClientClosedRequest {
		t.Errorf("cancelled request: %d, want 499", rec.Code)
	}

	deadline := time.Now().Add(5 * time.Second)
	for strings.Count(logs.String(), "status=499") < 2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	out := logs.String()
	if strings.Count(out, "status=499") != 2 || strings.Contains(out, "level=ERROR") || strings.Contains(out, "status=500") {
		t.Fatalf("logs:\n%s", out)
	}
	if !strings.Contains(out, "level=WARN") {
		t.Errorf("no warning logged:\n%s", out)
	}
}

// TestMetricLabelsBounded: unknown routes and unknown methods each collapse into one
// series (route="unmatched", method="other").
func TestMetricLabelsBounded(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := bareServer(t, reg)
	for i := 0; i < 50; i++ {
		for _, r := range []*http.Request{
			httptest.NewRequest("GET", "/no/such/"+strings.Repeat("x", i), nil),
			httptest.NewRequest("M"+strings.Repeat("Q", i), "/v1/records/r-1", nil),
			httptest.NewRequest("X"+strings.Repeat("Y", i), "/nowhere/"+strings.Repeat("z", i), nil),
		} {
			s.ServeHTTP(httptest.NewRecorder(), r)
		}
	}
	series := requestSeries(t, reg)
	if len(series) > 3 {
		t.Fatalf("%d series for 150 requests: %v", len(series), series)
	}
	for k := range series {
		if !strings.Contains(k, "method=other") && !strings.Contains(k, "route=unmatched") {
			t.Errorf("unexpected series %s", k)
		}
	}
}

// TestObservePortal: requests to the portal (a ServeMux wrapped by Observe) get a request
// ID and are counted by their pattern, never by the path a client sent; an unknown path
// is one "portal unmatched" series.
func TestObservePortal(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := bareServer(t, reg)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /en/verify/{cid}", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("page")) })
	mux.HandleFunc("GET /en/{$}", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("home")) })
	mux.HandleFunc("POST /en/clerk/signin", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusForbidden) })
	portal := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, p := mux.Handler(r); p == "" {
			http.NotFound(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
	h := s.Observe(portal)
	for i := 0; i < 20; i++ {
		for _, r := range []*http.Request{
			httptest.NewRequest("GET", "/en/verify/bafk"+strings.Repeat("q", i), nil),
			httptest.NewRequest("POST", "/en/clerk/signin", nil),
			httptest.NewRequest("GET", "/secret-"+strings.Repeat("z", i), nil),
		} {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if len(rec.Header().Get("X-Request-Id")) != 16 {
				t.Fatalf("%s: X-Request-Id %q", r.URL.Path, rec.Header().Get("X-Request-Id"))
			}
		}
	}
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/en/", nil))
	rec := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "/en/verify/x", nil)
	r.Header.Set("X-Request-Id", "counter-7")
	h.ServeHTTP(rec, r)
	if got := rec.Header().Get("X-Request-Id"); got != "counter-7" {
		t.Fatalf("a sane caller request ID is kept: got %q", got)
	}
	got := requestSeries(t, reg)
	want := map[string]float64{
		"method=GET route=portal /en/verify/{cid} status=200 ":  21,
		"method=POST route=portal /en/clerk/signin status=403 ": 20,
		"method=GET route=portal unmatched status=404 ":         20,
		"method=GET route=portal /en/ status=200 ":              1,
	}
	if len(got) != len(want) {
		t.Fatalf("series %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s= %v, want %v (all: %v)", k, got[k], v, got)
		}
	}
}

// requestSeries returns the series of edossier_http_requests_total ("label=value ..."
// in label order) with their counts.
func requestSeries(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	series := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "edossier_http_requests_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			key := ""
			for _, l := range m.GetLabel() {
				key += l.GetName() + "=" + l.GetValue() + " "
			}
			series[key] = m.GetCounter().GetValue()
		}
	}
	return series
}

// bareServer is a Server with no ledger behind it whose metrics go to reg.
func bareServer(t *testing.T, reg *prometheus.Registry) *Server {
	t.Helper()
	s, err := New(Options{
		Service:  service.New(nil, nil, nil, service.Config{}),
		Keys:     keysFunc(func(string) (gateway.Principal, error) { return gateway.Principal{}, nil }),
		Nonces:   httpsig.NewMemoryNonceStore(0),
		Registry: reg,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}
