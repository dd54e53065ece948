package web

import (
	"html/template"
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
	QR     template.HTML
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
	link := s.verifyURL(r, c)
	p := s.newPage(r, titleKey, nil)
	qr, err := qrSVG(link, p.T("verify.qr"))
	if err != nil {
		s.fail(w, r, langFrom(r), gateway.Wrap(gateway.CodeInternal, err, "qr code"))
		return
	}
	p.Data = verifyData{CID: c, Result: v, Link: link, QR: qr}
	s.renderPage(w, r, http.StatusOK, name, p)
}

func (s *Server) verifyResult(w http.ResponseWriter, r *http.Request) {
	s.verification(w, r, "verified", "verified.title")
}

func (s *Server) verifySlip(w http.ResponseWriter, r *http.Request) {
	s.verification(w, r, "slip", "slip.title")
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
