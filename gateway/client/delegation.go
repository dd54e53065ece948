package client

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
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

// ActingFor makes the client's requests for subjectID those of its live delegate under
// delegationID (the client's key is the delegate's): each dossier listing and file read
// carries a wire.DelegateRead statement signed for exactly that read, which the
// chaincode checks before it logs the read in the subject's access log as the
// delegate's.
type ActingFor struct {
	SubjectID    string
	DelegationID string
}

// delegateRead signs a read statement and sets the headers api.HeaderDelegateRead and
// api.HeaderDelegateSignature on req.
func (c *Client) delegateRead(req *http.Request, a ActingFor, action, recordID string) error {
	if err := c.citizen(); err != nil {
		return err
	}
	nonce, err := httpsig.NewNonce()
	if err != nil {
		return err
	}
	doc, err := wire.Marshal(wire.DelegateRead{Kind: wire.DelegateReadKind, SubjectID: a.SubjectID, DelegateID: c.SubjectID,
		DelegationID: a.DelegationID, Action: action, RecordID: recordID, IssuedAt: wire.FormatTime(c.now()), Nonce: nonce})
	if err != nil {
		return err
	}
	sig, err := wire.SignDocument(c.SubjectKey, doc)
	if err != nil {
		return err
	}
	req.Header.Set("Edossier-Delegate-Read", base64.StdEncoding.EncodeToString(doc))
	req.Header.Set("Edossier-Delegate-Signature", sig)
	return nil
}

// DelegateListDossier lists the dossier of the subject the client acts for, one page;
// the page is logged in the subject's access log as read by the client's subject.
func (c *Client) DelegateListDossier(ctx context.Context, a ActingFor, recordType string, page PageOptions) (*service.RecordPage, error) {
	q := url.Values{}
	if recordType != "" {
		q.Set("type", recordType)
	}
	req, err := c.NewRequest(ctx, http.MethodGet, withQuery("/v1/dossiers/"+seg(a.SubjectID)+"/records", page.query(q)), nil, "")
	if err != nil {
		return nil, err
	}
	if err := c.delegateRead(req, a, wire.SelfList, ""); err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out service.RecordPage
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DelegateReadContent reads a file of the subject the client acts for, logged first as
// the delegate's read.
func (c *Client) DelegateReadContent(ctx context.Context, a ActingFor, recordID string) (*Content, error) {
	req, err := c.NewRequest(ctx, http.MethodGet, "/v1/records/"+seg(recordID)+"/content", nil, "")
	if err != nil {
		return nil, err
	}
	if err := c.delegateRead(req, a, wire.SelfContent, recordID); err != nil {
		return nil, err
	}
	return c.content(req)
}

// FindActingFor returns the client's live delegation for subjectID (the newest one
// ending last); the chaincode checks it again on every read.
func (c *Client) FindActingFor(ctx context.Context, subjectID string) (ActingFor, error) {
	if err := c.citizen(); err != nil {
		return ActingFor{}, err
	}
	dels, err := c.Delegations(ctx, subjectID)
	if err != nil {
		return ActingFor{}, err
	}
	now := c.now()
	var best *wire.Delegation
	for i := range dels {
		d := &dels[i]
		if d.DelegateID == c.SubjectID && d.LiveAt(now) && (best == nil || d.EndsAt > best.EndsAt) {
			best = d
		}
	}
	if best == nil {
		return ActingFor{}, &Problem{Status: http.StatusForbidden, Code: "forbidden", Detail: "you have no live delegation for " + subjectID}
	}
	return ActingFor{SubjectID: subjectID, DelegationID: best.DelegationID}, nil
}
