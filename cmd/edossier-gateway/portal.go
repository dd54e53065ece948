package main

import (
	"net/http"
	"strings"
)

// mount serves the REST API and the web portal on one port: /v1/..., /healthz, /readyz
// and /metrics go to the API (its own middleware: request IDs, logs, metrics,
// problem+json), every other path to the portal (gateway/web).
func mount(api, portal http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if p == "/v1" || strings.HasPrefix(p, "/v1/") || p == "/healthz" || p == "/readyz" || p == "/metrics" {
			api.ServeHTTP(w, r)
			return
		}
		portal.ServeHTTP(w, r)
	})
}
