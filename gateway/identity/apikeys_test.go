package identity

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edossier-city/edossier/gateway"
)

func TestKeyStoreLifecycle(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	s, err := OpenKeyStore(path)
	if err != nil {
		t.Fatal(err)
	}
	key, entry, err := s.Create(gateway.RoleDepartment, "health", "HealthMSP", "clerk", "front desk")
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Authenticate(key)
	if err != nil || p.Role != gateway.RoleDepartment || p.MSPID != "HealthMSP" || p.User != "clerk" || p.KeyID != entry.ID {
		t.Fatalf("authenticate: %+v %v", p, err)
	}
	// Only the hash is stored, the file is private.
	b, _ := os.ReadFile(path)
	if strings.Contains(string(b), key) || strings.Contains(string(b), strings.Split(key, "_")[2]) {
		t.Fatal("the key file holds the secret")
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v", st.Mode().Perm())
	}
	// A reopened store knows the key.
	s2, err := OpenKeyStore(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s2.Authenticate(key); err != nil {
		t.Fatalf("after reopen: %v", err)
	}
	for _, bad := range []string{"", "edk_", "edk_" + entry.ID, "edk_" + entry.ID + "_wrong", key + "x", "Bearer " + key, strings.ToUpper(key)} {
		if _, err := s2.Authenticate(bad); gateway.ErrorCode(err) != gateway.CodeUnauthorized {
			t.Errorf("Authenticate(%q) = %v, want unauthorized", bad, err)
		}
	}
	if err := s2.Revoke(entry.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s2.Authenticate(key); gateway.ErrorCode(err) != gateway.CodeUnauthorized {
		t.Fatalf("revoked key accepted: %v", err)
	}
	if err := s2.Revoke("nope"); gateway.ErrorCode(err) != gateway.CodeNotFound {
		t.Fatalf("revoke unknown: %v", err)
	}
	if _, _, err := s2.Create(gateway.RoleCitizen, "x", "X", "u", ""); gateway.ErrorCode(err) != gateway.CodeInvalid {
		t.Fatalf("citizen key: %v", err)
	}
	if n := len(s2.List()); n != 1 {
		t.Fatalf("list: %d", n)
	}
}

func TestOpenKeyStoreRefusesCorruptFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	os.WriteFile(path, []byte("{not json"), 0o600)
	if _, err := OpenKeyStore(path); err == nil {
		t.Fatal("corrupt key file accepted")
	}
}

// fakeClock is a settable clock for refresh tests.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func TestSharedKeyFileRevocationReachesOtherStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	clock := &fakeClock{t: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
	a, err := OpenSharedKeyStore(path, 30*time.Second, clock.now)
	if err != nil {
		t.Fatal(err)
	}
	b, err := OpenSharedKeyStore(path, 30*time.Second, clock.now)
	if err != nil {
		t.Fatal(err)
	}
	key, entry, err := a.Create(gateway.RoleDepartment, "health", "HealthMSP", "clerk", "")
	if err != nil {
		t.Fatal(err)
	}
	// b learns of the new key at its next look (due: 30 s passed).
	if _, err := b.Authenticate(key); err == nil {
		t.Fatal("b knew the key before its refresh was due")
	}
	clock.t = clock.t.Add(30 * time.Second)
	if _, err := b.Authenticate(key); err != nil {
		t.Fatalf("b after refresh: %v", err)
	}
	if _, err := a.Authenticate(key); err != nil { // a looks at the file now
		t.Fatal(err)
	}
	// Revoked through b: a refuses it within the refresh interval, b at once.
	got, err := b.RevokeBy(entry.ID, "opkey")
	if err != nil || !got.Revoked || got.RevokedBy != "opkey" || got.RevokedAt == nil {
		t.Fatalf("revoke: %+v %v", got, err)
	}
	if _, err := b.Authenticate(key); gateway.ErrorCode(err) != gateway.CodeUnauthorized {
		t.Fatalf("b accepts its revoked key: %v", err)
	}
	clock.t = clock.t.Add(29 * time.Second)
	if _, err := a.Authenticate(key); err != nil {
		t.Fatalf("a should still use its cache: %v", err)
	}
	clock.t = clock.t.Add(time.Second)
	if _, err := a.Authenticate(key); gateway.ErrorCode(err) != gateway.CodeUnauthorized {
		t.Fatalf("a accepts a key revoked elsewhere after the refresh interval: %v", err)
	}
	// A corrupt file (a half-written copy by hand) keeps the keys known so far.
	os.WriteFile(path, []byte("{oops"), 0o600)
	clock.t = clock.t.Add(time.Minute)
	if len(a.List()) != 1 {
		t.Fatal("corrupt file dropped the keys")
	}
}

func TestSharedKeyFileConcurrentWritersLoseNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	a, _ := OpenSharedKeyStore(path, time.Hour, nil)
	b, _ := OpenSharedKeyStore(path, time.Hour, nil)
	var wg sync.WaitGroup
	for _, s := range []*KeyStore{a, b} {
		wg.Add(1)
		go func(s *KeyStore) {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				if _, _, err := s.Create(gateway.RoleDepartment, "health", "HealthMSP", "clerk", ""); err != nil {
					t.Error(err)
				}
			}
		}(s)
	}
	wg.Wait()
	c, err := OpenKeyStore(path)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(c.List()); n != 40 {
		t.Fatalf("%d keys in the file, want 40 (a writer lost another's keys)", n)
	}
}

func TestVerifierKey(t *testing.T) {
	s, _ := OpenKeyStore(filepath.Join(t.TempDir(), "keys.json"))
	key, e, err := s.CreateVerifier("city-bank", "operator", "OperatorMSP", "ops", "loans desk")
	if err != nil || e.Role != gateway.RoleVerifier || e.Verifier != "city-bank" {
		t.Fatalf("%+v %v", e, err)
	}
	p, err := s.Authenticate(key)
	if err != nil || p.Role != gateway.RoleVerifier || p.Verifier != "city-bank" || p.Org != "operator" || p.User != "ops" {
		t.Fatalf("%+v %v", p, err)
	}
	if _, _, err := s.CreateVerifier("", "operator", "OperatorMSP", "ops", ""); gateway.ErrorCode(err) != gateway.CodeInvalid {
		t.Fatalf("nameless verifier: %v", err)
	}
}
