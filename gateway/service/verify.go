package service

import (
	"context"
	"io"
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
	Reason       string          `json:"reason,omitempty"`
	ReasonName   string          `json:"reasonName,omitempty"`
	SupersededBy string          `json:"supersededBy,omitempty"`
	Receipt      gateway.Receipt `json:"receipt"`
}

// Verification is the answer to a verify request.
type Verification struct {
	CID      string           `json:"cid"`
	Verified bool             `json:"verified"`
	Status   string           `json:"status"`
	Records  []VerifiedRecord `json:"records"`
	// InDossier is set when the verifier named a subject: whether one of the matching
	// records belongs to that subject's dossier.
	InDossier *bool `json:"inDossier,omitempty"`
}

// VerifyFile hashes an uploaded document (streamed, not stored) and looks it up. With
// kind and idNumber, it also says whether the document is in that subject's dossier.
func (s *Service) VerifyFile(ctx context.Context, r io.Reader, kind, idNumber string) (*Verification, error) {
	subjectID := ""
	if kind != "" || idNumber != "" {
		id, err := s.subjects.SubjectID(kind, idNumber)
		if err != nil {
			return nil, subjectErr(err)
		}
		subjectID = id
	}
	c, _, err := wire.CIDOf(r)
	if err != nil {
		return nil, gateway.Wrap(gateway.CodeInvalid, err, "could not read the uploaded file")
	}
	return s.verify(ctx, c.String(), subjectID)
}

// VerifyCID looks up a content ID.
func (s *Service) VerifyCID(ctx context.Context, cid string) (*Verification, error) {
	if _, err := wire.ParseCID(cid); err != nil {
		return nil, gateway.Errorf(gateway.CodeInvalid, "not a CIDv1 (raw, sha2-256) content ID: %s", wire.AsError(err).Message)
	}
	return s.verify(ctx, cid, "")
}

func (s *Service) verify(ctx context.Context, cid, subjectID string) (*Verification, error) {
	recs, err := s.ledger.FindByCID(ctx, s.cfg.Platform, cid)
	if err != nil && gateway.ErrorCode(err) != gateway.CodeNotFound {
		return nil, err
	}
	v := &Verification{CID: cid, Status: Unknown, Records: []VerifiedRecord{}}
	var typeNames, deptNames, reasonNames map[string]string
	if len(recs) > 0 {
		if typeNames, deptNames, reasonNames, err = s.names(ctx, recs); err != nil {
			return nil, err
		}
	}
	now := s.cfg.Now()
	in := false
	best := 0 // rank of the best status seen
	rank := map[string]int{Unknown: 0, Revoked: 1, Superseded: 2, Expired: 3, Verified: 4}
	for _, r := range recs {
		block, err := s.ledger.TxBlock(ctx, s.cfg.Platform, s.ledger.MunicipalChannel(), r.TxID)
		if err != nil {
			return nil, err
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
		if rank[st] > best {
			best, v.Status = rank[st], st
		}
		v.Records = append(v.Records, VerifiedRecord{
			RecordID: r.RecordID, Type: r.Type, TypeName: typeNames[r.Type], Issuer: r.Issuer, IssuerName: deptNames[r.Issuer],
			IssuedAt: r.IssuedAt, ValidUntil: r.ValidUntil, Status: st, Reason: r.Reason, ReasonName: reasonNames[r.Reason],
			SupersededBy: r.SupersededBy,
			Receipt:      gateway.Receipt{Channel: s.ledger.MunicipalChannel(), TxID: r.TxID, Block: block},
		})
		if subjectID != "" && r.SubjectID == subjectID {
			in = true
		}
	}
	v.Verified = v.Status == Verified
	if subjectID != "" {
		v.InDossier = &in
	}
	return v, nil
}
