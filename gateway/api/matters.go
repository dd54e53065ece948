package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/edossier-city/edossier/chaincode/wire"
)

func (s *Server) defineMatter(c *gin.Context) {
	jsonCall(c, http.StatusOK, func(r *wire.MatterDefinition) (any, error) {
		return s.svc.DefineMatter(c.Request.Context(), principal(c), *r)
	})
}

func (s *Server) listMatters(c *gin.Context) {
	ms, err := s.svc.Matters(c.Request.Context())
	if err != nil {
		abort(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"matters": ms})
}

func (s *Server) getMatter(c *gin.Context) {
	code, err := pathID(c, "code")
	if err != nil {
		abort(c, err)
		return
	}
	version, err := queryInt(c, "version")
	if err != nil {
		abort(c, err)
		return
	}
	m, err := s.svc.Matter(c.Request.Context(), code, version)
	if err != nil {
		abort(c, err)
		return
	}
	c.JSON(http.StatusOK, m)
}
