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
}

// KeyStore is a file-backed API key store (JSON, 0600, replaced atomically).
type KeyStore struct {
	path string
	mu   sync.RWMutex
	keys map[string]KeyEntry
}

// OpenKeyStore loads (or creates) the key file.
func OpenKeyStore(path string) (*KeyStore, error) {
	s := &KeyStore{path: path, keys: map[string]KeyEntry{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, err
	}
	var list []KeyEntry
	if err := json.Unmarshal(b, &list); err != nil {
		return nil, fmt.Errorf("api key file %s: %w", path, err)
	}
	for _, k := range list {
		s.keys[k.ID] = k
	}
	return s, nil
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

// Create issues a new key for a Fabric identity and returns it; the key itself is not
// stored and cannot be shown again.
func (s *KeyStore) Create(role gateway.Role, org, mspID, user, label string) (string, KeyEntry, error) {
	if role != gateway.RoleDepartment && role != gateway.RoleOperator {
		return "", KeyEntry{}, gateway.Errorf(gateway.CodeInvalid, "role must be department or operator")
	}
	id := random(5)
	key := keyPrefix + id + "_" + random(20)
	e := KeyEntry{ID: id, Hash: hashKey(key), Role: role, Org: org, MSPID: mspID, User: user, Label: label, Created: time.Now().UTC()}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[id] = e
	if err := s.saveLocked(); err != nil {
		delete(s.keys, id)
		return "", KeyEntry{}, err
	}
	return key, e, nil
}

// Revoke disables a key.
func (s *KeyStore) Revoke(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.keys[id]
	if !ok {
		return gateway.Errorf(gateway.CodeNotFound, "no API key %q", id)
	}
	e.Revoked = true
	s.keys[id] = e
	return s.saveLocked()
}

// List returns the entries (without secrets), oldest first.
func (s *KeyStore) List() []KeyEntry {
	s.mu.RLock()
	defer s.mu.RUnlock()
	list := make([]KeyEntry, 0, len(s.keys))
	for _, k := range s.keys {
		list = append(list, k)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Created.Before(list[j].Created) })
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
	s.mu.RLock()
	e, found := s.keys[id]
	s.mu.RUnlock()
	if !found || e.Revoked || subtle.ConstantTimeCompare([]byte(hashKey(key)), []byte(e.Hash)) != 1 {
		return gateway.Principal{}, bad
	}
	return gateway.Principal{Role: e.Role, Org: e.Org, MSPID: e.MSPID, User: e.User, KeyID: e.ID}, nil
}

func (s *KeyStore) saveLocked() error {
	list := make([]KeyEntry, 0, len(s.keys))
	for _, k := range s.keys {
		list = append(list, k)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].ID < list[j].ID })
	b, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(s.path, b, 0o600)
}
