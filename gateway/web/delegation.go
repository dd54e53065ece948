package web

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
	"github.com/edossier-city/edossier/gateway/service"
)

// Acting for someone: a guardian (or an enterprise's legal representative) signs, on
// its own device, a delegation statement for the subject it acts for; the portal keeps
// it for the attesting authority's counter under a short code (the first 16 hex digits
// of the statement's SHA-256, which the device shows); the counter checks the papers
// (a birth certificate, a business registration) and binds it. As for key requests,
// the waiting room is a convenience, not a trust rule: the chaincode checks the
// delegate's signature, the attesting authority and the end date.

// delegationCode is the code a statement waits under.
func delegationCode(doc []byte) string {
	h := sha256.Sum256(doc)
	return hex.EncodeToString(h[:])
}

// delegationRequest takes a delegate's signed statement (JSON {document, signature})
// and keeps it for the counter; it answers the code.
func (s *Server) delegationRequest(w http.ResponseWriter, r *http.Request) {
	if err := s.checkOrigin(r); err != nil {
		s.jsonError(w, r, err)
		return
	}
	var in struct {
		Document  string `json:"document"`
		Signature string `json:"signature"`
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<10))
	if err != nil || json.Unmarshal(body, &in) != nil || in.Signature == "" {
		s.jsonError(w, r, gateway.Errorf(gateway.CodeInvalid, "expected JSON {document, signature}"))
		return
	}
	doc, err := base64.StdEncoding.DecodeString(in.Document)
	if err != nil {
		s.jsonError(w, r, gateway.Errorf(gateway.CodeInvalid, "document is not base64"))
		return
	}
	for _, id := range []string{jsonField(doc, "subjectId"), jsonField(doc, "delegateId")} {
		if err := service.CheckSubjectID("subjectId", id); err != nil {
			s.jsonError(w, r, err)
			return
		}
	}
	st, _, _, err := wire.ParseDelegationStatement(doc)
	if err != nil {
		s.jsonError(w, r, gateway.Errorf(gateway.CodeInvalid, "%s", wire.AsError(err).Message))
		return
	}
	code := delegationCode(doc)
	s.delegations.put(pendingKey{SubjectID: st.SubjectID, KeyID: code, Document: in.Document, PopSig: in.Signature, At: s.opts.Now()})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]string{"code": fingerprint(code)})
}

// jsonField is a string field of a JSON object ("" if none): what a raw ID number check
// needs before the strict parse.
func jsonField(doc []byte, name string) string {
	var m map[string]any
	if json.Unmarshal(doc, &m) != nil {
		return ""
	}
	v, _ := m[name].(string)
	return v
}

// pendingDelegation is a waiting statement as the counter sees it.
type pendingDelegation struct {
	Code      string
	Statement wire.DelegationStatement
}

type delegationsData struct {
	Code  string
	Found []pendingDelegation
	Bound *service.DelegationResult
	// Attested is the second half of the page: what this office attested for a subject.
	Attested attestedData
}

func (s *Server) findDelegations(code string) []pendingDelegation {
	var out []pendingDelegation
	for _, k := range s.delegations.find("", code) {
		doc, err := base64.StdEncoding.DecodeString(k.Document)
		if err != nil {
			continue
		}
		var st wire.DelegationStatement
		if json.Unmarshal(doc, &st) != nil {
			continue
		}
		out = append(out, pendingDelegation{Code: k.KeyID, Statement: st})
	}
	return out
}

// delegationsPage is the authority's counter: find a delegate's statement by the code
// its device shows, check the papers, bind.
func (s *Server) delegationsPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query().Get("code")
	d := delegationsData{Code: q}
	if c := normCode(q); c != "" {
		d.Found = s.findDelegations(c)
	}
	if err := s.withAttested(r, &d, strings.TrimSpace(r.URL.Query().Get("subject"))); err != nil {
		s.failOn(w, r, "delegations", "delegations.title", d, err)
		return
	}
	s.render(w, r, http.StatusOK, "delegations", "delegations.title", d)
}

func normCode(v string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimSpace(v), " ", ""))
}

func (s *Server) bindDelegation(w http.ResponseWriter, r *http.Request) {
	cs := clerkFrom(r)
	code := r.PostFormValue("code")
	k, ok := s.delegations.take(code)
	if !ok {
		s.failOn(w, r, "delegations", "delegations.title", delegationsData{}, gateway.Errorf(gateway.CodeNotFound, "no pending delegation statement"))
		return
	}
	res, err := s.opts.Service.BindDelegation(r.Context(), cs.principal, k.Document, k.PopSig)
	if err != nil {
		s.delegations.put(k) // a refusal leaves the statement for a clerk who may bind it
		s.failOn(w, r, "delegations", "delegations.title", delegationsData{Code: fingerprint(code), Found: s.findDelegations(code)}, err)
		return
	}
	p := s.newPage(r, "delegations.title", delegationsData{Bound: res})
	p.Notice = p.T("delegations.done")
	s.renderPage(w, r, http.StatusOK, "delegations", p)
}
