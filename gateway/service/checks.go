package service

import (
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/edossier-city/edossier/gateway"
)

// OwnershipLimits bound ownership checks (is this document in that person's dossier?),
// so that nobody can enumerate the ID numbers a document could belong to. Both limits
// hold per gateway process.
type OwnershipLimits struct {
	// PerKeyInterval and PerKeyBurst: a token bucket per API key, one token every
	// PerKeyInterval, at most PerKeyBurst saved up. Defaults 30 s and 20.
	PerKeyInterval time.Duration
	PerKeyBurst    int
	// PerDocument is how many distinct subjects (ID numbers) may be checked against one
	// document (CID) per Window, by all callers together; repeating a check of a subject
	// already checked in the window is free. Defaults 3 per 24 h.
	PerDocument int
	Window      time.Duration
}

// Defaults of OwnershipLimits.
const (
	DefaultOwnershipInterval    = 30 * time.Second
	DefaultOwnershipBurst       = 20
	DefaultOwnershipPerDocument = 3
	DefaultOwnershipWindow      = 24 * time.Hour
)

func (l OwnershipLimits) withDefaults() OwnershipLimits {
	if l.PerKeyInterval <= 0 {
		l.PerKeyInterval = DefaultOwnershipInterval
	}
	if l.PerKeyBurst <= 0 {
		l.PerKeyBurst = DefaultOwnershipBurst
	}
	if l.PerDocument <= 0 {
		l.PerDocument = DefaultOwnershipPerDocument
	}
	if l.Window <= 0 {
		l.Window = DefaultOwnershipWindow
	}
	return l
}

// maxTrackedDocuments bounds the per-document table; when it is full of live windows,
// checks of further documents are refused (fail closed) rather than forgetting limits.
const maxTrackedDocuments = 200_000

type ownershipLimiter struct {
	cfg  OwnershipLimits
	mu   sync.Mutex
	keys map[string]*rate.Limiter
	docs map[string]*docWindow
}

type docWindow struct {
	start    time.Time
	subjects map[string]struct{}
}

func newOwnershipLimiter(cfg OwnershipLimits) *ownershipLimiter {
	return &ownershipLimiter{cfg: cfg.withDefaults(), keys: map[string]*rate.Limiter{}, docs: map[string]*docWindow{}}
}

func rateLimited(after time.Duration, format string, a ...any) error {
	e := gateway.Errorf(gateway.CodeRateLimited, format, a...)
	e.RetryAfter = after
	return e
}

// allow admits one ownership check of subjectID against cid by the API key keyID, or
// refuses it with rate_limited and when to retry. A refused check uses up nothing.
func (l *ownershipLimiter) allow(keyID, cid, subjectID string, now time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.docs[cid]
	if w != nil && now.Sub(w.start) >= l.cfg.Window {
		delete(l.docs, cid)
		w = nil
	}
	seen := w.has(subjectID)
	if w != nil && !seen && len(w.subjects) >= l.cfg.PerDocument {
		return rateLimited(w.start.Add(l.cfg.Window).Sub(now),
			"this document was already checked against %d people in the current %s window", l.cfg.PerDocument, l.cfg.Window)
	}
	if w == nil && len(l.docs) >= maxTrackedDocuments {
		l.sweep(now)
		if len(l.docs) >= maxTrackedDocuments {
			return rateLimited(time.Minute, "too many documents are being checked; try again later")
		}
	}
	lim := l.keys[keyID]
	if lim == nil {
		lim = rate.NewLimiter(rate.Every(l.cfg.PerKeyInterval), l.cfg.PerKeyBurst)
		l.keys[keyID] = lim
	}
	res := lim.ReserveN(now, 1)
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return rateLimited(d, "ownership check budget of this API key used up (one every %s, burst %d)", l.cfg.PerKeyInterval, l.cfg.PerKeyBurst)
	}
	if w == nil {
		w = &docWindow{start: now, subjects: map[string]struct{}{}}
		l.docs[cid] = w
	}
	w.subjects[subjectID] = struct{}{}
	return nil
}

func (w *docWindow) has(subjectID string) bool {
	if w == nil {
		return false
	}
	_, ok := w.subjects[subjectID]
	return ok
}

// sweep drops the windows that ended.
func (l *ownershipLimiter) sweep(now time.Time) {
	for cid, w := range l.docs {
		if now.Sub(w.start) >= l.cfg.Window {
			delete(l.docs, cid)
		}
	}
}
