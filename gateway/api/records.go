package api

import (
	"context"
	"io"
	"mime/multipart"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway/service"
)

// pathID validates an ID path parameter (only [A-Za-z0-9._:-], bounded: no traversal).
func pathID(c *gin.Context, name string) (string, error) {
	v := c.Param(name)
	if err := wire.ValidateID(name, v); err != nil {
		return "", invalid("path parameter %s: %s", name, wire.AsError(err).Message)
	}
	return v, nil
}

// pathSubject validates a subject ID path parameter: a pseudonym, never a raw ID
// number (raw_id_number; the problem does not repeat the path).
func pathSubject(c *gin.Context) (string, error) {
	v := c.Param("subjectId")
	if err := service.CheckSubjectID("path parameter subjectId", v); err != nil {
		return "", err
	}
	return v, nil
}

func (s *Server) resolveSubject(c *gin.Context) {
	var req struct {
		Kind     string `json:"kind"`
		IDNumber string `json:"idNumber"`
	}
	if err := bindJSON(c, &req); err != nil {
		abort(c, err)
		return
	}
	id, err := s.svc.ResolveSubject(principal(c), req.Kind, req.IDNumber)
	if err != nil {
		abort(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"subjectId": id})
}

// readAppend reads "metadata", an optional "note" (free text, kept off-chain), then
// streams "file" into call and returns its result. mr is a multipart body whose earlier
// parts the caller read (nil: the request's body, read from its start).
func readAppend[T any](s *Server, c *gin.Context, mr *multipart.Reader, subjectID string, call func(service.AppendInput) (T, error)) (T, error) {
	var res T
	if mr == nil {
		var err error
		if mr, err = s.multipartReader(c); err != nil {
			return res, err
		}
	}
	err := s.readAppendFrom(c, mr, subjectID, func(in service.AppendInput) error {
		var err error
		res, err = call(in)
		return err
	})
	return res, err
}

// readAppendFrom is readAppend's reading, counting the file's bytes into the metrics.
func (s *Server) readAppendFrom(c *gin.Context, mr *multipart.Reader, subjectID string, call func(service.AppendInput) error) error {
	var meta struct {
		SubjectID  string `json:"subjectId"`
		Type       string `json:"type"`
		Note       string `json:"note"`
		MediaType  string `json:"mediaType"`
		ValidUntil string `json:"validUntil"`
	}
	if err := decodePart(mr, "metadata", maxMetadataPart, &meta); err != nil {
		return err
	}
	if meta.SubjectID != "" {
		if err := service.CheckSubjectID("metadata subjectId", meta.SubjectID); err != nil {
			return err
		}
	}
	if meta.SubjectID != "" && subjectID != "" && meta.SubjectID != subjectID {
		return invalid("metadata subjectId differs from the path")
	}
	if subjectID == "" {
		subjectID = meta.SubjectID
	}
	fp, err := mr.NextPart()
	if err == io.EOF {
		return invalid("missing multipart part \"file\"")
	}
	if err != nil {
		return readError(err)
	}
	if fp.FormName() == "note" {
		b, err := readSmallPart(fp, wire.MaxNoteBytes)
		if err != nil {
			return err
		}
		if meta.Note != "" {
			return invalid("send the note once: in the metadata or as the \"note\" part")
		}
		meta.Note = string(b)
		if fp, err = nextPart(mr, "file"); err != nil {
			return err
		}
	} else if fp.FormName() != "file" {
		return invalid("expected multipart part \"note\" or \"file\", got %q", fp.FormName())
	}
	counter := &countingReader{r: uploadReader{fp}}
	err = call(service.AppendInput{
		Meta: service.RecordMeta{SubjectID: subjectID, Type: meta.Type, Note: meta.Note,
			MediaType: meta.MediaType, ValidUntil: meta.ValidUntil},
		IdempotencyKey: c.GetHeader("Idempotency-Key"),
		File:           counter,
		FileMediaType:  fp.Header.Get("Content-Type"),
		Length:         c.Request.ContentLength,
	})
	s.opts.Metrics.BlobBytes("in", counter.n)
	return err
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (s *Server) appendRecord(c *gin.Context) {
	subjectID, err := pathSubject(c)
	if err != nil {
		abort(c, err)
		return
	}
	res, err := readAppend(s, c, nil, subjectID, func(in service.AppendInput) (*service.RecordResult, error) {
		return s.svc.AppendRecord(c.Request.Context(), principal(c), in)
	})
	if err != nil {
		abort(c, err)
		return
	}
	c.Set(txKey, res.Receipt.TxID)
	status := http.StatusCreated
	if !res.Created {
		status = http.StatusOK
	}
	c.Header("Location", "/v1/records/"+res.Record.RecordID)
	c.JSON(status, res)
}

func (s *Server) supersedeRecord(c *gin.Context) {
	oldID, err := pathID(c, "recordId")
	if err != nil {
		abort(c, err)
		return
	}
	res, err := readAppend(s, c, nil, "", func(in service.AppendInput) (*service.SupersedeResult, error) {
		return s.svc.SupersedeRecord(c.Request.Context(), principal(c), oldID, in)
	})
	replyTx(c, http.StatusCreated, res, err, func(r *service.SupersedeResult) string { return r.Receipt.TxID })
}

func (s *Server) revokeRecord(c *gin.Context) {
	id, err := pathID(c, "recordId")
	if err != nil {
		abort(c, err)
		return
	}
	var req struct {
		Reason string `json:"reason"`
	}
	if err := bindJSON(c, &req); err != nil {
		abort(c, err)
		return
	}
	res, err := s.svc.RevokeRecord(c.Request.Context(), principal(c), id, req.Reason)
	if err != nil {
		abort(c, err)
		return
	}
	c.Set(txKey, res.Receipt.TxID)
	c.JSON(http.StatusOK, res)
}

func (s *Server) getRecord(c *gin.Context) {
	id, err := pathID(c, "recordId")
	if err != nil {
		abort(c, err)
		return
	}
	rec, err := s.svc.GetRecord(c.Request.Context(), principal(c), id)
	if err != nil {
		abort(c, err)
		return
	}
	c.JSON(http.StatusOK, rec)
}

func (s *Server) recordHistory(c *gin.Context) {
	id, err := pathID(c, "recordId")
	if err != nil {
		abort(c, err)
		return
	}
	h, err := s.svc.RecordHistory(c.Request.Context(), principal(c), id)
	if err != nil {
		abort(c, err)
		return
	}
	c.JSON(http.StatusOK, h)
}

func (s *Server) listDossier(c *gin.Context) {
	subjectPage(c, func(ctx context.Context, subjectID string, size int, bookmark string) (*service.RecordPage, error) {
		if dr, ok := delegateRead(c); ok {
			return s.svc.DelegateListDossier(ctx, principal(c), subjectID, dr, c.Query("type"), size, bookmark)
		}
		return s.svc.ListDossier(ctx, principal(c), subjectID, c.Query("type"), size, bookmark)
	})
}

// Headers of a delegate's read: the wire.DelegateRead statement (base64) and the
// delegate key's signature over it.
const (
	HeaderDelegateRead      = "Edossier-Delegate-Read"
	HeaderDelegateSignature = "Edossier-Delegate-Signature"
)

// delegateRead is the delegate's read statement of the request, if it carries one.
func delegateRead(c *gin.Context) (service.DelegateRead, bool) {
	doc, sig := c.GetHeader(HeaderDelegateRead), c.GetHeader(HeaderDelegateSignature)
	if doc == "" && sig == "" {
		return service.DelegateRead{}, false
	}
	return service.DelegateRead{Document: doc, Signature: sig}, true
}
