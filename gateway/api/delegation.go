package api

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/edossier-city/edossier/gateway/service"
)

// signedDocReq is a signed document (base64) and its signature.
type signedDocReq struct {
	Document  string `json:"document"`
	Signature string `json:"signature"`
}

// docCall decodes a signedDocReq, runs f and answers status with its result, logging
// the transaction tx names.
func docCall[T any](c *gin.Context, status int, f func(ctx context.Context, doc, sig string) (T, error), tx func(T) string) {
	var req signedDocReq
	if err := bindJSON(c, &req); err != nil {
		abort(c, err)
		return
	}
	res, err := f(c.Request.Context(), req.Document, req.Signature)
	replyTx(c, status, res, err, tx)
}

// replyTx answers res with status, its transaction ID (tx) in the access log, or the
// problem of err.
func replyTx[T any](c *gin.Context, status int, res T, err error, tx func(T) string) {
	if err != nil {
		abort(c, err)
		return
	}
	c.Set(txKey, tx(res))
	c.JSON(status, res)
}

func delegationTx(r *service.DelegationResult) string { return r.Receipt.TxID }

// bindDelegation: the authority's clerk submits a delegate's signed statement.
func (s *Server) bindDelegation(c *gin.Context) {
	docCall(c, http.StatusCreated, func(ctx context.Context, doc, sig string) (*service.DelegationResult, error) {
		return s.svc.BindDelegation(ctx, principal(c), doc, sig)
	}, delegationTx)
}

func (s *Server) revokeDelegation(c *gin.Context) {
	subjectID, id, err := pathSubjectAnd(c, "delegationId")
	if err != nil {
		abort(c, err)
		return
	}
	docCall(c, http.StatusOK, func(ctx context.Context, doc, sig string) (*service.DelegationResult, error) {
		return s.svc.RevokeDelegation(ctx, principal(c), subjectID, id, doc, sig)
	}, delegationTx)
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
