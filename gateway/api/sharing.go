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

func (s *Server) listGrants(c *gin.Context) {
	subjectPage(c, func(ctx context.Context, subjectID string, size int, bookmark string) (*wire.GrantPage, error) {
		return s.svc.ListGrants(ctx, principal(c), subjectID, size, bookmark)
	})
}

func (s *Server) accessLog(c *gin.Context) {
	switch c.Query("groupBy") {
	case "":
		subjectPage(c, func(ctx context.Context, subjectID string, size int, bookmark string) (*wire.AccessPage, error) {
			return s.svc.AccessLog(ctx, principal(c), subjectID, size, bookmark)
		})
	case "grant":
		subjectPage(c, func(ctx context.Context, subjectID string, size int, bookmark string) (*service.AccessGroups, error) {
			return s.svc.AccessLogByGrant(ctx, principal(c), subjectID, size, bookmark)
		})
	default:
		abort(c, gateway.Errorf(gateway.CodeInvalid, "groupBy must be grant (or absent)"))
	}
}
