package api

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/edossier-city/edossier/gateway"
	"github.com/edossier-city/edossier/gateway/service"
)

// contentPrefetch is how much of a file readContent authenticates before it sends the
// status line: a file of at most this size is read whole (every segment and the hash of
// the whole plaintext against the CID), a larger one its first contentPrefetch bytes
// (sixteen authenticated 64 KiB segments). Damage found later aborts the connection.
const contentPrefetch = 1 << 20

// readContent records the access on the ledger, then streams the file. If the access
// is refused, no byte of the file is sent. A damaged file is 500 blob_corrupt when the
// damage is found before the status line (always for files up to contentPrefetch);
// past it the connection is aborted, so the body is shorter than its Content-Length and
// no client takes it for complete.
func (s *Server) readContent(c *gin.Context) {
	id, err := pathID(c, "recordId")
	if err != nil {
		abort(c, err)
		return
	}
	var content *service.Content
	if dr, ok := delegateRead(c); ok {
		content, err = s.svc.DelegateReadContent(c.Request.Context(), principal(c), id, dr)
	} else {
		content, err = s.svc.ReadContent(c.Request.Context(), principal(c), id, c.Query("grantId"), c.Query("purpose"))
	}
	if err != nil {
		s.blobFailure(err)
		abort(c, err)
		return
	}
	s.sendContent(c, content)
}

// sendContent streams the file of a committed read (single or batch record).
func (s *Server) sendContent(c *gin.Context, content *service.Content) {
	defer content.Body.Close()
	c.Set(txKey, content.Receipt.TxID)
	size := content.Record.Size
	head, err := readHead(content.Body, size)
	if err != nil {
		s.blobFailure(err)
		abort(c, err)
		return
	}
	h := c.Writer.Header()
	h.Set("Content-Type", content.Record.MediaType)
	h.Set("Content-Length", strconv.FormatInt(size, 10))
	h.Set("ETag", `"`+content.Record.CID+`"`)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Disposition", "attachment")
	h.Set("X-Edossier-Access-Tx", content.Receipt.TxID)
	h.Set("X-Edossier-Access-Block", strconv.FormatUint(content.Receipt.Block, 10))
	c.Status(http.StatusOK)
	n, werr := c.Writer.Write(head)
	s.opts.Metrics.BlobBytes("out", int64(n))
	if werr != nil {
		c.Set(logCauseKey, gateway.Wrap(gateway.CodeUnavailable, werr, "the client went away"))
		return
	}
	if int64(len(head)) == size {
		return
	}
	sent, rerr, werr := copyRest(c.Writer, content.Body, size-int64(len(head)))
	s.opts.Metrics.BlobBytes("out", sent)
	switch {
	case werr != nil:
		// The client went away: nothing is wrong with the file.
		c.Set(logCauseKey, gateway.Wrap(gateway.CodeUnavailable, werr, "the client went away"))
	case rerr != nil:
		// The status line is gone: abort the connection so that the body ends before
		// its Content-Length (an unexpected EOF for the client), never a clean end.
		s.blobFailure(rerr)
		slog.ErrorContext(c.Request.Context(), "file stream aborted", "requestId", requestID(c), "route", c.FullPath(),
			"recordId", content.Record.RecordID, "cid", content.Record.CID, "sent", int64(len(head))+sent, "size", size,
			"code", gateway.ErrorCode(rerr), "err", rerr)
		c.Set(logCauseKey, rerr)
		panic(http.ErrAbortHandler)
	}
}

// readHead reads the first min(size, contentPrefetch) bytes of a file; when that is the
// whole file it also reads to the end, so that the store's check of the whole content
// against its CID has run. A file shorter or longer than the record says is blob_corrupt.
func readHead(body io.Reader, size int64) ([]byte, error) {
	n := min(size, contentPrefetch)
	buf := make([]byte, n)
	if _, err := io.ReadFull(body, buf); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, gateway.Wrap(gateway.CodeBlobCorrupt, err, "the stored file is shorter than its record says")
		}
		return nil, err
	}
	if n < size {
		return buf, nil
	}
	var one [1]byte
	for i := 0; ; i++ {
		k, err := body.Read(one[:])
		switch {
		case k > 0:
			return nil, gateway.Errorf(gateway.CodeBlobCorrupt, "the stored file is longer than its record says")
		case err == io.EOF:
			return buf, nil
		case err != nil:
			return nil, err
		case i > 100:
			return nil, gateway.Wrap(gateway.CodeInternal, io.ErrNoProgress, "reading the stored file")
		}
	}
}

// copyRest copies exactly want more bytes of body to w. rerr is a failure of the file
// (also a file that ends early or runs long), werr one of the client connection.
func copyRest(w io.Writer, body io.Reader, want int64) (sent int64, rerr, werr error) {
	buf := make([]byte, 64<<10)
	for {
		k, err := body.Read(buf)
		if k > 0 {
			if sent+int64(k) > want {
				return sent, gateway.Errorf(gateway.CodeBlobCorrupt, "the stored file is longer than its record says"), nil
			}
			m, err := w.Write(buf[:k])
			sent += int64(m)
			if err != nil {
				return sent, nil, err
			}
		}
		if err == io.EOF {
			if sent != want {
				return sent, gateway.Wrap(gateway.CodeBlobCorrupt, io.ErrUnexpectedEOF, "the stored file is shorter than its record says"), nil
			}
			return sent, nil, nil
		}
		if err != nil {
			return sent, err, nil
		}
	}
}

// blobFailure counts a damaged file; the caller answers (abort logs the 500 at ERROR)
// or logs and aborts the stream.
func (s *Server) blobFailure(err error) {
	if gateway.ErrorCode(err) == gateway.CodeBlobCorrupt {
		s.opts.Metrics.BlobCorrupt()
	}
}
