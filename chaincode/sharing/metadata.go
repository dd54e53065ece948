package sharing

import (
	"encoding/json"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/edossier-city/edossier/chaincode/internal/ccutil"
	"github.com/edossier-city/edossier/chaincode/wire"
)

// MaxMetadataRecords bounds the records of one RecordMetadataAccess (a page).
const MaxMetadataRecords = wire.MaxPageSize

// RecordMetadataAccess records, before the gateway answers, that the
// creator's organisation read the metadata of records of subjectID under its
// grants: action is list (a page of the dossier), get (a record) or history
// (a record's history); recordIDs is a JSON array of 1..MaxMetadataRecords
// distinct record IDs (one for get and history). For every record it reads
// the record across channels and refuses unless the record exists and
// belongs to the subject (not_found, with the message of a missing record)
// and a grant of the creator's MSP, live at the transaction time, covers it
// (out_of_scope); the creator must be an active department (forbidden; the
// operator's reads are not grant reads). It writes one access-log entry per
// record (kind metadata, its own key: no hot key), naming the first covering
// grant and its purpose, and emits one AccessRecorded event (kind metadata;
// recordId only when there is one record).
func (c *Contract) RecordMetadataAccess(ctx contractapi.TransactionContextInterface, subjectID, recordIDs, action string) (_ []wire.AccessEntry, err error) {
	defer ccutil.Guard(&err)
	if err := wire.ValidateSubjectID("subjectId", subjectID); err != nil {
		return nil, err
	}
	ids, err := parseRecordIDs(recordIDs)
	if err != nil {
		return nil, err
	}
	switch action {
	case wire.MetadataList:
	case wire.MetadataGet, wire.MetadataHistory:
		if len(ids) != 1 {
			return nil, wire.Errorf(wire.CodeInvalid, "%s names exactly one record", action)
		}
	default:
		return nil, wire.Errorf(wire.CodeInvalid, "action must be list, get or history")
	}
	who, err := ccutil.CreatorInfo(ctx)
	if err != nil {
		return nil, err
	}
	stub := ctx.GetStub()
	if c.cfg.OperatorMSP != "" && who.MSPID == c.cfg.OperatorMSP {
		return nil, wire.Errorf(wire.CodeForbidden, "the operator reads no metadata under grants")
	}
	if _, err := c.activeDepartment(stub, who.MSPID); err != nil {
		return nil, err
	}
	now, nowStr, err := ccutil.TxTime(ctx)
	if err != nil {
		return nil, err
	}
	grants, err := liveGrantsOf(stub, subjectID, who.MSPID, now)
	if err != nil {
		return nil, err
	}
	inv, err := invertedNanos(now)
	if err != nil {
		return nil, err
	}
	txID := stub.GetTxID()
	out := make([]wire.AccessEntry, 0, len(ids))
	for i, id := range ids {
		rec, err := fromDossier[wire.Record](c, stub, "GetRecord", id)
		if err != nil {
			return nil, err
		}
		if rec.SubjectID != subjectID {
			return nil, wire.Errorf(wire.CodeNotFound, "record %s does not exist", id)
		}
		var g *wire.GrantState
		for j := range grants {
			if grants[j].CoversFor(who.MSPID, rec) {
				g = &grants[j]
				break
			}
		}
		if g == nil {
			return nil, wire.Errorf(wire.CodeOutOfScope, "no live grant of %s covers record %s", who.MSPID, id)
		}
		part, pos, _ := g.Grant.PartFor(who.MSPID)
		entryID := txID + "." + pad(int64(i), 3)
		e := wire.AccessEntry{EntryID: entryID, Kind: wire.AccessMetadata, Action: action, SubjectID: subjectID,
			RecordID: id, RecordType: rec.Type, GrantID: g.GrantID, Org: who.MSPID, User: who.User, UserID: who.UserID,
			Purpose: part.Purpose, Part: pos, Matter: g.Grant.Matter, Time: nowStr, TxID: txID}
		if err := ccutil.PutJSON(stub, accessKey(subjectID, inv, entryID), e); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	ev := wire.AccessRecordedEvent{EntryID: txID, Kind: wire.AccessMetadata, SubjectID: subjectID, Org: who.MSPID, Time: nowStr, TxID: txID}
	if len(out) == 1 {
		ev.EntryID, ev.RecordID, ev.GrantID = out[0].EntryID, out[0].RecordID, out[0].GrantID
	}
	if err := ccutil.SetEvent(stub, wire.EventAccessRecorded, ev); err != nil {
		return nil, err
	}
	return out, nil
}

// parseRecordIDs decodes a JSON array of 1..MaxMetadataRecords distinct,
// valid record IDs.
func parseRecordIDs(s string) ([]string, error) {
	if len(s) > MaxMetadataRecords*(wire.MaxIDLen+3)+2 {
		return nil, wire.Errorf(wire.CodeInvalid, "recordIds too long")
	}
	var ids []string
	if err := json.Unmarshal([]byte(s), &ids); err != nil {
		return nil, wire.Errorf(wire.CodeInvalid, "recordIds must be a JSON array of record IDs")
	}
	if len(ids) == 0 || len(ids) > MaxMetadataRecords {
		return nil, wire.Errorf(wire.CodeInvalid, "recordIds must name 1..%d records", MaxMetadataRecords)
	}
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if err := wire.ValidateID("recordId", id); err != nil {
			return nil, err
		}
		if seen[id] {
			return nil, wire.Errorf(wire.CodeInvalid, "record %s named twice", id)
		}
		seen[id] = true
	}
	return ids, nil
}
