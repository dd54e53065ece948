package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/edossier-city/edossier/gateway"
)

// Cookie names. Both are HttpOnly and SameSite=Strict, Secure on TLS (or when
// Options.SecureCookies says the gateway sits behind a TLS proxy).
const (
	sessionCookie = "edossier_session"
	// preCookie carries the CSRF token of forms shown before sign-in (the sign-in form).
	preCookie = "edossier_csrf"
)

// session is a signed-in clerk. The API key stays in the gateway's memory (never in a
// cookie, a page or a URL) and is authenticated again on every request.
type session struct {
	apiKey  string
	csrf    string
	expires time.Time
}

// sessions is the in-memory session store, keyed by the SHA-256 of the cookie's token.
// A gateway restart signs every clerk out; several gateways behind one address need
// sticky sessions.
type sessions struct {
	mu  sync.Mutex
	m   map[[32]byte]*session
	ttl time.Duration
	now func() time.Time
}

const maxSessions = 100_000

func newSessions(ttl time.Duration, now func() time.Time) *sessions {
	return &sessions{m: map[[32]byte]*session{}, ttl: ttl, now: now}
}

func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func (ss *sessions) create(apiKey string) (token string, s *session) {
	token = randomToken()
	s = &session{apiKey: apiKey, csrf: randomToken(), expires: ss.now().Add(ss.ttl)}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if len(ss.m) >= maxSessions {
		now := ss.now()
		for k, v := range ss.m {
			if !now.Before(v.expires) {
				delete(ss.m, k)
			}
		}
	}
	ss.m[sha256.Sum256([]byte(token))] = s
	return token, s
}

// get returns the live session of token; expired reports a session that was there and
// ran out (it is removed).
func (ss *sessions) get(token string) (s *session, expired bool) {
	k := sha256.Sum256([]byte(token))
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s, ok := ss.m[k]
	if !ok {
		return nil, false
	}
	if !ss.now().Before(s.expires) {
		delete(ss.m, k)
		return nil, true
	}
	return s, false
}

func (ss *sessions) remove(token string) {
	ss.mu.Lock()
	delete(ss.m, sha256.Sum256([]byte(token)))
	ss.mu.Unlock()
}

// clerkView is what pages show of the signed-in clerk.
type clerkView struct {
	Org      string
	MSPID    string
	User     string
	Operator bool
	Expires  string
}

// clerkSession is a request's authenticated clerk.
type clerkSession struct {
	principal gateway.Principal
	csrf      string
	token     string
	view      *clerkView
}

type clerkKey struct{}

func clerkFrom(r *http.Request) *clerkSession {
	cs, _ := r.Context().Value(clerkKey{}).(*clerkSession)
	return cs
}

// clerk requires a live session (else the sign-in page, with "session expired" when
// it ran out) and, on every POST, the session's CSRF token and a same-origin Origin.
func (s *Server) clerk(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		l := langFrom(r)
		c, err := r.Cookie(sessionCookie)
		if err != nil || c.Value == "" {
			s.toSignin(w, r, l, "")
			return
		}
		sess, expired := s.sessions.get(c.Value)
		if sess == nil {
			s.clearCookie(w, r, sessionCookie)
			if expired {
				s.toSignin(w, r, l, "expired")
				return
			}
			s.toSignin(w, r, l, "")
			return
		}
		p, err := s.opts.Keys.Authenticate(sess.apiKey)
		if err != nil {
			// The key was revoked since sign-in: the session ends with it.
			s.sessions.remove(c.Value)
			s.clearCookie(w, r, sessionCookie)
			s.fail(w, r, l, err)
			return
		}
		cs := &clerkSession{principal: p, csrf: sess.csrf, token: c.Value, view: &clerkView{
			Org: p.Org, MSPID: p.MSPID, User: p.User, Operator: p.Role == gateway.RoleOperator,
			Expires: sess.expires.UTC().Format(time.RFC3339)}}
		if r.Method == http.MethodPost {
			if err := s.checkOrigin(r); err != nil {
				s.fail(w, r, l, err)
				return
			}
			// Multipart forms check their token as the first part (see readUpload).
			if !isMultipart(r) && !sameToken(r.PostFormValue("csrf"), sess.csrf) {
				s.fail(w, r, l, errCSRF)
				return
			}
		}
		h(w, r.WithContext(context.WithValue(r.Context(), clerkKey{}, cs)))
	}
}

var errCSRF = gateway.Errorf(gateway.CodeForbidden, "the form's CSRF token is missing or wrong")

func sameToken(got, want string) bool {
	return got != "" && want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}

// checkOrigin refuses a POST whose Origin (or, without one, Referer) names another
// site; browsers send Origin on every form POST.
func (s *Server) checkOrigin(r *http.Request) error {
	o := r.Header.Get("Origin")
	if o == "" {
		return nil
	}
	u, err := url.Parse(o)
	if err != nil || u.Host != r.Host {
		return gateway.Errorf(gateway.CodeForbidden, "cross-site form submission refused")
	}
	return nil
}

func (s *Server) toSignin(w http.ResponseWriter, r *http.Request, lang, why string) {
	target := "/" + lang + "/clerk/signin"
	if why != "" {
		target += "?why=" + why
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

func (s *Server) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: s.secure(r)})
}

func (s *Server) clearCookie(w http.ResponseWriter, r *http.Request, name string) {
	s.setCookie(w, r, name, "", -1)
}

// preToken returns the pre-sign-in CSRF token of the browser, setting a new cookie when
// it has none (double-submit: the form's hidden field must equal the cookie).
func (s *Server) preToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(preCookie); err == nil && len(c.Value) == 43 {
		return c.Value
	}
	t := randomToken()
	s.setCookie(w, r, preCookie, t, 3600)
	return t
}

type signinData struct {
	Expired bool
}

func (s *Server) signinForm(w http.ResponseWriter, r *http.Request) {
	p := s.newPage(r, "signin.title", signinData{Expired: r.URL.Query().Get("why") == "expired"})
	p.CSRF = s.preToken(w, r)
	if p.Data.(signinData).Expired {
		p.Notice = p.T("signin.expired")
	}
	s.renderPage(w, r, http.StatusOK, "signin", p)
}

// signin takes the API key from the form (never from a URL), authenticates it and
// starts a session. Only department and operator keys sign in here.
func (s *Server) signin(w http.ResponseWriter, r *http.Request) {
	fail := func(err error) {
		p := s.newPage(r, "signin.title", signinData{})
		p.CSRF = s.preToken(w, r)
		status, pe := s.problem(r, p, err)
		p.Error = pe
		s.renderPage(w, r, status, "signin", p)
	}
	if err := s.checkOrigin(r); err != nil {
		fail(err)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	c, err := r.Cookie(preCookie)
	if err != nil || !sameToken(r.PostFormValue("csrf"), c.Value) {
		fail(errCSRF)
		return
	}
	key := r.PostFormValue("apiKey")
	if key == "" {
		fail(gateway.Errorf(gateway.CodeUnauthorized, "no API key given"))
		return
	}
	p, err := s.opts.Keys.Authenticate(key)
	if err != nil {
		fail(err)
		return
	}
	if p.Role != gateway.RoleDepartment && p.Role != gateway.RoleOperator {
		fail(gateway.Errorf(gateway.CodeForbidden, "only department and operator keys sign in to the clerk pages"))
		return
	}
	token, _ := s.sessions.create(key)
	s.setCookie(w, r, sessionCookie, token, int(s.opts.SessionTTL/time.Second))
	http.Redirect(w, r, "/"+langFrom(r)+"/clerk", http.StatusSeeOther)
}

func (s *Server) signout(w http.ResponseWriter, r *http.Request) {
	cs := clerkFrom(r)
	s.sessions.remove(cs.token)
	s.clearCookie(w, r, sessionCookie)
	http.Redirect(w, r, "/"+langFrom(r)+"/clerk/signin", http.StatusSeeOther)
}
