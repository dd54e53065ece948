package api

import (
	"net/http"

	"github.com/gin-gonic/gin"
)

type delegationReq struct {
	Document  string `json:"document"`
	Signature string `json:"signature"`
}

// bindDelegation: the authority's clerk submits a delegate's signed statement.
func (s *Server) bindDelegation(c *gin.Context) {
	var req delegationReq
	if err := bindJSON(c, &req); err != nil {
		abort(c, err)
		return
	}
	res, err := s.svc.BindDelegation(c.Request.Context(), principal(c), req.Document, req.Signature)
	if err != nil {
		abort(c, err)
		return
	}
	c.Set(txKey, res.Receipt.TxID)
	c.JSON(http.StatusCreated, res)
}

func (s *Server) revokeDelegation(c *gin.Context) {
	subjectID, id, err := pathSubjectAnd(c, "delegationId")
	if err != nil {
		abort(c, err)
		return
	}
	var req delegationReq
	if err := bindJSON(c, &req); err != nil {
		abort(c, err)
		return
	}
	res, err := s.svc.RevokeDelegation(c.Request.Context(), principal(c), subjectID, id, req.Document, req.Signature)
	if err != nil {
		abort(c, err)
		return
	}
	c.Set(txKey, res.Receipt.TxID)
	c.JSON(http.StatusOK, res)
}

func (s *Server) listDelegations(c *gin.Context) {
	subjectID, err := pathSubject(c)
	if err != nil {
		abort(c, err)
		return
	}
	ds, err := s.svc.Delegations(c.Request.Context(), principal(c), subjectID)
	if err != nil {
		abort(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"delegations": ds})
}
