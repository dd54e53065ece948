package sharing

import (
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/edossier-city/edossier/chaincode/internal/ccutil"
	"github.com/edossier-city/edossier/chaincode/wire"
)

// RecordOwnershipCheck records, before the answer leaves the gateway, that
// someone asked whether the document with content ID cid is in subjectID's
// dossier, and gives the answer: the chaincode computes the result itself
// from the dossier contract's CID index (Result in_dossier or
// not_in_dossier), so the entry cannot lie about what was answered.
//
// Who asked: a department's own identity (checker "" or its own MSP ID; the
// creator must be an active department, else forbidden), or the operator's
// platform identity acting for a verifier organisation with an API key, in
// which case checker names that organisation (required, a code). The
// chaincode checks the creator's organisation; the verifier name is
// asserted by the platform. Any other creator is forbidden.
//
// The entry names the subject's record only when the document is in that
// dossier (a record of another dossier never appears in this subject's
// log). It writes one new key and emits AccessRecorded (kind ownership).
func (c *Contract) RecordOwnershipCheck(ctx contractapi.TransactionContextInterface, subjectID, cid, checker string) (_ *wire.AccessEntry, err error) {
	defer ccutil.Guard(&err)
	return c.ownershipCheck(ctx, subjectID, cid, checker, "")
}

// RecordBatchOwnershipCheck is RecordOwnershipCheck for a document that is a
// record of an anchored batch (batch records are not in the CID index): proof
// is the wire.BatchProof of that record, whose leaf must hold cid (invalid
// otherwise); the dossier contract's GetBatchRecord checks it against the
// anchored root across channels (bad_proof, not_found), and the proven record
// counts with the records the CID index finds. A proof of another subject's
// record makes the result not_in_dossier, as any record of another dossier.
func (c *Contract) RecordBatchOwnershipCheck(ctx contractapi.TransactionContextInterface, subjectID, cid, checker, proof string) (_ *wire.AccessEntry, err error) {
	defer ccutil.Guard(&err)
	if proof == "" {
		return nil, wire.Errorf(wire.CodeInvalid, "missing batch proof")
	}
	if len(proof) > wire.MaxBatchProofBytes {
		return nil, wire.Errorf(wire.CodeInvalid, "proof larger than %d bytes", wire.MaxBatchProofBytes)
	}
	return c.ownershipCheck(ctx, subjectID, cid, checker, proof)
}

func (c *Contract) ownershipCheck(ctx contractapi.TransactionContextInterface, subjectID, cid, checker, proof string) (*wire.AccessEntry, error) {
	if err := wire.ValidateSubjectID("subjectId", subjectID); err != nil {
		return nil, err
	}
	if _, err := wire.ParseCID(cid); err != nil {
		return nil, err
	}
	if checker != "" {
		if err := wire.ValidateCode("checker", checker); err != nil {
			return nil, err
		}
	}
	who, err := ccutil.CreatorInfo(ctx)
	if err != nil {
		return nil, err
	}
	stub := ctx.GetStub()
	switch {
	case c.cfg.OperatorMSP != "" && who.MSPID == c.cfg.OperatorMSP:
		if checker == "" {
			return nil, wire.Errorf(wire.CodeInvalid, "the platform must name the verifier it checks for")
		}
	default:
		if _, err := c.activeDepartment(stub, who.MSPID); err != nil {
			return nil, err
		}
		if checker != "" && checker != who.MSPID {
			return nil, wire.Errorf(wire.CodeForbidden, "a department checks in its own name, not as %s", checker)
		}
		checker = who.MSPID
	}
	b, err := c.callDossier(stub, "FindByCID", cid)
	if err != nil && wire.AsError(err).Code != wire.CodeNotFound {
		return nil, err
	}
	var recs []wire.Record
	if err == nil {
		if err := ccutil.Unmarshal(b, &recs); err != nil {
			return nil, err
		}
	}
	if proof != "" {
		br, err := fromDossier[wire.BatchRecord](c, stub, "GetBatchRecord", proof)
		if err != nil {
			return nil, err
		}
		if br.Record.CID != cid {
			return nil, wire.Errorf(wire.CodeInvalid, "the proven batch record holds another document than %s", cid)
		}
		recs = append(recs, br.Record)
	}
	e := wire.AccessEntry{Kind: wire.AccessOwnership, SubjectID: subjectID, CID: cid, Checker: checker,
		Org: who.MSPID, User: who.User, UserID: who.UserID, Result: wire.OwnershipNotInDossier}
	for _, r := range recs {
		if r.SubjectID == subjectID {
			e.Result, e.RecordID, e.RecordType = wire.OwnershipInDossier, r.RecordID, r.Type
			if r.Status == wire.StatusActive {
				break // prefer an active record; otherwise the last one seen
			}
		}
	}
	return c.logEntry(ctx, e)
}

// RecordSelfAccess records, before the answer leaves the gateway, that the
// subject read its own dossier through the platform: action is list (the
// dossier listing, recordID ""), get (a record's metadata), history (a
// record's history) or content (a record's file). Only the operator's
// platform identity may submit it (forbidden otherwise): the platform
// asserts the subject, having checked the subject's request signature. A
// record must exist and belong to the subject (not_found otherwise). It
// writes one new key and emits AccessRecorded (kind self).
func (c *Contract) RecordSelfAccess(ctx contractapi.TransactionContextInterface, subjectID, recordID, action string) (_ *wire.AccessEntry, err error) {
	defer ccutil.Guard(&err)
	if err := wire.ValidateSubjectID("subjectId", subjectID); err != nil {
		return nil, err
	}
	if err := wire.CheckReadAction(action, recordID); err != nil {
		return nil, err
	}
	who, err := ccutil.CreatorInfo(ctx)
	if err != nil {
		return nil, err
	}
	if c.cfg.OperatorMSP == "" || who.MSPID != c.cfg.OperatorMSP {
		return nil, wire.Errorf(wire.CodeForbidden, "only the platform records a subject's own reads")
	}
	e := wire.AccessEntry{Kind: wire.AccessSelf, Action: action, SubjectID: subjectID, RecordID: recordID,
		Org: who.MSPID, User: who.User, UserID: who.UserID}
	if err := c.readRecordType(ctx, &e); err != nil {
		return nil, err
	}
	return c.logEntry(ctx, e)
}

// readRecordType fills e.RecordType from the record e names (none for a listing):
// not_found unless it exists and is in e.SubjectID's dossier.
func (c *Contract) readRecordType(ctx contractapi.TransactionContextInterface, e *wire.AccessEntry) error {
	if e.RecordID == "" {
		return nil
	}
	b, err := c.callDossier(ctx.GetStub(), "GetRecord", e.RecordID)
	if err != nil {
		return err
	}
	var rec wire.Record
	if err := ccutil.Unmarshal(b, &rec); err != nil {
		return err
	}
	if rec.SubjectID != e.SubjectID {
		return wire.Errorf(wire.CodeNotFound, "record %s is not in the dossier of %s", e.RecordID, e.SubjectID)
	}
	e.RecordType = rec.Type
	return nil
}

// logEntry completes e with the transaction's ID and time, stores it under
// its own key in the subject's access log and emits AccessRecorded.
func (c *Contract) logEntry(ctx contractapi.TransactionContextInterface, e wire.AccessEntry) (*wire.AccessEntry, error) {
	now, nowStr, err := ccutil.TxTime(ctx)
	if err != nil {
		return nil, err
	}
	inv, err := invertedNanos(now)
	if err != nil {
		return nil, err
	}
	stub := ctx.GetStub()
	txID := stub.GetTxID()
	e.EntryID, e.TxID, e.Time = txID, txID, nowStr
	if err := ccutil.PutJSON(stub, accessKey(e.SubjectID, inv, txID), e); err != nil {
		return nil, err
	}
	ev := wire.AccessRecordedEvent{EntryID: txID, Kind: e.Kind, SubjectID: e.SubjectID, RecordID: e.RecordID,
		Org: e.Org, Time: nowStr, TxID: txID}
	if err := ccutil.SetEvent(stub, wire.EventAccessRecorded, ev); err != nil {
		return nil, err
	}
	return &e, nil
}
