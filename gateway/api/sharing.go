package api

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
	"github.com/edossier-city/edossier/gateway/service"
)

func (s *Server) createGrant(c *gin.Context) {
	subjectID, err := pathSubject(c)
	if err != nil {
		abort(c, err)
		return
	}
	var req struct {
		Grant     string `json:"grant"`
		Signature string `json:"signature"`
	}
	if err := bindJSON(c, &req); err != nil {
		abort(c, err)
		return
	}
	res, err := s.svc.CreateGrant(c.Request.Context(), principal(c), subjectID, req.Grant, req.Signature)
	if err != nil {
		abort(c, err)
		return
	}
	c.Set(txKey, res.Receipt.TxID)
	c.JSON(http.StatusCreated, res)
}

func (s *Server) revokeGrant(c *gin.Context) {
	grantID, err := pathID(c, "grantId")
	if err != nil {
		abort(c, err)
		return
	}
	var req struct {
		Revocation string `json:"revocation"`
		Signature  string `json:"signature"`
	}
	if err := bindJSON(c, &req); err != nil {
		abort(c, err)
		return
	}
	res, err := s.svc.RevokeGrant(c.Request.Context(), principal(c), grantID, req.Revocation, req.Signature)
	if err != nil {
		abort(c, err)
		return
	}
	c.Set(txKey, res.Receipt.TxID)
	c.JSON(http.StatusOK, res)
}

// subjectPage answers a paginated query on one subject: {subjectId} in the path,
// pageSize and bookmark in the query.
func subjectPage[T any](c *gin.Context, list func(ctx context.Context, subjectID string, size int, bookmark string) (T, error)) {
	subjectID, err := pathSubject(c)
	if err != nil {
		abort(c, err)
		return
	}
	size, err := queryInt(c, "pageSize")
	if err != nil {
		abort(c, err)
		return
	}
	page, err := list(c.Request.Context(), subjectID, size, c.Query("bookmark"))
	if err != nil {
		abort(c, err)
		return
	}
	c.JSON(http.StatusOK, page)
}

// pageSource reads ?source= of a page route: index (the event-fed index, which says
// the block it is fresh to) or ledger / absent (the chaincode's query).
func pageSource(c *gin.Context) (index bool, err error) {
	switch c.Query("source") {
	case "", service.SourceLedger:
		return false, nil
	case service.SourceIndex:
		return true, nil
	}
	return false, gateway.Errorf(gateway.CodeInvalid, "source must be %q or %q", service.SourceIndex, service.SourceLedger)
}

func (s *Server) listGrants(c *gin.Context) {
	fromIndex, err := pageSource(c)
	if err != nil {
		abort(c, err)
		return
	}
	if fromIndex {
		subjectPage(c, func(ctx context.Context, subjectID string, size int, bookmark string) (*service.IndexedGrantPage, error) {
			return s.svc.ListGrantsIndexed(ctx, principal(c), subjectID, size, bookmark)
		})
		return
	}
	subjectPage(c, func(ctx context.Context, subjectID string, size int, bookmark string) (*wire.GrantPage, error) {
		return s.svc.ListGrants(ctx, principal(c), subjectID, size, bookmark)
	})
}

func (s *Server) accessLog(c *gin.Context) {
	fromIndex, err := pageSource(c)
	if err != nil {
		abort(c, err)
		return
	}
	switch c.Query("groupBy") {
	case "":
		if fromIndex {
			subjectPage(c, func(ctx context.Context, subjectID string, size int, bookmark string) (*service.IndexedAccessPage, error) {
				return s.svc.AccessLogIndexed(ctx, principal(c), subjectID, size, bookmark)
			})
			return
		}
		subjectPage(c, func(ctx context.Context, subjectID string, size int, bookmark string) (*wire.AccessPage, error) {
			return s.svc.AccessLog(ctx, principal(c), subjectID, size, bookmark)
		})
	case "grant":
		if fromIndex {
			abort(c, gateway.Errorf(gateway.CodeInvalid, "groupBy=grant is answered from the ledger only (omit source=index)"))
			return
		}
		subjectPage(c, func(ctx context.Context, subjectID string, size int, bookmark string) (*service.AccessGroups, error) {
			return s.svc.AccessLogByGrant(ctx, principal(c), subjectID, size, bookmark)
		})
	default:
		abort(c, gateway.Errorf(gateway.CodeInvalid, "groupBy must be grant (or absent)"))
	}
}
