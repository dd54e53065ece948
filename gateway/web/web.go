// Package web is the gateway's web portal: server-rendered pages (html/template,
// embedded with go:embed) in Chinese and English for verifiers and department clerks,
// and one small browser module (static/*.js) for what must happen on the device (a
// verifier's file is hashed there; only its content ID is sent). It calls the use cases
// of gateway/service directly, never the REST API over HTTP, and it reaches no Fabric
// package (gateway/arch_test.go).
//
// Every answer carries a strict Content-Security-Policy (no inline script, every asset
// from the gateway, frame-ancestors 'none'). Clerks sign in with their department's API
// key; the portal keeps the key in memory only, behind an HttpOnly, SameSite=Strict
// session cookie with an expiry, re-authenticates it on every request (a revoked key ends
// the session at once) and requires a CSRF token on every form that changes anything.
package web

import (
	"context"
	"embed"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
	"github.com/edossier-city/edossier/gateway/api"
	"github.com/edossier-city/edossier/gateway/service"
)

// Service is what the portal uses of the gateway's use cases; *service.Service
// implements it. Errors are *gateway.Error values with stable codes.
type Service interface {
	VerifyCID(ctx context.Context, cid string) (*service.Verification, error)
	ResolveSubject(p gateway.Principal, kind, idNumber string) (string, error)
	Registry(ctx context.Context, p gateway.Principal) (*service.Registry, error)
	AppendRecord(ctx context.Context, p gateway.Principal, in service.AppendInput) (*service.RecordResult, error)
	ListDossier(ctx context.Context, p gateway.Principal, subjectID, recordType string, pageSize int, bookmark string) (*service.RecordPage, error)
	GetRecord(ctx context.Context, p gateway.Principal, recordID string) (*service.RecordView, error)
	RevokeRecord(ctx context.Context, p gateway.Principal, recordID, reason string) (*service.RecordResult, error)
	SupersedeRecord(ctx context.Context, p gateway.Principal, oldID string, in service.AppendInput) (*service.SupersedeResult, error)
	ReadContent(ctx context.Context, p gateway.Principal, recordID, grantID, purpose string) (*service.Content, error)
	BindSubjectKey(ctx context.Context, p gateway.Principal, documentB64, popSignature string) (*service.KeyResult, error)
	RequestConsent(ctx context.Context, p gateway.Principal, subjectID string, in wire.ConsentRequestInput) (*service.ConsentRequestResult, error)
	ConsentRequests(ctx context.Context, p gateway.Principal, subjectID string) ([]wire.ConsentRequest, error)
	DepartmentConsentRequests(ctx context.Context, p gateway.Principal, status string, pageSize int, bookmark string) (*wire.ConsentRequestPage, error)
	ConsentRequest(ctx context.Context, p gateway.Principal, requestID string) (*wire.ConsentRequest, error)
	Matters(ctx context.Context) ([]wire.Matter, error)
	Matter(ctx context.Context, code string, version int) (*wire.Matter, error)
	BindDelegation(ctx context.Context, p gateway.Principal, documentB64, delegateSignature string) (*service.DelegationResult, error)
	AttestedDelegations(ctx context.Context, p gateway.Principal, subjectID string) ([]wire.Delegation, error)
	EndDelegation(ctx context.Context, p gateway.Principal, subjectID, delegationID string) (*service.DelegationResult, error)
	AttestedRecoveries(ctx context.Context, p gateway.Principal, subjectID string) ([]wire.KeyRecovery, error)
	CompleteKeyRecovery(ctx context.Context, subjectID, recoveryID string) (*service.KeyResult, error)
}

// Keys authenticates API keys (the gateway's key store).
type Keys interface {
	Authenticate(key string) (gateway.Principal, error)
}

// Options configure the portal.
type Options struct {
	Service Service
	Keys    Keys
	// Admin serves the operator's pages (nil: they answer unavailable).
	Admin Admin
	// Platform is the operator identity whose view of the registry (departments,
	// record types, purposes: public facts) the citizen's grant form shows.
	Platform gateway.Principal
	// SessionTTL is how long a clerk's session lasts after sign-in (default 30 minutes).
	SessionTTL time.Duration
	// SecureCookies marks cookies Secure even on plain-HTTP requests (set it behind a
	// TLS-terminating proxy); requests that arrive over TLS always get Secure cookies.
	SecureCookies bool
	// MaxUpload is the largest file a clerk may append (bytes; 0: no portal limit, the
	// blob store's applies).
	MaxUpload int64
	// VerifyRate and VerifyBurst limit verification pages per client address (0: none).
	VerifyRate  rate.Limit
	VerifyBurst int
	// TrustedProxies lists proxies whose X-Forwarded-For is believed (empty: none), as
	// for the REST API.
	TrustedProxies []string
	// PublicURL is the base of the verification links in QR codes and slips
	// ("https://dossier.example.gov"); empty: the request's own scheme and host.
	PublicURL string
	// Location is the time zone dates are shown in (default time.Local).
	Location *time.Location
	Now      func() time.Time
}

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Languages, the first is the default.
var languages = []string{"zh", "en"}

// Server is the portal's HTTP handler.
type Server struct {
	opts     Options
	mux      *http.ServeMux
	pages    map[string]*template.Template
	cat      map[string]catalogue
	sessions *sessions
	limiter  *api.Limiter
	static   fs.FS
	pending  *pendingKeys
	// delegations are delegation statements waiting for the counter, by code.
	delegations *pendingKeys
}

// New builds the portal.
func New(o Options) (*Server, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.SessionTTL == 0 {
		o.SessionTTL = 30 * time.Minute
	}
	if o.Location == nil {
		o.Location = time.Local
	}
	cat, err := loadCatalogues()
	if err != nil {
		return nil, err
	}
	limiter, err := api.NewLimiter(o.VerifyRate, o.VerifyBurst, o.TrustedProxies)
	if err != nil {
		return nil, err
	}
	s := &Server{opts: o, mux: http.NewServeMux(), cat: cat, pages: map[string]*template.Template{},
		sessions: newSessions(o.SessionTTL, o.Now), limiter: limiter,
		pending: &pendingKeys{m: map[string]pendingKey{}, now: o.Now}, delegations: &pendingKeys{m: map[string]pendingKey{}, now: o.Now}}
	s.static, _ = fs.Sub(staticFS, "static")
	if err := s.parseTemplates(); err != nil {
		return nil, err
	}
	s.routes()
	return s, nil
}

func (s *Server) parseTemplates() error {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return err
	}
	for _, n := range names {
		base := strings.TrimPrefix(n, "templates/")
		if base == "layout.html" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n)
		if err != nil {
			return fmt.Errorf("web: template %s: %w", base, err)
		}
		s.pages[strings.TrimSuffix(base, ".html")] = t
	}
	return nil
}

func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("GET /{$}", s.root)
	m.HandleFunc("GET /verify/{cid}", s.verifyLink)
	m.HandleFunc("GET /qr/verify/{cid}", s.verifyQR)
	m.Handle("GET /static/", http.StripPrefix("/static/", http.HandlerFunc(s.serveStatic)))
	for _, l := range languages {
		p := "/" + l
		m.HandleFunc("GET "+p+"/{$}", s.lang(l, s.home))
		m.HandleFunc("GET "+p+"/verify", s.lang(l, s.verifyForm))
		m.HandleFunc("GET "+p+"/verify/{cid}", s.lang(l, s.rateLimited(s.verifyResult)))
		m.HandleFunc("GET "+p+"/verify/{cid}/slip", s.lang(l, s.rateLimited(s.verifySlip)))

		m.HandleFunc("GET "+p+"/clerk/signin", s.lang(l, s.signinForm))
		m.HandleFunc("POST "+p+"/clerk/signin", s.lang(l, s.signin))
		m.HandleFunc("POST "+p+"/clerk/signout", s.lang(l, s.clerk(s.signout)))
		m.HandleFunc("GET "+p+"/clerk", s.lang(l, s.clerk(s.clerkHome)))
		m.HandleFunc("POST "+p+"/clerk/resolve", s.lang(l, s.clerk(s.resolve)))
		m.HandleFunc("GET "+p+"/clerk/dossier/{subjectId}", s.lang(l, s.clerk(s.dossier)))
		m.HandleFunc("POST "+p+"/clerk/append", s.lang(l, s.clerk(s.appendRecord)))
		m.HandleFunc("GET "+p+"/clerk/records/{recordId}", s.lang(l, s.clerk(s.record)))
		m.HandleFunc("POST "+p+"/clerk/records/{recordId}/revoke", s.lang(l, s.clerk(s.revoke)))
		m.HandleFunc("POST "+p+"/clerk/records/{recordId}/supersede", s.lang(l, s.clerk(s.supersede)))
		m.HandleFunc("POST "+p+"/clerk/records/{recordId}/content", s.lang(l, s.clerk(s.readContent)))
		m.HandleFunc("GET "+p+"/clerk/admin", s.lang(l, s.clerk(s.admin)))
		m.HandleFunc("POST "+p+"/clerk/admin/{what}", s.lang(l, s.clerk(s.adminPost)))
		m.HandleFunc("GET "+p+"/clerk/requests", s.lang(l, s.clerk(s.requestsPage)))
		m.HandleFunc("POST "+p+"/clerk/requests", s.lang(l, s.clerk(s.createRequest)))
		m.HandleFunc("GET "+p+"/clerk/requests/{requestId}", s.lang(l, s.clerk(s.requestPage)))
		m.HandleFunc("GET "+p+"/clerk/bindings", s.lang(l, s.clerk(s.bindings)))
		m.HandleFunc("POST "+p+"/clerk/bindings", s.lang(l, s.clerk(s.bind)))
		m.HandleFunc("GET "+p+"/clerk/delegations", s.lang(l, s.clerk(s.delegationsPage)))
		m.HandleFunc("POST "+p+"/clerk/delegations", s.lang(l, s.clerk(s.bindDelegation)))
		m.HandleFunc("POST "+p+"/clerk/delegations/end", s.lang(l, s.clerk(s.endDelegation)))
		m.HandleFunc("GET "+p+"/clerk/recoveries", s.lang(l, s.clerk(s.recoveriesPage)))
		m.HandleFunc("POST "+p+"/clerk/recoveries/complete", s.lang(l, s.clerk(s.completeRecovery)))
		m.HandleFunc("GET "+p+"/clerk/matters", s.lang(l, s.clerk(s.mattersPage)))
		m.HandleFunc("POST "+p+"/clerk/matters", s.lang(l, s.clerk(s.defineMatter)))

		m.HandleFunc("GET "+p+"/citizen", s.lang(l, s.citizenHome))
		m.HandleFunc("POST "+p+"/citizen/key-request", s.lang(l, s.keyRequest))
		m.HandleFunc("POST "+p+"/citizen/delegation-request", s.lang(l, s.delegationRequest))
		m.HandleFunc("GET "+p+"/citizen/key/{keyId}", s.lang(l, s.keyPage))
		m.HandleFunc("GET "+p+"/citizen/device-request", s.lang(l, s.deviceRequest))
		m.HandleFunc("GET "+p+"/citizen/grant", s.lang(l, s.grantForm))
		m.HandleFunc("GET "+p+"/citizen/requests/{requestId}", s.lang(l, s.citizenRequest))
	}
}

// ContentSecurityPolicy is sent with every answer of the portal: scripts, styles and
// images only from the gateway itself (no inline script; QR codes are inline SVG
// elements, which need no source), forms only to the gateway, no framing.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	// same-origin, not no-referrer: with no-referrer browsers send "Origin: null" on
	// same-origin form posts, which checkOrigin refuses.
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			slog.ErrorContext(r.Context(), "portal panic", "path", r.URL.Path, "panic", fmt.Sprint(v))
			s.fail(w, r, s.langOf(r), gateway.Errorf(gateway.CodeInternal, "internal error"))
		}
	}()
	if _, pattern := s.mux.Handler(r); pattern == "" {
		s.fail(w, r, s.langOf(r), gateway.Errorf(gateway.CodeNotFound, "no such page"))
		return
	}
	s.mux.ServeHTTP(w, r)
}

// langCookie remembers the language last chosen, for language-neutral links
// (/verify/<cid> in a QR code, /).
const langCookie = "edossier_lang"

// langOf picks the language of a request: its path prefix, the cookie, then
// Accept-Language, then Chinese.
func (s *Server) langOf(r *http.Request) string {
	for _, l := range languages {
		if r.URL.Path == "/"+l || strings.HasPrefix(r.URL.Path, "/"+l+"/") {
			return l
		}
	}
	if c, err := r.Cookie(langCookie); err == nil {
		for _, l := range languages {
			if c.Value == l {
				return l
			}
		}
	}
	al := strings.ToLower(r.Header.Get("Accept-Language"))
	if strings.HasPrefix(al, "en") {
		return "en"
	}
	return languages[0]
}

type langKey struct{}

// lang marks a handler's language and remembers it in a cookie.
func (s *Server) lang(l string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie(langCookie); err != nil || c.Value != l {
			http.SetCookie(w, &http.Cookie{Name: langCookie, Value: l, Path: "/", MaxAge: 365 * 24 * 3600,
				HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: s.secure(r)})
		}
		h(w, r.WithContext(context.WithValue(r.Context(), langKey{}, l)))
	}
}

func langFrom(r *http.Request) string {
	if l, ok := r.Context().Value(langKey{}).(string); ok {
		return l
	}
	return languages[0]
}

func (s *Server) secure(r *http.Request) bool { return s.opts.SecureCookies || r.TLS != nil }

func (s *Server) root(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/"+s.langOf(r)+"/", http.StatusSeeOther)
}

func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "home", "home.title", nil)
}

// serveStatic serves the embedded assets (the browser module, the style sheet).
func (s *Server) serveStatic(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Path
	f, err := s.static.Open(name)
	if err != nil || strings.Contains(name, "..") {
		s.fail(w, r, s.langOf(r), gateway.Errorf(gateway.CodeNotFound, "no such file"))
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.IsDir() {
		s.fail(w, r, s.langOf(r), gateway.Errorf(gateway.CodeNotFound, "no such file"))
		return
	}
	switch {
	case strings.HasSuffix(name, ".js"):
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	case strings.HasSuffix(name, ".css"):
		w.Header().Set("Content-Type", "text/css; charset=utf-8")
	}
	w.Header().Set("Cache-Control", "public, max-age=300")
	http.ServeContent(w, r, name, time.Time{}, f.(io.ReadSeeker))
}

// page is what every template gets.
type page struct {
	Lang      string
	Other     string // the other language
	OtherPath string // this page in the other language
	Title     string
	CSRF      string
	Clerk     *clerkView
	Error     *pageError
	Notice    string
	Data      any
	// Script is what the page's browser module needs (messages, registry names), as
	// a JSON data block (not executable; the CSP allows no inline script).
	Script any
	cat    catalogue
	loc    *time.Location
}

// pageError is an error as the page shows it: a sentence in the page's language and
// the problem code.
type pageError struct {
	Code     string
	Sentence string
}

// T looks up a message of the page's language; args fill %s/%d verbs in it.
func (p *page) T(key string, args ...any) string { return p.cat.t(key, args...) }

// Date shows an RFC 3339 time in the page's language and time zone ("" stays "").
func (p *page) Date(v string) string {
	if v == "" {
		return ""
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return v
	}
	t = t.In(p.loc)
	if p.Lang == "zh" {
		return fmt.Sprintf("%d年%d月%d日 %02d:%02d", t.Year(), int(t.Month()), t.Day(), t.Hour(), t.Minute())
	}
	return t.Format("2 January 2006 15:04")
}

// RegName is a registry entry's name in the page's language: the catalogue's
// "<kind>.<code>" if it has one (the registry keeps one name per code), else the
// registered name.
func (p *page) RegName(kind, code, registered string) string {
	if v, ok := p.cat[kind+"."+code]; ok {
		return v
	}
	if registered != "" {
		return registered
	}
	return code
}

// NewKey is a fresh idempotency key for a form that appends.
func (p *page) NewKey() string { return "web-" + randomToken() }

// Path is the path of a page of this language ("/zh" + rest).
func (p *page) Path(rest ...string) string { return "/" + p.Lang + strings.Join(rest, "") }

var funcs = template.FuncMap{
	"pathEscape": url.PathEscape,
	"parts":      parts,
	"inc":        func(i int) int { return i + 1 },
}

func (s *Server) newPage(r *http.Request, titleKey string, data any) *page {
	l := langFrom(r)
	other := "en"
	if l == "en" {
		other = "zh"
	}
	rest := strings.TrimPrefix(r.URL.Path, "/"+l)
	if r.Method != http.MethodGet {
		rest = "/"
	}
	p := &page{Lang: l, Other: other, OtherPath: "/" + other + rest, Data: data, cat: s.cat[l], loc: s.opts.Location}
	if r.Method == http.MethodGet && r.URL.RawQuery != "" {
		p.OtherPath += "?" + r.URL.RawQuery
	}
	p.Title = p.T(titleKey)
	if cs := clerkFrom(r); cs != nil {
		p.Clerk = cs.view
		p.CSRF = cs.csrf
	}
	return p
}

func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name, titleKey string, data any) {
	s.renderPage(w, r, status, name, s.newPage(r, titleKey, data))
}

func (s *Server) renderPage(w http.ResponseWriter, r *http.Request, status int, name string, p *page) {
	t, ok := s.pages[name]
	if !ok {
		panic("web: no template " + name)
	}
	var buf strings.Builder
	if err := t.Execute(&buf, p); err != nil {
		slog.ErrorContext(r.Context(), "portal template", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, buf.String())
}
