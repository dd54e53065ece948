package dossier

import (
	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/edossier-city/edossier/chaincode/internal/ccutil"
	"github.com/edossier-city/edossier/chaincode/wire"
)

// txInfo is what every write transaction needs from the stub once.
type txInfo struct {
	stub   shim.ChaincodeStubInterface
	issuer string
	now    string
	txID   string
}

func (c *Contract) begin(ctx contractapi.TransactionContextInterface) (*txInfo, error) {
	issuer, err := ccutil.CreatorMSP(ctx)
	if err != nil {
		return nil, err
	}
	_, now, err := ccutil.TxTime(ctx)
	if err != nil {
		return nil, err
	}
	stub := ctx.GetStub()
	return &txInfo{stub: stub, issuer: issuer, now: now, txID: stub.GetTxID()}, nil
}

// checkIssuer verifies, from values read with GetMultipleStates, that the
// creator is an active department accredited for every given type.
func checkIssuer(issuer string, deptVal []byte, types []string, accrVals [][]byte) error {
	if len(deptVal) == 0 {
		return wire.Errorf(wire.CodeForbidden, "%s is not a registered department", issuer)
	}
	var d wire.Department
	if err := ccutil.Unmarshal(deptVal, &d); err != nil {
		return err
	}
	if !d.Active {
		return wire.Errorf(wire.CodeForbidden, "department %s is not active", issuer)
	}
	for i, t := range types {
		if len(accrVals[i]) == 0 {
			return wire.Errorf(wire.CodeForbidden, "%s is not accredited for record type %s", issuer, t)
		}
		var a wire.Accreditation
		if err := ccutil.Unmarshal(accrVals[i], &a); err != nil {
			return err
		}
		if !a.Active {
			return wire.Errorf(wire.CodeForbidden, "%s is not accredited for record type %s", issuer, t)
		}
	}
	return nil
}

func newRecord(tx *txInfo, req *wire.AppendRequest, supersedes string) wire.Record {
	return wire.Record{
		RecordID:   req.RecordID,
		SubjectID:  req.SubjectID,
		Type:       req.Type,
		CID:        req.CID,
		Size:       req.Size,
		MediaType:  req.MediaType,
		NoteCID:    req.NoteCID,
		Issuer:     tx.issuer,
		IssuedAt:   tx.now,
		ValidUntil: req.ValidUntil,
		Status:     wire.StatusActive,
		Supersedes: supersedes,
		TxID:       tx.txID,
	}
}

// writeNewRecord writes a new record, its two index entries and its
// key-level endorsement policy (one endorsement by the issuer).
func writeNewRecord(tx *txInfo, pc *ccutil.PolicyCache, rec *wire.Record) error {
	key := recordKey(rec.RecordID)
	if err := ccutil.PutJSON(tx.stub, key, rec); err != nil {
		return err
	}
	if err := tx.stub.PutState(cidIndexKey(rec.CID, rec.RecordID), ccutil.IndexValue); err != nil {
		return ccutil.Internal("writing CID index", err)
	}
	if err := tx.stub.PutState(subjIndexKey(rec.SubjectID, rec.Type, rec.RecordID), ccutil.IndexValue); err != nil {
		return ccutil.Internal("writing subject index", err)
	}
	return pc.SetFor(tx.stub, key, rec.Issuer)
}

func ref(r *wire.Record) wire.RecordRef {
	return wire.RecordRef{RecordID: r.RecordID, SubjectID: r.SubjectID, Type: r.Type, CID: r.CID}
}

// appendAll appends reqs (already validated, record IDs distinct) all or
// nothing. It returns the records in request order and, for each, whether
// this transaction created it.
func (c *Contract) appendAll(ctx contractapi.TransactionContextInterface, reqs []wire.AppendRequest) (*txInfo, []wire.Record, []bool, error) {
	tx, err := c.begin(ctx)
	if err != nil {
		return nil, nil, nil, err
	}
	// One multi-key read: department, accreditation per distinct type,
	// then every record key.
	var types []string
	seenType := map[string]bool{}
	for i := range reqs {
		if !seenType[reqs[i].Type] {
			seenType[reqs[i].Type] = true
			types = append(types, reqs[i].Type)
		}
	}
	keys := make([]string, 0, 1+len(types)+len(reqs))
	keys = append(keys, deptKey(tx.issuer))
	for _, t := range types {
		keys = append(keys, accrKey(tx.issuer, t))
	}
	for i := range reqs {
		keys = append(keys, recordKey(reqs[i].RecordID))
	}
	vals, err := tx.stub.GetMultipleStates(keys...)
	if err != nil {
		return nil, nil, nil, ccutil.Internal("reading state", err)
	}
	if len(vals) != len(keys) {
		return nil, nil, nil, wire.Errorf(wire.CodeInternal, "short multi-key read")
	}
	if err := checkIssuer(tx.issuer, vals[0], types, vals[1:1+len(types)]); err != nil {
		return nil, nil, nil, err
	}
	existing := vals[1+len(types):]

	out := make([]wire.Record, len(reqs))
	created := make([]bool, len(reqs))
	n := 0
	for i := range reqs {
		if len(existing[i]) > 0 {
			var have wire.Record
			if err := ccutil.Unmarshal(existing[i], &have); err != nil {
				return nil, nil, nil, err
			}
			if !have.SameRequest(&reqs[i], tx.issuer) {
				return nil, nil, nil, wire.Errorf(wire.CodeConflict, "record %s already exists with different content", reqs[i].RecordID)
			}
			out[i] = have
			continue
		}
		out[i] = newRecord(tx, &reqs[i], "")
		created[i] = true
		n++
	}
	if n == 0 {
		return tx, out, created, nil
	}
	tx.stub.StartWriteBatch()
	pc := ccutil.PolicyCache{Role: c.role}
	refs := make([]wire.RecordRef, 0, n)
	for i := range out {
		if !created[i] {
			continue
		}
		if err := writeNewRecord(tx, &pc, &out[i]); err != nil {
			return nil, nil, nil, err
		}
		refs = append(refs, ref(&out[i]))
	}
	ev := wire.RecordAppendedEvent{Issuer: tx.issuer, IssuedAt: tx.now, TxID: tx.txID, Records: refs}
	if err := ccutil.SetEvent(tx.stub, wire.EventRecordAppended, ev); err != nil {
		return nil, nil, nil, err
	}
	if err := tx.stub.FinishWriteBatch(); err != nil {
		return nil, nil, nil, ccutil.Internal("writing state", err)
	}
	return tx, out, created, nil
}

// AppendRecord appends one record from an AppendRequest JSON document. The
// creator's organisation must be an active department accredited for the
// type. Issuer and issue time come from the transaction. Retrying with the
// same record ID and identical content returns the stored record and
// writes nothing; different content is a conflict.
func (c *Contract) AppendRecord(ctx contractapi.TransactionContextInterface, request string) (_ *wire.Record, err error) {
	defer ccutil.Guard(&err)
	req, err := wire.DecodeAppendRequest([]byte(request))
	if err != nil {
		return nil, err
	}
	_, recs, _, err := c.appendAll(ctx, []wire.AppendRequest{req})
	if err != nil {
		return nil, err
	}
	return &recs[0], nil
}

// AppendRecords appends 1..wire.MaxBatch records from an AppendBatch JSON
// document in one transaction, all or nothing, with one RecordAppended
// event listing the records it created. The result is a compact
// wire.BatchResult (see there); records already stored identically are
// idempotent retries and listed in Existing.
func (c *Contract) AppendRecords(ctx contractapi.TransactionContextInterface, batch string) (_ *wire.BatchResult, err error) {
	defer ccutil.Guard(&err)
	b, err := wire.DecodeAppendBatch([]byte(batch))
	if err != nil {
		return nil, err
	}
	tx, _, created, err := c.appendAll(ctx, b.Records)
	if err != nil {
		return nil, err
	}
	res := &wire.BatchResult{TxID: tx.txID, Issuer: tx.issuer, IssuedAt: tx.now, Count: len(created), Existing: []string{}}
	for i, ok := range created {
		if ok {
			res.Created++
		} else {
			res.Existing = append(res.Existing, b.Records[i].RecordID)
		}
	}
	return res, nil
}

// loadOwnRecord reads a record and checks that the creator issued it.
func loadOwnRecord(tx *txInfo, val []byte, recordID string) (*wire.Record, error) {
	if len(val) == 0 {
		return nil, wire.Errorf(wire.CodeNotFound, "record %s does not exist", recordID)
	}
	var r wire.Record
	if err := ccutil.Unmarshal(val, &r); err != nil {
		return nil, err
	}
	if r.Issuer != tx.issuer {
		return nil, wire.Errorf(wire.CodeForbidden, "record %s was issued by %s; only the issuer may change it", recordID, r.Issuer)
	}
	return &r, nil
}

// RevokeRecord (issuer only) withdraws an active record with a reason code
// registered with DefineReason (invalid otherwise: no free text on the
// ledger).
// Repeating the same revocation returns the record unchanged; revoking a
// record that is superseded or revoked with another reason is a conflict.
func (c *Contract) RevokeRecord(ctx contractapi.TransactionContextInterface, recordID, reason string) (_ *wire.Record, err error) {
	defer ccutil.Guard(&err)
	if err := wire.ValidateID("recordId", recordID); err != nil {
		return nil, err
	}
	if err := wire.ValidateCode("reason", reason); err != nil {
		return nil, err
	}
	tx, err := c.begin(ctx)
	if err != nil {
		return nil, err
	}
	vals, err := tx.stub.GetMultipleStates(recordKey(recordID), reasonKey(reason))
	if err != nil {
		return nil, ccutil.Internal("reading record", err)
	}
	if len(vals) != 2 {
		return nil, wire.Errorf(wire.CodeInternal, "short multi-key read")
	}
	if len(vals[1]) == 0 {
		return nil, wire.Errorf(wire.CodeInvalid, "reason %s is not a registered revocation reason", reason)
	}
	rec, err := loadOwnRecord(tx, vals[0], recordID)
	if err != nil {
		return nil, err
	}
	if rec.Status == wire.StatusRevoked && rec.Reason == reason {
		return rec, nil
	}
	if rec.Status != wire.StatusActive {
		return nil, wire.Errorf(wire.CodeConflict, "record %s is %s", recordID, rec.Status)
	}
	rec.Status = wire.StatusRevoked
	rec.Reason = reason
	rec.StatusChangedAt = tx.now
	rec.StatusTxID = tx.txID
	if err := ccutil.PutJSON(tx.stub, recordKey(recordID), rec); err != nil {
		return nil, err
	}
	ev := wire.RecordRevokedEvent{RecordID: recordID, SubjectID: rec.SubjectID, Issuer: rec.Issuer, Reason: reason, Time: tx.now, TxID: tx.txID}
	if err := ccutil.SetEvent(tx.stub, wire.EventRecordRevoked, ev); err != nil {
		return nil, err
	}
	return rec, nil
}

// SupersedeRecord (issuer only) atomically marks an active record
// superseded and appends its replacement (same subject; the creator must be
// active and accredited for the new record's type), linking both ways.
// Repeating the same call returns the same result and writes nothing.
func (c *Contract) SupersedeRecord(ctx contractapi.TransactionContextInterface, oldRecordID, request string) (_ *wire.SupersedeResult, err error) {
	defer ccutil.Guard(&err)
	if err := wire.ValidateID("oldRecordId", oldRecordID); err != nil {
		return nil, err
	}
	req, err := wire.DecodeAppendRequest([]byte(request))
	if err != nil {
		return nil, err
	}
	if req.RecordID == oldRecordID {
		return nil, wire.Errorf(wire.CodeInvalid, "the new record needs a new recordId")
	}
	tx, err := c.begin(ctx)
	if err != nil {
		return nil, err
	}
	vals, err := tx.stub.GetMultipleStates(recordKey(oldRecordID), deptKey(tx.issuer), accrKey(tx.issuer, req.Type), recordKey(req.RecordID))
	if err != nil {
		return nil, ccutil.Internal("reading state", err)
	}
	if len(vals) != 4 {
		return nil, wire.Errorf(wire.CodeInternal, "short multi-key read")
	}
	old, err := loadOwnRecord(tx, vals[0], oldRecordID)
	if err != nil {
		return nil, err
	}
	if err := checkIssuer(tx.issuer, vals[1], []string{req.Type}, vals[2:3]); err != nil {
		return nil, err
	}
	if req.SubjectID != old.SubjectID {
		return nil, wire.Errorf(wire.CodeInvalid, "the new record must have the same subject as %s", oldRecordID)
	}
	if len(vals[3]) > 0 {
		var have wire.Record
		if err := ccutil.Unmarshal(vals[3], &have); err != nil {
			return nil, err
		}
		if old.Status == wire.StatusSuperseded && old.SupersededBy == req.RecordID &&
			have.Supersedes == oldRecordID && have.SameRequest(&req, tx.issuer) {
			return &wire.SupersedeResult{Superseded: *old, Record: have}, nil
		}
		return nil, wire.Errorf(wire.CodeConflict, "record %s already exists", req.RecordID)
	}
	if old.Status != wire.StatusActive {
		return nil, wire.Errorf(wire.CodeConflict, "record %s is %s", oldRecordID, old.Status)
	}
	tx.stub.StartWriteBatch()
	newRec := newRecord(tx, &req, oldRecordID)
	pc := ccutil.PolicyCache{Role: c.role}
	if err := writeNewRecord(tx, &pc, &newRec); err != nil {
		return nil, err
	}
	old.Status = wire.StatusSuperseded
	old.SupersededBy = req.RecordID
	old.StatusChangedAt = tx.now
	old.StatusTxID = tx.txID
	if err := ccutil.PutJSON(tx.stub, recordKey(oldRecordID), old); err != nil {
		return nil, err
	}
	ev := wire.RecordSupersededEvent{
		OldRecordID: oldRecordID, NewRecord: ref(&newRec), SubjectID: old.SubjectID,
		Issuer: tx.issuer, Time: tx.now, TxID: tx.txID,
	}
	if err := ccutil.SetEvent(tx.stub, wire.EventRecordSuperseded, ev); err != nil {
		return nil, err
	}
	if err := tx.stub.FinishWriteBatch(); err != nil {
		return nil, ccutil.Internal("writing state", err)
	}
	return &wire.SupersedeResult{Superseded: *old, Record: newRec}, nil
}
