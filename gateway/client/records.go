package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
	"github.com/edossier-city/edossier/gateway/service"
)

// RecordMeta is what a department says about a file it appends or supersedes with.
type RecordMeta struct {
	// SubjectID is required by SupersedeRecord (the new record's dossier, the same as
	// the old one's); AppendRecord takes the subject from its argument.
	SubjectID string `json:"subjectId,omitempty"`
	Type      string `json:"type"`
	// Note is optional free text about the record. The gateway keeps it off-chain,
	// encrypted, as a salted document whose CID the record carries (noteCid); only
	// the record's readers get it back (GetRecord).
	Note string `json:"note,omitempty"`
	// MediaType of the document; "" takes the file part's media type.
	MediaType string `json:"mediaType,omitempty"`
	// ValidUntil is an optional expiry, RFC 3339.
	ValidUntil string `json:"validUntil,omitempty"`
	// IdempotencyKey, if set, is sent as the Idempotency-Key header: a retry with the
	// same key (same organisation) returns the record of the first call.
	IdempotencyKey string `json:"-"`
}

// RecordResult is a record with the receipt of the transaction that wrote it. Created
// is false when an idempotent retry returned the existing record (HTTP 200, not 201).
type RecordResult struct {
	Record  wire.Record     `json:"record"`
	Receipt gateway.Receipt `json:"receipt"`
	Created bool            `json:"created"`
}

// PageOptions select one page of a list.
type PageOptions struct {
	// PageSize is the number of entries per page (0: the gateway's default).
	PageSize int
	// Bookmark continues after the page that returned it ("" = first page).
	Bookmark string
}

func (o PageOptions) query(q url.Values) url.Values {
	if q == nil {
		q = url.Values{}
	}
	if o.PageSize > 0 {
		q.Set("pageSize", strconv.Itoa(o.PageSize))
	}
	if o.Bookmark != "" {
		q.Set("bookmark", o.Bookmark)
	}
	return q
}

func withQuery(path string, q url.Values) string {
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

func seg(s string) string { return url.PathEscape(s) }

// Resolve derives the pseudonymous subject ID of a person ("person") or an enterprise
// ("enterprise") from its ID number or credit code (departments and operators).
func (c *Client) Resolve(ctx context.Context, kind, idNumber string) (string, error) {
	var out struct {
		SubjectID string `json:"subjectId"`
	}
	err := c.DoJSON(ctx, http.MethodPost, "/v1/subjects/resolve", map[string]string{"kind": kind, "idNumber": idNumber}, &out)
	if err != nil {
		return "", err
	}
	return out.SubjectID, nil
}

// sendUpload sends a streaming multipart request and decodes the answer into out. It
// returns the HTTP status of a 2xx answer.
func (c *Client) sendUpload(req *http.Request, out any) (int, error) {
	resp, err := c.Do(req)
	if err != nil {
		if req.Body != nil {
			req.Body.Close() // stops the writer goroutine if the request never left
		}
		return 0, err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return 0, fmt.Errorf("decoding the gateway's answer: %w", err)
	}
	return resp.StatusCode, nil
}

func metadataField(meta RecordMeta, subjectID string) (formField, error) {
	m := meta
	m.SubjectID = subjectID
	b, err := json.Marshal(m)
	if err != nil {
		return formField{}, err
	}
	return formField{name: "metadata", contentType: "application/json", value: string(b)}, nil
}

// uploadRecord sends the fields, then the record's metadata (subject metaSubject), then
// its file, as one streamed multipart request to path, with meta's idempotency key;
// it decodes the answer into out and returns the HTTP status.
func (c *Client) uploadRecord(ctx context.Context, path string, fields []formField, meta RecordMeta, metaSubject string, file FilePart, out any) (int, error) {
	md, err := metadataField(meta, metaSubject)
	if err != nil {
		return 0, err
	}
	req, err := c.newMultipartRequest(ctx, path, append(fields, md), file)
	if err != nil {
		return 0, err
	}
	if meta.IdempotencyKey != "" {
		req.Header.Set("Idempotency-Key", meta.IdempotencyKey)
	}
	return c.sendUpload(req, out)
}

// AppendRecord appends a record with its file to a subject's dossier (departments).
// The file streams to the gateway; the answer comes after the record committed.
func (c *Client) AppendRecord(ctx context.Context, subjectID string, meta RecordMeta, file FilePart) (*RecordResult, error) {
	var res RecordResult
	status, err := c.uploadRecord(ctx, "/v1/dossiers/"+seg(subjectID)+"/records", nil, meta, "", file, &res)
	if err != nil {
		return nil, err
	}
	res.Created = status == http.StatusCreated
	return &res, nil
}

// SupersedeRecord replaces a record of the caller's department by a new one with a new
// file, atomically. meta.SubjectID must name the old record's subject.
func (c *Client) SupersedeRecord(ctx context.Context, recordID string, meta RecordMeta, file FilePart) (*service.SupersedeResult, error) {
	var res service.SupersedeResult
	if _, err := c.uploadRecord(ctx, "/v1/records/"+seg(recordID)+"/supersede", nil, meta, meta.SubjectID, file, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// GetRecord returns a record's metadata with the text of its note (for its issuer, the
// operator, a grantee, or, for a citizen client, its own record).
func (c *Client) GetRecord(ctx context.Context, recordID string) (*service.RecordView, error) {
	var rec service.RecordView
	if err := c.DoJSON(ctx, http.MethodGet, "/v1/records/"+seg(recordID), nil, &rec); err != nil {
		return nil, err
	}
	return &rec, nil
}

// RecordHistory returns every committed version of a record, newest first (whoever may
// see the record; a citizen client its own, logged as a self access).
func (c *Client) RecordHistory(ctx context.Context, recordID string) (*service.HistoryResult, error) {
	var h service.HistoryResult
	if err := c.DoJSON(ctx, http.MethodGet, "/v1/records/"+seg(recordID)+"/history", nil, &h); err != nil {
		return nil, err
	}
	return &h, nil
}

// ListDossier returns one page of the records of a subject that the caller may see,
// optionally of one record type. Page.Bookmark is "" on the last page.
func (c *Client) ListDossier(ctx context.Context, subjectID, recordType string, page PageOptions) (*service.RecordPage, error) {
	q := url.Values{}
	if recordType != "" {
		q.Set("type", recordType)
	}
	var out service.RecordPage
	if err := c.DoJSON(ctx, http.MethodGet, withQuery("/v1/dossiers/"+seg(subjectID)+"/records", page.query(q)), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RevokeRecord withdraws a record of the caller's department.
func (c *Client) RevokeRecord(ctx context.Context, recordID, reason string) (*RecordResult, error) {
	var res RecordResult
	if err := c.DoJSON(ctx, http.MethodPost, "/v1/records/"+seg(recordID)+"/revoke", map[string]string{"reason": reason}, &res); err != nil {
		return nil, err
	}
	res.Created = true
	return &res, nil
}

// Content is a file being read under a grant. The access is committed on the ledger
// before the first byte arrives. Close Body when done.
type Content struct {
	Body   io.ReadCloser
	Header http.Header
	// Size is the announced length (Content-Length), -1 if none.
	Size      int64
	MediaType string
	// CID is the record's content ID (from the ETag); the bytes of Body hash to it.
	CID string
	// AccessTxID and AccessBlock locate the access-log entry of this read.
	AccessTxID  string
	AccessBlock uint64
}

// ReadContent reads a record's file under a grant, for a purpose (departments). A
// refusal (no grant, revoked, out of scope...) is a *Problem and no byte is sent. A
// citizen client reads its own record's file with grantID and purpose "" (logged as a
// self access).
func (c *Client) ReadContent(ctx context.Context, recordID, grantID, purpose string) (*Content, error) {
	q := url.Values{}
	if grantID != "" {
		q.Set("grantId", grantID)
	}
	if purpose != "" {
		q.Set("purpose", purpose)
	}
	req, err := c.NewRequest(ctx, http.MethodGet, withQuery("/v1/records/"+seg(recordID)+"/content", q), nil, "")
	if err != nil {
		return nil, err
	}
	return c.content(req)
}

// content sends a file request and returns the file being read.
func (c *Client) content(req *http.Request) (*Content, error) {
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	block, _ := strconv.ParseUint(resp.Header.Get("X-Edossier-Access-Block"), 10, 64)
	return &Content{
		Body:        resp.Body,
		Header:      resp.Header,
		Size:        resp.ContentLength,
		MediaType:   resp.Header.Get("Content-Type"),
		CID:         strings.Trim(resp.Header.Get("ETag"), `"`),
		AccessTxID:  resp.Header.Get("X-Edossier-Access-Tx"),
		AccessBlock: block,
	}, nil
}
