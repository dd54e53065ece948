package api

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"
)

// IndexStatus reports the event-fed index for /readyz: a JSON-able status and
// whether the index is within its allowed lag.
type IndexStatus func(ctx context.Context) (status any, ready bool)

// recordProof answers GET /v1/records/{recordId}/proof with the record's proof bundle
// (?batchId= names the batch of a batch record).
func (s *Server) recordProof(c *gin.Context) {
	id, err := pathID(c, "recordId")
	if err != nil {
		abort(c, err)
		return
	}
	b, err := s.svc.RecordProofIn(c.Request.Context(), principal(c), id, c.Query("batchId"))
	if err != nil {
		abort(c, err)
		return
	}
	c.JSON(http.StatusOK, b)
}
