package api

import (
	"io"
	"net/http"

	"github.com/gin-gonic/gin"
)

// verifyFile takes multipart/form-data with an optional "kind" and "idNumber" (before
// the file) and a "file" part, which is hashed while it streams and never stored.
func (s *Server) verifyFile(c *gin.Context) {
	mr, err := s.multipartReader(c)
	if err != nil {
		abort(c, err)
		return
	}
	var kind, idNumber string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			abort(c, invalid("missing multipart part \"file\""))
			return
		}
		if err != nil {
			abort(c, readError(err))
			return
		}
		switch p.FormName() {
		case "kind", "idNumber":
			b, err := readSmallPart(p, 64)
			if err != nil {
				abort(c, err)
				return
			}
			if p.FormName() == "kind" {
				kind = string(b)
			} else {
				idNumber = string(b)
			}
			continue
		case "file":
			counter := &countingReader{r: uploadReader{p}}
			v, err := s.svc.VerifyFileFrom(c.Request.Context(), principal(c), counter, kind, idNumber, c.Query("source"))
			if err != nil {
				abort(c, err)
				return
			}
			c.JSON(http.StatusOK, v)
			return
		default:
			abort(c, invalid("unexpected multipart part %q (want kind, idNumber, file)", p.FormName()))
			return
		}
	}
}

func (s *Server) verifyCID(c *gin.Context) {
	v, err := s.svc.VerifyCIDFrom(c.Request.Context(), c.Param("cid"), c.Query("source"))
	if err != nil {
		abort(c, err)
		return
	}
	c.JSON(http.StatusOK, v)
}
