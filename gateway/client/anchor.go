package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway/service"
)

// MaxAnchorBatch is the most records one batch anchor takes (one transaction).
const MaxAnchorBatch = wire.MaxAnchorBatch

// AnchorItem is one record of a batch anchor (see service.AnchorItem): a file part
// (File; AnchorBatch names the parts "f<index>" when File is empty and open is given)
// or a CID and size of a file the archive keeps.
type AnchorItem = service.AnchorItem

// AnchorInput is a batch to anchor.
type AnchorInput = service.AnchorInput

// AnchorResult is the gateway's answer: the anchored batch, the leaves' context and
// the leaves, from which BatchProof computes any record's proof.
type AnchorResult = service.AnchorResult

// AnchorBatch anchors a batch in one transaction. With open nil the batch is CID-only
// (every item carries CID and Size; no file is sent); otherwise open(i) supplies the
// file of items[i], streamed in one multipart request. Anchoring the same batch again
// returns the stored anchor; other records under a used batch ID come back as a
// *Problem with code conflict.
func (c *Client) AnchorBatch(ctx context.Context, in AnchorInput, open func(i int) (io.ReadCloser, error)) (*AnchorResult, error) {
	return c.anchorBatch(ctx, in, open, true)
}

// AnchorBatchReceipt is AnchorBatch for a bulk loader that keeps no proofs: the answer
// leaves the leaves out (Leaves is nil; Batch.Size counts them), sparing both sides
// about 1.8 MB of JSON per 8,192 records.
func (c *Client) AnchorBatchReceipt(ctx context.Context, in AnchorInput, open func(i int) (io.ReadCloser, error)) (*AnchorResult, error) {
	return c.anchorBatch(ctx, in, open, false)
}

func (c *Client) anchorBatch(ctx context.Context, in AnchorInput, open func(i int) (io.ReadCloser, error), withLeaves bool) (*AnchorResult, error) {
	if len(in.Records) == 0 || len(in.Records) > MaxAnchorBatch {
		return nil, fmt.Errorf("client: a batch holds 1 to %d records, got %d", MaxAnchorBatch, len(in.Records))
	}
	recs := make([]AnchorItem, len(in.Records))
	copy(recs, in.Records)
	if open != nil {
		for i := range recs {
			if recs[i].File == "" {
				recs[i].File = "f" + strconv.Itoa(i)
			}
		}
	}
	in.Records = recs
	head, err := json.Marshal(in)
	if err != nil {
		return nil, err
	}
	var parts []streamedPart
	if open != nil {
		parts = make([]streamedPart, len(recs))
		for i, it := range recs {
			parts[i] = streamedPart{name: it.File, mediaType: "application/octet-stream"}
		}
	}
	var res AnchorResult
	path := "/v1/batches"
	if !withLeaves {
		path += "?leaves=none"
	}
	if err := c.postStreamed(ctx, path, "batch", head, parts, open, &res, "batch anchor"); err != nil {
		return nil, err
	}
	switch {
	case withLeaves && len(res.Leaves) != len(recs):
		return nil, fmt.Errorf("client: the batch anchor answer lists %d leaves, %d records were sent", len(res.Leaves), len(recs))
	case !withLeaves && (len(res.Leaves) != 0 || res.Batch.Size != uint64(len(recs))):
		return nil, fmt.Errorf("client: the batch anchor answer counts %d records (%d leaves listed), %d were sent", res.Batch.Size, len(res.Leaves), len(recs))
	}
	return &res, nil
}

// BatchProof returns the proof document of leaf i of an anchor result (computed
// locally from the leaves; the ledger checks it against the anchored root).
func BatchProof(res *AnchorResult, i int) (wire.BatchProof, error) {
	ctx := wire.BatchContext{Channel: res.Channel, Chaincode: res.Chaincode, BatchID: res.Batch.BatchID, Issuer: res.Batch.Issuer}
	tree, err := wire.NewBatchTree(ctx, res.Leaves)
	if err != nil {
		return wire.BatchProof{}, err
	}
	p, err := tree.InclusionProof(uint64(i))
	if err != nil {
		return wire.BatchProof{}, err
	}
	return wire.BatchProof{BatchID: res.Batch.BatchID, Index: uint64(i), Leaf: res.Leaves[i], Proof: wire.HexPath(p)}, nil
}

// GetBatch returns an anchored batch.
func (c *Client) GetBatch(ctx context.Context, batchID string) (*wire.BatchAnchor, error) {
	var a wire.BatchAnchor
	if err := c.DoJSON(ctx, http.MethodGet, "/v1/batches/"+url.PathEscape(batchID), nil, &a); err != nil {
		return nil, err
	}
	return &a, nil
}

// VerifyBatchRecord checks a batch record's leaf and proof against the anchored root.
func (c *Client) VerifyBatchRecord(ctx context.Context, p wire.BatchProof) (*wire.BatchRecord, error) {
	var r wire.BatchRecord
	if err := c.DoJSON(ctx, http.MethodPost, "/v1/batch-records/verify", p, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// RevokeBatchRecord revokes a batch record (issuer only).
func (c *Client) RevokeBatchRecord(ctx context.Context, p wire.BatchProof, reason string) (*wire.BatchRecord, error) {
	var out struct {
		Record wire.BatchRecord `json:"record"`
	}
	body := struct {
		Proof  wire.BatchProof `json:"proof"`
		Reason string          `json:"reason"`
	}{p, reason}
	if err := c.DoJSON(ctx, http.MethodPost, "/v1/batch-records/revoke", body, &out); err != nil {
		return nil, err
	}
	return &out.Record, nil
}

// ReadBatchContent reads a batch record's file under a grant; the access is committed
// to the subject's access log before the first byte is sent. The caller closes the body.
func (c *Client) ReadBatchContent(ctx context.Context, p wire.BatchProof, grantID, purpose string) (io.ReadCloser, string, error) {
	b, err := json.Marshal(struct {
		Proof   wire.BatchProof `json:"proof"`
		GrantID string          `json:"grantId"`
		Purpose string          `json:"purpose"`
	}{p, grantID, purpose})
	if err != nil {
		return nil, "", err
	}
	req, err := c.NewRequest(ctx, http.MethodPost, "/v1/batch-records/content", bytes.NewReader(b), "application/json")
	if err != nil {
		return nil, "", err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, "", err
	}
	return resp.Body, resp.Header.Get("X-Edossier-Access-Tx"), nil
}

// SupersedeBatchRecord replaces a batch record (issuer only), proved by its leaf and
// inclusion proof, by a new single record with a new file. meta.SubjectID must name the
// batch record's subject.
func (c *Client) SupersedeBatchRecord(ctx context.Context, p wire.BatchProof, meta RecordMeta, file FilePart) (*service.BatchSupersedeResult, error) {
	pb, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	var res service.BatchSupersedeResult
	proof := []formField{{name: "proof", contentType: "application/json", value: string(pb)}}
	if _, err := c.uploadRecord(ctx, "/v1/batch-records/supersede", proof, meta, meta.SubjectID, file, &res); err != nil {
		return nil, err
	}
	return &res, nil
}
