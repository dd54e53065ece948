package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/edossier-city/edossier/gateway"
	"github.com/edossier-city/edossier/gateway/service"
)

// VerifyFile uploads a document (streamed, hashed by the gateway, never stored) and
// says whether an active record holds exactly these bytes. With kind and idNumber the
// call is an ownership check: it needs a department's or verifier's API key (APIKey),
// is rate limited per key and per document, is logged in the subject's access log
// (CheckReceipt), and the answer covers that dossier only (status not_in_dossier for a
// document recorded only in other dossiers). Without them verification is public.
func (c *Client) VerifyFile(ctx context.Context, file FilePart, kind, idNumber string) (*service.Verification, error) {
	return c.VerifyFileFrom(ctx, file, kind, idNumber, "")
}

// VerifyFileFrom is VerifyFile from a chosen source (as VerifyCIDFrom).
func (c *Client) VerifyFileFrom(ctx context.Context, file FilePart, kind, idNumber, source string) (*service.Verification, error) {
	var fields []formField
	if kind != "" {
		fields = append(fields, formField{name: "kind", value: kind})
	}
	if idNumber != "" {
		fields = append(fields, formField{name: "idNumber", value: idNumber})
	}
	path := "/v1/verify"
	if source != "" {
		path += "?source=" + url.QueryEscape(source)
	}
	req, err := c.newMultipartRequest(ctx, path, fields, file)
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

// RecordProof fetches a record's proof bundle (department, verifier or operator API
// key), to be kept and checked offline (gateway/proof.Verify).
func (c *Client) RecordProof(ctx context.Context, recordID string) (*gateway.ProofBundle, error) {
	return c.RecordProofIn(ctx, recordID, "")
}

// RecordProofIn is RecordProof of a batch record of batch batchID ("": whichever
// record has the ID, a single record first).
func (c *Client) RecordProofIn(ctx context.Context, recordID, batchID string) (*gateway.ProofBundle, error) {
	var b gateway.ProofBundle
	path := "/v1/records/" + seg(recordID) + "/proof"
	if batchID != "" {
		path += "?batchId=" + url.QueryEscape(batchID)
	}
	if err := c.DoJSON(ctx, http.MethodGet, path, nil, &b); err != nil {
		return nil, err
	}
	return &b, nil
}

// VerifyCIDFrom is VerifyCID from a chosen source: "index" (the gateway's event-fed
// index only) or "ledger" (the dossier chaincode's CID query); "" lets the gateway
// choose.
func (c *Client) VerifyCIDFrom(ctx context.Context, cid, source string) (*service.Verification, error) {
	path := "/v1/verify/" + seg(cid)
	if source != "" {
		path += "?source=" + url.QueryEscape(source)
	}
	var v service.Verification
	if err := c.DoJSON(ctx, http.MethodGet, path, nil, &v); err != nil {
		return nil, err
	}
	return &v, nil
}
