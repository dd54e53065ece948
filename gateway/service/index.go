package service

import (
	"context"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
)

// Index is the event-fed read model of the ledger (gateway/index, wired in cmd): the
// gateway follows both channels' blocks into it. It is a cache that anyone can
// rebuild from the ledger; every answer says which blocks it is complete up to.
type Index interface {
	// RecordsByCID returns the records holding a content ID and the index heights
	// read before them (the answer is complete up to block Height-1 of each channel).
	RecordsByCID(ctx context.Context, cid string) ([]IndexedRecord, IndexHeights, error)
}

// IndexedRecord is a record from the index with the block of its append transaction.
type IndexedRecord struct {
	Record wire.Record
	Block  uint64
}

// IndexHeights counts the blocks of each channel the index holds.
type IndexHeights struct {
	Municipal, Datashare uint64
}

// Prover builds the proof bundle of a record read from the ledger (gateway/proof).
type Prover interface {
	Build(ctx context.Context, rec wire.Record) (*gateway.ProofBundle, error)
}

// Verification sources: where VerifyCIDFrom looks.
const (
	// SourceAuto answers from the index when there is one and it holds blocks, and
	// from the chaincode query otherwise (or when the index fails).
	SourceAuto   = ""
	SourceIndex  = "index"
	SourceLedger = "ledger"
)

// UseIndex makes verification by CID read the index (nil: the chaincode query).
func (s *Service) UseIndex(ix Index) { s.index = ix }

// UseProver enables RecordProof.
func (s *Service) UseProver(p Prover) { s.prover = p }

// VerifyCIDFrom looks up a content ID in the given source (SourceAuto, SourceIndex,
// SourceLedger; anything else is invalid). SourceIndex without an index, or an index
// that fails, is unavailable.
func (s *Service) VerifyCIDFrom(ctx context.Context, cid, source string) (*Verification, error) {
	switch source {
	case SourceAuto, SourceIndex, SourceLedger:
	default:
		return nil, gateway.Errorf(gateway.CodeInvalid, "source must be %q or %q", SourceIndex, SourceLedger)
	}
	if _, err := wire.ParseCID(cid); err != nil {
		return nil, gateway.Errorf(gateway.CodeInvalid, "not a CIDv1 (raw, sha2-256) content ID: %s", wire.AsError(err).Message)
	}
	return s.verifyFrom(ctx, cid, source)
}

// verifyIndexed answers a verification from the index; ok false when the index
// cannot answer (none, not yet holding any block, or failing).
func (s *Service) verifyIndexed(ctx context.Context, cid string) (*Verification, bool, error) {
	if s.index == nil {
		return nil, false, nil
	}
	rows, h, err := s.index.RecordsByCID(ctx, cid)
	if err != nil {
		return nil, false, err
	}
	if h.Municipal == 0 {
		return nil, false, nil
	}
	recs := make([]wire.Record, len(rows))
	blocks := make(map[string]uint64, len(rows))
	for i, r := range rows {
		recs[i] = r.Record
		blocks[r.Record.TxID] = r.Block
	}
	v, err := s.rateRecords(ctx, cid, recs, func(txID string) (uint64, error) { return blocks[txID], nil })
	if err != nil {
		return nil, false, err
	}
	fresh := h.Municipal - 1
	v.Source, v.FreshToBlock = SourceIndex, &fresh
	return v, true, nil
}

// RecordProof returns the proof bundle of a record: for departments, verifier
// organisations and the operator (API keys). The bundle carries whole blocks (Fabric's
// data hash covers all of a block's transactions), i.e. the pseudonymous metadata of
// the other records ordered in the same blocks, which every member organisation's
// peer holds anyway; so it is not for anonymous callers.
func (s *Service) RecordProof(ctx context.Context, p gateway.Principal, recordID string) (*gateway.ProofBundle, error) {
	if err := requireRole(p, gateway.RoleDepartment, gateway.RoleVerifier, gateway.RoleOperator); err != nil {
		return nil, err
	}
	if s.prover == nil {
		return nil, gateway.Errorf(gateway.CodeUnavailable, "this gateway does not build proofs")
	}
	if err := wire.ValidateID("recordId", recordID); err != nil {
		return nil, wireErr(err)
	}
	rec, err := s.ledger.GetRecord(ctx, s.cfg.Platform, recordID)
	if err != nil {
		return nil, err
	}
	return s.prover.Build(ctx, *rec)
}
