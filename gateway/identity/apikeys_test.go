package identity

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

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
