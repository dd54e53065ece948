package web

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/edossier-city/edossier/gateway"
	"github.com/edossier-city/edossier/gateway/api"
)

// problem turns an error into what a page shows: a sentence of the page's language for
// its code (never the service's English message, a stack trace or raw JSON) and the
// code itself, with the HTTP status the REST API gives the same code. Only 5xx are
// logged, with their cause.
func (s *Server) problem(r *http.Request, p *page, err error) (int, *pageError) {
	code := gateway.ErrorCode(err)
	status := api.StatusOf(code)
	if status >= 500 && r.Context().Err() != context.Canceled {
		slog.ErrorContext(r.Context(), "portal request failed", "path", r.URL.Path, "code", code, "err", err)
	}
	sentence := p.cat.t("err." + string(code))
	if !p.cat.has("err." + string(code)) {
		sentence = p.cat.t("err.internal")
	}
	return status, &pageError{Code: string(code), Sentence: sentence}
}

// fail answers a request with the error page.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, lang string, err error) {
	if langFrom(r) != lang {
		r = r.WithContext(context.WithValue(r.Context(), langKey{}, lang))
	}
	p := s.newPage(r, "error.title", nil)
	status, pe := s.problem(r, p, err)
	p.Error = pe
	s.renderPage(w, r, status, "error", p)
}

// failOn re-renders a form page with the refusal above it and what was typed in it.
func (s *Server) failOn(w http.ResponseWriter, r *http.Request, name, titleKey string, data any, err error) {
	p := s.newPage(r, titleKey, data)
	status, pe := s.problem(r, p, err)
	p.Error = pe
	s.renderPage(w, r, status, name, p)
}
