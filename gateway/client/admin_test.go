package client

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestHistoryKeysAndOwnRead: the paths, methods and decoding of the history, API key
// and verifier calls, and a citizen's own read without grant parameters.
func TestHistoryKeysAndOwnRead(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.Method + " " + r.URL.RequestURI() {
		case "GET /v1/records/r-1/history":
			io.WriteString(w, `{"recordId":"r-1","versions":[{"txId":"t1","timestamp":"2026-12-01T10:00:00Z","record":{"recordId":"r-1","status":"revoked"}}]}`)
		case "GET /v1/admin/api-keys":
			io.WriteString(w, `{"keys":[{"keyId":"k1","role":"department","mspId":"HealthMSP","created":"2026-12-01T10:00:00Z","revoked":false}]}`)
		case "POST /v1/admin/api-keys/k1/revoke":
			io.WriteString(w, `{"keyId":"k1","role":"department","revoked":true,"revokedBy":"k0","created":"2026-12-01T10:00:00Z"}`)
		case "POST /v1/admin/verifiers":
			w.WriteHeader(201)
			io.WriteString(w, `{"keyId":"k2","role":"verifier","verifier":"city-bank","apiKey":"edk_k2_s","created":"2026-12-01T10:00:00Z","revoked":false}`)
		case "GET /v1/records/r-1/content":
			w.Header().Set("Content-Type", "application/pdf")
			w.Header().Set("X-Edossier-Access-Tx", "tx-self")
			io.WriteString(w, "mine")
		default:
			t.Errorf("unexpected %s %s", r.Method, r.URL.RequestURI())
			w.WriteHeader(404)
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	c := &Client{BaseURL: srv.URL, APIKey: "k"}
	h, err := c.RecordHistory(ctx, "r-1")
	if err != nil || len(h.Versions) != 1 || h.Versions[0].Record.Status != "revoked" {
		t.Fatalf("history %+v %v", h, err)
	}
	keys, err := c.ListAPIKeys(ctx)
	if err != nil || len(keys) != 1 || keys[0].ID != "k1" {
		t.Fatalf("keys %+v %v", keys, err)
	}
	k, err := c.RevokeAPIKey(ctx, "k1")
	if err != nil || !k.Revoked || k.RevokedBy != "k0" {
		t.Fatalf("revoke %+v %v", k, err)
	}
	v, err := c.CreateVerifier(ctx, "city-bank", "")
	if err != nil || v.Key != "edk_k2_s" || v.Verifier != "city-bank" {
		t.Fatalf("verifier %+v %v", v, err)
	}
	content, err := c.ReadContent(ctx, "r-1", "", "")
	if err != nil || content.AccessTxID != "tx-self" {
		t.Fatalf("own read %+v %v", content, err)
	}
	content.Body.Close()
}
