package api

import (
	"io"
	"mime/multipart"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/edossier-city/edossier/gateway/service"
)

// appendBatch takes multipart/form-data: a "manifest" part first
// ({"records":[{"file":"<part name>","subjectId",...}]}), then one part per file.
func (s *Server) appendBatch(c *gin.Context) {
	mr, err := s.multipartReader(c)
	if err != nil {
		abort(c, err)
		return
	}
	mp, err := nextPart(mr, "manifest")
	if err != nil {
		abort(c, err)
		return
	}
	raw, err := readSmallPart(mp, maxManifestPart)
	if err != nil {
		abort(c, err)
		return
	}
	var manifest struct {
		Records []service.BatchItem `json:"records"`
	}
	if err := decodeStrict(raw, &manifest); err != nil {
		abort(c, err)
		return
	}
	var total int64
	res, err := s.svc.AppendBatch(c.Request.Context(), principal(c), manifest.Records, fileParts(mr, &total))
	s.opts.Metrics.BlobBytes("in", total)
	if err != nil {
		abort(c, err)
		return
	}
	c.Set(txKey, res.Receipt.TxID)
	c.JSON(http.StatusCreated, res)
}

// fileParts yields the remaining parts of a bulk request as files, counting their
// bytes into total.
func fileParts(mr *multipart.Reader, total *int64) service.NextFile {
	return func() (string, string, io.Reader, error) {
		p, err := mr.NextPart()
		if err == io.EOF {
			return "", "", nil, io.EOF
		}
		if err != nil {
			return "", "", nil, readError(err)
		}
		return p.FormName(), p.Header.Get("Content-Type"), readerFunc(func(b []byte) (int, error) {
			n, err := uploadReader{p}.Read(b)
			*total += int64(n)
			return n, err
		}), nil
	}
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }
