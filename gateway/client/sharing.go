package client

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway/service"
)

// errNoSubjectKey is returned by the citizen calls of a client without a subject key.
var errNoSubjectKey = errors.New("client: this call needs the subject's key (Client.SubjectID and Client.SubjectKey)")

func (c *Client) citizen() error {
	if c.SubjectKey == nil || c.SubjectID == "" {
		return errNoSubjectKey
	}
	return nil
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// CreateGrant signs a grant document with the client's subject key and submits it.
// Kind and SubjectID are filled in when empty; the document is encoded with
// wire.EncodeGrant (which validates it).
func (c *Client) CreateGrant(ctx context.Context, g wire.Grant) (*service.GrantResult, error) {
	if err := c.citizen(); err != nil {
		return nil, err
	}
	if g.Kind == "" {
		g.Kind = wire.GrantKind
	}
	if g.SubjectID == "" {
		g.SubjectID = c.SubjectID
	}
	doc, err := wire.EncodeGrant(g)
	if err != nil {
		return nil, err
	}
	sig, err := wire.SignDocument(c.SubjectKey, doc)
	if err != nil {
		return nil, err
	}
	return c.SubmitGrant(ctx, g.SubjectID, doc, sig)
}

// SubmitGrant submits an already signed grant document (its exact bytes and the
// base64 ASN.1 signature), as a request signed by the client's subject key.
func (c *Client) SubmitGrant(ctx context.Context, subjectID string, document []byte, signature string) (*service.GrantResult, error) {
	var res service.GrantResult
	body := map[string]string{"grant": base64.StdEncoding.EncodeToString(document), "signature": signature}
	if err := c.DoJSON(ctx, http.MethodPost, "/v1/dossiers/"+seg(subjectID)+"/grants", body, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// RevokeGrant signs a revocation of grantID (issued now, with an optional reason) with
// the client's subject key and submits it.
func (c *Client) RevokeGrant(ctx context.Context, grantID, reason string) (*service.GrantResult, error) {
	return c.RevokeGrantFor(ctx, "", grantID, reason)
}

// RevokeGrantFor revokes a grant of subjectID ("": the client's subject), signed with
// the client's key: a guardian or legal representative revoking for the subject it
// acts for.
func (c *Client) RevokeGrantFor(ctx context.Context, subjectID, grantID, reason string) (*service.GrantResult, error) {
	if err := c.citizen(); err != nil {
		return nil, err
	}
	if subjectID == "" {
		subjectID = c.SubjectID
	}
	doc, err := wire.EncodeRevocation(wire.Revocation{Kind: wire.RevocationKind, GrantID: grantID, SubjectID: subjectID,
		IssuedAt: wire.FormatTime(c.now()), Reason: reason})
	if err != nil {
		return nil, err
	}
	sig, err := wire.SignDocument(c.SubjectKey, doc)
	if err != nil {
		return nil, err
	}
	return c.SubmitRevocation(ctx, grantID, doc, sig)
}

// SubmitRevocation submits an already signed revocation document.
func (c *Client) SubmitRevocation(ctx context.Context, grantID string, document []byte, signature string) (*service.GrantResult, error) {
	var res service.GrantResult
	body := map[string]string{"revocation": base64.StdEncoding.EncodeToString(document), "signature": signature}
	if err := c.DoJSON(ctx, http.MethodPost, "/v1/grants/"+seg(grantID)+"/revoke", body, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// ListGrants returns one page of a subject's grants: the subject itself (signed
// request) or an operator. subjectID "" means the client's subject.
func (c *Client) ListGrants(ctx context.Context, subjectID string, page PageOptions) (*wire.GrantPage, error) {
	if subjectID == "" {
		subjectID = c.SubjectID
	}
	var out wire.GrantPage
	if err := c.DoJSON(ctx, http.MethodGet, withQuery("/v1/dossiers/"+seg(subjectID)+"/grants", page.query(nil)), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ListGrantsIndexed is ListGrants answered from the gateway's event-fed index
// (?source=index), with the datashare block the page is fresh to.
func (c *Client) ListGrantsIndexed(ctx context.Context, subjectID string, page PageOptions) (*service.IndexedGrantPage, error) {
	if subjectID == "" {
		subjectID = c.SubjectID
	}
	q := page.query(nil)
	q.Set("source", service.SourceIndex)
	var out service.IndexedGrantPage
	if err := c.DoJSON(ctx, http.MethodGet, withQuery("/v1/dossiers/"+seg(subjectID)+"/grants", q), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// AccessLogIndexed is AccessLog answered from the gateway's event-fed index
// (?source=index), with the datashare block the page is fresh to.
func (c *Client) AccessLogIndexed(ctx context.Context, subjectID string, page PageOptions) (*service.IndexedAccessPage, error) {
	if subjectID == "" {
		subjectID = c.SubjectID
	}
	q := page.query(nil)
	q.Set("source", service.SourceIndex)
	var out service.IndexedAccessPage
	if err := c.DoJSON(ctx, http.MethodGet, withQuery("/v1/dossiers/"+seg(subjectID)+"/access-log", q), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// AccessLog returns one page of a subject's access log, newest first: the subject
// itself (signed request) or an operator. subjectID "" means the client's subject.
func (c *Client) AccessLog(ctx context.Context, subjectID string, page PageOptions) (*wire.AccessPage, error) {
	if subjectID == "" {
		subjectID = c.SubjectID
	}
	var out wire.AccessPage
	if err := c.DoJSON(ctx, http.MethodGet, withQuery("/v1/dossiers/"+seg(subjectID)+"/access-log", page.query(nil)), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// AccessLogByGrant is AccessLog with the page's entries grouped by grant.
func (c *Client) AccessLogByGrant(ctx context.Context, subjectID string, page PageOptions) (*service.AccessGroups, error) {
	if subjectID == "" {
		subjectID = c.SubjectID
	}
	var out service.AccessGroups
	if err := c.DoJSON(ctx, http.MethodGet, withQuery("/v1/dossiers/"+seg(subjectID)+"/access-log", page.query(url.Values{"groupBy": {"grant"}})), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
