package service

import (
	"context"
	"errors"
	"io"
	"net/url"
	"time"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
)

// Verification outcomes.
const (
	Verified   = "verified"   // an active, unexpired record holds this exact file
	Revoked    = "revoked"    // records exist, none active: revoked (or superseded)
	Superseded = "superseded" // the newest matching record was replaced by a newer one
	Expired    = "expired"    // active record whose validUntil has passed
	Unknown    = "not_found"  // no record holds this file
	// NotInDossier answers an ownership check: records hold this file, but none in the
	// named subject's dossier. Such a document does not count as verified for that
	// subject.
	NotInDossier = "not_in_dossier"
)

// VerifiedRecord is what a verifier learns of one matching record: codes and their
// registered names, times and status. Never the subject, never free text (no note).
type VerifiedRecord struct {
	RecordID string `json:"recordId"`
	Type     string `json:"type"`
	// TypeName is the record type's registered name.
	TypeName string `json:"typeName"`
	Issuer   string `json:"issuer"`
	// IssuerName is the issuing department's registered name.
	IssuerName string `json:"issuerName"`
	IssuedAt   string `json:"issuedAt"`
	ValidUntil string `json:"validUntil,omitempty"`
	Status     string `json:"status"`
	// Reason is the revocation reason code, ReasonName its registered name.
	Reason       string `json:"reason,omitempty"`
	ReasonName   string `json:"reasonName,omitempty"`
	SupersededBy string `json:"supersededBy,omitempty"`
	// Receipt is the transaction that appended the record (for a batch record, the
	// AnchorBatch transaction).
	Receipt gateway.Receipt `json:"receipt"`
	// Batch is set for a record of an anchored batch: the batch, the leaf's index and
	// the anchored root.
	Batch *BatchPosition `json:"batch,omitempty"`
	// Proof is the path of the record's proof bundle (GET, with an API key).
	Proof     string `json:"proof"`
	subjectID string // never sent
}

// Verification is the answer to a verify request.
type Verification struct {
	CID      string           `json:"cid"`
	Verified bool             `json:"verified"`
	Status   string           `json:"status"`
	Records  []VerifiedRecord `json:"records"`
	// InDossier is set when the caller named a subject (an ownership check): whether one
	// of the matching records belongs to that subject's dossier. Records and Status then
	// cover that dossier's records only, and Verified is true only for a verified record
	// in it.
	InDossier *bool `json:"inDossier,omitempty"`
	// CheckReceipt is where the ownership check was logged in the subject's access log
	// (channel datashare) before this answer was sent.
	CheckReceipt *gateway.Receipt `json:"checkReceipt,omitempty"`
	// Source says where the records came from: "index" (the event-fed index) or
	// "ledger" (the dossier chaincode's CID query). FreshToBlock, for an index answer,
	// is the last block of channel municipal the index held: the answer is complete up
	// to it.
	Source       string  `json:"source"`
	FreshToBlock *uint64 `json:"freshToBlock,omitempty"`
	// BatchRecordsSearched says whether records of anchored batches were looked for:
	// always from the index; from the ledger only when the gateway has an index that
	// answers (it finds the leaves, the chaincode confirms each). When false the
	// answer covers single records only.
	BatchRecordsSearched bool `json:"batchRecordsSearched"`
}

// VerifyFile hashes an uploaded document (streamed, not stored) and looks it up.
//
// With kind and idNumber it is an ownership check: is the document in that subject's
// dossier? Only departments and verifiers (API keys) may ask (anonymous callers:
// unauthorized; others: forbidden), within the ownership limits (rate_limited with a
// RetryAfter), and every check is committed to the subject's access log (kind
// ownership) before the answer is returned.
//
// Records of anchored batches count too: the chaincode's CID index lacks them, so a
// batch record of the named subject that the lookup finds is proved to the chaincode
// (RecordBatchOwnershipCheck: leaf and inclusion proof from the index's leaves). When
// the index cannot answer (or there is none) the check covers single records only,
// and the answer says so (BatchRecordsSearched false).
func (s *Service) VerifyFile(ctx context.Context, p gateway.Principal, r io.Reader, kind, idNumber string) (*Verification, error) {
	return s.VerifyFileFrom(ctx, p, r, kind, idNumber, SourceAuto)
}

// VerifyFileFrom is VerifyFile looking in the given source (as VerifyCIDFrom).
func (s *Service) VerifyFileFrom(ctx context.Context, p gateway.Principal, r io.Reader, kind, idNumber, source string) (*Verification, error) {
	switch source {
	case SourceAuto, SourceIndex, SourceLedger:
	default:
		return nil, gateway.Errorf(gateway.CodeInvalid, "source must be %q or %q", SourceIndex, SourceLedger)
	}
	if kind == "" && idNumber == "" {
		c, err := hashUpload(r)
		if err != nil {
			return nil, err
		}
		return s.verifyFrom(ctx, c, source)
	}
	if err := requireRole(p, gateway.RoleDepartment, gateway.RoleVerifier); err != nil {
		if gateway.ErrorCode(err) == gateway.CodeUnauthorized {
			return nil, gateway.Errorf(gateway.CodeUnauthorized, "checking whether a document is in a person's dossier needs a department or verifier API key")
		}
		return nil, err
	}
	subjectID, err := s.subjects.SubjectID(kind, idNumber)
	if err != nil {
		return nil, err
	}
	cid, err := hashUpload(r)
	if err != nil {
		return nil, err
	}
	if err := s.limits.allow(p.KeyID, cid, subjectID, s.cfg.Now()); err != nil {
		return nil, err
	}
	v, err := s.verifyFrom(ctx, cid, source)
	if err != nil {
		return nil, err
	}
	checker := ""
	if p.Role == gateway.RoleVerifier {
		checker = p.Verifier
	}
	// A batch record of the named subject (the chaincode's CID index lacks batch
	// records) is proved to the chaincode, which counts it with the single records.
	var batch *BatchPosition
	for _, r := range v.Records {
		if r.Batch != nil && r.subjectID == subjectID && (batch == nil || r.Status == Verified) {
			batch = r.Batch
		}
	}
	var entry *wire.AccessEntry
	var receipt gateway.Receipt
	if batch != nil {
		proof, perr := s.batchProof(ctx, batch)
		if perr != nil {
			return nil, perr
		}
		entry, receipt, err = s.ledger.RecordBatchOwnershipCheck(ctx, p.Actor(), subjectID, cid, checker, *proof)
	} else {
		entry, receipt, err = s.ledger.RecordOwnershipCheck(ctx, p.Actor(), subjectID, cid, checker)
	}
	if err != nil {
		return nil, err
	}
	return v.forSubject(subjectID, entry.Result == wire.OwnershipInDossier, receipt), nil
}

// hashUpload returns the CID of an uploaded file. A read error that already has a code
// (the upload's size limit: too_large, however the body was sent) keeps it; any other
// is invalid.
func hashUpload(r io.Reader) (string, error) {
	c, _, err := wire.CIDOf(r)
	if err != nil {
		var ge *gateway.Error
		if errors.As(err, &ge) {
			return "", err
		}
		return "", gateway.Wrap(gateway.CodeInvalid, err, "could not read the uploaded file")
	}
	return c.String(), nil
}

// VerifyCID looks up a content ID.
func (s *Service) VerifyCID(ctx context.Context, cid string) (*Verification, error) {
	return s.VerifyCIDFrom(ctx, cid, SourceAuto)
}

// statusRank orders the outcomes: the best record decides a verification's status.
var statusRank = map[string]int{Unknown: 0, Revoked: 1, Superseded: 2, Expired: 3, Verified: 4}

func (s *Service) verifyFrom(ctx context.Context, cid, source string) (*Verification, error) {
	searchBatches := true
	if source != SourceLedger {
		// The index cannot answer now (below): the chaincode's answer then covers
		// single records only, without asking (and waiting for) the index again.
		searchBatches = false
		v, ok, err := s.verifyIndexed(ctx, cid)
		switch {
		case ok:
			return v, nil
		case source == SourceIndex && err != nil:
			return nil, gateway.Wrap(gateway.CodeUnavailable, err, "the index did not answer")
		case source == SourceIndex:
			return nil, gateway.Errorf(gateway.CodeUnavailable, "this gateway has no index, or it holds no block yet")
		}
	}
	recs, err := s.ledger.FindByCID(ctx, s.cfg.Platform, cid)
	if err != nil && gateway.ErrorCode(err) != gateway.CodeNotFound {
		return nil, err
	}
	rows := make([]IndexedRecord, len(recs), len(recs)+1)
	for i, r := range recs {
		rows[i] = IndexedRecord{Record: r}
	}
	var searched bool
	if searchBatches {
		var batch []IndexedRecord
		if batch, searched, err = s.ledgerBatchRecords(ctx, cid); err != nil {
			return nil, err
		}
		rows = append(rows, batch...)
	}
	v, err := s.rateRecords(ctx, cid, rows, func(r IndexedRecord) (uint64, error) {
		return s.ledger.TxBlock(ctx, s.cfg.Platform, s.ledger.MunicipalChannel(), r.Record.TxID)
	})
	if err != nil {
		return nil, err
	}
	v.Source, v.BatchRecordsSearched = SourceLedger, searched
	return v, nil
}

// rateRecords turns the records of a CID into a verification; txBlock names the block
// of a record's append (or anchoring) transaction.
func (s *Service) rateRecords(ctx context.Context, cid string, rows []IndexedRecord, txBlock func(r IndexedRecord) (uint64, error)) (*Verification, error) {
	var err error
	v := &Verification{CID: cid, Status: Unknown, Records: []VerifiedRecord{}}
	var typeNames, deptNames, reasonNames map[string]string
	if len(rows) > 0 {
		recs := make([]wire.Record, len(rows))
		for i := range rows {
			recs[i] = rows[i].Record
		}
		if typeNames, deptNames, reasonNames, err = s.names(ctx, recs); err != nil {
			return nil, err
		}
	}
	now := s.cfg.Now()
	for _, row := range rows {
		r := row.Record
		block, err := txBlock(row)
		if err != nil {
			return nil, err
		}
		proof := "/v1/records/" + url.PathEscape(r.RecordID) + "/proof"
		if row.Batch != nil {
			proof += "?batchId=" + url.QueryEscape(row.Batch.BatchID)
		}
		st := r.Status
		switch r.Status {
		case wire.StatusActive:
			st = Verified
			if r.ValidUntil != "" {
				if until, err := time.Parse(time.RFC3339Nano, r.ValidUntil); err == nil && !now.Before(until) {
					st = Expired
				}
			}
		case wire.StatusRevoked:
			st = Revoked
		case wire.StatusSuperseded:
			st = Superseded
		}
		v.Records = append(v.Records, VerifiedRecord{
			RecordID: r.RecordID, Type: r.Type, TypeName: typeNames[r.Type], Issuer: r.Issuer, IssuerName: deptNames[r.Issuer],
			IssuedAt: r.IssuedAt, ValidUntil: r.ValidUntil, Status: st, Reason: r.Reason, ReasonName: reasonNames[r.Reason],
			SupersededBy: r.SupersededBy,
			Receipt:      gateway.Receipt{Channel: s.ledger.MunicipalChannel(), TxID: r.TxID, Block: block},
			Batch:        row.Batch,
			Proof:        proof,
			subjectID:    r.SubjectID,
		})
	}
	v.rate()
	return v, nil
}

// rate sets Status from the best record and Verified from Status.
func (v *Verification) rate() {
	v.Status = Unknown
	for _, r := range v.Records {
		if statusRank[r.Status] > statusRank[v.Status] {
			v.Status = r.Status
		}
	}
	v.Verified = v.Status == Verified
}

// forSubject narrows a verification to one subject's dossier: only its records count,
// and a file recorded only in other dossiers is not_in_dossier, never verified.
// inDossier is the chaincode's own answer (from the committed check).
func (v *Verification) forSubject(subjectID string, inDossier bool, receipt gateway.Receipt) *Verification {
	out := &Verification{CID: v.CID, Records: []VerifiedRecord{}, InDossier: &inDossier, CheckReceipt: &receipt, Source: v.Source, FreshToBlock: v.FreshToBlock,
		BatchRecordsSearched: v.BatchRecordsSearched}
	if inDossier {
		for _, r := range v.Records {
			if r.subjectID == subjectID {
				out.Records = append(out.Records, r)
			}
		}
	}
	out.rate()
	if !inDossier && len(v.Records) > 0 {
		out.Status = NotInDossier
	}
	return out
}
