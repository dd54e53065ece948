package api

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway/service"
)

// keyStatementReq carries a signed key statement (base64) and its signatures.
type keyStatementReq struct {
	Document     string `json:"document"`
	Signature    string `json:"signature"`
	PopSignature string `json:"popSignature"`
}

// keyCall decodes a keyStatementReq, runs f and answers with its result and
// transaction ID.
func keyCall[T interface{ receipt() string }](c *gin.Context, status int, f func(ctx context.Context, r *keyStatementReq) (T, error)) {
	var req keyStatementReq
	if err := bindJSON(c, &req); err != nil {
		abort(c, err)
		return
	}
	res, err := f(c.Request.Context(), &req)
	if err != nil {
		abort(c, err)
		return
	}
	c.Set(txKey, res.receipt())
	c.JSON(status, res)
}

type keyRes struct{ *service.KeyResult }

func (k keyRes) receipt() string { return k.Receipt.TxID }

type recoveryRes struct{ *service.RecoveryResult }

func (r recoveryRes) receipt() string { return r.Receipt.TxID }

func keyOf(res *service.KeyResult, err error) (keyRes, error) { return keyRes{res}, err }
func recoveryOf(res *service.RecoveryResult, err error) (recoveryRes, error) {
	return recoveryRes{res}, err
}

// bindSubjectKey: the identity authority's clerk submits a subject's first key.
func (s *Server) bindSubjectKey(c *gin.Context) {
	keyCall(c, http.StatusCreated, func(ctx context.Context, r *keyStatementReq) (keyRes, error) {
		return keyOf(s.svc.BindSubjectKey(ctx, principal(c), r.Document, r.PopSignature))
	})
}

// requestKeyRecovery: the identity authority's clerk submits a time-locked recovery.
func (s *Server) requestKeyRecovery(c *gin.Context) {
	keyCall(c, http.StatusCreated, func(ctx context.Context, r *keyStatementReq) (recoveryRes, error) {
		return recoveryOf(s.svc.RequestKeyRecovery(ctx, principal(c), r.Document, r.PopSignature))
	})
}

func (s *Server) addSubjectKey(c *gin.Context) {
	subjectID, err := pathSubject(c)
	if err != nil {
		abort(c, err)
		return
	}
	keyCall(c, http.StatusCreated, func(ctx context.Context, r *keyStatementReq) (keyRes, error) {
		return keyOf(s.svc.AddSubjectKey(ctx, principal(c), subjectID, r.Document, r.Signature, r.PopSignature))
	})
}

func (s *Server) removeSubjectKey(c *gin.Context) {
	subjectID, keyID, err := pathSubjectAnd(c, "keyId")
	if err != nil {
		abort(c, err)
		return
	}
	keyCall(c, http.StatusOK, func(ctx context.Context, r *keyStatementReq) (keyRes, error) {
		return keyOf(s.svc.RemoveSubjectKey(ctx, principal(c), subjectID, keyID, r.Document, r.Signature))
	})
}

func (s *Server) cancelKeyRecovery(c *gin.Context) {
	subjectID, recoveryID, err := pathSubjectAnd(c, "recoveryId")
	if err != nil {
		abort(c, err)
		return
	}
	keyCall(c, http.StatusOK, func(ctx context.Context, r *keyStatementReq) (recoveryRes, error) {
		return recoveryOf(s.svc.CancelKeyRecovery(ctx, principal(c), subjectID, recoveryID, r.Document, r.Signature))
	})
}

// completeKeyRecovery takes no body: anyone may ask, the chaincode judges the time lock.
func (s *Server) completeKeyRecovery(c *gin.Context) {
	subjectID, recoveryID, err := pathSubjectAnd(c, "recoveryId")
	if err != nil {
		abort(c, err)
		return
	}
	res, err := s.svc.CompleteKeyRecovery(c.Request.Context(), subjectID, recoveryID)
	if err != nil {
		abort(c, err)
		return
	}
	c.Set(txKey, res.Receipt.TxID)
	c.JSON(http.StatusOK, res)
}

func (s *Server) listSubjectKeys(c *gin.Context) {
	subjectID, err := pathSubject(c)
	if err != nil {
		abort(c, err)
		return
	}
	keys, err := s.svc.SubjectKeys(c.Request.Context(), principal(c), subjectID)
	if err != nil {
		abort(c, err)
		return
	}
	c.JSON(http.StatusOK, keys)
}

func (s *Server) keyEvents(c *gin.Context) {
	subjectPage(c, func(ctx context.Context, subjectID string, size int, bookmark string) (*wire.KeyEventPage, error) {
		return s.svc.KeyEvents(ctx, principal(c), subjectID, size, bookmark)
	})
}

// pathSubjectAnd reads the {subjectId} path parameter and the ID parameter name.
func pathSubjectAnd(c *gin.Context, name string) (subjectID, id string, err error) {
	if subjectID, err = pathSubject(c); err != nil {
		return "", "", err
	}
	if id, err = pathID(c, name); err != nil {
		return "", "", err
	}
	return subjectID, id, nil
}
