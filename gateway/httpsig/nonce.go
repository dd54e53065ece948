package httpsig

import (
	"container/heap"
	"context"
	"sync"
	"time"
)

// MemoryNonceStore is an in-process NonceStore with bounded memory. An entry
// is kept until the later of the expiry Verify asks for (the end of the
// signature's acceptance window) and its first use plus the store's window,
// then dropped. When the maximum number of unexpired entries is held, new
// nonces are refused with ErrNonceStoreFull (fail closed) rather than
// forgetting a nonce that could still be replayed. Size it as (peak signed
// requests per second) x (MaxAge + MaxSkew). It is safe for concurrent use.
//
// Several gateway instances need a shared store (one that implements
// NonceStore over a common database) for replay protection across instances.
type MemoryNonceStore struct {
	mu      sync.Mutex
	max     int
	window  time.Duration
	entries map[string]time.Time
	byExp   expHeap
}

// DefaultMaxNonces is the default capacity of a MemoryNonceStore (about
// 40 MiB with typical key IDs and nonces).
const DefaultMaxNonces = 1 << 18

// MemoryNonceOption configures a MemoryNonceStore.
type MemoryNonceOption func(*MemoryNonceStore)

// WithMaxEntries sets the capacity (n > 0; other values are ignored).
func WithMaxEntries(n int) MemoryNonceOption {
	return func(m *MemoryNonceStore) {
		if n > 0 {
			m.max = n
		}
	}
}

// NewMemoryNonceStore returns a store that remembers each nonce for at least
// window after its use (and in any case until the expiry passed to Use; a
// window <= 0 adds nothing), holding at most DefaultMaxNonces entries unless
// WithMaxEntries says otherwise.
func NewMemoryNonceStore(window time.Duration, opts ...MemoryNonceOption) *MemoryNonceStore {
	m := &MemoryNonceStore{max: DefaultMaxNonces, window: window, entries: make(map[string]time.Time)}
	for _, o := range opts {
		o(m)
	}
	return m
}

// Use implements NonceStore.
func (m *MemoryNonceStore) Use(_ context.Context, keyID, nonce string, now, expires time.Time) error {
	k := keyID + "\x00" + nonce
	m.mu.Lock()
	defer m.mu.Unlock()
	m.prune(now)
	if exp, ok := m.entries[k]; ok && exp.After(now) {
		return ErrReplay
	}
	if m.window > 0 && now.Add(m.window).After(expires) {
		expires = now.Add(m.window)
	}
	if !expires.After(now) {
		// Nothing to remember: such a signature is refused as stale anyway.
		return nil
	}
	if len(m.entries) >= m.max {
		return ErrNonceStoreFull
	}
	m.entries[k] = expires
	heap.Push(&m.byExp, expEntry{key: k, exp: expires})
	return nil
}

// Len returns the number of entries held (expired ones may linger until the
// next Use).
func (m *MemoryNonceStore) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.entries)
}

func (m *MemoryNonceStore) prune(now time.Time) {
	for len(m.byExp) > 0 && !m.byExp[0].exp.After(now) {
		e := heap.Pop(&m.byExp).(expEntry)
		if exp, ok := m.entries[e.key]; ok && exp.Equal(e.exp) {
			delete(m.entries, e.key)
		}
	}
}

type expEntry struct {
	key string
	exp time.Time
}

type expHeap []expEntry

func (h expHeap) Len() int           { return len(h) }
func (h expHeap) Less(i, j int) bool { return h[i].exp.Before(h[j].exp) }
func (h expHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expHeap) Push(x any)        { *h = append(*h, x.(expEntry)) }
func (h *expHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = expEntry{}
	*h = old[:len(old)-1]
	return e
}
