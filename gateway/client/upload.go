package client

import (
	"bytes"
	"context"
	"fmt"
	"github.com/edossier-city/edossier/chaincode/wire"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"
)

// FilePart is a file to upload. The body is streamed: the client never holds more
// than a small buffer of it.
type FilePart struct {
	// Body is read once, from start to end.
	Body io.Reader
	// Size is the number of bytes Body yields, or -1 if unknown. With a known size the
	// request carries an exact Content-Length (the gateway can refuse a too large upload
	// before it is sent) and a body that yields another number of bytes fails the
	// request; with -1 the body is sent chunked.
	Size int64
	// Name is the file name sent in the part header (default "upload"); only its base
	// name is sent.
	Name string
	// MediaType is the Content-Type of the file part (default application/octet-stream).
	// The gateway records it when the metadata names no media type.
	MediaType string
}

// formField is a small multipart part sent before the file.
type formField struct {
	name, contentType, value string
}

func partHeader(name, filename, contentType string) textproto.MIMEHeader {
	h := textproto.MIMEHeader{}
	esc := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\r", "", "\n", "")
	if filename != "" {
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="%s"; filename="%s"`, esc.Replace(name), esc.Replace(filename)))
	} else {
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="%s"`, esc.Replace(name)))
	}
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	return h
}

func baseName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	if name == "" || name == "." || name == ".." || name == "-" {
		return "upload"
	}
	return name
}

// writeMultipart writes fields, then the file part (its header, and body unless
// withBody is false), then the closing boundary.
func writeMultipart(mw *multipart.Writer, fields []formField, f FilePart, withBody bool) error {
	for _, fl := range fields {
		w, err := mw.CreatePart(partHeader(fl.name, "", fl.contentType))
		if err != nil {
			return err
		}
		if _, err := io.WriteString(w, fl.value); err != nil {
			return err
		}
	}
	mt := wire.MediaTypeOf(f.MediaType)
	w, err := mw.CreatePart(partHeader("file", baseName(f.Name), mt))
	if err != nil {
		return err
	}
	if withBody {
		var n int64
		if f.Size >= 0 {
			// One byte more than announced makes the transport fail the request
			// instead of silently truncating a file that grew.
			n, err = io.Copy(w, io.LimitReader(f.Body, f.Size+1))
		} else {
			n, err = io.Copy(w, f.Body)
		}
		if err != nil {
			return fmt.Errorf("reading the file: %w", err)
		}
		if f.Size >= 0 && n != f.Size {
			return fmt.Errorf("the file yielded %d bytes, %d were announced (did it change during the upload?)", n, f.Size)
		}
	}
	return mw.Close()
}

// newMultipartRequest builds a POST whose multipart/form-data body streams through a
// pipe: fields first, then the file. With a known file size the exact Content-Length
// is computed from the framing.
func (c *Client) newMultipartRequest(ctx context.Context, path string, fields []formField, f FilePart) (*http.Request, error) {
	if f.Body == nil {
		return nil, fmt.Errorf("client: no file to upload")
	}
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	length := int64(-1)
	if f.Size >= 0 {
		var framing bytes.Buffer
		fw := multipart.NewWriter(&framing)
		if err := fw.SetBoundary(mw.Boundary()); err != nil {
			return nil, err
		}
		if err := writeMultipart(fw, fields, f, false); err != nil {
			return nil, err
		}
		length = int64(framing.Len()) + f.Size
	}
	req, err := c.NewRequest(ctx, http.MethodPost, path, pr, mw.FormDataContentType())
	if err != nil {
		return nil, err
	}
	req.ContentLength = length
	go func() {
		// The transport closes pr when the request ends (also on an early answer or an
		// error), which unblocks this writer.
		pw.CloseWithError(writeMultipart(mw, fields, f, true))
	}()
	return req, nil
}
