package client

import (
	"context"
	"net/http"

	"github.com/edossier-city/edossier/gateway/service"
)

// VerifyFile uploads a document (streamed, hashed by the gateway, never stored) and
// says whether an active record holds exactly these bytes. With kind and idNumber the
// answer also says whether the document is in that subject's dossier (InDossier).
// Verification is public: no credentials are needed.
func (c *Client) VerifyFile(ctx context.Context, file FilePart, kind, idNumber string) (*service.Verification, error) {
	var fields []formField
	if kind != "" {
		fields = append(fields, formField{name: "kind", value: kind})
	}
	if idNumber != "" {
		fields = append(fields, formField{name: "idNumber", value: idNumber})
	}
	req, err := c.newMultipartRequest(ctx, "/v1/verify", fields, file)
	if err != nil {
		return nil, err
	}
	var v service.Verification
	if _, err := c.sendUpload(req, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// VerifyCID looks up a content ID (CIDv1, raw, sha2-256, base32 "bafkrei...").
func (c *Client) VerifyCID(ctx context.Context, cid string) (*service.Verification, error) {
	var v service.Verification
	if err := c.DoJSON(ctx, http.MethodGet, "/v1/verify/"+seg(cid), nil, &v); err != nil {
		return nil, err
	}
	return &v, nil
}
