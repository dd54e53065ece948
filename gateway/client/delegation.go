package client

import (
	"context"
	"encoding/base64"
	"net/http"
	"time"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway/httpsig"
	"github.com/edossier-city/edossier/gateway/service"
)

// DelegationRequest is what a delegate's device makes for the authority's counter: the
// statement accepting to act for a subject, signed by the delegate's key.
type DelegationRequest struct {
	Document  string `json:"document"` // base64 of the exact statement bytes
	Signature string `json:"signature"`
}

// NewDelegationRequest signs, with the client's key, the statement that the client's
// subject acts for subjectID in relation until endsAt.
func (c *Client) NewDelegationRequest(subjectID, relation string, endsAt time.Time) (*DelegationRequest, error) {
	if err := c.citizen(); err != nil {
		return nil, err
	}
	nonce, err := httpsig.NewNonce()
	if err != nil {
		return nil, err
	}
	doc, err := wire.Marshal(wire.DelegationStatement{Kind: wire.DelegationKind, SubjectID: subjectID, DelegateID: c.SubjectID,
		Relation: relation, EndsAt: wire.FormatTime(endsAt), IssuedAt: wire.FormatTime(c.now()), Nonce: nonce})
	if err != nil {
		return nil, err
	}
	if _, _, _, err := wire.ParseDelegationStatement(doc); err != nil {
		return nil, err
	}
	sig, err := wire.SignDocument(c.SubjectKey, doc)
	if err != nil {
		return nil, err
	}
	return &DelegationRequest{Document: base64.StdEncoding.EncodeToString(doc), Signature: sig}, nil
}

// SubmitDelegation submits a delegate's request as the attesting authority (API key).
func (c *Client) SubmitDelegation(ctx context.Context, r *DelegationRequest) (*service.DelegationResult, error) {
	var res service.DelegationResult
	if err := c.DoJSON(ctx, http.MethodPost, "/v1/delegations", r, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// RevokeDelegation revokes a delegation of subjectID: signed by the client's key (the
// subject or the delegate), or, for a client with an API key, as the attesting
// authority.
func (c *Client) RevokeDelegation(ctx context.Context, subjectID, delegationID string) (*service.DelegationResult, error) {
	nonce, err := httpsig.NewNonce()
	if err != nil {
		return nil, err
	}
	doc, err := wire.Marshal(wire.DelegationRevocation{Kind: wire.DelegationRevocationKind, SubjectID: subjectID,
		DelegationID: delegationID, IssuedAt: wire.FormatTime(c.now()), Nonce: nonce})
	if err != nil {
		return nil, err
	}
	body := DelegationRequest{Document: base64.StdEncoding.EncodeToString(doc)}
	if c.SubjectKey != nil {
		if body.Signature, err = wire.SignDocument(c.SubjectKey, doc); err != nil {
			return nil, err
		}
	}
	var res service.DelegationResult
	if err := c.DoJSON(ctx, http.MethodPost, "/v1/dossiers/"+seg(subjectID)+"/delegations/"+seg(delegationID)+"/revoke", body, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// Delegations lists a subject's delegations (the subject, a live delegate, or an
// operator).
func (c *Client) Delegations(ctx context.Context, subjectID string) ([]wire.Delegation, error) {
	var out struct {
		Delegations []wire.Delegation `json:"delegations"`
	}
	if err := c.DoJSON(ctx, http.MethodGet, "/v1/dossiers/"+seg(subjectID)+"/delegations", nil, &out); err != nil {
		return nil, err
	}
	return out.Delegations, nil
}
