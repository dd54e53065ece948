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
	// RecordsByCID returns the records holding a content ID, single records and
	// records of anchored batches (Batch set), and the index heights read before them
	// (the answer is complete up to block Height-1 of each channel).
	RecordsByCID(ctx context.Context, cid string) ([]IndexedRecord, IndexHeights, error)
	// BatchRecordsByID returns the batch records with a record ID (unique within a
	// batch only, so possibly several).
	BatchRecordsByID(ctx context.Context, recordID string) ([]IndexedRecord, IndexHeights, error)
	// BatchLeaves returns an anchored batch and its leaves in index order, as the
	// index decoded them from the anchoring transaction (nil when it does not hold
	// the batch).
	BatchLeaves(ctx context.Context, batchID string) (*wire.BatchAnchor, []wire.BatchLeaf, error)
	// GrantsBySubject returns up to limit grants of a subject with IDs after the given
	// one (ordered by grant ID).
	GrantsBySubject(ctx context.Context, subjectID, after string, limit int) ([]wire.GrantState, IndexHeights, error)
	// AccessLog returns up to limit access entries of a subject after the given entry
	// key, newest first, and each entry's key.
	AccessLog(ctx context.Context, subjectID, after string, limit int) ([]wire.AccessEntry, []string, IndexHeights, error)
}

// IndexedRecord is a record from the index with the block of its append transaction
// (for a batch record: of the anchoring transaction).
type IndexedRecord struct {
	Record wire.Record
	Block  uint64
	// Batch is where a record of an anchored batch sits; nil for a single record.
	Batch *BatchPosition
}

// BatchPosition names a record of an anchored batch: the batch, the leaf's index and
// the batch's anchored root (hex).
type BatchPosition struct {
	BatchID string `json:"batchId"`
	Index   uint64 `json:"index"`
	Root    string `json:"root"`
}

// IndexHeights counts the blocks of each channel the index holds.
type IndexHeights struct {
	Municipal, Datashare uint64
}

// Prover builds the proof bundle of a record read from the ledger (gateway/proof).
type Prover interface {
	Build(ctx context.Context, rec wire.Record) (*gateway.ProofBundle, error)
	// BuildBatch builds the bundle of a batch record as the chaincode confirmed it
	// (GetBatchRecord) with the leaf and inclusion proof that prove it.
	BuildBatch(ctx context.Context, br wire.BatchRecord, proof wire.BatchProof) (*gateway.ProofBundle, error)
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
	v, err := s.rateRecords(ctx, cid, rows, func(r IndexedRecord) (uint64, error) { return r.Block, nil })
	if err != nil {
		return nil, false, err
	}
	fresh := h.Municipal - 1
	v.Source, v.FreshToBlock, v.BatchRecordsSearched = SourceIndex, &fresh, true
	return v, true, nil
}

// batchProof builds the inclusion proof of a batch record from the index's leaves of
// its batch. The index is a cache: whatever it holds, the chaincode (GetBatchRecord)
// or an offline verifier checks the proof against the anchored root.
func (s *Service) batchProof(ctx context.Context, pos *BatchPosition) (*wire.BatchProof, error) {
	a, leaves, err := s.index.BatchLeaves(ctx, pos.BatchID)
	if err != nil {
		return nil, gateway.Wrap(gateway.CodeUnavailable, err, "the index did not answer")
	}
	if a == nil || pos.Index >= uint64(len(leaves)) {
		return nil, gateway.Errorf(gateway.CodeUnavailable, "the index does not hold batch %s", pos.BatchID)
	}
	tree, err := wire.NewBatchTree(wire.BatchContext{Channel: s.ledger.MunicipalChannel(), Chaincode: wire.DossierContract, BatchID: a.BatchID, Issuer: a.Issuer}, leaves)
	if err != nil {
		return nil, wireErr(err)
	}
	path, err := tree.InclusionProof(pos.Index)
	if err != nil {
		return nil, wireErr(err)
	}
	return &wire.BatchProof{BatchID: a.BatchID, Index: pos.Index, Leaf: leaves[pos.Index], Proof: wire.HexPath(path)}, nil
}

// ledgerBatchRecords is the ledger path's view of a CID's batch records: the index
// finds the leaves, the gateway builds each one's inclusion proof from the index's
// leaves of its batch, and the chaincode's GetBatchRecord confirms it against the
// anchored root and gives its authoritative status. searched is false when there is
// no index to find leaves with (or it cannot answer): the answer then covers single
// records only.
func (s *Service) ledgerBatchRecords(ctx context.Context, cid string) (out []IndexedRecord, searched bool, err error) {
	if s.index == nil {
		return nil, false, nil
	}
	rows, h, err := s.index.RecordsByCID(ctx, cid)
	if err != nil || h.Municipal == 0 {
		return nil, false, nil
	}
	for _, r := range rows {
		if r.Batch == nil {
			continue
		}
		p, err := s.batchProof(ctx, r.Batch)
		if err != nil {
			return nil, false, err
		}
		br, err := s.ledger.GetBatchRecord(ctx, s.cfg.Platform, *p)
		if err != nil {
			return nil, false, err
		}
		out = append(out, IndexedRecord{Record: br.Record, Batch: &BatchPosition{BatchID: br.BatchID, Index: br.Index, Root: br.Root}})
	}
	return out, true, nil
}

// RecordProof returns the proof bundle of a record: for departments, verifier
// organisations and the operator (API keys). The bundle carries whole blocks (Fabric's
// data hash covers all of a block's transactions), i.e. the pseudonymous metadata of
// the other records ordered in the same blocks, which every member organisation's
// peer holds anyway; so it is not for anonymous callers.
func (s *Service) RecordProof(ctx context.Context, p gateway.Principal, recordID string) (*gateway.ProofBundle, error) {
	return s.RecordProofIn(ctx, p, recordID, "")
}

// RecordProofIn is RecordProof for a record that may be a batch record: a single
// record of that ID (when batchID is empty), else the batch record of that ID the
// index finds (in batch batchID if given; conflict when the ID is in several batches
// and none is named), with its leaf and inclusion proof (from the index's leaves)
// confirmed by the chaincode (GetBatchRecord) before the bundle is built.
func (s *Service) RecordProofIn(ctx context.Context, p gateway.Principal, recordID, batchID string) (*gateway.ProofBundle, error) {
	if err := requireRole(p, gateway.RoleDepartment, gateway.RoleVerifier, gateway.RoleOperator); err != nil {
		return nil, err
	}
	if s.prover == nil {
		return nil, gateway.Errorf(gateway.CodeUnavailable, "this gateway does not build proofs")
	}
	if err := wire.ValidateID("recordId", recordID); err != nil {
		return nil, wireErr(err)
	}
	if batchID != "" {
		if err := wire.ValidateID("batchId", batchID); err != nil {
			return nil, wireErr(err)
		}
	} else {
		rec, err := s.ledger.GetRecord(ctx, s.cfg.Platform, recordID)
		if err == nil {
			return s.prover.Build(ctx, *rec)
		}
		if gateway.ErrorCode(err) != gateway.CodeNotFound || s.index == nil {
			return nil, err
		}
	}
	if s.index == nil {
		return nil, gateway.Errorf(gateway.CodeUnavailable, "this gateway has no index to find batch records in")
	}
	rows, _, err := s.index.BatchRecordsByID(ctx, recordID)
	if err != nil {
		return nil, gateway.Wrap(gateway.CodeUnavailable, err, "the index did not answer")
	}
	var found []IndexedRecord
	for _, r := range rows {
		if r.Batch != nil && (batchID == "" || r.Batch.BatchID == batchID) {
			found = append(found, r)
		}
	}
	switch {
	case len(found) == 0:
		return nil, gateway.Errorf(gateway.CodeNotFound, "record %s not found", recordID)
	case len(found) > 1:
		return nil, gateway.Errorf(gateway.CodeConflict, "record ID %s is in %d batches: name one with batchId", recordID, len(found))
	}
	proof, err := s.batchProof(ctx, found[0].Batch)
	if err != nil {
		return nil, err
	}
	br, err := s.ledger.GetBatchRecord(ctx, s.cfg.Platform, *proof)
	if err != nil {
		return nil, err
	}
	return s.prover.BuildBatch(ctx, *br, *proof)
}

// IndexedGrantPage is a page of a subject's grants answered from the index, with the
// last block of channel datashare the index held (complete up to it).
type IndexedGrantPage struct {
	Grants       []wire.GrantState `json:"grants"`
	Bookmark     string            `json:"bookmark"`
	Source       string            `json:"source"`
	FreshToBlock uint64            `json:"freshToBlock"`
}

// IndexedAccessPage is a page of a subject's access log answered from the index.
type IndexedAccessPage struct {
	Entries      []wire.AccessEntry `json:"entries"`
	Bookmark     string             `json:"bookmark"`
	Source       string             `json:"source"`
	FreshToBlock uint64             `json:"freshToBlock"`
}

// indexPage checks a page request answered from the index and opens its bookmark (an
// index key sealed for this caller and query): the same callers as the ledger's
// pages (canReadSubject), unavailable without an index.
func (s *Service) indexPage(ctx context.Context, p gateway.Principal, subjectID string, pageSize int, bookmark, what string) (after string, size int, err error) {
	if err := s.canReadSubject(ctx, p, subjectID); err != nil {
		return "", 0, err
	}
	if pageSize < 0 || pageSize > wire.MaxPageSize || len(bookmark) > MaxBookmarkLen {
		return "", 0, gateway.Errorf(gateway.CodeInvalid, "pageSize must be within 0..%d", wire.MaxPageSize)
	}
	if s.index == nil {
		return "", 0, gateway.Errorf(gateway.CodeUnavailable, "this gateway has no index")
	}
	if after, err = s.marks.open(p, bookmark, what, subjectID); err != nil {
		return "", 0, err
	}
	if pageSize == 0 {
		pageSize = wire.DefaultPageSize
	}
	return after, pageSize, nil
}

// indexFresh is the last datashare block an index answer is complete up to;
// unavailable when the index holds none.
func indexFresh(h IndexHeights, err error) (uint64, error) {
	if err != nil {
		return 0, gateway.Wrap(gateway.CodeUnavailable, err, "the index did not answer")
	}
	if h.Datashare == 0 {
		return 0, gateway.Errorf(gateway.CodeUnavailable, "the index holds no block of the data-sharing channel yet")
	}
	return h.Datashare - 1, nil
}

// ListGrantsIndexed is ListGrants answered from the event-fed index (source=index):
// the same callers, pages by grant ID, and the block the answer is fresh to.
func (s *Service) ListGrantsIndexed(ctx context.Context, p gateway.Principal, subjectID string, pageSize int, bookmark string) (*IndexedGrantPage, error) {
	after, size, err := s.indexPage(ctx, p, subjectID, pageSize, bookmark, "grants-index")
	if err != nil {
		return nil, err
	}
	gs, h, err := s.index.GrantsBySubject(ctx, subjectID, after, size)
	fresh, err := indexFresh(h, err)
	if err != nil {
		return nil, err
	}
	out := &IndexedGrantPage{Grants: gs, Source: SourceIndex, FreshToBlock: fresh}
	if out.Grants == nil {
		out.Grants = []wire.GrantState{}
	}
	if len(gs) == size {
		out.Bookmark = s.marks.seal(p, gs[len(gs)-1].GrantID, "grants-index", subjectID)
	}
	return out, nil
}

// AccessLogIndexed is AccessLog answered from the event-fed index (source=index):
// the same callers, newest first, and the block the answer is fresh to.
func (s *Service) AccessLogIndexed(ctx context.Context, p gateway.Principal, subjectID string, pageSize int, bookmark string) (*IndexedAccessPage, error) {
	after, size, err := s.indexPage(ctx, p, subjectID, pageSize, bookmark, "access-log-index")
	if err != nil {
		return nil, err
	}
	es, keys, h, err := s.index.AccessLog(ctx, subjectID, after, size)
	fresh, err := indexFresh(h, err)
	if err != nil {
		return nil, err
	}
	out := &IndexedAccessPage{Entries: es, Source: SourceIndex, FreshToBlock: fresh}
	if out.Entries == nil {
		out.Entries = []wire.AccessEntry{}
	}
	if len(es) == size {
		out.Bookmark = s.marks.seal(p, keys[len(keys)-1], "access-log-index", subjectID)
	}
	return out, nil
}
