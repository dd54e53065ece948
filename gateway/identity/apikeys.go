package identity

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/edossier-city/edossier/gateway"
)

// API keys look like "edk_<id>_<secret>": the id finds the entry, the secret (160 random
// bits) is checked against its SHA-256 hash in constant time. Only hashes are stored: a
// fast hash is enough for random secrets of this length (no dictionary to attack).
const keyPrefix = "edk_"

// KeyEntry is one stored API key.
type KeyEntry struct {
	ID      string       `json:"id"`
	Hash    string       `json:"hash"` // hex SHA-256 of the whole key
	Role    gateway.Role `json:"role"`
	Org     string       `json:"org"`
	MSPID   string       `json:"mspId"`
	User    string       `json:"user"`
	Label   string       `json:"label,omitempty"`
	Created time.Time    `json:"created"`
	Revoked bool         `json:"revoked,omitempty"`
	// Verifier is the verifier organisation of a verifier key (its Fabric identity is
	// the platform's).
	Verifier string `json:"verifier,omitempty"`
	// RevokedAt and RevokedBy (the revoking key's ID) are set by Revoke.
	RevokedAt *time.Time `json:"revokedAt,omitempty"`
	RevokedBy string     `json:"revokedBy,omitempty"`
}

// DefaultRefresh is how often a key store looks at its file for changes made by
// other gateways.
const DefaultRefresh = 30 * time.Second

// KeyStore is a file-backed API key store (JSON, 0600, replaced atomically). Several
// gateways of one platform may share the file: every change is a read-modify-write
// under an exclusive flock of "<file>.lock", so none loses another's keys, and each
// store re-reads the file when it changed, checking at most every Refresh (so a
// revocation takes effect everywhere within Refresh).
type KeyStore struct {
	path    string
	refresh time.Duration
	now     func() time.Time

	mu        sync.RWMutex
	keys      map[string]KeyEntry
	stamp     os.FileInfo // the file as last read (nil: it did not exist)
	lastCheck time.Time
}

// OpenKeyStore loads (or creates) the key file, re-reading it every DefaultRefresh.
func OpenKeyStore(path string) (*KeyStore, error) {
	return OpenSharedKeyStore(path, DefaultRefresh, nil)
}

// OpenSharedKeyStore loads (or creates) a key file that other gateways may share; it
// is re-read when it changed, checked at most every refresh (0: at every use). now is
// the clock (nil: time.Now).
func OpenSharedKeyStore(path string, refresh time.Duration, now func() time.Time) (*KeyStore, error) {
	if now == nil {
		now = time.Now
	}
	s := &KeyStore{path: path, refresh: refresh, now: now, keys: map[string]KeyEntry{}}
	keys, st, err := readKeys(path)
	if err != nil {
		return nil, err
	}
	s.keys, s.stamp, s.lastCheck = keys, st, now()
	return s, nil
}

// readKeys reads the key file; a missing file is an empty store.
func readKeys(path string) (map[string]KeyEntry, os.FileInfo, error) {
	keys := map[string]KeyEntry{}
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return keys, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	var list []KeyEntry
	if err := json.NewDecoder(f).Decode(&list); err != nil {
		return nil, nil, fmt.Errorf("api key file %s: %w", path, err)
	}
	for _, k := range list {
		keys[k.ID] = k
	}
	return keys, st, nil
}

// changed tells whether the file differs from the version last read.
func changed(old, cur os.FileInfo) bool {
	if old == nil || cur == nil {
		return old != cur
	}
	return !os.SameFile(old, cur) || !old.ModTime().Equal(cur.ModTime()) || old.Size() != cur.Size()
}

// refreshIfDue re-reads the file if Refresh has passed since the last look and the
// file changed. A file that cannot be read keeps the keys known so far (and is tried
// again at the next look).
func (s *KeyStore) refreshIfDue() {
	now := s.now()
	s.mu.RLock()
	due := now.Sub(s.lastCheck) >= s.refresh
	s.mu.RUnlock()
	if !due {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if now.Sub(s.lastCheck) < s.refresh {
		return
	}
	s.lastCheck = now
	cur, err := os.Stat(s.path)
	if errors.Is(err, os.ErrNotExist) {
		cur, err = nil, nil
	}
	if err != nil || !changed(s.stamp, cur) {
		return
	}
	if keys, st, err := readKeys(s.path); err == nil {
		s.keys, s.stamp = keys, st
	}
}

// update runs f on the current keys from the file, under the file lock, and saves
// the result: a read-modify-write no other gateway can interleave with.
func (s *KeyStore) update(f func(keys map[string]KeyEntry) error) error {
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
		return err
	}
	lock, err := lockFile(s.path + ".lock")
	if err != nil {
		return err
	}
	defer lock.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	keys, _, err := readKeys(s.path)
	if err != nil {
		return err
	}
	if err := f(keys); err != nil {
		return err
	}
	if err := saveKeys(s.path, keys); err != nil {
		return err
	}
	st, err := os.Stat(s.path)
	if err != nil {
		return err
	}
	s.keys, s.stamp, s.lastCheck = keys, st, s.now()
	return nil
}

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

func random(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return strings.ToLower(b32.EncodeToString(b))
}

func hashKey(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:])
}

// Create issues a new department or operator key for a Fabric identity and returns
// it; the key itself is not stored and cannot be shown again.
func (s *KeyStore) Create(role gateway.Role, org, mspID, user, label string) (string, KeyEntry, error) {
	if role != gateway.RoleDepartment && role != gateway.RoleOperator {
		return "", KeyEntry{}, gateway.Errorf(gateway.CodeInvalid, "role must be department or operator")
	}
	return s.issue(KeyEntry{Role: role, Org: org, MSPID: mspID, User: user, Label: label})
}

// CreateVerifier issues a key for a verifier organisation (a bank, a school). It acts
// as the platform's Fabric identity (org, mspID, user); verifier is recorded on the key.
func (s *KeyStore) CreateVerifier(verifier, org, mspID, user, label string) (string, KeyEntry, error) {
	if verifier == "" {
		return "", KeyEntry{}, gateway.Errorf(gateway.CodeInvalid, "a verifier key needs the verifier's name")
	}
	return s.issue(KeyEntry{Role: gateway.RoleVerifier, Verifier: verifier, Org: org, MSPID: mspID, User: user, Label: label})
}

func (s *KeyStore) issue(e KeyEntry) (string, KeyEntry, error) {
	e.ID = random(5)
	key := keyPrefix + e.ID + "_" + random(20)
	e.Hash, e.Created = hashKey(key), s.now().UTC()
	err := s.update(func(keys map[string]KeyEntry) error {
		if _, taken := keys[e.ID]; taken {
			return gateway.Errorf(gateway.CodeConflict, "key ID collision; try again")
		}
		keys[e.ID] = e
		return nil
	})
	if err != nil {
		return "", KeyEntry{}, err
	}
	return key, e, nil
}

// Revoke disables a key (recording when and by which key); revoking a revoked key
// changes nothing. It takes effect on this gateway at once and on the others sharing
// the file within their refresh interval.
func (s *KeyStore) Revoke(id string) error {
	_, err := s.RevokeBy(id, "")
	return err
}

// RevokeBy is Revoke recording the revoking key's ID; it returns the entry.
func (s *KeyStore) RevokeBy(id, by string) (KeyEntry, error) {
	var out KeyEntry
	err := s.update(func(keys map[string]KeyEntry) error {
		e, ok := keys[id]
		if !ok {
			return gateway.Errorf(gateway.CodeNotFound, "no API key %q", id)
		}
		if !e.Revoked {
			at := s.now().UTC()
			e.Revoked, e.RevokedAt, e.RevokedBy = true, &at, by
			keys[id] = e
		}
		out = e
		return nil
	})
	return out, err
}

// Get returns one entry (as of the last refresh).
func (s *KeyStore) Get(id string) (KeyEntry, bool) {
	s.refreshIfDue()
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok := s.keys[id]
	return e, ok
}

// List returns the entries (with their hashes: callers must not show them), oldest
// first.
func (s *KeyStore) List() []KeyEntry {
	s.refreshIfDue()
	s.mu.RLock()
	defer s.mu.RUnlock()
	list := make([]KeyEntry, 0, len(s.keys))
	for _, k := range s.keys {
		list = append(list, k)
	}
	sort.Slice(list, func(i, j int) bool {
		if !list[i].Created.Equal(list[j].Created) {
			return list[i].Created.Before(list[j].Created)
		}
		return list[i].ID < list[j].ID
	})
	return list
}

// Authenticate maps a presented key to its principal.
func (s *KeyStore) Authenticate(key string) (gateway.Principal, error) {
	bad := gateway.Errorf(gateway.CodeUnauthorized, "invalid API key")
	rest, ok := strings.CutPrefix(key, keyPrefix)
	if !ok {
		return gateway.Principal{}, bad
	}
	id, _, ok := strings.Cut(rest, "_")
	if !ok {
		return gateway.Principal{}, bad
	}
	s.refreshIfDue()
	s.mu.RLock()
	e, found := s.keys[id]
	s.mu.RUnlock()
	if !found || e.Revoked || subtle.ConstantTimeCompare([]byte(hashKey(key)), []byte(e.Hash)) != 1 {
		return gateway.Principal{}, bad
	}
	return gateway.Principal{Role: e.Role, Org: e.Org, MSPID: e.MSPID, User: e.User, KeyID: e.ID, Verifier: e.Verifier}, nil
}

func saveKeys(path string, keys map[string]KeyEntry) error {
	list := make([]KeyEntry, 0, len(keys))
	for _, k := range keys {
		list = append(list, k)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	b, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(path, b, 0o600)
}
