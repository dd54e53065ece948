package web

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
)

// Consent requests at the department desk: a clerk asks a subject for access (a
// matter, or record types for the clerk's own department, with a purpose, a duration
// and the application's reference code), sees the requests it made to a subject with
// their outcome, and one request's outcome. The citizen answers on the citizen pages
// (static/citizen-page.js signs exactly the request's document). The service and the
// chaincode own every rule; the pages only decode forms and show answers.

// requestForm is what a clerk typed in the consent-request form (shown again after a
// refusal).
type requestForm struct {
	SubjectID string
	Mode      string // "matter" or "scope"
	Matter    string
	Types     map[string]bool
	Purpose   string
	Days      string // how long the grant lasts once approved
	OpenDays  string // how long the request stays open
	Reference string
}

type requestsData struct {
	Names    *names
	AllTypes []wire.RecordType // every registered type (a request may ask for any)
	Matters  []wire.Matter
	Form     requestForm
	Requests []requestData // the clerk's department's requests to Form.SubjectID
	Listed   bool
	// Sent is a page of all the department's requests (any subject), newest first,
	// filtered by SentStatus; SentNext the next page's bookmark.
	Sent       []requestData
	Statuses   []string
	SentStatus string
	SentNext   string
}

// sentPageSize is how many of its requests the desk shows per page.
const sentPageSize = 20

type requestData struct {
	Request *wire.ConsentRequest
	Names   *names
	Status  string // the request's status, "expired" for a pending one past its expiry
}

// requestStatus is a request's status as a page shows it: a pending request past its
// expiry is expired (the chaincode refuses to approve it).
func requestStatus(r *wire.ConsentRequest, now time.Time) string { return r.StatusAt(now) }

func (s *Server) requestsPage(w http.ResponseWriter, r *http.Request) {
	f := requestForm{SubjectID: strings.TrimSpace(r.URL.Query().Get("subject")), Mode: "scope", Days: "30", OpenDays: "7", Types: map[string]bool{}}
	s.requestsWith(w, r, f, nil, http.StatusOK)
}

// sentRequests fills d with the page of the department's requests the URL asks for
// (?status=, ?bookmark=).
func (s *Server) sentRequests(r *http.Request, p gateway.Principal, d *requestsData) error {
	q := r.URL.Query()
	d.Statuses = []string{wire.RequestPending, wire.RequestApproved, wire.RequestDeclined, wire.RequestExpired}
	d.SentStatus = q.Get("status")
	page, err := s.opts.Service.DepartmentConsentRequests(r.Context(), p, d.SentStatus, sentPageSize, q.Get("bookmark"))
	if err != nil {
		d.SentStatus = ""
		return err
	}
	now := s.opts.Now()
	for i := range page.Requests {
		d.Sent = append(d.Sent, requestData{Request: &page.Requests[i], Status: page.Requests[i].StatusAt(now)})
	}
	d.SentNext = page.Bookmark
	return nil
}

// requestsWith shows the request form with f (what was typed), the department's
// requests to f.SubjectID, and err (a refusal) above it.
func (s *Server) requestsWith(w http.ResponseWriter, r *http.Request, f requestForm, err error, status int) {
	cs := clerkFrom(r)
	d := requestsData{Form: f}
	n, nerr := s.names(r, cs.principal)
	if nerr != nil {
		s.fail(w, r, langFrom(r), nerr)
		return
	}
	d.Names = n
	pub, _, perr := s.publicNames(r)
	if perr == nil {
		d.AllTypes = pub.Types
	}
	if ms, merr := s.opts.Service.Matters(r.Context()); merr == nil {
		d.Matters = ms
	}
	if serr := s.sentRequests(r, cs.principal, &d); serr != nil && err == nil {
		err = serr
	}
	if f.SubjectID != "" && err == nil {
		rs, lerr := s.opts.Service.ConsentRequests(r.Context(), cs.principal, f.SubjectID)
		if lerr != nil {
			err = lerr
		} else {
			sort.Slice(rs, func(i, j int) bool { return rs[i].CreatedAt > rs[j].CreatedAt })
			for i := range rs {
				d.Requests = append(d.Requests, requestData{Request: &rs[i], Status: requestStatus(&rs[i], s.opts.Now())})
			}
			d.Listed = true
		}
	}
	p := s.newPage(r, "requests.title", d)
	if err != nil {
		status, p.Error = s.problem(r, p, err)
	}
	s.renderPage(w, r, status, "requests", p)
}

// createRequest submits a consent request; the clerk then sees it with its outcome.
func (s *Server) createRequest(w http.ResponseWriter, r *http.Request) {
	cs := clerkFrom(r)
	f := requestForm{SubjectID: strings.TrimSpace(r.PostFormValue("subjectId")), Mode: r.PostFormValue("mode"),
		Matter: r.PostFormValue("matter"), Purpose: r.PostFormValue("purpose"), Days: strings.TrimSpace(r.PostFormValue("days")),
		OpenDays: strings.TrimSpace(r.PostFormValue("openDays")), Reference: strings.TrimSpace(r.PostFormValue("reference")), Types: map[string]bool{}}
	types := r.PostForm["type"]
	for _, t := range types {
		f.Types[t] = true
	}
	in, err := s.requestInput(cs.principal, f, types)
	if err == nil {
		res, rerr := s.opts.Service.RequestConsent(r.Context(), cs.principal, f.SubjectID, in)
		if rerr == nil {
			http.Redirect(w, r, "/"+langFrom(r)+"/clerk/requests/"+url.PathEscape(res.Request.RequestID)+"?done=1", http.StatusSeeOther)
			return
		}
		err = rerr
	}
	s.requestsWith(w, r, f, err, http.StatusOK)
}

// requestInput builds the request from the form: a matter (its current version's parts,
// filled in by the service) or a scope for the clerk's own department.
func (s *Server) requestInput(p gateway.Principal, f requestForm, types []string) (wire.ConsentRequestInput, error) {
	var in wire.ConsentRequestInput
	days, err := strconv.Atoi(f.Days)
	if err != nil || days < 1 || days > 365 {
		return in, gateway.Errorf(gateway.CodeInvalid, "the grant lasts 1 to 365 days")
	}
	open, err := strconv.Atoi(f.OpenDays)
	if err != nil || open < 1 || open > int(wire.MaxRequestSpan/(24*time.Hour)) {
		return in, gateway.Errorf(gateway.CodeInvalid, "a request stays open 1 to 30 days")
	}
	b := make([]byte, 10)
	if _, err := rand.Read(b); err != nil {
		return in, err
	}
	now := s.opts.Now()
	g := wire.Grant{Kind: wire.GrantKind, GrantID: "g-" + hex.EncodeToString(b), SubjectID: f.SubjectID,
		ValidFrom: wire.FormatTime(now.Add(-time.Minute)), ExpiresAt: wire.FormatTime(now.Add(time.Duration(days) * 24 * time.Hour))}
	switch f.Mode {
	case "matter":
		if f.Matter == "" {
			return in, gateway.Errorf(gateway.CodeInvalid, "choose a matter")
		}
		g.Matter = &wire.MatterRef{Code: f.Matter}
	case "scope":
		if len(types) == 0 {
			return in, gateway.Errorf(gateway.CodeInvalid, "choose at least one record type")
		}
		g.Grantee, g.Purpose = p.MSPID, f.Purpose
		g.Scope = wire.GrantScope{RecordTypes: types, RecordIDs: []string{}}
	default:
		return in, gateway.Errorf(gateway.CodeInvalid, "ask for a matter or for record types")
	}
	return wire.ConsentRequestInput{Grant: g, Reference: f.Reference, ExpiresAt: wire.FormatTime(now.Add(time.Duration(open) * 24 * time.Hour))}, nil
}

// requestPage shows one of the department's requests with its outcome.
func (s *Server) requestPage(w http.ResponseWriter, r *http.Request) {
	cs := clerkFrom(r)
	req, err := s.opts.Service.ConsentRequest(r.Context(), cs.principal, r.PathValue("requestId"))
	if err != nil {
		s.fail(w, r, langFrom(r), err)
		return
	}
	n, err := s.names(r, cs.principal)
	if err != nil {
		s.fail(w, r, langFrom(r), err)
		return
	}
	p := s.newPage(r, "request.title", requestData{Request: req, Names: n, Status: requestStatus(req, s.opts.Now())})
	if r.URL.Query().Get("done") != "" {
		p.Notice = p.T("request.done")
	}
	s.renderPage(w, r, http.StatusOK, "request", p)
}

// parts is a grant's (department, record types, purpose) list: its parts, or its one
// grantee.
func parts(g wire.Grant) []wire.GrantPart {
	if len(g.Parts) > 0 {
		return g.Parts
	}
	return []wire.GrantPart{{Grantee: g.Grantee, Scope: g.Scope, Purpose: g.Purpose}}
}

// PurposeName is a purpose code's name in the page's language.
func (n *names) PurposeName(code string) string {
	for _, x := range n.Purposes {
		if x.Code == code {
			return x.Name
		}
	}
	return code
}
