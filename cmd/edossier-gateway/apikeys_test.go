package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edossier-city/edossier/gateway"
	"github.com/edossier-city/edossier/gateway/api"
	"github.com/edossier-city/edossier/gateway/httpsig"
	"github.com/edossier-city/edossier/gateway/identity"
	"github.com/edossier-city/edossier/gateway/service"
)

// keyGateway is the HTTP layer of one gateway over a shared key file (the key routes
// do not touch Fabric).
func keyGateway(t *testing.T, keyFile string, refresh time.Duration) *api.Server {
	t.Helper()
	keys, err := identity.OpenSharedKeyStore(keyFile, refresh, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := api.New(api.Options{
		Service: service.New(nil, nil, nil, service.Config{KeyAdmin: keyAdmin{keys: keys, org: "operator", mspID: "OperatorMSP", user: "ops"}}),
		Keys:    keys,
		Nonces:  httpsig.NewMemoryNonceStore(0),
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func call(t *testing.T, h http.Handler, method, path, key, body string) *httptest.ResponseRecorder {
	t.Helper()
	var req *http.Request
	if body != "" {
		req = httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
	} else {
		req = httptest.NewRequest(method, path, nil)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func problemCode(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	var p struct {
		Code string `json:"code"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
		t.Fatalf("not a problem: %s", rec.Body)
	}
	return p.Code
}

// TestRevokedKeyRefusedByOtherGateway: two gateways share the key file; a key revoked
// through one is refused (401) by the other within the refresh interval, and the
// answers never carry hashes.
func TestRevokedKeyRefusedByOtherGateway(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "shared", "api-keys.json")
	store, err := identity.OpenKeyStore(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	create := func(role gateway.Role, org, msp, user string) (string, identity.KeyEntry) {
		key, e, err := store.Create(role, org, msp, user, "")
		if err != nil {
			t.Fatal(err)
		}
		return key, e
	}
	op, _ := create(gateway.RoleOperator, "operator", "OperatorMSP", "ops")
	health, _ := create(gateway.RoleDepartment, "health", "HealthMSP", "clerk")
	nurse, nurseEntry := create(gateway.RoleDepartment, "health", "HealthMSP", "nurse")
	social, socialEntry := create(gateway.RoleDepartment, "social", "SocialSecurityMSP", "clerk")

	const refresh = 200 * time.Millisecond
	a, b := keyGateway(t, keyFile, refresh), keyGateway(t, keyFile, refresh)

	// A verifier key issued through a reaches b.
	rec := call(t, a, "POST", "/v1/admin/verifiers", op, `{"name":"city-bank","label":"loans desk"}`)
	if rec.Code != 201 {
		t.Fatalf("issue verifier: %d %s", rec.Code, rec.Body)
	}
	var v struct {
		APIKey   string `json:"apiKey"`
		Verifier string `json:"verifier"`
		Role     string `json:"role"`
	}
	json.Unmarshal(rec.Body.Bytes(), &v)
	if v.APIKey == "" || v.Verifier != "city-bank" || v.Role != "verifier" {
		t.Fatalf("verifier key: %s", rec.Body)
	}

	// Listing: health sees its organisation's two keys, never a hash.
	rec = call(t, b, "GET", "/v1/admin/api-keys", health, "")
	var list struct {
		Keys []service.APIKey `json:"keys"`
	}
	json.Unmarshal(rec.Body.Bytes(), &list)
	if rec.Code != 200 || len(list.Keys) != 2 || strings.Contains(rec.Body.String(), "hash") {
		t.Fatalf("health lists: %d %s", rec.Code, rec.Body)
	}
	deadline := time.Now().Add(5 * refresh)
	for {
		rec = call(t, b, "GET", "/v1/admin/api-keys", op, "")
		json.Unmarshal(rec.Body.Bytes(), &list)
		if len(list.Keys) == 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("b does not see the verifier key issued through a: %s", rec.Body)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Refusals change nothing.
	for _, c := range []struct {
		name, method, path, key string
		status                  int
		code                    string
	}{
		{"department revokes another organisation's key", "POST", "/v1/admin/api-keys/" + socialEntry.ID + "/revoke", health, 403, "forbidden"},
		{"verifier revokes", "POST", "/v1/admin/api-keys/" + nurseEntry.ID + "/revoke", v.APIKey, 403, "forbidden"},
		{"anonymous revokes", "POST", "/v1/admin/api-keys/" + nurseEntry.ID + "/revoke", "", 401, "unauthorized"},
		{"anonymous lists", "GET", "/v1/admin/api-keys", "", 401, "unauthorized"},
		{"unknown key", "POST", "/v1/admin/api-keys/nope/revoke", op, 404, "not_found"},
		{"junk key ID", "POST", "/v1/admin/api-keys/a%00b/revoke", op, 400, "invalid"},
		{"department issues a verifier key", "POST", "/v1/admin/verifiers", health, 403, "forbidden"},
	} {
		body := ""
		if strings.HasSuffix(c.path, "verifiers") {
			body = `{"name":"x"}`
		}
		rec := call(t, a, c.method, c.path, c.key, body)
		if rec.Code != c.status || problemCode(t, rec) != c.code {
			t.Errorf("%s: %d %s", c.name, rec.Code, rec.Body)
		}
	}
	if call(t, b, "GET", "/v1/admin/api-keys", social, "").Code != 200 {
		t.Fatal("a refusal revoked social's key")
	}

	// Health revokes its nurse's key through a; b refuses it within the refresh time.
	if call(t, b, "GET", "/v1/admin/api-keys", nurse, "").Code != 200 {
		t.Fatal("nurse key not accepted before revocation")
	}
	rec = call(t, a, "POST", "/v1/admin/api-keys/"+nurseEntry.ID+"/revoke", health, "")
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"revoked":true`) || strings.Contains(rec.Body.String(), "hash") {
		t.Fatalf("revoke: %d %s", rec.Code, rec.Body)
	}
	if rec := call(t, a, "GET", "/v1/admin/api-keys", nurse, ""); rec.Code != 401 {
		t.Fatalf("a accepts the key it revoked: %d", rec.Code)
	}
	start := time.Now()
	for {
		rec := call(t, b, "GET", "/v1/admin/api-keys", nurse, "")
		if rec.Code == 401 && problemCode(t, rec) == "unauthorized" {
			break
		}
		if time.Since(start) > refresh+100*time.Millisecond {
			t.Fatalf("b still accepts the revoked key after %s", time.Since(start))
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The operator revokes the verifier's key through b.
	var vid struct {
		KeyID string `json:"keyId"`
	}
	rec = call(t, a, "POST", "/v1/admin/verifiers", op, `{"name":"school-7"}`)
	json.Unmarshal(rec.Body.Bytes(), &vid)
	time.Sleep(refresh)
	if rec := call(t, b, "POST", "/v1/admin/api-keys/"+vid.KeyID+"/revoke", op, ""); rec.Code != 200 {
		t.Fatalf("operator revokes a verifier key: %d %s", rec.Code, rec.Body)
	}
}
