package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/edossier-city/edossier/gateway"
)

// jsonCall decodes the body into req, runs f and answers with status.
func jsonCall[Req any, Res any](c *gin.Context, status int, f func(*Req) (Res, error)) {
	var req Req
	if err := bindJSON(c, &req); err != nil {
		abort(c, err)
		return
	}
	res, err := f(&req)
	if err != nil {
		abort(c, err)
		return
	}
	c.JSON(status, res)
}

func (s *Server) registry(c *gin.Context) {
	reg, err := s.svc.Registry(c.Request.Context(), principal(c))
	if err != nil {
		abort(c, err)
		return
	}
	c.JSON(http.StatusOK, reg)
}

type departmentReq struct {
	MSPID string `json:"mspId"`
	Name  string `json:"name"`
	Code  string `json:"code"`
}

func (s *Server) registerDepartment(c *gin.Context) {
	jsonCall(c, http.StatusOK, func(r *departmentReq) (any, error) {
		return s.svc.RegisterDepartment(c.Request.Context(), principal(c), r.MSPID, r.Name, r.Code)
	})
}

func (s *Server) deactivateDepartment(c *gin.Context) {
	msp := c.Param("mspId")
	res, err := s.svc.DeactivateDepartment(c.Request.Context(), principal(c), msp)
	if err != nil {
		abort(c, err)
		return
	}
	c.JSON(http.StatusOK, res)
}

type recordTypeReq struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

func (s *Server) defineRecordType(c *gin.Context) {
	jsonCall(c, http.StatusOK, func(r *recordTypeReq) (any, error) {
		return s.svc.DefineRecordType(c.Request.Context(), principal(c), r.Code, r.Name)
	})
}

type codeReq struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

func (s *Server) definePurpose(c *gin.Context) {
	jsonCall(c, http.StatusOK, func(r *codeReq) (any, error) {
		return s.svc.DefinePurpose(c.Request.Context(), principal(c), r.Code, r.Name)
	})
}

func (s *Server) defineReason(c *gin.Context) {
	jsonCall(c, http.StatusOK, func(r *codeReq) (any, error) {
		return s.svc.DefineReason(c.Request.Context(), principal(c), r.Code, r.Name)
	})
}

type accreditationReq struct {
	MSPID      string `json:"mspId"`
	RecordType string `json:"recordType"`
}

func (s *Server) accredit(c *gin.Context) {
	jsonCall(c, http.StatusOK, func(r *accreditationReq) (any, error) {
		return s.svc.Accredit(c.Request.Context(), principal(c), r.MSPID, r.RecordType)
	})
}

func (s *Server) unaccredit(c *gin.Context) {
	jsonCall(c, http.StatusOK, func(r *accreditationReq) (any, error) {
		return s.svc.Unaccredit(c.Request.Context(), principal(c), r.MSPID, r.RecordType)
	})
}

type userReq struct {
	Org   string       `json:"org"`
	User  string       `json:"user"`
	Role  gateway.Role `json:"role"`
	Label string       `json:"label"`
}

func (s *Server) createUser(c *gin.Context) {
	jsonCall(c, http.StatusCreated, func(r *userReq) (any, error) {
		return s.svc.CreateUser(c.Request.Context(), principal(c), r.Org, r.User, r.Role, r.Label)
	})
}

type verifierReq struct {
	Name  string `json:"name"`
	Label string `json:"label"`
}

func (s *Server) createVerifier(c *gin.Context) {
	jsonCall(c, http.StatusCreated, func(r *verifierReq) (any, error) {
		return s.svc.CreateVerifier(principal(c), r.Name, r.Label)
	})
}

func (s *Server) listAPIKeys(c *gin.Context) {
	list, err := s.svc.ListAPIKeys(principal(c))
	if err != nil {
		abort(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"keys": list})
}

func (s *Server) revokeAPIKey(c *gin.Context) {
	id, err := pathID(c, "keyId")
	if err != nil {
		abort(c, err)
		return
	}
	k, err := s.svc.RevokeAPIKey(principal(c), id)
	if err != nil {
		abort(c, err)
		return
	}
	c.JSON(http.StatusOK, k)
}
