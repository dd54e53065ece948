package web

import (
	"net"
	"net/http"
	"sync"

	"golang.org/x/time/rate"

	"github.com/edossier-city/edossier/gateway"
)

// limiter limits verification pages per client address, like the REST API's public
// verification routes (same configured rate and burst).
type limiter struct {
	limit rate.Limit
	burst int
	mu    sync.Mutex
	m     map[string]*rate.Limiter
}

func newLimiter(l rate.Limit, burst int) *limiter {
	if l == 0 {
		l = rate.Inf
	}
	if burst == 0 {
		burst = 1
	}
	return &limiter{limit: l, burst: burst, m: map[string]*rate.Limiter{}}
}

func (l *limiter) allow(ip string) bool {
	if l.limit == rate.Inf {
		return true
	}
	l.mu.Lock()
	lim, ok := l.m[ip]
	if !ok {
		if len(l.m) > 100_000 {
			l.m = map[string]*rate.Limiter{}
		}
		lim = rate.NewLimiter(l.limit, l.burst)
		l.m[ip] = lim
	}
	l.mu.Unlock()
	return lim.Allow()
}

func (s *Server) rateLimited(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ip, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			ip = r.RemoteAddr
		}
		if !s.limiter.allow(ip) {
			w.Header().Set("Retry-After", "2")
			s.fail(w, r, langFrom(r), gateway.Errorf(gateway.CodeRateLimited, "too many verification requests"))
			return
		}
		h(w, r)
	}
}
