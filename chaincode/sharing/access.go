package sharing

import (
	"math"
	"time"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/edossier-city/edossier/chaincode/internal/ccutil"
	"github.com/edossier-city/edossier/chaincode/wire"
)

// invertedNanos maps a time to a 19-digit string that sorts newest first.
func invertedNanos(t time.Time) (string, error) {
	if t.Year() < 1970 || t.Year() > 2261 {
		return "", wire.Errorf(wire.CodeInvalid, "transaction time %s out of range", wire.FormatTime(t))
	}
	return pad(math.MaxInt64-t.UnixNano(), 19), nil
}

// accessGrant is what RecordAccess reads of a stored grant (wire.GrantState): the
// signed document's bytes, signature and revocation proof are skipped by the JSON
// decoder rather than copied into strings, which keeps a grant of many parts (a
// larger document) about as cheap to read as a single-grantee one.
type accessGrant struct {
	GrantID   string     `json:"grantId"`
	SubjectID string     `json:"subjectId"`
	Grantee   string     `json:"grantee"`
	Status    string     `json:"status"`
	Grant     wire.Grant `json:"grant"`
	RevokedAt string     `json:"revokedAt"`
}

// loadForAccess loads the fields of a grant that the coverage rule needs.
func loadForAccess(stub shim.ChaincodeStubInterface, grantID string) (*wire.GrantState, error) {
	g, err := ccutil.Load[accessGrant](stub, grantKey(grantID), wire.CodeNotFound, "grant %s does not exist", grantID)
	if err != nil {
		return nil, err
	}
	return &wire.GrantState{GrantID: g.GrantID, SubjectID: g.SubjectID, Grantee: g.Grantee, Status: g.Status, Grant: g.Grant, RevokedAt: g.RevokedAt}, nil
}

// RecordAccess records, before any file byte is released, that the
// creator's organisation reads one record under a grant. It is refused
// unless: the grant gives the creator's MSP a part (its single grantee, or one of
// its parts: a department uses only its own part) and that MSP is an active department
// (forbidden), the grant exists (not_found) and is not revoked (revoked),
// validFrom <= tx time (not_yet_valid) < expiresAt (expired), the record
// exists (not_found), belongs to the grant's subject and is in scope
// (out_of_scope; for a grant with parts: in the scope of the creator's part), and is active (record_inactive; a record past its
// validUntil is still readable). purpose is a registered purpose code
// (invalid otherwise); "" means the part's purpose. The entry names the grant, and
// for a grant with parts the part used and the grant's matter. It
// writes one new key per entry and emits AccessRecorded.
func (c *Contract) RecordAccess(ctx contractapi.TransactionContextInterface, grantID, recordID, purpose string) (_ *wire.AccessEntry, err error) {
	defer ccutil.Guard(&err)
	if err := wire.ValidateID("recordId", recordID); err != nil {
		return nil, err
	}
	return c.recordAccess(ctx, grantID, purpose, func(stub shim.ChaincodeStubInterface) (*wire.Record, error) {
		return fromDossier[wire.Record](c, stub, "GetRecord", recordID)
	})
}

// RecordBatchAccess is RecordAccess for a record of an anchored batch, given
// as its wire.BatchProof document (leaf and inclusion proof): the dossier
// contract, read across channels, checks the proof against the batch's
// anchored root (bad_proof, not_found) and gives the record's status; then
// every rule of RecordAccess applies (grant, grantee, scope, status, purpose)
// and the same access-log entry is written.
func (c *Contract) RecordBatchAccess(ctx contractapi.TransactionContextInterface, grantID, proof, purpose string) (_ *wire.AccessEntry, err error) {
	defer ccutil.Guard(&err)
	if len(proof) > wire.MaxBatchProofBytes {
		return nil, wire.Errorf(wire.CodeInvalid, "proof larger than %d bytes", wire.MaxBatchProofBytes)
	}
	return c.recordAccess(ctx, grantID, purpose, func(stub shim.ChaincodeStubInterface) (*wire.Record, error) {
		br, err := fromDossier[wire.BatchRecord](c, stub, "GetBatchRecord", proof)
		if err != nil {
			return nil, err
		}
		return &br.Record, nil
	})
}

// recordAccess is the one rule of a grant-checked file read; load reads the
// record (single or batch) once the grant and the grantee are checked.
func (c *Contract) recordAccess(ctx contractapi.TransactionContextInterface, grantID, purpose string,
	load func(shim.ChaincodeStubInterface) (*wire.Record, error)) (*wire.AccessEntry, error) {
	if err := wire.ValidateID("grantId", grantID); err != nil {
		return nil, err
	}
	if purpose != "" {
		if err := wire.ValidateCode("purpose", purpose); err != nil {
			return nil, err
		}
	}
	who, err := ccutil.CreatorInfo(ctx)
	if err != nil {
		return nil, err
	}
	now, nowStr, err := ccutil.TxTime(ctx)
	if err != nil {
		return nil, err
	}
	stub := ctx.GetStub()
	st, err := loadForAccess(stub, grantID)
	if err != nil {
		return nil, err
	}
	part, pos, ok := st.Grant.PartFor(who.MSPID)
	if !ok {
		return nil, wire.Errorf(wire.CodeForbidden, "grant %s is not for %s", grantID, who.MSPID)
	}
	if e := st.CheckLive(now); e != nil {
		return nil, e
	}
	if _, err := c.activeDepartment(stub, who.MSPID); err != nil {
		return nil, err
	}
	rec, err := load(stub)
	if err != nil {
		return nil, err
	}
	recordID := rec.RecordID
	if !st.CoversFor(who.MSPID, rec) {
		return nil, wire.Errorf(wire.CodeOutOfScope, "record %s is not covered by grant %s", recordID, grantID)
	}
	if rec.Status != wire.StatusActive {
		return nil, wire.Errorf(wire.CodeRecordInactive, "record %s is %s", recordID, rec.Status)
	}
	// The grant's own purpose was checked against the registry when the grant was
	// created; only another stated purpose costs a registry lookup.
	if purpose == "" {
		purpose = part.Purpose
	} else if purpose != part.Purpose {
		if err := c.requirePurpose(stub, purpose); err != nil {
			return nil, err
		}
	}
	inv, err := invertedNanos(now)
	if err != nil {
		return nil, err
	}
	txID := stub.GetTxID()
	e := wire.AccessEntry{
		EntryID: txID, Kind: wire.AccessFile, SubjectID: st.SubjectID, RecordID: recordID, RecordType: rec.Type,
		GrantID: grantID, Org: who.MSPID, User: who.User, UserID: who.UserID,
		Purpose: purpose, Part: pos, Matter: st.Grant.Matter, Time: nowStr, TxID: txID,
	}
	if err := ccutil.PutJSON(stub, accessKey(st.SubjectID, inv, txID), e); err != nil {
		return nil, err
	}
	ev := wire.AccessRecordedEvent{EntryID: txID, Kind: wire.AccessFile, SubjectID: st.SubjectID, RecordID: recordID, GrantID: grantID, Org: who.MSPID, Time: nowStr, TxID: txID}
	if err := ccutil.SetEvent(stub, wire.EventAccessRecorded, ev); err != nil {
		return nil, err
	}
	return &e, nil
}

// AccessLog returns one page of a subject's access log, newest first, to the
// operator only (its gateway answers the subject's signed requests;
// forbidden for anyone else). pageSize is a decimal string ("" =
// wire.DefaultPageSize, max wire.MaxPageSize); bookmark "" for the first
// page. Evaluate only.
func (c *Contract) AccessLog(ctx contractapi.TransactionContextInterface, subjectID, pageSize, bookmark string) (_ *wire.AccessPage, err error) {
	defer ccutil.Guard(&err)
	if err := wire.ValidateSubjectID("subjectId", subjectID); err != nil {
		return nil, err
	}
	if _, err := ccutil.RequireMSP(ctx, c.cfg.OperatorMSP, "platform operator"); err != nil {
		return nil, err
	}
	page := &wire.AccessPage{Entries: []wire.AccessEntry{}}
	next, err := ccutil.Page(ctx.GetStub(), objAccess, []string{subjectID}, pageSize, bookmark, func(_ string, v []byte) error {
		var e wire.AccessEntry
		if err := ccutil.Unmarshal(v, &e); err != nil {
			return err
		}
		page.Entries = append(page.Entries, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	page.Bookmark = next
	return page, nil
}
