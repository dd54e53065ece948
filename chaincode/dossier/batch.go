package dossier

import (
	"encoding/hex"
	"strconv"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/edossier-city/edossier/chaincode/internal/ccutil"
	"github.com/edossier-city/edossier/chaincode/wire"
)

// Batch anchoring (legacy loads): one transaction anchors up to
// wire.MaxAnchorBatch records whose compact leaves travel in its argument; the
// ledger state gets one key per batch, and one sparse key per batch record
// that is later revoked or superseded. See docs/batches.md.

// batchContext is the context every leaf of a batch anchored by issuer on
// this channel is hashed in. Called across channels the stub still names this
// chaincode's channel.
func batchContext(tx *txInfo, batchID, issuer string) wire.BatchContext {
	return wire.BatchContext{Channel: tx.stub.GetChannelID(), Chaincode: wire.DossierContract, BatchID: batchID, Issuer: issuer}
}

func batchKey(id string) string { return ccutil.MustKey(objBatch, id) }
func batchStatusKey(id string, index uint64) string {
	return ccutil.MustKey(objBatchStatus, id, strconv.FormatUint(index, 10))
}

// AnchorBatch anchors one batch of records from its compact, binary encoding
// (wire.EncodeBatch): every leaf is validated (invalid), the creator must be
// an active department accredited for every record type of the batch
// (forbidden; the rule of AppendRecords), the RFC 6962 root of the leaves,
// hashed in their context (channel, contract, batch ID, index, issuer), is
// recomputed, and one key ("batch", batchId) is written with the root, size,
// issuer, transaction time and ID, under a key-level endorsement policy of
// the issuer. Anchoring the same batch again (same ID, root and issuer)
// returns the stored anchor and writes nothing; another batch under a used ID
// is a conflict. Emits BatchAnchored.
func (c *Contract) AnchorBatch(ctx contractapi.TransactionContextInterface, batch string) (_ *wire.BatchAnchor, err error) {
	defer ccutil.Guard(&err)
	b, err := wire.DecodeBatch([]byte(batch))
	if err != nil {
		return nil, err
	}
	tx, err := c.begin(ctx)
	if err != nil {
		return nil, err
	}
	var types []string
	seen := map[string]bool{}
	for i := range b.Leaves {
		if t := b.Leaves[i].Type; !seen[t] {
			seen[t] = true
			types = append(types, t)
		}
	}
	keys := make([]string, 0, 2+len(types))
	keys = append(keys, deptKey(tx.issuer))
	for _, t := range types {
		keys = append(keys, accrKey(tx.issuer, t))
	}
	keys = append(keys, batchKey(b.BatchID))
	vals, err := tx.stub.GetMultipleStates(keys...)
	if err != nil {
		return nil, ccutil.Internal("reading state", err)
	}
	if len(vals) != len(keys) {
		return nil, wire.Errorf(wire.CodeInternal, "short multi-key read")
	}
	if err := checkIssuer(tx.issuer, vals[0], types, vals[1:1+len(types)]); err != nil {
		return nil, err
	}
	root, err := b.Root(batchContext(tx, b.BatchID, tx.issuer))
	if err != nil {
		return nil, err
	}
	want := wire.BatchAnchor{
		BatchID: b.BatchID, Root: hex.EncodeToString(root), Size: uint64(len(b.Leaves)),
		Issuer: tx.issuer, AnchoredAt: tx.now, TxID: tx.txID,
	}
	if have := vals[len(vals)-1]; len(have) > 0 {
		var a wire.BatchAnchor
		if err := ccutil.Unmarshal(have, &a); err != nil {
			return nil, err
		}
		if a.Root == want.Root && a.Size == want.Size && a.Issuer == want.Issuer {
			return &a, nil
		}
		return nil, wire.Errorf(wire.CodeConflict, "batch %s is already anchored with other records", b.BatchID)
	}
	key := batchKey(b.BatchID)
	if err := ccutil.PutJSON(tx.stub, key, want); err != nil {
		return nil, err
	}
	pc := ccutil.PolicyCache{Role: c.role}
	if err := pc.SetFor(tx.stub, key, tx.issuer); err != nil {
		return nil, err
	}
	ev := wire.BatchAnchoredEvent{BatchID: want.BatchID, Root: want.Root, Size: want.Size, Issuer: want.Issuer, AnchoredAt: want.AnchoredAt, TxID: want.TxID}
	if err := ccutil.SetEvent(tx.stub, wire.EventBatchAnchored, ev); err != nil {
		return nil, err
	}
	return &want, nil
}

// GetBatch returns an anchored batch (root, size, issuer, time, transaction);
// not_found if none. Open to every caller: it holds no record data.
func (c *Contract) GetBatch(ctx contractapi.TransactionContextInterface, batchID string) (_ *wire.BatchAnchor, err error) {
	defer ccutil.Guard(&err)
	if err := wire.ValidateID("batchId", batchID); err != nil {
		return nil, err
	}
	return ccutil.Load[wire.BatchAnchor](ctx.GetStub(), batchKey(batchID), wire.CodeNotFound, "batch %s is not anchored", batchID)
}

// provenBatchRecord decodes a wire.BatchProof document, reads the batch and
// the record's sparse status key in one multi-key read (plus extra keys,
// whose values it returns), and checks the leaf and its inclusion proof
// against the anchored root: bad_proof if they do not lead to it, not_found
// if the batch is not anchored.
func provenBatchRecord(tx *txInfo, proofDoc string, extra ...string) (*wire.BatchProof, *wire.BatchAnchor, *wire.BatchRecordStatus, [][]byte, error) {
	p, err := wire.DecodeBatchProof([]byte(proofDoc))
	if err != nil {
		return nil, nil, nil, nil, err
	}
	path, err := p.Path()
	if err != nil {
		return nil, nil, nil, nil, err
	}
	keys := append([]string{batchKey(p.BatchID), batchStatusKey(p.BatchID, p.Index)}, extra...)
	vals, err := tx.stub.GetMultipleStates(keys...)
	if err != nil {
		return nil, nil, nil, nil, ccutil.Internal("reading state", err)
	}
	if len(vals) != len(keys) {
		return nil, nil, nil, nil, wire.Errorf(wire.CodeInternal, "short multi-key read")
	}
	if len(vals[0]) == 0 {
		return nil, nil, nil, nil, wire.Errorf(wire.CodeNotFound, "batch %s is not anchored", p.BatchID)
	}
	var a wire.BatchAnchor
	if err := ccutil.Unmarshal(vals[0], &a); err != nil {
		return nil, nil, nil, nil, err
	}
	if err := wire.VerifyBatchLeaf(batchContext(tx, a.BatchID, a.Issuer), p.Index, a.Size, &p.Leaf, path, a.RootBytes()); err != nil {
		return nil, nil, nil, nil, err
	}
	var st *wire.BatchRecordStatus
	if len(vals[1]) > 0 {
		st = &wire.BatchRecordStatus{}
		if err := ccutil.Unmarshal(vals[1], st); err != nil {
			return nil, nil, nil, nil, err
		}
	}
	return p, &a, st, vals[2:], nil
}

func batchRecordOf(p *wire.BatchProof, a *wire.BatchAnchor, st *wire.BatchRecordStatus) *wire.BatchRecord {
	return &wire.BatchRecord{Record: a.RecordOf(&p.Leaf, st), BatchID: a.BatchID, Index: p.Index, Root: a.Root}
}

// GetBatchRecord verifies a record of an anchored batch from its
// wire.BatchProof document (leaf and inclusion proof) and returns it with its
// current status: bad_proof if the proof does not lead to the batch's root,
// not_found if the batch is not anchored. Open to every caller (who holds the
// leaf knows what it says); the sharing contract calls it across channels.
func (c *Contract) GetBatchRecord(ctx contractapi.TransactionContextInterface, proof string) (_ *wire.BatchRecord, err error) {
	defer ccutil.Guard(&err)
	tx, err := c.begin(ctx)
	if err != nil {
		return nil, err
	}
	p, a, st, _, err := provenBatchRecord(tx, proof)
	if err != nil {
		return nil, err
	}
	return batchRecordOf(p, a, st), nil
}

// ownBatchRecord is provenBatchRecord plus: the creator issued the batch
// (forbidden otherwise).
func ownBatchRecord(tx *txInfo, proof string, extra ...string) (*wire.BatchProof, *wire.BatchAnchor, *wire.BatchRecordStatus, [][]byte, error) {
	p, a, st, vals, err := provenBatchRecord(tx, proof, extra...)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	if a.Issuer != tx.issuer {
		return nil, nil, nil, nil, wire.Errorf(wire.CodeForbidden, "batch %s was anchored by %s; only the issuer may change its records", a.BatchID, a.Issuer)
	}
	return p, a, st, vals, nil
}

// putBatchStatus writes a batch record's sparse status key with the issuer's
// key-level endorsement policy and emits BatchRecordChanged. It also writes the batch
// key again, unchanged: a new status key falls under the chaincode's endorsement
// policy only, while the batch key's own policy (the issuer) then applies to the whole
// transaction, so no set of other organisations can revoke or supersede a batch record
// without the issuer's peer, as with single records.
func (c *Contract) putBatchStatus(tx *txInfo, pc *ccutil.PolicyCache, a *wire.BatchAnchor, p *wire.BatchProof, st *wire.BatchRecordStatus, newRec *wire.RecordRef) error {
	if err := ccutil.PutJSON(tx.stub, batchKey(a.BatchID), a); err != nil {
		return err
	}
	key := batchStatusKey(p.BatchID, p.Index)
	if err := ccutil.PutJSON(tx.stub, key, st); err != nil {
		return err
	}
	if err := pc.SetFor(tx.stub, key, tx.issuer); err != nil {
		return err
	}
	ev := wire.BatchRecordChangedEvent{
		BatchID: p.BatchID, Index: p.Index, RecordID: p.Leaf.RecordID, SubjectID: p.Leaf.SubjectID, Issuer: tx.issuer,
		Status: st.Status, Reason: st.Reason, SupersededBy: st.SupersededBy, Time: tx.now, TxID: tx.txID,
	}
	if newRec != nil {
		ev.NewRecord = *newRec
	}
	return ccutil.SetEvent(tx.stub, wire.EventBatchRecordChanged, ev)
}

// RevokeBatchRecord (the batch's issuer only) withdraws an active record of an
// anchored batch, proved by its wire.BatchProof, with a registered reason code
// (invalid otherwise). It writes the record's sparse status key only.
// Repeating the same revocation returns the record unchanged; a record that is
// superseded or revoked with another reason is a conflict.
func (c *Contract) RevokeBatchRecord(ctx contractapi.TransactionContextInterface, proof, reason string) (_ *wire.BatchRecord, err error) {
	defer ccutil.Guard(&err)
	if err := wire.ValidateCode("reason", reason); err != nil {
		return nil, err
	}
	tx, err := c.begin(ctx)
	if err != nil {
		return nil, err
	}
	p, a, st, vals, err := ownBatchRecord(tx, proof, reasonKey(reason))
	if err != nil {
		return nil, err
	}
	if len(vals[0]) == 0 {
		return nil, wire.Errorf(wire.CodeInvalid, "reason %s is not a registered revocation reason", reason)
	}
	if st != nil {
		if st.Status == wire.StatusRevoked && st.Reason == reason {
			return batchRecordOf(p, a, st), nil
		}
		return nil, wire.Errorf(wire.CodeConflict, "record %s is %s", p.Leaf.RecordID, st.Status)
	}
	st = &wire.BatchRecordStatus{BatchID: a.BatchID, Index: p.Index, RecordID: p.Leaf.RecordID,
		Status: wire.StatusRevoked, Reason: reason, StatusChangedAt: tx.now, StatusTxID: tx.txID}
	pc := ccutil.PolicyCache{Role: c.role}
	if err := c.putBatchStatus(tx, &pc, a, p, st, nil); err != nil {
		return nil, err
	}
	return batchRecordOf(p, a, st), nil
}

// SupersedeBatchRecord (the batch's issuer only) marks an active record of an
// anchored batch, proved by its wire.BatchProof, superseded and appends its
// replacement as a single record from an AppendRequest (same subject; the
// creator must be active and accredited for the new type), linked both ways:
// the new record's supersedes names the batch record's ID. Repeating the same
// call returns the same result and writes nothing.
func (c *Contract) SupersedeBatchRecord(ctx contractapi.TransactionContextInterface, proof, request string) (_ *wire.BatchSupersedeResult, err error) {
	defer ccutil.Guard(&err)
	req, err := wire.DecodeAppendRequest([]byte(request))
	if err != nil {
		return nil, err
	}
	tx, err := c.begin(ctx)
	if err != nil {
		return nil, err
	}
	p, a, st, vals, err := ownBatchRecord(tx, proof, deptKey(tx.issuer), accrKey(tx.issuer, req.Type), recordKey(req.RecordID))
	if err != nil {
		return nil, err
	}
	if req.RecordID == p.Leaf.RecordID {
		return nil, wire.Errorf(wire.CodeInvalid, "the new record needs a new recordId")
	}
	if err := checkIssuer(tx.issuer, vals[0], []string{req.Type}, vals[1:2]); err != nil {
		return nil, err
	}
	if req.SubjectID != p.Leaf.SubjectID {
		return nil, wire.Errorf(wire.CodeInvalid, "the new record must have the same subject as %s", p.Leaf.RecordID)
	}
	if len(vals[2]) > 0 {
		var have wire.Record
		if err := ccutil.Unmarshal(vals[2], &have); err != nil {
			return nil, err
		}
		if st != nil && st.Status == wire.StatusSuperseded && st.SupersededBy == req.RecordID &&
			have.Supersedes == p.Leaf.RecordID && have.SameRequest(&req, tx.issuer) {
			return &wire.BatchSupersedeResult{Superseded: *batchRecordOf(p, a, st), Record: have}, nil
		}
		return nil, wire.Errorf(wire.CodeConflict, "record %s already exists", req.RecordID)
	}
	if st != nil {
		return nil, wire.Errorf(wire.CodeConflict, "record %s is %s", p.Leaf.RecordID, st.Status)
	}
	tx.stub.StartWriteBatch()
	newRec := newRecord(tx, &req, p.Leaf.RecordID)
	pc := ccutil.PolicyCache{Role: c.role}
	if err := writeNewRecord(tx, &pc, &newRec); err != nil {
		return nil, err
	}
	st = &wire.BatchRecordStatus{BatchID: a.BatchID, Index: p.Index, RecordID: p.Leaf.RecordID,
		Status: wire.StatusSuperseded, SupersededBy: req.RecordID, StatusChangedAt: tx.now, StatusTxID: tx.txID}
	r := ref(&newRec)
	if err := c.putBatchStatus(tx, &pc, a, p, st, &r); err != nil {
		return nil, err
	}
	if err := tx.stub.FinishWriteBatch(); err != nil {
		return nil, ccutil.Internal("writing state", err)
	}
	return &wire.BatchSupersedeResult{Superseded: *batchRecordOf(p, a, st), Record: newRec}, nil
}
