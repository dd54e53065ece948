package api

import _ "embed"

// openAPIDocument is served at /v1/openapi.json; a test keeps it in sync with the routes.
//
//go:embed openapi.json
var openAPIDocument []byte
