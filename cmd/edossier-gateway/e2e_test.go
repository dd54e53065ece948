package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
	gwclient "github.com/edossier-city/edossier/gateway/client"
	"github.com/edossier-city/edossier/gateway/httpsig"
	"github.com/edossier-city/edossier/gateway/service"
	"github.com/edossier-city/edossier/network/nettest"
)

const e2eBasePort = 22000

// env is a running network with a gateway on it.
type env struct {
	t    *testing.T
	n    *nettest.Net
	g    *Gateway
	url  string
	keys DemoKeys
	http *http.Client
	snap *client.Gateway // operator connection for ledger heights
	cfg  Config
	slot int    // which nettest.GatewayAddr the gateway listens on
	stop func() // stops the running gateway
}

func startEnv(t *testing.T, maxUpload int64) *env {
	t.Helper()
	return startEnvWith(t, e2eBasePort, func(cfg *Config) { cfg.MaxUpload = maxUpload })
}

// startEnvWith starts a network at basePort and a gateway whose configuration edit
// adjusts (after the test defaults).
func startEnvWith(t *testing.T, basePort int, edit func(*Config)) *env {
	t.Helper()
	return startEnvOn(t, nettest.Options{BasePort: basePort}, edit)
}

// startEnvOn is startEnvWith for a network with other options (e.g. 3 orderers).
func startEnvOn(t *testing.T, o nettest.Options, edit func(*Config)) *env {
	t.Helper()
	n := nettest.Start(t, o)
	dir := t.TempDir()
	cfg := defaultConfig()
	cfg.Listen = "127.0.0.1:0"
	cfg.ConnectionFile = n.ConnectionFile()
	cfg.DataDir = filepath.Join(dir, "gateway")
	cfg.KEKFile = filepath.Join(dir, "secrets", "kek.hex")
	cfg.SubjectSecret = filepath.Join(dir, "secrets", "subject.hex")
	cfg.DemoKeysFile = filepath.Join(dir, "keys.json")
	cfg.LogFormat = "text"
	cfg.LogLevel = "warn"
	cfg.VerifyRate = 1000
	cfg.VerifyBurst = 1000
	cfg.OrphanGrace = 500 * time.Millisecond
	if edit != nil {
		edit(&cfg)
	}
	e := &env{t: t, n: n, http: &http.Client{Timeout: 2 * time.Minute}, snap: n.Gateway(t, "operator", "ops"), cfg: cfg}
	e.startGateway()
	t.Cleanup(func() { e.stop() })
	return e
}

// startGateway opens and runs a gateway with e.cfg on e.n.GatewayAddr(e.slot), waits
// until it is ready and reads the demo keys (if e.cfg writes them).
func (e *env) startGateway() {
	t := e.t
	t.Helper()
	g, err := Open(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", e.n.GatewayAddr(t, e.slot))
	if err != nil {
		t.Fatal(err)
	}
	g.listener = ln
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	e.g, e.url = g, "http://"+ln.Addr().String()
	e.stop = func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("gateway run: %v", err)
		}
		g.Close()
		e.stop = func() {}
	}
	if err := waitReady(e.http, e.url, 2*time.Minute, nil); err != nil {
		t.Fatal(err)
	}
	if e.cfg.DemoKeysFile == "" {
		return
	}
	b, err := os.ReadFile(e.cfg.DemoKeysFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &e.keys); err != nil {
		t.Fatal(err)
	}
}

// response is a decoded HTTP answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r *response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

func (e *env) do(req *http.Request) *response {
	e.t.Helper()
	resp, err := e.http.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: b}
}

func (e *env) request(method, path, key string, body io.Reader, contentType string) *http.Request {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return req
}

func (e *env) jsonCall(method, path, key string, v any) *response {
	e.t.Helper()
	var body io.Reader
	ct := ""
	if v != nil {
		b, _ := json.Marshal(v)
		body, ct = bytes.NewReader(b), "application/json"
	}
	return e.do(e.request(method, path, key, body, ct))
}

// multipartBody builds parts in order: name, content type, content.
func multipartBody(t *testing.T, parts ...[3]string) (io.Reader, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		if p[0] == "file" || strings.HasPrefix(p[0], "f") && p[0] != "metadata" {
			h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename="upload"`, p[0]))
		} else {
			h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q`, p[0]))
		}
		if p[1] != "" {
			h.Set("Content-Type", p[1])
		}
		pw, err := w.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		pw.Write([]byte(p[2]))
	}
	w.Close()
	return &buf, w.FormDataContentType()
}

// appendRecord appends a file; note is the record's free-text note ("" = none), which
// the gateway keeps off-chain.
func (e *env) appendRecord(key, subjectID, recordType, note string, file []byte, idem string) *response {
	e.t.Helper()
	m := map[string]string{"type": recordType}
	if note != "" {
		m["note"] = note
	}
	meta, _ := json.Marshal(m)
	body, ct := multipartBody(e.t, [3]string{"metadata", "application/json", string(meta)}, [3]string{"file", "application/pdf", string(file)})
	req := e.request("POST", "/v1/dossiers/"+subjectID+"/records", key, body, ct)
	if idem != "" {
		req.Header.Set("Idempotency-Key", idem)
	}
	return e.do(req)
}

// citizen holds a subject key and signs requests with it.
type citizen struct {
	subjectID string
	key       *ecdsa.PrivateKey
	keyID     string // keyid override for forged requests ("": the key's own ID)
}

func newCitizen(t *testing.T, subjectID string) *citizen {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &citizen{subjectID: subjectID, key: k}
}

func (c *citizen) publicPEM(t *testing.T) string {
	der, err := x509.MarshalPKIXPublicKey(&c.key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func (e *env) signed(c *citizen, method, path string, v any, at time.Time) *http.Request {
	e.t.Helper()
	var body io.Reader
	if v != nil {
		b, _ := json.Marshal(v)
		body = bytes.NewReader(b)
	}
	req := e.request(method, path, "", body, "")
	if v != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	nonce, err := httpsig.NewNonce()
	if err != nil {
		e.t.Fatal(err)
	}
	_, keyID, err := gwclient.PublicKeyPEM(&c.key.PublicKey)
	if err != nil {
		e.t.Fatal(err)
	}
	if c.keyID != "" {
		keyID = c.keyID
	}
	if err := httpsig.Sign(req, service.KeyRef(c.subjectID, keyID), c.key, at, nonce); err != nil {
		e.t.Fatal(err)
	}
	return req
}

// grantDoc builds and signs a grant document.
// grantFor is grant for another subject (c acting as its delegate): the document names
// subjectID and c signs it.
func (c *citizen) grantFor(t *testing.T, subjectID, grantID, grantee, purpose string, types []string, from, until time.Time) map[string]string {
	t.Helper()
	other := *c
	other.subjectID = subjectID
	return other.grant(t, grantID, grantee, purpose, types, from, until)
}

func (c *citizen) grant(t *testing.T, grantID, grantee, purpose string, types []string, from, until time.Time) map[string]string {
	t.Helper()
	doc, err := wire.EncodeGrant(wire.Grant{Kind: wire.GrantKind, GrantID: grantID, SubjectID: c.subjectID, Grantee: grantee,
		Scope: wire.GrantScope{RecordTypes: types, RecordIDs: []string{}}, Purpose: purpose,
		ValidFrom: wire.FormatTime(from), ExpiresAt: wire.FormatTime(until)})
	if err != nil {
		t.Fatal(err)
	}
	sig, err := wire.SignDocument(c.key, doc)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{"grant": base64.StdEncoding.EncodeToString(doc), "signature": sig}
}

func (c *citizen) revocation(t *testing.T, grantID string) map[string]string {
	t.Helper()
	doc, err := wire.EncodeRevocation(wire.Revocation{Kind: wire.RevocationKind, GrantID: grantID, SubjectID: c.subjectID,
		IssuedAt: wire.FormatTime(time.Now())})
	if err != nil {
		t.Fatal(err)
	}
	sig, err := wire.SignDocument(c.key, doc)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{"revocation": base64.StdEncoding.EncodeToString(doc), "signature": sig}
}

// personID returns a valid 18-character PRC resident ID number (ISO 7064 MOD 11-2).
func personID(seq int) string {
	body := fmt.Sprintf("11010120261120%03d", seq%1000)
	weights := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for i, w := range weights {
		sum += int(body[i]-'0') * w
	}
	return body + string("10X98765432"[sum%11])
}

func expectStatus(t *testing.T, r *response, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
}

// expectProblem checks a refusal: the status, problem+json, the code.
func expectProblem(t *testing.T, r *response, status int, code gateway.Code) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d (%s): %s", r.status, status, code, r.body)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Fatalf("content type %q, want problem+json: %s", ct, r.body)
	}
	var p struct {
		Code   string `json:"code"`
		Status int    `json:"status"`
	}
	r.json(t, &p)
	if p.Code != string(code) || p.Status != status {
		t.Fatalf("problem code %q status %d, want %q %d: %s", p.Code, p.Status, code, status, r.body)
	}
}

func (e *env) resolve(key string, id string) string {
	e.t.Helper()
	r := e.jsonCall("POST", "/v1/subjects/resolve", key, map[string]string{"kind": "person", "idNumber": id})
	expectStatus(e.t, r, 200)
	var v struct {
		SubjectID string `json:"subjectId"`
	}
	r.json(e.t, &v)
	return v.SubjectID
}

// keyRequest is what c's device takes to the identity authority's counter.
func keyRequest(t *testing.T, kind string, c *citizen) map[string]string {
	t.Helper()
	req, err := (&gwclient.Client{}).NewKeyRequest(kind, c.subjectID, c.key)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{"document": req.Document, "popSignature": req.PopSignature}
}

// bindKey binds c's key as its first key through the identity authority's clerk
// (the police department's demo key), after checking that neither the operator nor
// another department can.
func (e *env) bindKey(c *citizen) {
	e.t.Helper()
	req := keyRequest(e.t, wire.KeyBindKind, c)
	expectProblem(e.t, e.jsonCall("POST", "/v1/subject-keys/bind", e.keys.Operator, req), 403, gateway.CodeForbidden)
	expectProblem(e.t, e.jsonCall("POST", "/v1/subject-keys/bind", e.keys.Departments["health"], req), 403, gateway.CodeForbidden)
	expectStatus(e.t, e.jsonCall("POST", "/v1/subject-keys/bind", e.keys.Departments["police"], req), 201)
}

type recordResult struct {
	Record  wire.Record     `json:"record"`
	Receipt gateway.Receipt `json:"receipt"`
}

// TestGatewayEndToEnd runs the product over HTTP against a real network.
func TestGatewayEndToEnd(t *testing.T) {
	e := startEnv(t, 1<<20)
	health, civil, social := e.keys.Departments["health"], e.keys.Departments["civil"], e.keys.Departments["social"]
	if health == "" || civil == "" || social == "" {
		t.Fatalf("demo keys missing: %+v", e.keys)
	}
	t.Run("newborn one thing", func(t *testing.T) { e.t = t; testNewborn(t, e, health, civil, social) })
	t.Run("idempotent append", func(t *testing.T) { e.t = t; testIdempotent(t, e, health) })
	t.Run("refusals", func(t *testing.T) { e.t = t; testRefusals(t, e, health, civil, social) })
	t.Run("matters", func(t *testing.T) { e.t = t; testMatters(t, e, health) })
	t.Run("guardian", func(t *testing.T) { e.t = t; testGuardian(t, e, health, social) })
	t.Run("consent request", func(t *testing.T) { e.t = t; testConsentRequest(t, e, health, social) })
	t.Run("matter consent", func(t *testing.T) { e.t = t; testMatterConsent(t, e, health, civil, social) })
	t.Run("corrupted blobs", func(t *testing.T) { e.t = t; testCorruptRead(t, e, health, social) })
	t.Run("api.md supersede and revoke", func(t *testing.T) { e.t = t; testAPIDocSupersedeAndRevoke(t, e, health) })
	t.Run("operator cannot forge consent", func(t *testing.T) { e.t = t; testOperatorForgery(t, e, health, social) })
	t.Run("ledger refuses personal data", func(t *testing.T) { e.t = t; testLedgerRefusesPersonalData(t, e, health) })
	t.Run("no personal data in the block files", func(t *testing.T) { e.t = t; testBlockFilesHoldNoPersonalData(t, e) })
}

// testMatters: the demo set-up's matters are public; only the operator defines one, and
// only from registered departments, record types and purposes; a change is a new
// version and the old one stays.
func testMatters(t *testing.T, e *env, health string) {
	r := e.jsonCall("GET", "/v1/matters", "", nil)
	expectStatus(t, r, 200)
	var list struct {
		Matters []wire.Matter `json:"matters"`
	}
	r.json(t, &list)
	var newborn *wire.Matter
	for i := range list.Matters {
		if list.Matters[i].Code == "newborn" {
			newborn = &list.Matters[i]
		}
	}
	// The default network has four of the newborn matter's five departments (medical
	// insurance is added only by the one-thing test's network).
	if newborn == nil || len(newborn.Parts) != 4 || newborn.Parts[0].Department != "CivilAffairsMSP" || newborn.Parts[3].Department != "SocialSecurityMSP" {
		t.Fatalf("demo matters: %s", r.body)
	}
	def := map[string]any{"code": "e2e-matter", "name": "E2E matter", "parts": []map[string]any{
		{"department": "HealthMSP", "recordTypes": []string{"vaccination-record"}, "purpose": "school-enrolment"}}}
	before := e.snapshot()
	expectProblem(t, e.jsonCall("POST", "/v1/admin/matters", health, def), 403, gateway.CodeForbidden)
	bad := map[string]any{"code": "e2e-matter", "name": "E2E matter", "parts": []map[string]any{
		{"department": "NoSuchMSP", "recordTypes": []string{"vaccination-record"}, "purpose": "school-enrolment"}}}
	expectProblem(t, e.jsonCall("POST", "/v1/admin/matters", e.keys.Operator, bad), 400, gateway.CodeInvalid)
	if after := e.snapshot(); after != before {
		t.Fatalf("refused matter definitions changed the ledger: %+v -> %+v", before, after)
	}
	expectStatus(t, e.jsonCall("POST", "/v1/admin/matters", e.keys.Operator, def), 200)
	def["parts"] = []map[string]any{{"department": "HealthMSP", "recordTypes": []string{"vaccination-record", "birth-medical-certificate"}, "purpose": "school-enrolment"}}
	expectStatus(t, e.jsonCall("POST", "/v1/admin/matters", e.keys.Operator, def), 200)
	r = e.jsonCall("GET", "/v1/matters/e2e-matter?version=1", "", nil)
	expectStatus(t, r, 200)
	var v1 wire.Matter
	r.json(t, &v1)
	r = e.jsonCall("GET", "/v1/matters/e2e-matter", "", nil)
	expectStatus(t, r, 200)
	var latest wire.Matter
	r.json(t, &latest)
	if v1.Version != 1 || len(v1.Parts[0].RecordTypes) != 1 || latest.Version != 2 || len(latest.Parts[0].RecordTypes) != 2 {
		t.Fatalf("versions: %+v / %+v", v1, latest)
	}
	expectProblem(t, e.jsonCall("GET", "/v1/matters/e2e-matter?version=9", "", nil), 404, gateway.CodeNotFound)
}

// testDeviceKeys: the parent adds a second device with the first one; a recovery the
// citizen did not ask for is visible at once and cancelled; the key log shows it all.
// It returns the second device.
func testDeviceKeys(t *testing.T, e *env, phone *citizen) *citizen {
	laptop := newCitizen(t, phone.subjectID)
	laptopPEM := laptop.publicPEM(t)
	doc, sig := statement(t, phone, wire.KeyStatement{Kind: wire.KeyAddKind, PublicKeyPEM: laptopPEM})
	pop, _ := wire.SignDocument(laptop.key, doc)
	r := e.do(e.signed(phone, "POST", "/v1/dossiers/"+phone.subjectID+"/keys",
		map[string]string{"document": base64.StdEncoding.EncodeToString(doc), "signature": sig, "popSignature": pop}, time.Now()))
	expectStatus(t, r, 201)
	// The new device signs requests at once.
	r = e.do(e.signed(laptop, "GET", "/v1/dossiers/"+phone.subjectID+"/keys", nil, time.Now()))
	expectStatus(t, r, 200)
	var keys wire.SubjectKeys
	r.json(t, &keys)
	if len(keys.Keys) != 2 || keys.Keys[0].Status != wire.KeyActive || keys.Keys[1].Status != wire.KeyActive {
		t.Fatalf("keys %s", r.body)
	}

	// A recovery requested at the counter in the citizen's name: pending, cancelled.
	thief := newCitizen(t, phone.subjectID)
	r = e.jsonCall("POST", "/v1/subject-keys/recoveries", e.keys.Operator, keyRequest(t, wire.KeyRecoveryKind, thief))
	expectProblem(t, r, 403, gateway.CodeForbidden)
	r = e.jsonCall("POST", "/v1/subject-keys/recoveries", e.keys.Departments["police"], keyRequest(t, wire.KeyRecoveryKind, thief))
	expectStatus(t, r, 201)
	var rec service.RecoveryResult
	r.json(t, &rec)
	if rec.Recovery.Status != wire.RecoveryPending {
		t.Fatalf("recovery %s", r.body)
	}
	r = e.jsonCall("POST", "/v1/dossiers/"+phone.subjectID+"/recoveries/"+rec.Recovery.RecoveryID+"/complete", "", nil)
	expectProblem(t, r, 403, gateway.CodeNotYetValid)
	doc, sig = statement(t, laptop, wire.KeyStatement{Kind: wire.KeyRecoveryCancelKind, RecoveryID: rec.Recovery.RecoveryID})
	r = e.do(e.signed(laptop, "POST", "/v1/dossiers/"+phone.subjectID+"/recoveries/"+rec.Recovery.RecoveryID+"/cancel",
		map[string]string{"document": base64.StdEncoding.EncodeToString(doc), "signature": sig}, time.Now()))
	expectStatus(t, r, 200)

	r = e.do(e.signed(phone, "GET", "/v1/dossiers/"+phone.subjectID+"/key-events", nil, time.Now()))
	expectStatus(t, r, 200)
	var ev wire.KeyEventPage
	r.json(t, &ev)
	var types []string
	for _, x := range ev.Events {
		types = append(types, x.Type)
	}
	if got := strings.Join(types, ","); got != "bound,added,recovery-requested,recovery-cancelled" {
		t.Fatalf("key events %s: %s", got, r.body)
	}
	if ev.Events[0].Org != "PublicSecurityMSP" || ev.Events[2].Org != "PublicSecurityMSP" {
		t.Fatalf("key events do not name the identity authority: %s", r.body)
	}
	// Another subject cannot read this log.
	stranger := newCitizen(t, e.resolve(e.keys.Departments["health"], personID(77)))
	e.bindKey(stranger)
	r = e.do(e.signed(stranger, "GET", "/v1/dossiers/"+phone.subjectID+"/key-events", nil, time.Now()))
	expectProblem(t, r, 403, gateway.CodeForbidden)
	testRemovedKeyStopsAtOnce(t, e, phone)
	return laptop
}

// testRemovedKeyStopsAtOnce: a device key removed by another device stops signing
// requests as soon as the gateway applies the block that removed it, not when its
// 30-second cache of the key expires (the tablet signed a read just before).
func testRemovedKeyStopsAtOnce(t *testing.T, e *env, phone *citizen) {
	tablet := newCitizen(t, phone.subjectID)
	doc, sig := statement(t, phone, wire.KeyStatement{Kind: wire.KeyAddKind, PublicKeyPEM: tablet.publicPEM(t)})
	pop, _ := wire.SignDocument(tablet.key, doc)
	expectStatus(t, e.do(e.signed(phone, "POST", "/v1/dossiers/"+phone.subjectID+"/keys",
		map[string]string{"document": base64.StdEncoding.EncodeToString(doc), "signature": sig, "popSignature": pop}, time.Now())), 201)
	expectStatus(t, e.do(e.signed(tablet, "GET", "/v1/dossiers/"+phone.subjectID+"/keys", nil, time.Now())), 200)
	_, tabletID, err := gwclient.PublicKeyPEM(&tablet.key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	doc, sig = statement(t, phone, wire.KeyStatement{Kind: wire.KeyRemoveKind, KeyID: tabletID})
	expectStatus(t, e.do(e.signed(phone, "POST", "/v1/dossiers/"+phone.subjectID+"/keys/"+tabletID+"/remove",
		map[string]string{"document": base64.StdEncoding.EncodeToString(doc), "signature": sig}, time.Now())), 200)
	removed := time.Now()
	for {
		r := e.do(e.signed(tablet, "GET", "/v1/dossiers/"+phone.subjectID+"/keys", nil, time.Now()))
		if r.status == 401 {
			expectProblem(t, r, 401, gateway.CodeUnknownKey)
			break
		}
		if r.status != 200 || time.Since(removed) > 10*time.Second {
			t.Fatalf("the removed key still signs %s after its removal: %d %.200s", time.Since(removed).Round(time.Millisecond), r.status, r.body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The phone still signs.
	expectStatus(t, e.do(e.signed(phone, "GET", "/v1/dossiers/"+phone.subjectID+"/keys", nil, time.Now())), 200)
}

// statement signs a key statement of c (issued now, fresh nonce).
func statement(t *testing.T, c *citizen, st wire.KeyStatement) ([]byte, string) {
	t.Helper()
	st.SubjectID = c.subjectID
	doc, sig, err := gwclient.SignStatement(st, c.key, func() (string, error) { return wire.FormatTime(time.Now()), nil })
	if err != nil {
		t.Fatal(err)
	}
	return doc, sig
}

// testOperatorForgery reruns the attack of issue 9 with only the operator's API key:
// no key of the operator's can be bound, added or recovered for a citizen, so no grant
// the operator signs is accepted and no file is read under it. The ledger is unchanged.
func testOperatorForgery(t *testing.T, e *env, health, social string) {
	op := e.keys.Operator
	victim := newCitizen(t, e.resolve(health, personID(88)))
	r := e.appendRecord(health, victim.subjectID, "birth-medical-certificate", "", []byte("%PDF victim"), "")
	expectStatus(t, r, 201)
	var rec recordResult
	r.json(t, &rec)
	before := e.snapshot()
	mine := newCitizen(t, victim.subjectID) // a key the operator holds
	// Bind for a subject without a key, or recover one: refused.
	expectProblem(t, e.jsonCall("POST", "/v1/subject-keys/bind", op, keyRequest(t, wire.KeyBindKind, mine)), 403, gateway.CodeForbidden)
	expectProblem(t, e.jsonCall("POST", "/v1/subject-keys/recoveries", op, keyRequest(t, wire.KeyRecoveryKind, mine)), 403, gateway.CodeForbidden)
	// The old operator routes are gone.
	expectProblem(t, e.jsonCall("POST", "/v1/admin/subject-keys", op, map[string]string{"subjectId": victim.subjectID, "publicKeyPem": mine.publicPEM(t)}), 404, gateway.CodeNotFound)
	// A grant signed with the operator's key, in the victim's name: the request
	// signature names no active key.
	now := time.Now()
	grant := mine.grant(t, "g-forged-by-operator", "SocialSecurityMSP", "identity-verification", []string{"birth-medical-certificate"}, now.Add(-time.Minute), now.Add(time.Hour))
	expectProblem(t, e.do(e.signed(mine, "POST", "/v1/dossiers/"+victim.subjectID+"/grants", grant, now)), 401, gateway.CodeUnknownKey)
	// Adding the operator's key "signed" by itself.
	doc, sig := statement(t, mine, wire.KeyStatement{Kind: wire.KeyAddKind, PublicKeyPEM: mine.publicPEM(t)})
	expectProblem(t, e.do(e.signed(mine, "POST", "/v1/dossiers/"+victim.subjectID+"/keys",
		map[string]string{"document": base64.StdEncoding.EncodeToString(doc), "signature": sig, "popSignature": sig}, now)), 401, gateway.CodeUnknownKey)
	// So no read of the victim's file is possible under such a grant.
	r = e.jsonCall("GET", "/v1/records/"+rec.Record.RecordID+"/content?grantId=g-forged-by-operator&purpose=identity-verification", social, nil)
	expectProblem(t, r, 404, gateway.CodeNotFound)
	if after := e.snapshot(); after != before {
		t.Fatalf("ledger changed by refused requests: %v -> %v", before, after)
	}
}

func testNewborn(t *testing.T, e *env, health, civil, social string) {
	baby := newCitizen(t, e.resolve(health, personID(1)))
	if again := e.resolve(civil, personID(1)); again != baby.subjectID {
		t.Fatalf("resolve is not stable across departments: %s vs %s", again, baby.subjectID)
	}
	e.bindKey(baby)
	parent := testDeviceKeys(t, e, baby)

	birth := []byte("%PDF-1.7 birth medical certificate of the newborn, Health Commission\n")
	household := []byte("%PDF-1.7 household register record of the newborn, Civil Affairs Bureau\n")
	r := e.appendRecord(health, baby.subjectID, "birth-medical-certificate", newbornNote, birth, "")
	expectStatus(t, r, 201)
	var birthRec recordResult
	r.json(t, &birthRec)
	if birthRec.Receipt.Channel != "municipal" || birthRec.Receipt.TxID == "" || birthRec.Receipt.Block == 0 {
		t.Fatalf("receipt %+v", birthRec.Receipt)
	}
	if birthRec.Record.Issuer != "HealthMSP" || birthRec.Record.Status != "active" {
		t.Fatalf("record %+v", birthRec.Record)
	}
	// The note may also come as its own part between metadata and file.
	body, ct := multipartBody(t, [3]string{"metadata", "application/json", `{"type":"household-register"}`},
		[3]string{"note", "text/plain", householdNote}, [3]string{"file", "application/pdf", string(household)})
	r = e.do(e.request("POST", "/v1/dossiers/"+baby.subjectID+"/records", civil, body, ct))
	expectStatus(t, r, 201)
	var houseRec recordResult
	r.json(t, &houseRec)
	r = e.jsonCall("GET", "/v1/records/"+houseRec.Record.RecordID, civil, nil)
	expectStatus(t, r, 200)
	if !strings.Contains(string(r.body), `"note":"`+householdNote+`"`) || houseRec.Record.NoteCID == "" {
		t.Fatalf("note part: %s", r.body)
	}

	// The note is off-chain: the issuer and a grantee read it back, the ledger has its CID.
	if birthRec.Record.NoteCID == "" {
		t.Fatalf("record without a note CID: %+v", birthRec.Record)
	}
	r = e.jsonCall("GET", "/v1/records/"+birthRec.Record.RecordID, health, nil)
	expectStatus(t, r, 200)
	var view struct {
		wire.Record
		Note string `json:"note"`
	}
	r.json(t, &view)
	if view.Note != newbornNote || view.NoteCID != birthRec.Record.NoteCID {
		t.Fatalf("record metadata for its issuer: %s", r.body)
	}

	// The social security bureau gets 30 days for a registered purpose.
	purpose := "social-insurance-enrolment"
	now := time.Now()
	grantID := "g-newborn-1"
	// The parent grants from the second device.
	r = e.do(e.signed(parent, "POST", "/v1/dossiers/"+baby.subjectID+"/grants",
		parent.grant(t, grantID, "SocialSecurityMSP", purpose, []string{"birth-medical-certificate", "household-register"}, now.Add(-time.Minute), now.Add(30*24*time.Hour)), now))
	expectStatus(t, r, 201)

	// Social lists the dossier and reads both files.
	r = e.jsonCall("GET", "/v1/dossiers/"+baby.subjectID+"/records", social, nil)
	expectStatus(t, r, 200)
	var page struct {
		Records []wire.Record `json:"records"`
	}
	r.json(t, &page)
	if len(page.Records) != 2 {
		t.Fatalf("social sees %d records, want 2: %s", len(page.Records), r.body)
	}
	r = e.jsonCall("GET", "/v1/records/"+birthRec.Record.RecordID, social, nil)
	expectStatus(t, r, 200)
	if r.json(t, &view); view.Note != newbornNote {
		t.Fatalf("record metadata for a grantee: %s", r.body)
	}
	for _, want := range []struct {
		rec  wire.Record
		file []byte
	}{{birthRec.Record, birth}, {houseRec.Record, household}} {
		r = e.jsonCall("GET", "/v1/records/"+want.rec.RecordID+"/content?grantId="+grantID+"&purpose="+purpose, social, nil)
		expectStatus(t, r, 200)
		if !bytes.Equal(r.body, want.file) {
			t.Fatalf("read %q, want %q", r.body, want.file)
		}
		if r.header.Get("ETag") != `"`+want.rec.CID+`"` || r.header.Get("Content-Type") != "application/pdf" {
			t.Fatalf("headers %v", r.header)
		}
	}

	// The citizen lists its own dossier and downloads the birth certificate with
	// signed requests (no grant): self accesses.
	r = e.do(e.signed(baby, "GET", "/v1/dossiers/"+baby.subjectID+"/records", nil, time.Now()))
	expectStatus(t, r, 200)
	r.json(t, &page)
	if len(page.Records) != 2 {
		t.Fatalf("the citizen sees %d records, want 2: %s", len(page.Records), r.body)
	}
	r = e.do(e.signed(baby, "GET", "/v1/records/"+birthRec.Record.RecordID+"/content", nil, time.Now()))
	expectStatus(t, r, 200)
	if !bytes.Equal(r.body, birth) {
		t.Fatalf("own download %q", r.body)
	}

	// The citizen's access log, newest first: the two self accesses, the two file
	// reads, and before them social's metadata reads (the record, and the listing's
	// two records); the issuers' reads of their own records are not in it.
	r = e.do(e.signed(baby, "GET", "/v1/dossiers/"+baby.subjectID+"/access-log", nil, time.Now()))
	expectStatus(t, r, 200)
	var log wire.AccessPage
	r.json(t, &log)
	var got []string
	for _, en := range log.Entries {
		got = append(got, en.Kind+":"+en.Action)
		switch en.Kind {
		case wire.AccessFile, wire.AccessMetadata:
			if en.Org != "SocialSecurityMSP" || en.GrantID != grantID || en.Purpose != purpose || en.User != "clerk" {
				t.Fatalf("access entry %+v", en)
			}
		case wire.AccessSelf:
			if en.SubjectID != baby.subjectID || (en.Action == wire.SelfContent && en.RecordID != birthRec.Record.RecordID) {
				t.Fatalf("self entry %+v", en)
			}
		}
	}
	if want := "self:content,self:list,file:,file:,metadata:get,metadata:list,metadata:list"; strings.Join(got, ",") != want {
		t.Fatalf("access log %s, want %s: %s", strings.Join(got, ","), want, r.body)
	}
	seen := map[string]bool{}
	for _, en := range log.Entries[2:4] {
		seen[en.RecordID] = true
	}
	if !seen[birthRec.Record.RecordID] || !seen[houseRec.Record.RecordID] {
		t.Fatalf("file reads of %v", seen)
	}
	if log.Entries[4].RecordID != birthRec.Record.RecordID || log.Entries[5].TxID != log.Entries[6].TxID ||
		log.Entries[5].RecordID == log.Entries[6].RecordID {
		t.Fatalf("metadata entries %+v", log.Entries[4:])
	}

	// Bookmarks are opaque and bound to the caller and the query: social pages
	// through the dossier one record at a time; the bookmark names no record, and
	// altered, or used by another caller or for another query, it is invalid.
	r = e.jsonCall("GET", "/v1/dossiers/"+baby.subjectID+"/records?pageSize=1", social, nil)
	expectStatus(t, r, 200)
	var first struct {
		Records  []wire.Record `json:"records"`
		Bookmark string        `json:"bookmark"`
	}
	r.json(t, &first)
	if len(first.Records) != 1 || first.Bookmark == "" || strings.Contains(first.Bookmark, first.Records[0].RecordID) ||
		strings.Contains(first.Bookmark, baby.subjectID) {
		t.Fatalf("first page %s", r.body)
	}
	r = e.jsonCall("GET", "/v1/dossiers/"+baby.subjectID+"/records?pageSize=1&bookmark="+first.Bookmark, social, nil)
	expectStatus(t, r, 200)
	var second struct {
		Records  []wire.Record `json:"records"`
		Bookmark string        `json:"bookmark"`
	}
	r.json(t, &second)
	if len(second.Records) != 1 || second.Records[0].RecordID == first.Records[0].RecordID || second.Bookmark != "" {
		t.Fatalf("second page %s", r.body)
	}
	badMark := []byte(first.Bookmark)
	if i := len(badMark) / 2; badMark[i] == 'A' {
		badMark[i] = 'B'
	} else {
		badMark[i] = 'A'
	}
	for _, try := range []*http.Request{
		e.request("GET", "/v1/dossiers/"+baby.subjectID+"/records?pageSize=1&bookmark="+string(badMark), social, nil, ""),
		e.request("GET", "/v1/dossiers/"+baby.subjectID+"/records?pageSize=1&bookmark="+first.Bookmark, e.keys.Departments["police"], nil, ""),
		e.request("GET", "/v1/dossiers/"+baby.subjectID+"/records?pageSize=1&type=household-register&bookmark="+first.Bookmark, social, nil, ""),
		e.request("GET", "/v1/dossiers/"+baby.subjectID+"/records?pageSize=1&bookmark="+first.Bookmark, e.keys.Operator, nil, ""),
	} {
		expectProblem(t, e.do(try), 400, gateway.CodeInvalid)
	}

	// A department without a grant sees nothing of the dossier (not even by a
	// bookmark): the listing is empty and the record is not found.
	r = e.jsonCall("GET", "/v1/dossiers/"+baby.subjectID+"/records", e.keys.Departments["police"], nil)
	expectStatus(t, r, 200)
	r.json(t, &page)
	if len(page.Records) != 0 {
		t.Fatalf("police sees %s", r.body)
	}
	expectProblem(t, e.jsonCall("GET", "/v1/records/"+birthRec.Record.RecordID, e.keys.Departments["police"], nil), 404, gateway.CodeNotFound)

	// After revocation the next read is refused and sends no file byte.
	r = e.do(e.signed(baby, "POST", "/v1/grants/"+grantID+"/revoke", baby.revocation(t, grantID), time.Now()))
	expectStatus(t, r, 200)
	r = e.jsonCall("GET", "/v1/records/"+birthRec.Record.RecordID+"/content?grantId="+grantID+"&purpose=identity-verification", social, nil)
	expectProblem(t, r, 403, gateway.CodeRevoked)
	if bytes.Contains(r.body, birth[:20]) {
		t.Fatal("file bytes sent after revocation")
	}

	// A verifier verifies the original; a one-byte-changed copy is not verified.
	verify := func(file []byte) map[string]any {
		body, ct := multipartBody(t, [3]string{"file", "application/pdf", string(file)})
		r := e.do(e.request("POST", "/v1/verify", "", body, ct))
		expectStatus(t, r, 200)
		var v map[string]any
		r.json(t, &v)
		if strings.Contains(string(r.body), baby.subjectID) {
			t.Fatalf("verification reveals the subject: %s", r.body)
		}
		// No free text: no note, no note CID, no title; codes and registered names.
		for _, leak := range []string{newbornNote, personName, birthRec.Record.NoteCID, `"note`, `"title"`} {
			if strings.Contains(string(r.body), leak) {
				t.Fatalf("verification answer carries %q: %s", leak, r.body)
			}
		}
		if strings.Contains(string(r.body), `"recordId"`) && (!strings.Contains(string(r.body), `"typeName":"Birth medical certificate"`) || !strings.Contains(string(r.body), `"issuerName":"`)) {
			t.Fatalf("verification answer without registered names: %s", r.body)
		}
		return v
	}
	if v := verify(birth); v["verified"] != true || v["status"] != "verified" {
		t.Fatalf("original not verified: %v", v)
	}
	tampered := bytes.Clone(birth)
	tampered[5] ^= 1
	if v := verify(tampered); v["verified"] != false || v["status"] != "not_found" {
		t.Fatalf("tampered copy verified: %v", v)
	}
	r = e.jsonCall("GET", "/v1/verify/"+birthRec.Record.CID, "", nil)
	expectStatus(t, r, 200)

	// A revoked record verifies as revoked.
	r = e.jsonCall("POST", "/v1/records/"+birthRec.Record.RecordID+"/revoke", health, map[string]string{"reason": "issued-in-error"})
	expectStatus(t, r, 200)
	if v := verify(birth); v["verified"] != false || v["status"] != "revoked" {
		t.Fatalf("revoked record: %v", v)
	} else if recs := v["records"].([]any); recs[0].(map[string]any)["reasonName"] != "Issued in error" {
		t.Fatalf("revoked record without the reason's name: %v", v)
	}
}

// Personal data the end-to-end test sends as notes or tries to put on the ledger; the
// block-file scan looks for every one of them (and every ID number the tests resolve).
const (
	personName  = "李小明"
	newbornNote = "出生医学证明 李小明 身份证110101202611201235 母亲王芳"
	rawCredit   = "91350100M000100Y43"
	// householdNote names the guardian: off-chain like every note.
	householdNote = "户主 王芳 (guardian of 李小明)"
)

func testIdempotent(t *testing.T, e *env, health string) {
	subject := e.resolve(health, personID(2))
	file := []byte("vaccination record, dose 1")
	r1 := e.appendRecord(health, subject, "vaccination-record", "Vaccination", file, "import-line-42")
	expectStatus(t, r1, 201)
	var a, b recordResult
	r1.json(t, &a)
	r2 := e.appendRecord(health, subject, "vaccination-record", "Vaccination", file, "import-line-42")
	expectStatus(t, r2, 200)
	r2.json(t, &b)
	if a.Record.RecordID != b.Record.RecordID || a.Receipt != b.Receipt {
		t.Fatalf("retry gave another record or receipt:\n%+v\n%+v", a, b)
	}
	r := e.jsonCall("GET", "/v1/dossiers/"+subject+"/records", health, nil)
	var page struct {
		Records []wire.Record `json:"records"`
	}
	r.json(t, &page)
	if len(page.Records) != 1 {
		t.Fatalf("%d records after a retried append, want 1", len(page.Records))
	}
	// The same key with another file is a conflict; the file it stored is removed.
	blobs, _, _ := e.g.blobs.Usage()
	r3 := e.appendRecord(health, subject, "vaccination-record", "Vaccination", []byte("another file"), "import-line-42")
	expectProblem(t, r3, 409, gateway.CodeConflict)
	deadline := time.Now().Add(20 * time.Second)
	for n, _, _ := e.g.blobs.Usage(); n != blobs; n, _, _ = e.g.blobs.Usage() {
		if time.Now().After(deadline) {
			t.Fatalf("blob of the refused append not removed: %d blobs, want %d", n, blobs)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
