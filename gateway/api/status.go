package api

import "github.com/edossier-city/edossier/gateway"

// StatusOf is the HTTP status of an error code: the same mapping the REST API uses,
// for the web portal's pages (gateway/web), so the rule stays in one place.
func StatusOf(code gateway.Code) int { return statusOf(code) }
