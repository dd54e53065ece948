package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
	"github.com/edossier-city/edossier/gateway/service"
)

// The operator's pages: the registry (departments, record types, accreditations,
// purposes, reasons) with the forms that change it, and the API keys. The service
// (and, for the registry, the chaincode) allows the operator role only; a department
// clerk sees its own organisation's keys and a forbidden refusal for the rest.

// Admin is what the operator's pages use of the service besides Service.
type Admin interface {
	RegisterDepartment(ctx context.Context, p gateway.Principal, mspID, name, code string) (*service.AdminResult[wire.Department], error)
	DefineRecordType(ctx context.Context, p gateway.Principal, code, name string) (*service.AdminResult[wire.RecordType], error)
	Accredit(ctx context.Context, p gateway.Principal, mspID, recordType string) (*service.AdminResult[wire.Accreditation], error)
	Unaccredit(ctx context.Context, p gateway.Principal, mspID, recordType string) (*service.AdminResult[wire.Accreditation], error)
	DefinePurpose(ctx context.Context, p gateway.Principal, code, name string) (*service.AdminResult[wire.Purpose], error)
	DefineReason(ctx context.Context, p gateway.Principal, code, name string) (*service.AdminResult[wire.Reason], error)
	DefineMatterVersion(ctx context.Context, p gateway.Principal, d wire.MatterDefinition, version int) (*service.AdminResult[wire.Matter], error)
	CreateUser(ctx context.Context, p gateway.Principal, org, user string, role gateway.Role, label string) (*service.NewUser, error)
	CreateVerifier(p gateway.Principal, name, label string) (*service.NewVerifier, error)
	ListAPIKeys(p gateway.Principal) ([]service.APIKey, error)
	RevokeAPIKey(p gateway.Principal, id string) (*service.APIKey, error)
}

type adminData struct {
	Registry *service.Registry
	Keys     []service.APIKey
	Form     map[string]string // what was typed in the refused form
	// Issued is a key just issued (a new user's or a verifier's), shown once on the
	// answer to the form's POST: never in a URL, a redirect or a log.
	Issued *issuedKey
}

type issuedKey struct {
	KeyID  string
	Whom   string
	APIKey string
}

func (s *Server) admin(w http.ResponseWriter, r *http.Request) {
	s.adminWith(w, r, nil, nil, nil)
}

func (s *Server) adminWith(w http.ResponseWriter, r *http.Request, form map[string]string, issued *issuedKey, err error) {
	cs := clerkFrom(r)
	if s.opts.Admin == nil {
		s.fail(w, r, langFrom(r), gateway.Errorf(gateway.CodeUnavailable, "operator pages are not configured"))
		return
	}
	d := adminData{Form: form, Issued: issued}
	reg, rerr := s.opts.Service.Registry(r.Context(), cs.principal)
	if rerr != nil {
		s.fail(w, r, langFrom(r), rerr)
		return
	}
	d.Registry = reg
	if keys, kerr := s.opts.Admin.ListAPIKeys(cs.principal); kerr == nil {
		d.Keys = keys
	}
	p := s.newPage(r, "admin.title", d)
	status := http.StatusOK
	if err != nil {
		status, p.Error = s.problem(r, p, err)
	} else if issued != nil {
		p.Notice = p.T("admin.issued")
	} else if done := r.URL.Query().Get("done"); done != "" {
		p.Notice = p.T("admin.done")
	}
	s.renderPage(w, r, status, "admin", p)
}

// adminPost runs one operator change from a form and shows the page again.
func (s *Server) adminPost(w http.ResponseWriter, r *http.Request) {
	cs := clerkFrom(r)
	if s.opts.Admin == nil {
		s.fail(w, r, langFrom(r), gateway.Errorf(gateway.CodeUnavailable, "operator pages are not configured"))
		return
	}
	f := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	form := map[string]string{"what": r.PathValue("what")}
	for _, k := range []string{"mspId", "name", "code", "recordType", "org", "user", "role", "label"} {
		form[k] = f(k)
	}
	a, ctx := s.opts.Admin, r.Context()
	var err error
	switch r.PathValue("what") {
	case "departments":
		_, err = a.RegisterDepartment(ctx, cs.principal, form["mspId"], form["name"], form["code"])
	case "record-types":
		_, err = a.DefineRecordType(ctx, cs.principal, form["code"], form["name"])
	case "accreditations":
		_, err = a.Accredit(ctx, cs.principal, form["mspId"], form["recordType"])
	case "unaccreditations":
		_, err = a.Unaccredit(ctx, cs.principal, form["mspId"], form["recordType"])
	case "purposes":
		_, err = a.DefinePurpose(ctx, cs.principal, form["code"], form["name"])
	case "reasons":
		_, err = a.DefineReason(ctx, cs.principal, form["code"], form["name"])
	case "revoke-key":
		_, err = a.RevokeAPIKey(cs.principal, f("keyId"))
	case "users":
		var u *service.NewUser
		if u, err = a.CreateUser(ctx, cs.principal, form["org"], form["user"], gateway.Role(form["role"]), form["label"]); err == nil {
			s.adminWith(w, r, nil, &issuedKey{KeyID: u.KeyID, Whom: u.Org + " / " + u.User + " (" + string(u.Role) + ")", APIKey: u.APIKey}, nil)
			return
		}
	case "verifiers":
		var v *service.NewVerifier
		if v, err = a.CreateVerifier(cs.principal, form["name"], form["label"]); err == nil {
			s.adminWith(w, r, nil, &issuedKey{KeyID: v.ID, Whom: v.Verifier, APIKey: v.Key}, nil)
			return
		}
	default:
		err = gateway.Errorf(gateway.CodeNotFound, "no such operator form")
	}
	if err != nil {
		s.adminWith(w, r, form, nil, err)
		return
	}
	http.Redirect(w, r, "/"+langFrom(r)+"/clerk/admin?done="+url.QueryEscape(r.PathValue("what")), http.StatusSeeOther)
}
