package api

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Observe gives the requests of another handler on the gateway's port (the web
// portal) what the API's own middleware gives its requests: a request ID (taken from
// X-Request-Id when it is sane, echoed in the response), one log line and the request
// metrics. The route label is "portal " + the http.ServeMux pattern that served the
// request without its method ("portal /en/verify/{cid}"), or "portal unmatched": bounded
// like the API's route templates, never the path a client sent (which carries CIDs and
// subject IDs). A pattern's exact-match marker is dropped ("GET /zh/{$}" counts as
// "portal /zh/").
func (s *Server) Observe(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !saneRequestID(id) {
			b := make([]byte, 8)
			_, _ = rand.Read(b)
			id = hex.EncodeToString(b)
		}
		w.Header().Set("X-Request-Id", id)
		sw := &statusWriter{ResponseWriter: w}
		aborted := true
		defer func() {
			route := "portal unmatched"
			if r.Pattern != "" { // set by the portal's ServeMux on this request
				p := r.Pattern
				if _, path, ok := strings.Cut(p, " "); ok {
					p = path
				}
				p = strings.TrimSuffix(p, "{$}") // "/zh/{$}" (exactly /zh/) reads as "/zh/"
				route = "portal " + p
			}
			status := sw.status
			if status == 0 && !aborted {
				status = http.StatusOK // nothing written: net/http answers 200
			}
			d := time.Since(start)
			s.opts.Metrics.request(route, r.Method, status, d)
			attrs := []any{"requestId", id, "method", r.Method, "route", route, "status", status,
				"duration", d.Round(time.Microsecond).String(), "bytes", sw.bytes}
			if aborted {
				attrs = append(attrs, "aborted", true)
			}
			slog.InfoContext(r.Context(), "request", attrs...)
		}()
		h.ServeHTTP(sw, r)
		aborted = false
	})
}

// saneRequestID is the rule for a caller's X-Request-Id (as in requestID): 1 to 64
// visible ASCII characters.
func saneRequestID(id string) bool {
	return id != "" && len(id) <= 64 && !strings.ContainsFunc(id, func(r rune) bool { return r < 0x21 || r > 0x7e })
}

// statusWriter records the status and size of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the connection (flushes, deadlines).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
