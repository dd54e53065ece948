package web

import (
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
	"github.com/edossier-city/edossier/gateway/service"
)

// The verifier's pages are public. A file is hashed in the browser (static/verify.js);
// the form sends only its content ID, and the result lives at /<lang>/verify/<cid>, the
// link a QR code carries (language-neutral: /verify/<cid>).

type verifyData struct {
	CID    string
	Result *service.Verification
	Link   string
}

// verifyForm shows the drop zone and the CID field; ?cid= (the form without a file)
// goes to the result page.
func (s *Server) verifyForm(w http.ResponseWriter, r *http.Request) {
	if c := strings.TrimSpace(r.URL.Query().Get("cid")); c != "" {
		if _, err := wire.ParseCID(c); err != nil {
			s.failOn(w, r, "verify", "verify.title", verifyData{CID: c},
				gateway.Errorf(gateway.CodeInvalid, "not a content ID"))
			return
		}
		http.Redirect(w, r, "/"+langFrom(r)+"/verify/"+url.PathEscape(c), http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, "verify", "verify.title", verifyData{})
}

// verifyLink is the language-neutral link of a QR code.
func (s *Server) verifyLink(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/"+s.langOf(r)+"/verify/"+url.PathEscape(r.PathValue("cid")), http.StatusSeeOther)
}

func (s *Server) verification(w http.ResponseWriter, r *http.Request, name, titleKey string) {
	c := r.PathValue("cid")
	v, err := s.opts.Service.VerifyCID(r.Context(), c)
	if err != nil {
		s.failOn(w, r, "verify", "verify.title", verifyData{CID: c}, err)
		return
	}
	p := s.newPage(r, titleKey, nil)
	p.Data = verifyData{CID: c, Result: v, Link: s.verifyURL(r, c)}
	s.renderPage(w, r, http.StatusOK, name, p)
}

func (s *Server) verifyResult(w http.ResponseWriter, r *http.Request) {
	s.verification(w, r, "verified", "verified.title")
}

func (s *Server) verifySlip(w http.ResponseWriter, r *http.Request) {
	s.verification(w, r, "slip", "slip.title")
}

// verifyQR is the QR code of a CID's verification link as an SVG image. A CID's link
// never changes, so browsers keep it (immutable); pages refer to it with <img>, which
// keeps the cost of drawing it out of every page view.
func (s *Server) verifyQR(w http.ResponseWriter, r *http.Request) {
	c := r.PathValue("cid")
	if _, err := wire.ParseCID(c); err != nil {
		s.fail(w, r, s.langOf(r), gateway.Errorf(gateway.CodeInvalid, "not a content ID"))
		return
	}
	svg, err := qrSVG(s.verifyURL(r, c), "")
	if err != nil {
		s.fail(w, r, s.langOf(r), gateway.Wrap(gateway.CodeInternal, err, "qr code"))
		return
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	_, _ = io.WriteString(w, string(svg))
}

// verifyURL is the absolute, language-neutral verification link of a CID.
func (s *Server) verifyURL(r *http.Request, cid string) string {
	base := strings.TrimRight(s.opts.PublicURL, "/")
	if base == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	return base + "/verify/" + url.PathEscape(cid)
}
