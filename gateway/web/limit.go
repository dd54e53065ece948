package web

import (
	"net/http"

	"github.com/edossier-city/edossier/gateway"
)

// rateLimited limits verification pages per client address with the REST API's
// limiter (api.Limiter: same configured rate and burst, same trusted-proxy rule).
func (s *Server) rateLimited(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.limiter.Allow(r) {
			w.Header().Set("Retry-After", "2")
			s.fail(w, r, langFrom(r), gateway.Errorf(gateway.CodeRateLimited, "too many verification requests"))
			return
		}
		h(w, r)
	}
}
