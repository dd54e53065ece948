package web

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"html/template"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
	"github.com/edossier-city/edossier/gateway/service"
)

// The citizen's pages. The device key lives in the browser (static/citizen.js:
// WebCrypto P-256, not extractable, in IndexedDB); every call for the citizen is a
// request the browser signs (RFC 9421) to the REST API, which checks it against the
// key bound on the ledger. The server side only renders page shells, builds the exact
// grant document a citizen is asked to sign (shown decoded from the very bytes the
// browser signs), and keeps key requests waiting for the identity authority's counter.

// pendingKey is a key request a phone left for the counter: the bind statement and its
// proof-of-possession signature, already checked to verify against the key it names.
type pendingKey struct {
	// Kind is the statement's kind: wire.KeyBindKind (for the counter) or
	// wire.KeyAddKind (a second device, for the subject's first device to sign).
	Kind      string
	SubjectID string
	KeyID     string
	Document  string // base64
	PopSig    string
	At        time.Time
}

// pendingKeys holds key requests for pendingTTL, at most maxPending (the oldest go
// first). It is a convenience between the phone and the counter, not a trust rule: the
// chaincode checks the proof of possession and the identity authority's attestation.
type pendingKeys struct {
	mu  sync.Mutex
	m   map[string]pendingKey // by key ID
	now func() time.Time
}

const (
	pendingTTL = 30 * time.Minute
	maxPending = 10_000
)

func (p *pendingKeys) put(k pendingKey) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sweep()
	if len(p.m) >= maxPending {
		var oldest string
		for id, v := range p.m {
			if oldest == "" || v.At.Before(p.m[oldest].At) {
				oldest = id
			}
		}
		delete(p.m, oldest)
	}
	p.m[k.KeyID] = k
}

func (p *pendingKeys) sweep() {
	now := p.now()
	for id, v := range p.m {
		if now.Sub(v.At) > pendingTTL {
			delete(p.m, id)
		}
	}
}

// find returns the pending requests of kind ("": any) whose key ID starts with prefix
// (at least 8 hex digits: what the phone shows), newest first.
func (p *pendingKeys) find(kind, prefix string) []pendingKey {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sweep()
	var out []pendingKey
	for id, v := range p.m {
		if len(prefix) >= 8 && strings.HasPrefix(id, prefix) && (kind == "" || v.Kind == kind) {
			out = append(out, v)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].At.After(out[j].At) })
	return out
}

func (p *pendingKeys) take(keyID string) (pendingKey, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	k, ok := p.m[keyID]
	delete(p.m, keyID)
	return k, ok
}

// citizenHome is the citizen's page: the device key (or the form that makes one),
// the dossier, grants, access log and key events, filled in by citizen.js.
func (s *Server) citizenHome(w http.ResponseWriter, r *http.Request) {
	p := s.newPage(r, "citizen.title", nil)
	p.Script = s.scriptData(r, p)
	if g := r.URL.Query().Get("granted"); g != "" {
		p.Notice = p.T("citizen.granted")
	}
	switch r.URL.Query().Get("answer") {
	case "approved":
		p.Notice = p.T("citizen.creq.approved")
	case "declined":
		p.Notice = p.T("citizen.creq.declined")
	}
	s.renderPage(w, r, http.StatusOK, "citizen", p)
}

// citizenRequest is the shell of a consent request's page: citizen-page.js reads the
// request with a signed call, shows the grant decoded from the bytes it would sign, and
// approves (signing exactly those bytes) or declines.
func (s *Server) citizenRequest(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("requestId")
	if err := wire.ValidateID("requestId", id); err != nil {
		s.fail(w, r, langFrom(r), gateway.Errorf(gateway.CodeInvalid, "bad request ID"))
		return
	}
	p := s.newPage(r, "request.title", id)
	p.Script = s.scriptData(r, p)
	s.renderPage(w, r, http.StatusOK, "creq", p)
}

// keyRequest takes a phone's bind statement (JSON {document, popSignature}) and keeps
// it for the counter; it answers the key ID. The statement must be a bind statement
// whose signature verifies against the key it names.
func (s *Server) keyRequest(w http.ResponseWriter, r *http.Request) {
	if err := s.checkOrigin(r); err != nil {
		s.jsonError(w, r, err)
		return
	}
	var in struct {
		Document     string `json:"document"`
		PopSignature string `json:"popSignature"`
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<10))
	if err != nil || json.Unmarshal(body, &in) != nil {
		s.jsonError(w, r, gateway.Errorf(gateway.CodeInvalid, "expected JSON {document, popSignature}"))
		return
	}
	doc, err := base64.StdEncoding.DecodeString(in.Document)
	if err != nil {
		s.jsonError(w, r, gateway.Errorf(gateway.CodeInvalid, "document is not base64"))
		return
	}
	st, err := wire.ParseKeyStatement(doc)
	if err != nil || (st.Kind != wire.KeyBindKind && st.Kind != wire.KeyAddKind) {
		s.jsonError(w, r, gateway.Errorf(gateway.CodeInvalid, "not a key-bind or key-add statement"))
		return
	}
	if err := service.CheckSubjectID("subjectId", st.SubjectID); err != nil {
		s.jsonError(w, r, err)
		return
	}
	if err := wire.VerifySignature(st.NewKey, doc, in.PopSignature); err != nil {
		s.jsonError(w, r, gateway.Errorf(gateway.CodeBadSignature, "the proof of possession does not verify"))
		return
	}
	s.pending.put(pendingKey{Kind: st.Kind, SubjectID: st.SubjectID, KeyID: st.NewKeyID, Document: in.Document, PopSig: in.PopSignature, At: s.opts.Now()})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]string{"keyId": st.NewKeyID})
}

func (s *Server) jsonError(w http.ResponseWriter, r *http.Request, err error) {
	p := s.newPage(r, "error.title", nil)
	status, pe := s.problem(r, p, err)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"code": pe.Code, "message": pe.Sentence})
}

// fingerprint groups a key ID's first 16 hex digits in fours, as the phone shows it
// and the counter types it.
func fingerprint(keyID string) string {
	if len(keyID) > 16 {
		keyID = keyID[:16]
	}
	var parts []string
	for i := 0; i < len(keyID); i += 4 {
		parts = append(parts, keyID[i:min(i+4, len(keyID))])
	}
	return strings.Join(parts, " ")
}

type keyPageData struct {
	Second      bool // a second device's key: the first device adds it, not the counter
	KeyID       string
	Fingerprint string
	QR          template.HTML
}

// keyPage shows a device key's fingerprint as text and QR code, for the counter.
func (s *Server) keyPage(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("keyId")
	if len(id) != 64 {
		s.fail(w, r, langFrom(r), gateway.Errorf(gateway.CodeInvalid, "bad key ID"))
		return
	}
	if _, err := hex.DecodeString(id); err != nil {
		s.fail(w, r, langFrom(r), gateway.Errorf(gateway.CodeInvalid, "bad key ID"))
		return
	}
	p := s.newPage(r, "key.title", nil)
	qr, err := qrSVG(strings.ReplaceAll(fingerprint(id), " ", ""), p.T("key.qr"))
	if err != nil {
		s.fail(w, r, langFrom(r), gateway.Wrap(gateway.CodeInternal, err, "qr"))
		return
	}
	p.Data = keyPageData{Second: r.URL.Query().Get("second") != "", KeyID: id, Fingerprint: fingerprint(id), QR: qr}
	s.renderPage(w, r, http.StatusOK, "key", p)
}

type grantFormData struct {
	Names       *names
	Departments []wire.Department
	Grantee     string
	Types       map[string]bool
	Purpose     string
	Days        string
	SubjectID   string
	// The document to sign (preview), base64 of its exact bytes.
	Document string
	GrantID  string
}

// publicNames reads the registry as the platform (departments, types and purposes are
// public facts the grant form needs).
func (s *Server) publicNames(r *http.Request) (*names, []wire.Department, error) {
	reg, err := s.opts.Service.Registry(r.Context(), s.opts.Platform)
	if err != nil {
		return nil, nil, err
	}
	n, err := s.names(r, s.opts.Platform)
	if err != nil {
		return nil, nil, err
	}
	pg := &page{cat: s.cat[langFrom(r)]}
	n.Types = nil
	for _, t := range reg.RecordTypes {
		t.Name = pg.RegName("type", t.Code, t.Name)
		n.Types = append(n.Types, t)
	}
	var deps []wire.Department
	for _, d := range reg.Departments {
		if d.Active {
			deps = append(deps, d)
		}
	}
	return n, deps, nil
}

// grantForm is the grant form (GET, nothing secret in it); with "preview" it shows the
// exact document to sign, built here with the ledger's own encoding.
func (s *Server) grantForm(w http.ResponseWriter, r *http.Request) {
	n, deps, err := s.publicNames(r)
	if err != nil {
		s.fail(w, r, langFrom(r), err)
		return
	}
	q := r.URL.Query()
	d := grantFormData{Names: n, Departments: deps, Grantee: q.Get("grantee"), Types: map[string]bool{}, Purpose: q.Get("purpose"),
		Days: q.Get("days"), SubjectID: q.Get("subjectId")}
	for _, t := range q["type"] {
		d.Types[t] = true
	}
	if d.Days == "" {
		d.Days = "30"
	}
	p := s.newPage(r, "grant.title", nil)
	p.Script = s.scriptData(r, p)
	status := http.StatusOK
	if q.Get("preview") != "" {
		doc, id, err := s.grantDocument(d, q["type"])
		if err != nil {
			status, p.Error = s.problem(r, p, err)
		} else {
			d.Document, d.GrantID = base64.StdEncoding.EncodeToString(doc), id
		}
	}
	p.Data = d
	s.renderPage(w, r, status, "grant", p)
}

func (s *Server) grantDocument(d grantFormData, types []string) ([]byte, string, error) {
	if err := service.CheckSubjectID("subjectId", d.SubjectID); err != nil {
		return nil, "", err
	}
	days, err := strconv.Atoi(d.Days)
	if err != nil || days < 1 || days > 365 {
		return nil, "", gateway.Errorf(gateway.CodeInvalid, "duration must be 1 to 365 days")
	}
	if len(types) == 0 {
		return nil, "", gateway.Errorf(gateway.CodeInvalid, "choose at least one record type")
	}
	b := make([]byte, 10)
	if _, err := rand.Read(b); err != nil {
		return nil, "", err
	}
	id := "g-" + strings.ToLower(hex.EncodeToString(b))
	now := s.opts.Now()
	doc, err := wire.EncodeGrant(wire.Grant{Kind: wire.GrantKind, GrantID: id, SubjectID: d.SubjectID, Grantee: d.Grantee,
		Scope: wire.GrantScope{RecordTypes: types, RecordIDs: []string{}}, Purpose: d.Purpose,
		ValidFrom: wire.FormatTime(now.Add(-time.Minute)), ExpiresAt: wire.FormatTime(now.Add(time.Duration(days) * 24 * time.Hour))})
	if err != nil {
		return nil, "", gateway.Errorf(gateway.CodeInvalid, "%s", wire.AsError(err).Message)
	}
	return doc, id, nil
}

type bindingsData struct {
	Fingerprint string
	Found       []pendingKey
	Bound       *service.KeyResult
}

// bindings is the identity authority's counter: find a phone's key request by the
// fingerprint the phone shows, check the person's papers, bind.
func (s *Server) bindings(w http.ResponseWriter, r *http.Request) {
	fp := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(r.URL.Query().Get("fingerprint")), " ", ""))
	d := bindingsData{Fingerprint: r.URL.Query().Get("fingerprint")}
	if fp != "" {
		d.Found = s.pending.find(wire.KeyBindKind, fp)
	}
	s.render(w, r, http.StatusOK, "bindings", "bindings.title", d)
}

func (s *Server) bind(w http.ResponseWriter, r *http.Request) {
	cs := clerkFrom(r)
	keyID := r.PostFormValue("keyId")
	k, ok := s.pending.take(keyID)
	if ok && k.Kind != wire.KeyBindKind {
		s.pending.put(k)
		ok = false
	}
	if !ok {
		s.failOn(w, r, "bindings", "bindings.title", bindingsData{}, gateway.Errorf(gateway.CodeNotFound, "no pending key request"))
		return
	}
	res, err := s.opts.Service.BindSubjectKey(r.Context(), cs.principal, k.Document, k.PopSig)
	if err != nil {
		s.pending.put(k) // a refusal leaves the request for a clerk who may bind it
		s.failOn(w, r, "bindings", "bindings.title", bindingsData{Fingerprint: fingerprint(keyID), Found: []pendingKey{k}}, err)
		return
	}
	p := s.newPage(r, "bindings.title", bindingsData{Bound: res})
	p.Notice = p.T("bindings.done")
	s.renderPage(w, r, http.StatusOK, "bindings", p)
}

// scriptData is what citizen-page.js gets: the page language's messages it shows and
// the registry's names.
func (s *Server) scriptData(r *http.Request, p *page) map[string]any {
	msgs := map[string]string{}
	for k, v := range p.cat {
		for _, prefix := range []string{"err.", "status.", "access.", "keyevent.", "grant.status.", "request.status.", "citizen.", "error.code"} {
			if strings.HasPrefix(k, prefix) {
				msgs[k] = v
			}
		}
	}
	types, depts, purposes := map[string]string{}, map[string]string{}, map[string]string{}
	if n, deps, err := s.publicNames(r); err == nil {
		for _, t := range n.Types {
			types[t.Code] = p.RegName("type", t.Code, t.Name)
		}
		for _, d := range deps {
			depts[d.MSPID] = p.RegName("dept", d.MSPID, d.Name)
		}
		for _, x := range n.Purposes {
			purposes[x.Code] = p.RegName("purpose", x.Code, x.Name)
		}
	}
	matters := map[string]string{}
	if ms, err := s.opts.Service.Matters(r.Context()); err == nil {
		for _, m := range ms {
			matters[m.Code] = p.RegName("matter", m.Code, m.Name)
		}
	}
	return map[string]any{"msgs": msgs, "types": types, "depts": depts, "purposes": purposes, "matters": matters}
}

// deviceRequest answers a second device's waiting key-add statement to the subject's
// first device (JSON {requests: [{keyId, document, popSignature}]}): by the subject ID
// and the full 16-digit fingerprint the new device shows. The first device signs the
// statement with its key and submits it to the REST API; the chaincode checks both
// signatures, so the waiting room decides nothing.
func (s *Server) deviceRequest(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	subjectID := q.Get("subjectId")
	fp := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(q.Get("fingerprint")), " ", ""))
	if err := service.CheckSubjectID("subjectId", subjectID); err != nil {
		s.jsonError(w, r, err)
		return
	}
	if _, err := hex.DecodeString(fp); err != nil || len(fp) != 16 {
		s.jsonError(w, r, gateway.Errorf(gateway.CodeInvalid, "the fingerprint has 16 hex digits"))
		return
	}
	type out struct {
		KeyID        string `json:"keyId"`
		Document     string `json:"document"`
		PopSignature string `json:"popSignature"`
	}
	res := []out{}
	for _, k := range s.pending.find(wire.KeyAddKind, fp) {
		if k.SubjectID == subjectID {
			res = append(res, out{KeyID: k.KeyID, Document: k.Document, PopSignature: k.PopSig})
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]any{"requests": res})
}
