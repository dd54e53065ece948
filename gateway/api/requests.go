package api

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway/service"
)

func (s *Server) requestConsent(c *gin.Context) {
	subjectID, err := pathSubject(c)
	if err != nil {
		abort(c, err)
		return
	}
	var in wire.ConsentRequestInput
	if err := bindJSON(c, &in); err != nil {
		abort(c, err)
		return
	}
	res, err := s.svc.RequestConsent(c.Request.Context(), principal(c), subjectID, in)
	if err != nil {
		abort(c, err)
		return
	}
	c.Set(txKey, res.Receipt.TxID)
	c.JSON(http.StatusCreated, res)
}

func (s *Server) listConsentRequests(c *gin.Context) {
	subjectID, err := pathSubject(c)
	if err != nil {
		abort(c, err)
		return
	}
	rs, err := s.svc.ConsentRequests(c.Request.Context(), principal(c), subjectID)
	if err != nil {
		abort(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"requests": rs})
}

// myConsentRequests is GET /v1/consent-requests: the calling department's own
// requests across subjects, paged, ?status= filter.
func (s *Server) myConsentRequests(c *gin.Context) {
	size, err := queryInt(c, "pageSize")
	if err != nil {
		abort(c, err)
		return
	}
	page, err := s.svc.DepartmentConsentRequests(c.Request.Context(), principal(c), c.Query("status"), size, c.Query("bookmark"))
	if err != nil {
		abort(c, err)
		return
	}
	c.JSON(http.StatusOK, page)
}

func (s *Server) getConsentRequest(c *gin.Context) {
	id, err := pathID(c, "requestId")
	if err != nil {
		abort(c, err)
		return
	}
	r, err := s.svc.ConsentRequest(c.Request.Context(), principal(c), id)
	if err != nil {
		abort(c, err)
		return
	}
	c.JSON(http.StatusOK, r)
}

func (s *Server) approveConsentRequest(c *gin.Context) {
	id, err := pathID(c, "requestId")
	if err != nil {
		abort(c, err)
		return
	}
	docCall(c, http.StatusCreated, func(ctx context.Context, doc, sig string) (*service.GrantResult, error) {
		return s.svc.ApproveConsentRequest(ctx, principal(c), id, doc, sig)
	}, func(r *service.GrantResult) string { return r.Receipt.TxID })
}

func (s *Server) declineConsentRequest(c *gin.Context) {
	id, err := pathID(c, "requestId")
	if err != nil {
		abort(c, err)
		return
	}
	docCall(c, http.StatusOK, func(ctx context.Context, doc, sig string) (*service.ConsentRequestResult, error) {
		return s.svc.DeclineConsentRequest(ctx, principal(c), id, doc, sig)
	}, func(r *service.ConsentRequestResult) string { return r.Receipt.TxID })
}
