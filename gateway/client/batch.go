package client

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/edossier-city/edossier/chaincode/wire"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strconv"

	"github.com/edossier-city/edossier/gateway/service"
)

// MaxBatch is the most records the gateway takes in one bulk append (one transaction).
const MaxBatch = service.MaxBatch

// BatchItem is one record of a bulk append. File names its multipart part; AppendBatch
// names the parts itself ("f<index>") when File is empty. Items with an IdempotencyKey
// get a record ID derived from it, so repeating the batch (after a timeout, a crash of
// the caller) returns the existing records instead of appending them again.
type BatchItem = service.BatchItem

// BatchResult is the gateway's answer to a bulk append: every record committed in the
// one transaction of its receipt, in request order (Created false for a record that
// already existed: an idempotent repeat).
type BatchResult = service.BatchResult

// FileError is a failure to open or read the file of one item while the request body
// was being sent; the gateway then committed nothing of the batch.
type FileError struct {
	Index int // index of the item in the batch
	Err   error
}

func (e *FileError) Error() string { return fmt.Sprintf("batch item %d: %v", e.Index, e.Err) }
func (e *FileError) Unwrap() error { return e.Err }

// AppendBatch appends 1..MaxBatch records in one transaction (POST /v1/records/batch)
// and returns only after the gateway committed them all; on any error nothing of the
// batch is committed. open(i) supplies the content of items[i]; the files are opened
// one at a time, in order, and streamed through a pipe, so memory use does not depend
// on their sizes. A file that cannot be opened or read fails the call with a
// *FileError; refusals of the gateway come back as *Problem.
func (c *Client) AppendBatch(ctx context.Context, items []BatchItem, open func(i int) (io.ReadCloser, error)) (*BatchResult, error) {
	if len(items) == 0 || len(items) > MaxBatch {
		return nil, fmt.Errorf("client: a batch holds 1 to %d records, got %d", MaxBatch, len(items))
	}
	manifest := struct {
		Records []BatchItem `json:"records"`
	}{Records: make([]BatchItem, len(items))}
	for i, it := range items {
		if it.File == "" {
			it.File = "f" + strconv.Itoa(i)
		}
		manifest.Records[i] = it
	}
	head, err := json.Marshal(manifest)
	if err != nil {
		return nil, err
	}
	parts := make([]streamedPart, len(manifest.Records))
	for i, it := range manifest.Records {
		parts[i] = streamedPart{name: it.File, mediaType: wire.MediaTypeOf(it.MediaType)}
	}
	var res BatchResult
	if err := c.postStreamed(ctx, "/v1/records/batch", "manifest", head, parts, open, &res, "bulk append"); err != nil {
		return nil, err
	}
	if len(res.Records) != len(items) {
		return nil, fmt.Errorf("client: the bulk append answer lists %d records, %d were sent", len(res.Records), len(items))
	}
	return &res, nil
}

// streamedPart is one file part of a streamed request: its part (and file) name and
// media type.
type streamedPart struct {
	name, mediaType string
}

// postStreamed POSTs a multipart body to path: the JSON part headPart (head), then one
// part per file, parts[i] with the content open(i) supplies. The files are opened one at
// a time, in order, and streamed through a pipe, so memory use does not depend on their
// sizes. A file that cannot be opened or read fails the call with a *FileError (the
// gateway then commits nothing); refusals come back as *Problem. The answer is decoded
// into out; what names the request in errors.
func (c *Client) postStreamed(ctx context.Context, path, headPart string, head []byte, parts []streamedPart, open func(int) (io.ReadCloser, error), out any, what string) error {
	pr, pw := io.Pipe()
	// Buffered: every write to the pipe is a hand-over to the transport's goroutine,
	// and a part of a 1 KiB file is three small writes.
	bw := bufio.NewWriterSize(pw, 64<<10)
	mw := multipart.NewWriter(bw)
	req, err := c.NewRequest(ctx, http.MethodPost, path, pr, mw.FormDataContentType())
	if err != nil {
		return err
	}
	written := make(chan error, 1)
	go func() {
		// The transport closes pr when the request ends (also on an early answer or an
		// error), which unblocks this writer.
		err := writeParts(mw, headPart, head, parts, open)
		if err == nil {
			err = bw.Flush()
		}
		pw.CloseWithError(err)
		written <- err
	}()
	resp, err := c.Do(req)
	pr.Close()
	var fe *FileError
	if werr := <-written; errors.As(werr, &fe) {
		if resp != nil {
			resp.Body.Close()
		}
		return fe
	}
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("client: decode the %s answer: %w", what, err)
	}
	return nil
}

// writeParts writes the JSON part, then each file part in order, then the closing
// boundary.
func writeParts(mw *multipart.Writer, headPart string, head []byte, parts []streamedPart, open func(int) (io.ReadCloser, error)) error {
	w, err := mw.CreatePart(partHeader(headPart, "", "application/json"))
	if err != nil {
		return err
	}
	if _, err := w.Write(head); err != nil {
		return err
	}
	buf := make([]byte, 32<<10)
	for i, p := range parts {
		f, err := open(i)
		if err != nil {
			return &FileError{Index: i, Err: err}
		}
		err = copyPart(mw, partHeader(p.name, p.name, p.mediaType), f, buf)
		if cerr := f.Close(); err == nil && cerr != nil {
			err = &FileError{Err: cerr}
		}
		var fe *FileError
		if errors.As(err, &fe) {
			fe.Index = i
		}
		if err != nil {
			return err
		}
	}
	return mw.Close()
}

// copyPart writes one file part; read failures are the file's (*FileError), write
// failures the transport's.
func copyPart(mw *multipart.Writer, h textproto.MIMEHeader, r io.Reader, buf []byte) error {
	w, err := mw.CreatePart(h)
	if err != nil {
		return err
	}
	for {
		n, rerr := r.Read(buf)
		if n > 0 {
			if _, err := w.Write(buf[:n]); err != nil {
				return err
			}
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return &FileError{Err: rerr}
		}
	}
}
