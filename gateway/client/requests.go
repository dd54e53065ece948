package client

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway/httpsig"
	"github.com/edossier-city/edossier/gateway/service"
)

// RequestConsent asks subjectID for a grant (a department's API key).
func (c *Client) RequestConsent(ctx context.Context, subjectID string, in wire.ConsentRequestInput) (*service.ConsentRequestResult, error) {
	var res service.ConsentRequestResult
	if err := c.DoJSON(ctx, http.MethodPost, "/v1/dossiers/"+seg(subjectID)+"/consent-requests", in, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// ConsentRequests lists a subject's consent requests.
func (c *Client) ConsentRequests(ctx context.Context, subjectID string) ([]wire.ConsentRequest, error) {
	var out struct {
		Requests []wire.ConsentRequest `json:"requests"`
	}
	if err := c.DoJSON(ctx, http.MethodGet, "/v1/dossiers/"+seg(subjectID)+"/consent-requests", nil, &out); err != nil {
		return nil, err
	}
	return out.Requests, nil
}

// MyConsentRequests returns one page of the calling department's own requests across
// subjects, newest first (status "" any, or pending, approved, declined, expired).
func (c *Client) MyConsentRequests(ctx context.Context, status string, page PageOptions) (*wire.ConsentRequestPage, error) {
	q := url.Values{}
	if status != "" {
		q.Set("status", status)
	}
	var out wire.ConsentRequestPage
	if err := c.DoJSON(ctx, http.MethodGet, withQuery("/v1/consent-requests", page.query(q)), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ConsentRequest returns one request (its department, or an operator).
func (c *Client) ConsentRequest(ctx context.Context, requestID string) (*wire.ConsentRequest, error) {
	var r wire.ConsentRequest
	if err := c.DoJSON(ctx, http.MethodGet, "/v1/consent-requests/"+seg(requestID), nil, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// ApproveConsentRequest signs exactly the request's grant document with the client's
// key and submits it.
func (c *Client) ApproveConsentRequest(ctx context.Context, r *wire.ConsentRequest) (*service.GrantResult, error) {
	if err := c.citizen(); err != nil {
		return nil, err
	}
	doc, err := base64.StdEncoding.DecodeString(r.Document)
	if err != nil {
		return nil, errors.New("client: the request's document is not base64")
	}
	sig, err := wire.SignDocument(c.SubjectKey, doc)
	if err != nil {
		return nil, err
	}
	var res service.GrantResult
	body := map[string]string{"document": r.Document, "signature": sig}
	if err := c.DoJSON(ctx, http.MethodPost, "/v1/consent-requests/"+seg(r.RequestID)+"/approve", body, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// DeclineConsentRequest signs a decline of the request with the client's key.
func (c *Client) DeclineConsentRequest(ctx context.Context, r *wire.ConsentRequest) (*service.ConsentRequestResult, error) {
	if err := c.citizen(); err != nil {
		return nil, err
	}
	nonce, err := httpsig.NewNonce()
	if err != nil {
		return nil, err
	}
	doc, err := wire.Marshal(wire.ConsentDecline{Kind: wire.ConsentDeclineKind, RequestID: r.RequestID, SubjectID: r.SubjectID,
		IssuedAt: wire.FormatTime(c.now()), Nonce: nonce})
	if err != nil {
		return nil, err
	}
	sig, err := wire.SignDocument(c.SubjectKey, doc)
	if err != nil {
		return nil, err
	}
	var res service.ConsentRequestResult
	body := map[string]string{"document": base64.StdEncoding.EncodeToString(doc), "signature": sig}
	if err := c.DoJSON(ctx, http.MethodPost, "/v1/consent-requests/"+seg(r.RequestID)+"/decline", body, &res); err != nil {
		return nil, err
	}
	return &res, nil
}
