package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway/service"
)

// maxBatchPart bounds the "batch" part of POST /v1/batches (wire.MaxAnchorBatch
// records of a few hundred bytes of JSON each).
const maxBatchPart = 8 << 20

// anchorBatch takes multipart/form-data: a "batch" part first ({"batchId":...,
// "records":[{"file":"<part name>"|"cid":...,"subjectId",...}]}), then one part per
// record that names a file (none for a CID-only batch).
// With ?leaves=none the answer leaves the leaves out.
func (s *Server) anchorBatch(c *gin.Context) {
	var withLeaves bool
	switch c.Query("leaves") {
	case "", "all":
		withLeaves = true
	case "none":
	default:
		abort(c, invalid("leaves must be all or none"))
		return
	}
	var in service.AnchorInput
	bulkUpload(s, c, "batch", maxBatchPart, &in, func(next service.NextFile) (*service.AnchorResult, error) {
		res, err := s.svc.AnchorBatch(c.Request.Context(), principal(c), in, next)
		if err == nil && !withLeaves {
			res.Leaves = nil
		}
		return res, err
	}, func(r *service.AnchorResult) string { return r.Receipt.TxID })
}

func (s *Server) getBatch(c *gin.Context) {
	id, err := pathID(c, "batchId")
	if err != nil {
		abort(c, err)
		return
	}
	b, err := s.svc.GetBatch(c.Request.Context(), principal(c), id)
	if err != nil {
		abort(c, err)
		return
	}
	c.JSON(http.StatusOK, b)
}

// verifyBatchRecord takes a wire.BatchProof (leaf and inclusion proof).
func (s *Server) verifyBatchRecord(c *gin.Context) {
	var p wire.BatchProof
	if err := bindJSON(c, &p); err != nil {
		abort(c, err)
		return
	}
	r, err := s.svc.VerifyBatchRecord(c.Request.Context(), principal(c), p)
	if err != nil {
		abort(c, err)
		return
	}
	c.JSON(http.StatusOK, r)
}

type batchRevokeBody struct {
	Proof  wire.BatchProof `json:"proof"`
	Reason string          `json:"reason"`
}

func (s *Server) revokeBatchRecord(c *gin.Context) {
	var b batchRevokeBody
	if err := bindJSON(c, &b); err != nil {
		abort(c, err)
		return
	}
	r, receipt, err := s.svc.RevokeBatchRecord(c.Request.Context(), principal(c), b.Proof, b.Reason)
	if err != nil {
		abort(c, err)
		return
	}
	c.Set(txKey, receipt.TxID)
	c.JSON(http.StatusOK, gin.H{"record": r, "receipt": receipt})
}

type batchContentBody struct {
	Proof   wire.BatchProof `json:"proof"`
	GrantID string          `json:"grantId"`
	Purpose string          `json:"purpose"`
}

// readBatchContent streams a batch record's file under a grant, after the access is
// committed to the subject's access log.
func (s *Server) readBatchContent(c *gin.Context) {
	var b batchContentBody
	if err := bindJSON(c, &b); err != nil {
		abort(c, err)
		return
	}
	content, err := s.svc.ReadBatchContent(c.Request.Context(), principal(c), b.Proof, b.GrantID, b.Purpose)
	if err != nil {
		s.blobFailure(err)
		abort(c, err)
		return
	}
	s.sendContent(c, content)
}

// supersedeBatchRecord takes multipart/form-data: a "proof" part (wire.BatchProof),
// then the parts of an append (metadata, optional note, file).
func (s *Server) supersedeBatchRecord(c *gin.Context) {
	mr, err := s.multipartReader(c)
	if err != nil {
		abort(c, err)
		return
	}
	var proof wire.BatchProof
	if err := decodePart(mr, "proof", wire.MaxBatchProofBytes, &proof); err != nil {
		abort(c, err)
		return
	}
	res, err := readAppend(s, c, mr, "", func(in service.AppendInput) (*service.BatchSupersedeResult, error) {
		return s.svc.SupersedeBatchRecord(c.Request.Context(), principal(c), proof, in)
	})
	replyTx(c, http.StatusCreated, res, err, func(r *service.BatchSupersedeResult) string { return r.Receipt.TxID })
}
