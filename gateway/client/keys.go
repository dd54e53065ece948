package client

import (
	"context"
	"crypto/ecdsa"
	"encoding/base64"
	"errors"
	"net/http"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway/httpsig"
	"github.com/edossier-city/edossier/gateway/service"
)

// KeyRequest is what a citizen's device makes for the identity authority's counter: a
// bind or recovery statement for the new key and the new key's signature over it
// (proof of possession). The clerk submits it with the authority's own credentials.
type KeyRequest struct {
	SubjectID    string `json:"subjectId"`
	KeyID        string `json:"keyId"`
	Kind         string `json:"kind"`
	Document     string `json:"document"` // base64 of the exact statement bytes
	PopSignature string `json:"popSignature"`
}

// SignStatement fills in nonce and issue time (now) of st, encodes it and signs it with
// key. It returns the exact bytes and the base64 signature.
func SignStatement(st wire.KeyStatement, key *ecdsa.PrivateKey, now func() (string, error)) ([]byte, string, error) {
	if st.Nonce == "" {
		n, err := httpsig.NewNonce()
		if err != nil {
			return nil, "", err
		}
		st.Nonce = n
	}
	if st.IssuedAt == "" {
		t, err := now()
		if err != nil {
			return nil, "", err
		}
		st.IssuedAt = t
	}
	doc, err := wire.EncodeKeyStatement(st)
	if err != nil {
		return nil, "", err
	}
	sig, err := wire.SignDocument(key, doc)
	if err != nil {
		return nil, "", err
	}
	return doc, sig, nil
}

func (c *Client) nowString() (string, error) { return wire.FormatTime(c.now()), nil }

// NewKeyRequest makes the statement that asks an identity authority to bind newKey as
// subjectID's first key (kind wire.KeyBindKind) or to recover the subject with it
// (wire.KeyRecoveryKind), signed by newKey.
func (c *Client) NewKeyRequest(kind, subjectID string, newKey *ecdsa.PrivateKey) (*KeyRequest, error) {
	if kind != wire.KeyBindKind && kind != wire.KeyRecoveryKind {
		return nil, errors.New("client: a key request is a bind or a recovery statement")
	}
	pemText, keyID, err := PublicKeyPEM(&newKey.PublicKey)
	if err != nil {
		return nil, err
	}
	doc, pop, err := SignStatement(wire.KeyStatement{Kind: kind, SubjectID: subjectID, PublicKeyPEM: pemText}, newKey, c.nowString)
	if err != nil {
		return nil, err
	}
	return &KeyRequest{SubjectID: subjectID, KeyID: keyID, Kind: kind, Document: base64.StdEncoding.EncodeToString(doc), PopSignature: pop}, nil
}

// SubmitKeyRequest submits a citizen's key request as the identity authority (the
// client's API key must be one of an identity-authority organisation).
func (c *Client) SubmitKeyRequest(ctx context.Context, r *KeyRequest) (any, error) {
	body := map[string]string{"document": r.Document, "popSignature": r.PopSignature}
	switch r.Kind {
	case wire.KeyBindKind:
		var res service.KeyResult
		if err := c.DoJSON(ctx, http.MethodPost, "/v1/subject-keys/bind", body, &res); err != nil {
			return nil, err
		}
		return &res, nil
	case wire.KeyRecoveryKind:
		var res service.RecoveryResult
		if err := c.DoJSON(ctx, http.MethodPost, "/v1/subject-keys/recoveries", body, &res); err != nil {
			return nil, err
		}
		return &res, nil
	}
	return nil, errors.New("client: a key request is a bind or a recovery statement")
}

// signedStatement signs st with the client's subject key.
func (c *Client) signedStatement(st wire.KeyStatement) ([]byte, string, error) {
	if err := c.citizen(); err != nil {
		return nil, "", err
	}
	st.SubjectID = c.SubjectID
	return SignStatement(st, c.SubjectKey, c.nowString)
}

// AddSubjectKey adds newKey (another device) to the client's subject, signed by the
// client's key and by newKey.
func (c *Client) AddSubjectKey(ctx context.Context, newKey *ecdsa.PrivateKey) (*service.KeyResult, error) {
	pemText, _, err := PublicKeyPEM(&newKey.PublicKey)
	if err != nil {
		return nil, err
	}
	doc, sig, err := c.signedStatement(wire.KeyStatement{Kind: wire.KeyAddKind, PublicKeyPEM: pemText})
	if err != nil {
		return nil, err
	}
	pop, err := wire.SignDocument(newKey, doc)
	if err != nil {
		return nil, err
	}
	var res service.KeyResult
	body := map[string]string{"document": base64.StdEncoding.EncodeToString(doc), "signature": sig, "popSignature": pop}
	if err := c.DoJSON(ctx, http.MethodPost, "/v1/dossiers/"+seg(c.SubjectID)+"/keys", body, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// RemoveSubjectKey retires keyID of the client's subject, signed by the client's key.
func (c *Client) RemoveSubjectKey(ctx context.Context, keyID string) (*service.KeyResult, error) {
	doc, sig, err := c.signedStatement(wire.KeyStatement{Kind: wire.KeyRemoveKind, KeyID: keyID})
	if err != nil {
		return nil, err
	}
	var res service.KeyResult
	body := map[string]string{"document": base64.StdEncoding.EncodeToString(doc), "signature": sig}
	if err := c.DoJSON(ctx, http.MethodPost, "/v1/dossiers/"+seg(c.SubjectID)+"/keys/"+seg(keyID)+"/remove", body, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// CancelKeyRecovery cancels a pending recovery of the client's subject.
func (c *Client) CancelKeyRecovery(ctx context.Context, recoveryID string) (*service.RecoveryResult, error) {
	doc, sig, err := c.signedStatement(wire.KeyStatement{Kind: wire.KeyRecoveryCancelKind, RecoveryID: recoveryID})
	if err != nil {
		return nil, err
	}
	var res service.RecoveryResult
	body := map[string]string{"document": base64.StdEncoding.EncodeToString(doc), "signature": sig}
	if err := c.DoJSON(ctx, http.MethodPost, "/v1/dossiers/"+seg(c.SubjectID)+"/recoveries/"+seg(recoveryID)+"/cancel", body, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// CompleteKeyRecovery makes a recovery effective after its time lock (no credentials
// needed).
func (c *Client) CompleteKeyRecovery(ctx context.Context, subjectID, recoveryID string) (*service.KeyResult, error) {
	var res service.KeyResult
	if err := c.DoJSON(ctx, http.MethodPost, "/v1/dossiers/"+seg(subjectID)+"/recoveries/"+seg(recoveryID)+"/complete", nil, &res); err != nil {
		return nil, err
	}
	return &res, nil
}

// SubjectKeys lists a subject's keys and recoveries: the subject itself (signed
// request) or an operator. subjectID "" means the client's subject.
func (c *Client) SubjectKeys(ctx context.Context, subjectID string) (*wire.SubjectKeys, error) {
	if subjectID == "" {
		subjectID = c.SubjectID
	}
	var out wire.SubjectKeys
	if err := c.DoJSON(ctx, http.MethodGet, "/v1/dossiers/"+seg(subjectID)+"/keys", nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// KeyEvents returns one page of a subject's key log, oldest first.
func (c *Client) KeyEvents(ctx context.Context, subjectID string, page PageOptions) (*wire.KeyEventPage, error) {
	if subjectID == "" {
		subjectID = c.SubjectID
	}
	var out wire.KeyEventPage
	if err := c.DoJSON(ctx, http.MethodGet, withQuery("/v1/dossiers/"+seg(subjectID)+"/key-events", page.query(nil)), nil, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
