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
	var manifest struct {
		Records []service.BatchItem `json:"records"`
	}
	bulkUpload(s, c, "manifest", maxManifestPart, &manifest, func(next service.NextFile) (*service.BatchResult, error) {
		return s.svc.AppendBatch(c.Request.Context(), principal(c), manifest.Records, next)
	}, func(r *service.BatchResult) string { return r.Receipt.TxID })
}

// bulkUpload serves a bulk request (appendBatch, anchorBatch): multipart/form-data whose
// first part, named part, is a JSON document of at most max bytes decoded into in, and
// whose other parts are the files that call stores. 201 with call's result; the bytes
// read count into the blob metrics either way.
func bulkUpload[T any](s *Server, c *gin.Context, part string, max int64, in any, call func(service.NextFile) (T, error), tx func(T) string) {
	mr, err := s.multipartReader(c)
	if err != nil {
		abort(c, err)
		return
	}
	if err := decodePart(mr, part, max, in); err != nil {
		abort(c, err)
		return
	}
	var total int64
	res, err := call(fileParts(mr, &total))
	s.opts.Metrics.BlobBytes("in", total)
	replyTx(c, http.StatusCreated, res, err, tx)
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
