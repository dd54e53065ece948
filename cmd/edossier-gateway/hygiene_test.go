package main

import (
	"bytes"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
)

// hygieneBasePort: TestOwnershipSelfServiceAndKeys uses ports 22500-22579.
const hygieneBasePort = 22500

// Limits of the test gateway: 3 ID numbers per document per window, 5 checks per key.
const (
	testPerDocument = 3
	testBurst       = 5
)

// verifyOwnership posts a file with kind and idNumber as key ("" = anonymous).
func (e *env) verifyOwnership(key, idNumber string, file []byte) *response {
	e.t.Helper()
	body, ct := multipartBody(e.t, [3]string{"kind", "", "person"}, [3]string{"idNumber", "", idNumber}, [3]string{"file", "application/pdf", string(file)})
	return e.do(e.request("POST", "/v1/verify", key, body, ct))
}

type verification struct {
	Verified     bool             `json:"verified"`
	Status       string           `json:"status"`
	InDossier    *bool            `json:"inDossier"`
	Records      []map[string]any `json:"records"`
	CheckReceipt *gateway.Receipt `json:"checkReceipt"`
}

// accessLog reads a subject's access log with the operator key.
func (e *env) accessLog(subjectID string) []wire.AccessEntry {
	e.t.Helper()
	r := e.jsonCall("GET", "/v1/dossiers/"+subjectID+"/access-log", e.keys.Operator, nil)
	expectStatus(e.t, r, 200)
	var page wire.AccessPage
	r.json(e.t, &page)
	return page.Entries
}

// TestOwnershipSelfServiceAndKeys runs the ownership oracle, citizen self-service,
// record history and API key revocation against a real network.
func TestOwnershipSelfServiceAndKeys(t *testing.T) {
	e := startEnvWith(t, hygieneBasePort, func(cfg *Config) {
		cfg.MaxUpload = 1 << 20
		cfg.OwnershipCheckInterval = time.Hour
		cfg.OwnershipCheckBurst = testBurst
		cfg.OwnershipChecksPerDocument = testPerDocument
		cfg.APIKeyRefresh = time.Second
	})
	health, civil := e.keys.Departments["health"], e.keys.Departments["civil"]

	// The owner: person 500 (born 2026-11-20, sequence 500), and another person.
	ownerID, otherID := personID(500), personID(501)
	owner, other := newCitizen(t, e.resolve(health, ownerID)), newCitizen(t, e.resolve(health, otherID))
	e.bindKey(owner)
	e.bindKey(other)
	birth := []byte("%PDF-1.7 birth medical certificate of person 500\n")
	r := e.appendRecord(health, owner.subjectID, "birth-medical-certificate", "", birth, "")
	expectStatus(t, r, 201)
	var birthRec recordResult
	r.json(t, &birthRec)
	otherBirth := []byte("%PDF-1.7 birth medical certificate of person 501\n")
	r = e.appendRecord(health, other.subjectID, "birth-medical-certificate", "", otherBirth, "")
	expectStatus(t, r, 201)

	// A verifier organisation gets its own key from the operator.
	r = e.jsonCall("POST", "/v1/admin/verifiers", e.keys.Operator, map[string]string{"name": "city-bank", "label": "loans"})
	expectStatus(t, r, 201)
	var bank struct {
		APIKey string `json:"apiKey"`
		KeyID  string `json:"keyId"`
	}
	r.json(t, &bank)

	t.Run("anonymous oracle loop refused", func(t *testing.T) {
		e.t = t
		before := e.snapshot()
		for seq := 0; seq < 50; seq++ {
			r := e.verifyOwnership("", personID(seq), birth)
			expectProblem(t, r, 401, gateway.CodeUnauthorized)
		}
		if after := e.snapshot(); after != before {
			t.Fatalf("refused checks changed the ledger: %+v -> %+v", before, after)
		}
		// Anonymous verification without a subject still answers, naming nobody.
		body, ct := multipartBody(t, [3]string{"file", "", string(birth)})
		r := e.do(e.request("POST", "/v1/verify", "", body, ct))
		expectStatus(t, r, 200)
		if bytes.Contains(r.body, []byte(owner.subjectID)) || bytes.Contains(r.body, []byte("inDossier")) {
			t.Fatalf("anonymous verify: %s", r.body)
		}
	})

	t.Run("authenticated oracle loop rate limited and logged", func(t *testing.T) {
		e.t = t
		// The enumeration: candidates 0, 1, 2, ... of the same birth date.
		var answered []string
		for seq := 0; seq < 30; seq++ {
			before := e.snapshot()
			r := e.verifyOwnership(bank.APIKey, personID(seq), birth)
			if seq < testPerDocument {
				expectStatus(t, r, 200)
				var v verification
				r.json(t, &v)
				if v.Verified || v.InDossier == nil || *v.InDossier || v.Status != "not_in_dossier" || len(v.Records) != 0 || v.CheckReceipt == nil {
					t.Fatalf("candidate %d: %s", seq, r.body)
				}
				answered = append(answered, personID(seq))
				continue
			}
			expectProblem(t, r, 429, gateway.CodeRateLimited)
			if ra, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || ra < 3600 {
				t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
			}
			if after := e.snapshot(); after != before {
				t.Fatalf("refused check changed the ledger: %+v -> %+v", before, after)
			}
		}
		// Every answered try is in that candidate's access log, naming the verifier.
		for _, id := range answered {
			log := e.accessLog(e.resolve(health, id))
			if len(log) != 1 || log[0].Kind != wire.AccessOwnership || log[0].Checker != "city-bank" || log[0].Org != "OperatorMSP" ||
				log[0].CID != birthRec.Record.CID || log[0].Result != wire.OwnershipNotInDossier || log[0].RecordID != "" {
				t.Fatalf("log of candidate %s: %+v", id, log)
			}
		}
		// Even the right ID number is refused now for this document.
		expectProblem(t, e.verifyOwnership(civil, ownerID, birth), 429, gateway.CodeRateLimited)
		// Per key: the bank has 2 of its 5 checks left.
		expectStatus(t, e.verifyOwnership(bank.APIKey, otherID, otherBirth), 200)
		expectStatus(t, e.verifyOwnership(bank.APIKey, ownerID, otherBirth), 200)
		before := e.snapshot()
		expectProblem(t, e.verifyOwnership(bank.APIKey, otherID, []byte("never issued")), 429, gateway.CodeRateLimited)
		if after := e.snapshot(); after != before {
			t.Fatalf("refused check changed the ledger: %+v -> %+v", before, after)
		}
	})

	t.Run("owner check and another dossier's document", func(t *testing.T) {
		e.t = t
		// otherBirth: checked against the owner above (by the bank): genuine, but not
		// in the owner's dossier, so not verified for the owner.
		r := e.verifyOwnership(health, ownerID, otherBirth)
		expectStatus(t, r, 200)
		var v verification
		r.json(t, &v)
		if v.Verified || v.Status != "not_in_dossier" || *v.InDossier || len(v.Records) != 0 {
			t.Fatalf("another dossier's document: %s", r.body)
		}
		r = e.verifyOwnership(health, otherID, otherBirth)
		expectStatus(t, r, 200)
		r.json(t, &v)
		if !v.Verified || v.Status != "verified" || !*v.InDossier || len(v.Records) != 1 {
			t.Fatalf("own document: %s", r.body)
		}
		log := e.accessLog(other.subjectID)
		if len(log) == 0 || log[0].Kind != wire.AccessOwnership || log[0].Checker != "HealthMSP" || log[0].Result != wire.OwnershipInDossier || log[0].TxID != v.CheckReceipt.TxID {
			t.Fatalf("other's log: %+v", log)
		}
	})

	t.Run("record history", func(t *testing.T) {
		e.t = t
		r := e.jsonCall("GET", "/v1/records/"+birthRec.Record.RecordID+"/history", health, nil)
		expectStatus(t, r, 200)
		var h struct {
			RecordID string               `json:"recordId"`
			Versions []wire.RecordVersion `json:"versions"`
		}
		r.json(t, &h)
		if h.RecordID != birthRec.Record.RecordID || len(h.Versions) != 1 || h.Versions[0].TxID != birthRec.Record.TxID {
			t.Fatalf("history: %s", r.body)
		}
		expectProblem(t, e.jsonCall("GET", "/v1/records/"+birthRec.Record.RecordID+"/history", civil, nil), 404, gateway.CodeNotFound)
		expectProblem(t, e.jsonCall("GET", "/v1/records/"+birthRec.Record.RecordID+"/history", "", nil), 401, gateway.CodeUnauthorized)
	})

	t.Run("self service", func(t *testing.T) {
		e.t = t
		id := birthRec.Record.RecordID
		r := e.do(e.signed(owner, "GET", "/v1/dossiers/"+owner.subjectID+"/records", nil, time.Now()))
		expectStatus(t, r, 200)
		var page struct {
			Records []wire.Record `json:"records"`
		}
		r.json(t, &page)
		if len(page.Records) != 1 || page.Records[0].RecordID != id {
			t.Fatalf("own dossier: %s", r.body)
		}
		expectStatus(t, e.do(e.signed(owner, "GET", "/v1/records/"+id, nil, time.Now())), 200)
		expectStatus(t, e.do(e.signed(owner, "GET", "/v1/records/"+id+"/history", nil, time.Now())), 200)
		r = e.do(e.signed(owner, "GET", "/v1/records/"+id+"/content", nil, time.Now()))
		expectStatus(t, r, 200)
		contentTx := r.header.Get("X-Edossier-Access-Tx")
		if !bytes.Equal(r.body, birth) || contentTx == "" {
			t.Fatalf("own file: %q %v", r.body, r.header)
		}
		// The access log shows the four self accesses, newest first.
		r = e.do(e.signed(owner, "GET", "/v1/dossiers/"+owner.subjectID+"/access-log", nil, time.Now()))
		expectStatus(t, r, 200)
		var log wire.AccessPage
		r.json(t, &log)
		want := []string{wire.SelfContent, wire.SelfHistory, wire.SelfGet, wire.SelfList}
		if len(log.Entries) < len(want) {
			t.Fatalf("access log: %s", r.body)
		}
		for i, action := range want {
			en := log.Entries[i]
			if en.Kind != wire.AccessSelf || en.Action != action || en.SubjectID != owner.subjectID || (action != wire.SelfList && en.RecordID != id) {
				t.Fatalf("entry %d: %+v", i, en)
			}
		}
		if log.Entries[0].TxID != contentTx {
			t.Fatalf("content entry %+v, file read under tx %s", log.Entries[0], contentTx)
		}
		// Another subject's signature reads nothing of the owner's dossier.
		for _, c := range []struct {
			path   string
			status int
			code   gateway.Code
		}{
			{"/v1/dossiers/" + owner.subjectID + "/records", 403, gateway.CodeForbidden},
			{"/v1/records/" + id, 404, gateway.CodeNotFound},
			{"/v1/records/" + id + "/history", 404, gateway.CodeNotFound},
			{"/v1/records/" + id + "/content", 404, gateway.CodeNotFound},
			{"/v1/records/" + id + "/content?grantId=g-1", 400, gateway.CodeInvalid},
		} {
			before := e.snapshot()
			who := other
			if c.status == 400 {
				who = owner
			}
			r := e.do(e.signed(who, "GET", c.path, nil, time.Now()))
			expectProblem(t, r, c.status, c.code)
			if bytes.Contains(r.body, birth[:20]) {
				t.Fatalf("%s: file bytes sent", c.path)
			}
			if after := e.snapshot(); after != before {
				t.Fatalf("%s: refused read changed the ledger: %+v -> %+v", c.path, before, after)
			}
		}
	})

	t.Run("revoked key refused by a second gateway", func(t *testing.T) {
		e.t = t
		// A second gateway of the platform sharing the key file.
		cfg2 := e.g.cfg
		cfg2.DataDir = filepath.Join(t.TempDir(), "gateway2")
		cfg2.APIKeyFile = filepath.Join(e.g.cfg.DataDir, "api-keys.json")
		cfg2.DemoKeysFile = ""
		g2, err := Open(cfg2)
		if err != nil {
			t.Fatal(err)
		}
		defer g2.Close()
		srv2 := httptest.NewServer(g2.Handler())
		defer srv2.Close()
		second := &env{t: t, n: e.n, g: g2, url: srv2.URL, keys: e.keys, http: e.http, snap: e.snap}

		// Health's key works on both; the bank's key works on the second.
		expectStatus(t, second.jsonCall("GET", "/v1/records/"+birthRec.Record.RecordID, health, nil), 200)
		expectStatus(t, second.jsonCall("GET", "/v1/admin/api-keys", e.keys.Operator, nil), 200)
		expectProblem(t, second.jsonCall("GET", "/v1/admin/api-keys", bank.APIKey, nil), 403, gateway.CodeForbidden)
		// Civil may not revoke health's keys; the operator revokes the bank's key and
		// health one of its own through the first gateway.
		r := e.jsonCall("GET", "/v1/admin/api-keys", health, nil)
		expectStatus(t, r, 200)
		var list struct {
			Keys []struct {
				KeyID string `json:"keyId"`
				User  string `json:"user"`
			} `json:"keys"`
		}
		r.json(t, &list)
		if len(list.Keys) != 1 || bytes.Contains(r.body, []byte("hash")) {
			t.Fatalf("health's keys: %s", r.body)
		}
		expectProblem(t, e.jsonCall("POST", "/v1/admin/api-keys/"+list.Keys[0].KeyID+"/revoke", civil, nil), 403, gateway.CodeForbidden)
		expectStatus(t, e.jsonCall("POST", "/v1/admin/api-keys/"+bank.KeyID+"/revoke", e.keys.Operator, nil), 200)
		revokedAt := time.Now()
		// An authenticated call that changes nothing: the bank's key is forbidden to list
		// keys (403) until it is revoked (401).
		expectProblem(t, e.jsonCall("GET", "/v1/admin/api-keys", bank.APIKey, nil), 401, gateway.CodeUnauthorized)
		for {
			r := second.jsonCall("GET", "/v1/admin/api-keys", bank.APIKey, nil)
			if r.status != 403 {
				expectProblem(t, r, 401, gateway.CodeUnauthorized)
				break
			}
			if time.Since(revokedAt) > cfg2.APIKeyRefresh+2*time.Second {
				t.Fatalf("second gateway still accepts the revoked key after %s: %d %s", time.Since(revokedAt), r.status, r.body)
			}
			time.Sleep(100 * time.Millisecond)
		}
		// Health revokes its own key through the second gateway; the first refuses it.
		expectStatus(t, second.jsonCall("POST", "/v1/admin/api-keys/"+list.Keys[0].KeyID+"/revoke", health, nil), 200)
		revokedAt = time.Now()
		for {
			r := e.jsonCall("GET", "/v1/records/"+birthRec.Record.RecordID, health, nil)
			if r.status == 401 {
				break
			}
			if time.Since(revokedAt) > e.g.cfg.APIKeyRefresh+2*time.Second {
				t.Fatalf("first gateway still accepts health's revoked key: %d", r.status)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
}
