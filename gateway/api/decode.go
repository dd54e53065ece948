package api

import (
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
)

const (
	maxJSONBody     = 64 << 10
	maxMetadataPart = 16 << 10
	maxManifestPart = 1 << 20
	multipartSlack  = 1 << 20 // headers, metadata and boundaries around the file
)

// bindJSON decodes a JSON request body strictly: the right content type, a bounded
// size, no unknown fields, no trailing data.
func bindJSON(c *gin.Context, v any) error {
	mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if err != nil || mt != "application/json" {
		return gateway.Errorf(gateway.CodeUnsupported, "send the body as application/json")
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxJSONBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return gateway.Errorf(gateway.CodeTooLarge, "JSON body larger than %d bytes", maxJSONBody)
		}
		return invalid("could not read the request body")
	}
	return decodeStrict(body, v)
}

// decodeStrict is the one decoder of every JSON body (bindJSON, the metadata part of an
// append, the manifest of a bulk append). It is the chaincode's decoder for signed
// documents (wire.DecodeSigned): exactly one JSON object, no trailing data, no unknown
// fields, no duplicate keys, and every key spelled exactly as its field (encoding/json
// alone would match "KIND" to "kind"). Refusals are CodeInvalid.
func decodeStrict(body []byte, v any) error {
	if err := wire.DecodeSigned(body, v, len(body)+1); err != nil {
		if we := wire.AsError(err); we != nil {
			return invalid("malformed JSON: %s", we.Message)
		}
		return invalid("malformed JSON: %v", err)
	}
	return nil
}

// multipartReader checks the content type and bounds the body.
func (s *Server) multipartReader(c *gin.Context) (*multipart.Reader, error) {
	mt, params, err := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return nil, gateway.Errorf(gateway.CodeUnsupported, "send the body as multipart/form-data")
	}
	if s.opts.MaxUpload > 0 && c.Request.ContentLength > s.opts.MaxUpload+multipartSlack {
		return nil, gateway.Errorf(gateway.CodeTooLarge, "upload larger than the limit of %d bytes", s.opts.MaxUpload)
	}
	body := c.Request.Body
	if s.opts.MaxUpload > 0 {
		body = http.MaxBytesReader(c.Writer, body, s.opts.MaxUpload+multipartSlack)
	}
	return multipart.NewReader(body, params["boundary"]), nil
}

// decodePart decodes the next part, which must have the given form name, as a strict
// JSON document (decodeStrict) of at most max bytes: the metadata of an append, the
// manifest or batch of a bulk request, the proof of a batch record's supersede.
func decodePart(mr *multipart.Reader, name string, max int64, v any) error {
	p, err := nextPart(mr, name)
	if err != nil {
		return err
	}
	raw, err := readSmallPart(p, max)
	if err != nil {
		return err
	}
	return decodeStrict(raw, v)
}

// nextPart returns the next part, which must have the given form name.
func nextPart(mr *multipart.Reader, name string) (*multipart.Part, error) {
	p, err := mr.NextPart()
	if err == io.EOF {
		return nil, invalid("missing multipart part %q", name)
	}
	if err != nil {
		return nil, readError(err)
	}
	if p.FormName() != name {
		return nil, invalid("expected multipart part %q, got %q (send %q first)", name, p.FormName(), name)
	}
	return p, nil
}

// readSmallPart reads a bounded part (metadata, a form field).
func readSmallPart(p *multipart.Part, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(p, limit+1))
	if err != nil {
		return nil, readError(err)
	}
	if int64(len(b)) > limit {
		return nil, gateway.Errorf(gateway.CodeTooLarge, "part %q larger than %d bytes", p.FormName(), limit)
	}
	return b, nil
}

// readError classifies a failure to read the request body.
func readError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return gateway.Wrap(gateway.CodeTooLarge, err, "upload larger than the limit")
	}
	var ge *gateway.Error
	if errors.As(err, &ge) {
		return err
	}
	return gateway.Wrap(gateway.CodeInvalid, err, "malformed multipart body")
}

// queryInt reads an optional non-negative integer query parameter.
func queryInt(c *gin.Context, name string) (int, error) {
	v := c.Query(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, invalid("query parameter %s must be a non-negative integer", name)
	}
	return n, nil
}

// uploadReader wraps a file part so read errors keep their meaning (size limit, broken
// body) when they surface from the blob store.
type uploadReader struct{ r io.Reader }

func (u uploadReader) Read(p []byte) (int, error) {
	n, err := u.r.Read(p)
	if err != nil && err != io.EOF {
		return n, readError(err)
	}
	return n, err
}
