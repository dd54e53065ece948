package dossier

import (
	"time"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/edossier-city/edossier/chaincode/internal/ccutil"
	"github.com/edossier-city/edossier/chaincode/wire"
)

// GetRecord returns one record (any status) to a caller that may see it
// (see viewer); not_found if it does not exist or the caller may not see it,
// with the same message. The sharing contract calls it across channels.
func (c *Contract) GetRecord(ctx contractapi.TransactionContextInterface, recordID string) (_ *wire.Record, err error) {
	defer ccutil.Guard(&err)
	if err := wire.ValidateID("recordId", recordID); err != nil {
		return nil, err
	}
	v, err := c.viewer(ctx)
	if err != nil {
		return nil, err
	}
	r, err := ccutil.Load[wire.Record](ctx.GetStub(), recordKey(recordID), wire.CodeNotFound, "record %s does not exist", recordID)
	if err != nil {
		return nil, err
	}
	if ok, err := v.sees(r); err != nil {
		return nil, err
	} else if !ok {
		return nil, notFound(recordID)
	}
	return r, nil
}

// loadRecords reads records by ID in one multi-key read, keeping order.
func loadRecords(stub shim.ChaincodeStubInterface, ids []string) ([]wire.Record, error) {
	out := make([]wire.Record, 0, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = recordKey(id)
	}
	vals, err := stub.GetMultipleStates(keys...)
	if err != nil {
		return nil, ccutil.Internal("reading records", err)
	}
	if len(vals) != len(keys) {
		return nil, wire.Errorf(wire.CodeInternal, "short multi-key read")
	}
	for i, v := range vals {
		if len(v) == 0 {
			return nil, wire.Errorf(wire.CodeInternal, "index points at missing record %s", ids[i])
		}
		var r wire.Record
		if err := ccutil.Unmarshal(v, &r); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// MaxListScan bounds the index entries one ListDossier call reads (see
// ListDossier).
const MaxListScan = 1000

// ListDossier returns one page of the records of a subject that the caller
// may see (see viewer), all statuses, ordered by (type, recordId).
// recordType "" lists every type. pageSize is a decimal string ("" =
// wire.DefaultPageSize, max wire.MaxPageSize); bookmark is "" for the first
// page, then the bookmark of the previous page.
//
// The bookmark is the index key of the last record the page returned (the
// next page starts after it), so it never names a record the caller cannot
// see; it is "" when no further visible record exists. A caller that sees
// only part of the dossier (a department) has the scan continue past
// records it may not see, reading at most MaxListScan index entries per
// call: when that budget runs out the page ends with what it found and the
// bookmark of its last record (a further call continues after it), or, if
// it found nothing, with no records and bookmark "" (the rest of that
// dossier is not listed to this caller; a type filter narrows the range).
// Evaluate only (Fabric runs paginated queries in read-only transactions).
func (c *Contract) ListDossier(ctx contractapi.TransactionContextInterface, subjectID, recordType, pageSize, bookmark string) (_ *wire.RecordPage, err error) {
	defer ccutil.Guard(&err)
	if err := wire.ValidateSubjectID("subjectId", subjectID); err != nil {
		return nil, err
	}
	attrs := []string{subjectID}
	if recordType != "" {
		if err := wire.ValidateCode("recordType", recordType); err != nil {
			return nil, err
		}
		attrs = append(attrs, recordType)
	}
	size, err := wire.ParsePageSize(pageSize)
	if err != nil {
		return nil, err
	}
	v, err := c.viewer(ctx)
	if err != nil {
		return nil, err
	}
	if !v.all {
		// One cross-channel read, before the range query.
		if _, err := v.grantsOf(subjectID); err != nil {
			return nil, err
		}
	}
	stub := ctx.GetStub()
	page := &wire.RecordPage{Records: []wire.Record{}}
	start, skip := bookmark, bookmark
	scanned := 0
	last := ""
	for {
		var keys, ids []string
		chunk := min(size+1, int32(MaxListScan-scanned))
		if skip != "" {
			chunk++ // the bookmark's own entry comes first and is skipped
		}
		next, err := ccutil.PageN(stub, objSubjIndex, attrs, chunk, start, func(key string, _ []byte) error {
			if key == skip {
				return nil
			}
			id, err := ccutil.LastAttr(key)
			if err != nil {
				return err
			}
			keys, ids = append(keys, key), append(ids, id)
			return nil
		})
		if err != nil {
			return nil, err
		}
		skip = ""
		recs, err := loadRecords(stub, ids)
		if err != nil {
			return nil, err
		}
		for i := range recs {
			scanned++
			ok, err := v.sees(&recs[i])
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
			if len(page.Records) == int(size) {
				// A further visible record: the next page starts after last.
				page.Bookmark = last
				return page, nil
			}
			page.Records = append(page.Records, recs[i])
			last = keys[i]
		}
		if next == "" {
			return page, nil
		}
		if scanned >= MaxListScan {
			page.Bookmark = last
			return page, nil
		}
		start = next
	}
}

// FindByCID returns the records whose file has this CID (the verification
// lookup: one index range read, then the records), ordered by record ID, at
// most MaxFindResults. An unknown CID gives an empty list, as does an index
// entry whose record holds another file. It is open to every caller, but
// subjectId is "" except for the operator, the sharing contract and the
// record's issuer: a document's holder learns who issued it and its status,
// not whose dossier it is in.
func (c *Contract) FindByCID(ctx contractapi.TransactionContextInterface, cid string) (_ []wire.Record, err error) {
	defer ccutil.Guard(&err)
	if _, err := wire.ParseCID(cid); err != nil {
		return nil, err
	}
	stub := ctx.GetStub()
	var ids []string
	errStop := &wire.Error{}
	err = ccutil.Scan(stub, objCIDIndex, []string{cid}, func(key string, _ []byte) error {
		id, err := ccutil.LastAttr(key)
		if err != nil {
			return err
		}
		ids = append(ids, id)
		if len(ids) == MaxFindResults {
			return errStop
		}
		return nil
	})
	if err != nil && err != errStop {
		return nil, err
	}
	recs, err := loadRecords(stub, ids)
	if err != nil {
		return nil, err
	}
	v, err := c.viewer(ctx)
	if err != nil {
		return nil, err
	}
	// Only records that hold this file count: index keys carry no key-level
	// endorsement policy (record keys do), so an index entry is never trusted
	// on its own to vouch for a document.
	out := recs[:0]
	for _, r := range recs {
		if r.CID == cid {
			if !v.all && r.Issuer != v.msp {
				r.SubjectID = "" // whose dossier it is in is not for this caller
			}
			out = append(out, r)
		}
	}
	return out, nil
}

// GetRecordHistory returns every committed version of a record, newest
// first (as Fabric's history database returns them), to a caller that may
// see the record; not_found if the record never existed or the caller may
// not see it (the same message). Needs the peer's history database (on by default).
func (c *Contract) GetRecordHistory(ctx contractapi.TransactionContextInterface, recordID string) (_ []wire.RecordVersion, err error) {
	defer ccutil.Guard(&err)
	if err := wire.ValidateID("recordId", recordID); err != nil {
		return nil, err
	}
	v, err := c.viewer(ctx)
	if err != nil {
		return nil, err
	}
	it, err := ctx.GetStub().GetHistoryForKey(recordKey(recordID))
	if err != nil {
		return nil, ccutil.Internal("reading history", err)
	}
	defer it.Close()
	out := []wire.RecordVersion{}
	for it.HasNext() {
		m, err := it.Next()
		if err != nil {
			return nil, ccutil.Internal("reading history", err)
		}
		if m.GetIsDelete() || len(m.GetValue()) == 0 {
			continue
		}
		var r wire.Record
		if err := ccutil.Unmarshal(m.GetValue(), &r); err != nil {
			return nil, err
		}
		ts := ""
		if t := m.GetTimestamp(); t != nil {
			ts = wire.FormatTime(time.Unix(t.GetSeconds(), int64(t.GetNanos())))
		}
		out = append(out, wire.RecordVersion{TxID: m.GetTxId(), Timestamp: ts, Record: r})
	}
	if len(out) == 0 {
		return nil, notFound(recordID)
	}
	// Every version has the subject, type, ID and issuer of the first; the
	// newest decides.
	if ok, err := v.sees(&out[0].Record); err != nil {
		return nil, err
	} else if !ok {
		return nil, notFound(recordID)
	}
	return out, nil
}
