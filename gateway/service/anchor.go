package service

import (
	"context"
	"strconv"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
)

// BatchLedger holds the Merkle batches of the municipal channel and the grant-checked
// reads of batch records (anchor.go). Errors as for Ledger; a proof that does not lead
// to the anchored root is CodeBadProof.
type BatchLedger interface {
	// EndorseAnchorBatch endorses dossier AnchorBatch with the compact encoding of a
	// batch (wire.EncodeBatch); Submit commits it.
	EndorseAnchorBatch(ctx context.Context, a gateway.Actor, batch []byte) (gateway.Pending[wire.BatchAnchor], error)
	GetBatch(ctx context.Context, a gateway.Actor, batchID string) (*wire.BatchAnchor, error)
	GetBatchRecord(ctx context.Context, a gateway.Actor, proof wire.BatchProof) (*wire.BatchRecord, error)
	RevokeBatchRecord(ctx context.Context, a gateway.Actor, proof wire.BatchProof, reason string) (*wire.BatchRecord, gateway.Receipt, error)
	SupersedeBatchRecord(ctx context.Context, a gateway.Actor, proof wire.BatchProof, req wire.AppendRequest) (*wire.BatchSupersedeResult, gateway.Receipt, error)
	RecordBatchAccess(ctx context.Context, a gateway.Actor, grantID string, proof wire.BatchProof, purpose string) (*wire.AccessEntry, gateway.Receipt, error)
	// MunicipalChannel is the channel of the dossier chaincode (the leaves' context).
	MunicipalChannel() string
}

// AnchorItem is one record of a batch anchor. Either File names the multipart part
// that carries its file (the gateway stores it: the bulk path into the blob store), or
// CID and Size give the file's content ID where the archive keeps the file (nothing is
// stored; the ledger anchors the CID only).
type AnchorItem struct {
	File      string `json:"file,omitempty"`
	RecordID  string `json:"recordId,omitempty"`
	SubjectID string `json:"subjectId"`
	Type      string `json:"type"`
	MediaType string `json:"mediaType,omitempty"`
	CID       string `json:"cid,omitempty"`
	Size      int64  `json:"size,omitempty"`
}

// AnchorInput is a batch to anchor. BatchID is the caller's (the CLI derives it from
// its import identity and the batch's lines, so a rerun names the same batch);
// records without a RecordID get BatchID + "." + their index.
type AnchorInput struct {
	BatchID string       `json:"batchId"`
	Records []AnchorItem `json:"records"`
}

// AnchorResult is the answer to a batch anchor: the anchored batch and the leaves
// (in index order) from which any record's inclusion proof can be computed
// (wire.NewBatchTree with the batch's context).
type AnchorResult struct {
	Receipt gateway.Receipt  `json:"receipt"`
	Batch   wire.BatchAnchor `json:"batch"`
	// Channel and Chaincode complete the leaves' context (wire.BatchContext).
	Channel   string           `json:"channel"`
	Chaincode string           `json:"chaincode"`
	Leaves    []wire.BatchLeaf `json:"leaves,omitempty"` // absent when the caller asked for none
	// Stored counts the files this request put into the blob store.
	Stored int `json:"stored"`
}

// DefaultBatchMediaType is the media type of a batch record that names none.
const DefaultBatchMediaType = "application/octet-stream"

// AnchorBatch stores the files of a batch (if any) in one group commit and anchors all
// its records in one AnchorBatch transaction, all or nothing. Anchoring the same batch
// again returns the stored anchor (an interrupted import reruns safely); other records
// under a used batch ID are a conflict. next yields the file parts (io.EOF at once for
// a CID-only batch).
func (s *Service) AnchorBatch(ctx context.Context, p gateway.Principal, in AnchorInput, next NextFile) (*AnchorResult, error) {
	if err := requireRole(p, gateway.RoleDepartment); err != nil {
		return nil, err
	}
	bl := s.ledger
	if err := wire.ValidateID("batchId", in.BatchID); err != nil {
		return nil, wireErr(err)
	}
	n := len(in.Records)
	if n == 0 || n > wire.MaxAnchorBatch {
		return nil, gateway.Errorf(gateway.CodeInvalid, "a batch holds 1 to %d records, got %d", wire.MaxAnchorBatch, n)
	}
	leaves := make([]wire.BatchLeaf, n)
	byFile := map[string]int{}
	types := map[string]bool{}
	for i, it := range in.Records {
		l := wire.BatchLeaf{RecordID: it.RecordID, SubjectID: it.SubjectID, Type: it.Type, MediaType: it.MediaType, CID: it.CID, Size: it.Size}
		if l.RecordID == "" {
			l.RecordID = in.BatchID + "." + strconv.Itoa(i)
		}
		if l.MediaType == "" {
			l.MediaType = DefaultBatchMediaType
		}
		switch {
		case it.File != "" && it.CID != "":
			return nil, gateway.Errorf(gateway.CodeInvalid, "records[%d]: give a file or a cid, not both", i)
		case it.File != "":
			if _, dup := byFile[it.File]; dup {
				return nil, gateway.Errorf(gateway.CodeInvalid, "records[%d]: file %q named twice", i, it.File)
			}
			byFile[it.File] = i
			l.CID = wire.CIDFromSHA256(make([]byte, 32)).String() // placeholder until the file is read
		case it.CID == "":
			return nil, gateway.Errorf(gateway.CodeInvalid, "records[%d]: give a file or a cid", i)
		}
		if err := CheckSubjectID("subjectId", l.SubjectID); err != nil {
			return nil, gateway.Errorf(gateway.ErrorCode(err), "records[%d]: %s", i, gateway.ErrorMessage(err))
		}
		if err := l.Validate(); err != nil {
			return nil, gateway.Errorf(gateway.ErrorCode(wireErr(err)), "records[%d]: %s", i, wire.AsError(err).Message)
		}
		leaves[i] = l
		types[l.Type] = true
	}
	// Accreditation is checked once before any file is stored (the chaincode checks
	// it again, per type, in the transaction).
	if err := s.checkAccredited(ctx, p, types); err != nil {
		return nil, err
	}
	files := s.newRequestFiles()
	defer files.finish()
	err := readBatchFiles(ctx, files, next, byFile, "batch", func(i int, _ string, info BlobInfo) error {
		leaves[i].CID, leaves[i].Size = info.CID, info.Size
		return nil
	})
	if err != nil {
		return nil, err
	}
	enc, err := wire.EncodeBatch(&wire.Batch{BatchID: in.BatchID, Leaves: leaves})
	if err != nil {
		return nil, wireErr(err)
	}
	pend, err := bl.EndorseAnchorBatch(ctx, p.Actor(), enc)
	if err != nil {
		return nil, err
	}
	// Every file is durable before the transaction is submitted. A batch whose
	// transaction then fails keeps its blobs (encrypted, harmless orphans until a rerun
	// anchors them): batch records are not in the chaincode's CID index, so the removal
	// check of a failed append could not see a committed batch that shares a file.
	if err := files.commit(ctx); err != nil {
		return nil, err
	}
	a, receipt, err := pend.Submit(ctx)
	if err != nil {
		return nil, err
	}
	return &AnchorResult{Receipt: receipt, Batch: *a, Channel: bl.MunicipalChannel(), Chaincode: wire.DossierContract,
		Leaves: leaves, Stored: len(byFile)}, nil
}

// GetBatch returns an anchored batch (public: no record data).
func (s *Service) GetBatch(ctx context.Context, p gateway.Principal, batchID string) (*wire.BatchAnchor, error) {
	bl := s.ledger
	if err := wire.ValidateID("batchId", batchID); err != nil {
		return nil, wireErr(err)
	}
	return bl.GetBatch(ctx, s.actorOrPlatform(p), batchID)
}

// VerifyBatchRecord checks a batch record's leaf and inclusion proof against the
// anchored root and returns the record with its status (public, like verification by
// CID: the caller holds the leaf). CodeBadProof if the proof does not lead to the root.
func (s *Service) VerifyBatchRecord(ctx context.Context, p gateway.Principal, proof wire.BatchProof) (*wire.BatchRecord, error) {
	bl := s.ledger
	if err := checkProof(&proof); err != nil {
		return nil, err
	}
	return bl.GetBatchRecord(ctx, s.actorOrPlatform(p), proof)
}

// RevokeBatchRecord (the batch's issuer) revokes one record of a batch, proved by its
// leaf and inclusion proof, with a registered reason code.
func (s *Service) RevokeBatchRecord(ctx context.Context, p gateway.Principal, proof wire.BatchProof, reason string) (*wire.BatchRecord, gateway.Receipt, error) {
	if err := requireRole(p, gateway.RoleDepartment); err != nil {
		return nil, gateway.Receipt{}, err
	}
	bl := s.ledger
	if err := checkProof(&proof); err != nil {
		return nil, gateway.Receipt{}, err
	}
	if err := wire.ValidateCode("reason", reason); err != nil {
		return nil, gateway.Receipt{}, wireErr(err)
	}
	return bl.RevokeBatchRecord(ctx, p.Actor(), proof, reason)
}

// ReadBatchContent is ReadContent for a batch record: the access is committed to the
// subject's access log (RecordBatchAccess: the chaincode checks the proof and the
// grant) before the file is opened.
func (s *Service) ReadBatchContent(ctx context.Context, p gateway.Principal, proof wire.BatchProof, grantID, purpose string) (*Content, error) {
	if err := requireRole(p, gateway.RoleDepartment); err != nil {
		return nil, err
	}
	bl := s.ledger
	if err := checkProof(&proof); err != nil {
		return nil, err
	}
	if err := wire.ValidateID("grantId", grantID); err != nil {
		return nil, wireErr(err)
	}
	if err := wire.ValidateCode("purpose", purpose); err != nil {
		return nil, gateway.Errorf(gateway.CodeInvalid, "purpose must be a registered purpose code: %s", wire.AsError(err).Message)
	}
	// A CID-only batch record's file is kept by the issuer's archive: say so before
	// anything is logged.
	if _, err := s.blobs.Stat(proof.Leaf.CID); err != nil {
		if gateway.ErrorCode(err) == gateway.CodeNotFound {
			return nil, gateway.Errorf(gateway.CodeNotFound, "the file of batch record %s is not in the platform's blob store (anchored by CID only; the issuer's archive keeps it)", proof.Leaf.RecordID)
		}
		return nil, err
	}
	entry, receipt, err := bl.RecordBatchAccess(ctx, p.Actor(), grantID, proof, purpose)
	if err != nil {
		return nil, err
	}
	br, err := bl.GetBatchRecord(ctx, s.cfg.Platform, proof)
	if err != nil {
		return nil, err
	}
	return s.openContent(&br.Record, entry, receipt)
}

func checkProof(p *wire.BatchProof) error {
	if err := wire.ValidateID("batchId", p.BatchID); err != nil {
		return wireErr(err)
	}
	if err := p.Leaf.Validate(); err != nil {
		return wireErr(err)
	}
	if _, err := p.Path(); err != nil {
		return gateway.Errorf(gateway.CodeBadProof, "%s", wire.AsError(err).Message)
	}
	return nil
}

// actorOrPlatform is the caller's identity, or the platform's for public callers.
func (s *Service) actorOrPlatform(p gateway.Principal) gateway.Actor {
	if p.Role == gateway.RoleDepartment {
		return p.Actor()
	}
	return s.cfg.Platform
}

// BatchSupersedeResult is the answer to SupersedeBatchRecord.
type BatchSupersedeResult struct {
	Superseded wire.BatchRecord `json:"superseded"`
	Record     wire.Record      `json:"record"`
	Receipt    gateway.Receipt  `json:"receipt"`
}

// SupersedeBatchRecord (the batch's issuer) replaces one record of a batch, proved by
// its leaf and inclusion proof, with a new single record (its file stored as for an
// append). The batch record gets its sparse status key; the new record links back.
func (s *Service) SupersedeBatchRecord(ctx context.Context, p gateway.Principal, proof wire.BatchProof, in AppendInput) (*BatchSupersedeResult, error) {
	if err := requireRole(p, gateway.RoleDepartment); err != nil {
		return nil, err
	}
	bl := s.ledger
	if err := checkProof(&proof); err != nil {
		return nil, err
	}
	req, err := s.newRequest(p, in)
	if err != nil {
		return nil, err
	}
	// The proof and the issuer are judged before the file is stored.
	br, err := bl.GetBatchRecord(ctx, p.Actor(), proof)
	if err != nil {
		return nil, err
	}
	if br.Record.Issuer != p.MSPID {
		return nil, gateway.Errorf(gateway.CodeForbidden, "batch %s was anchored by %s; only the issuer may change its records", proof.BatchID, br.Record.Issuer)
	}
	files := s.newRequestFiles()
	defer files.finish()
	info, err := files.put(ctx, in.File)
	if err != nil {
		return nil, err
	}
	req.CID, req.Size = info.CID, info.Size
	if req.NoteCID, err = files.putNote(ctx, p, req.RecordID, in.Meta.Note, in.IdempotencyKey != ""); err != nil {
		return nil, err
	}
	if err := files.commit(ctx); err != nil {
		return nil, err
	}
	res, receipt, err := bl.SupersedeBatchRecord(ctx, p.Actor(), proof, req)
	if err != nil {
		return nil, err // the stored file stays (an encrypted orphan), as for a batch
	}
	return &BatchSupersedeResult{Superseded: res.Superseded, Record: res.Record, Receipt: receipt}, nil
}
