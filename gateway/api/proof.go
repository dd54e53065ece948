package api

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"
)

// IndexStatus reports the event-fed index for /readyz: a JSON-able status and
// whether the index is within its allowed lag.
type IndexStatus func(ctx context.Context) (status any, ready bool)

// recordProof answers GET /v1/records/{recordId}/proof with the record's proof bundle.
func (s *Server) recordProof(c *gin.Context) {
	id, err := pathID(c, "recordId")
	if err != nil {
		abort(c, err)
		return
	}
	b, err := s.svc.RecordProof(c.Request.Context(), principal(c), id)
	if err != nil {
		abort(c, err)
		return
	}
	c.JSON(http.StatusOK, b)
}
