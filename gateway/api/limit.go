package api

import (
	"fmt"
	"net/http"
	"sync"

	"github.com/gin-gonic/gin"
	"golang.org/x/time/rate"
)

// Limiter limits public verification per client address: the REST API's public
// verification routes and the portal's verification pages (gateway/web) both use it,
// so both count the same way and take the client address by the same rule (the
// X-Forwarded-For of a trusted proxy only).
type Limiter struct {
	limit  rate.Limit
	burst  int
	engine *gin.Engine // its trusted-proxy rule gives the client address
	mu     sync.Mutex
	m      map[string]*rate.Limiter
}

// NewLimiter allows l requests per second per client address with the given burst
// (l 0: no limit; burst 0: 1). trustedProxies lists the proxies (addresses or CIDRs)
// whose X-Forwarded-For is believed (empty: none).
func NewLimiter(l rate.Limit, burst int, trustedProxies []string) (*Limiter, error) {
	gin.SetMode(gin.ReleaseMode) // as New: no debug banner
	e := gin.New()
	if err := e.SetTrustedProxies(trustedProxies); err != nil {
		return nil, fmt.Errorf("trusted proxies: %w", err)
	}
	return newLimiter(l, burst, e), nil
}

// newLimiter counts per client address of engine's rule (the API's own engine).
func newLimiter(l rate.Limit, burst int, engine *gin.Engine) *Limiter {
	if l == 0 {
		l = rate.Inf
	}
	if burst == 0 {
		burst = 1
	}
	return &Limiter{limit: l, burst: burst, engine: engine, m: map[string]*rate.Limiter{}}
}

// Allow tells whether r's client may have one more verification now.
func (l *Limiter) Allow(r *http.Request) bool {
	if l.limit == rate.Inf {
		return true
	}
	c := gin.CreateTestContextOnly(nil, l.engine) // a context of engine: its ClientIP rule
	c.Request = r
	return l.allow(c.ClientIP())
}

func (l *Limiter) allow(ip string) bool {
	if l.limit == rate.Inf {
		return true
	}
	l.mu.Lock()
	lim, ok := l.m[ip]
	if !ok {
		if len(l.m) > 100_000 { // bounded memory: forget everyone at once
			l.m = map[string]*rate.Limiter{}
		}
		lim = rate.NewLimiter(l.limit, l.burst)
		l.m[ip] = lim
	}
	l.mu.Unlock()
	return lim.Allow()
}
