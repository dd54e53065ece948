package service

import (
	"context"
	"io"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
)

// RecordMeta is what a department says about a file it appends.
type RecordMeta struct {
	SubjectID string `json:"subjectId"`
	Type      string `json:"type"`
	// Note is optional free text. It never goes to the ledger: the service keeps it
	// off-chain (see NoteDocument) and the record carries its CID.
	Note       string `json:"note,omitempty"`
	MediaType  string `json:"mediaType,omitempty"`
	ValidUntil string `json:"validUntil,omitempty"`
}

// AppendInput is one append: metadata first, then the file stream, which the service
// reads only after the metadata passed every check.
type AppendInput struct {
	Meta           RecordMeta
	IdempotencyKey string
	File           io.Reader
	// FileMediaType is the media type the upload declared for the file part; used when
	// Meta.MediaType is empty.
	FileMediaType string
	// Length is the declared length of the whole upload, -1 if unknown. Uploads above
	// Config.PrecheckAbove (or of unknown length) have their metadata judged by the
	// chaincode before the file is read, so that a refusal costs no upload.
	Length int64
}

// RecordResult is a record with the receipt of the transaction that wrote it.
// Created is false when an idempotent retry returned an existing record.
type RecordResult struct {
	Record  wire.Record     `json:"record"`
	Receipt gateway.Receipt `json:"receipt"`
	Created bool            `json:"-"`
}

// ResolveSubject derives the pseudonymous subject ID of a person or enterprise.
func (s *Service) ResolveSubject(p gateway.Principal, kind, idNumber string) (string, error) {
	if err := requireRole(p, gateway.RoleDepartment, gateway.RoleOperator); err != nil {
		return "", err
	}
	id, err := s.subjects.SubjectID(kind, idNumber)
	if err != nil {
		return "", err
	}
	return id, nil
}

// request builds and validates the chaincode request for meta; the CID and size are
// placeholders until the file is stored (wire.PlaceholderAppend).
func (s *Service) request(recordID string, in AppendInput) (wire.AppendRequest, error) {
	if err := CheckSubjectID("subjectId", in.Meta.SubjectID); err != nil {
		return wire.AppendRequest{}, err
	}
	if err := checkNote(in.Meta.Note); err != nil {
		return wire.AppendRequest{}, err
	}
	req, err := wire.PlaceholderAppend(recordID, in.Meta.SubjectID, in.Meta.Type,
		wire.MediaTypeOf(in.Meta.MediaType, in.FileMediaType), in.Meta.ValidUntil, in.Meta.Note != "")
	return req, wireErr(err)
}

// newRequest is request under the record ID of the caller's idempotency key (a new ID
// without one).
func (s *Service) newRequest(p gateway.Principal, in AppendInput) (wire.AppendRequest, error) {
	id, err := s.recordID(p, in.IdempotencyKey)
	if err != nil {
		return wire.AppendRequest{}, err
	}
	return s.request(id, in)
}

func (s *Service) recordID(p gateway.Principal, key string) (string, error) {
	if key == "" {
		return newRecordID(), nil
	}
	if len(key) > MaxIdempotencyKeyLen {
		return "", gateway.Errorf(gateway.CodeInvalid, "Idempotency-Key longer than %d bytes", MaxIdempotencyKeyLen)
	}
	return idempotentRecordID(p.MSPID, key), nil
}

// AppendRecord stores the file and appends its record; 2xx only after both are
// durable. The order makes a refusal store nothing and costs the ledger one transaction:
// the file is encrypted into a temporary file (hashing gives its CID), the chaincode
// endorses the record with that CID (its checks: accreditation, subject, type, sizes,
// idempotency), only then the file becomes durable under its name, and the endorsed
// transaction is submitted. A refused endorsement drops the temporary file.
func (s *Service) AppendRecord(ctx context.Context, p gateway.Principal, in AppendInput) (*RecordResult, error) {
	if err := requireRole(p, gateway.RoleDepartment); err != nil {
		return nil, err
	}
	req, err := s.newRequest(p, in)
	if err != nil {
		return nil, err
	}
	if s.largeUpload(in) {
		if err := s.precheck(ctx, p, req, in.IdempotencyKey != ""); err != nil {
			return nil, err
		}
	}
	files := s.newRequestFiles()
	defer files.finish()
	if err := files.stage(ctx, p, &req, in); err != nil {
		return nil, err
	}
	endorse := func() (gateway.Pending[wire.Record], error) { return s.ledger.EndorseAppend(ctx, p.Actor(), req) }
	rec, receipt, err := commitAndSubmit(ctx, files, endorse)
	if err != nil && in.IdempotencyKey != "" && gateway.ErrorCode(err) == gateway.CodeConflict {
		// A concurrent retry with the same key may have committed first; appending
		// again returns that record if the content is the same, or refuses a
		// different file with conflict again.
		rec, receipt, err = commitAndSubmit(ctx, files, endorse)
	}
	if err != nil {
		return nil, err
	}
	return s.result(ctx, p, rec, receipt)
}

// largeUpload tells whether an upload is large enough (or of unknown size) to have the
// chaincode judge its metadata before the file is read.
func (s *Service) largeUpload(in AppendInput) bool {
	return in.Length < 0 || in.Length > s.cfg.PrecheckAbove
}

// precheck lets the chaincode judge the metadata (accreditation, subject, type, sizes)
// before a byte of the file is read: nothing commits in an evaluate. A retry of an
// idempotent append whose record exists skips it: the append itself then returns the
// record, or refuses a different file as a conflict.
func (s *Service) precheck(ctx context.Context, p gateway.Principal, req wire.AppendRequest, idempotent bool) error {
	if idempotent {
		_, err := s.ledger.GetRecord(ctx, p.Actor(), req.RecordID)
		if err == nil {
			return nil
		}
		if gateway.ErrorCode(err) != gateway.CodeNotFound {
			return err
		}
	}
	return s.ledger.CheckAppend(ctx, p.Actor(), req)
}

// result builds the answer to a write; for an idempotent retry the receipt is the one
// of the original transaction.
func (s *Service) result(ctx context.Context, p gateway.Principal, rec *wire.Record, receipt gateway.Receipt) (*RecordResult, error) {
	res := &RecordResult{Record: *rec, Receipt: receipt, Created: rec.TxID == receipt.TxID}
	if !res.Created {
		block, err := s.ledger.TxBlock(ctx, p.Actor(), receipt.Channel, rec.TxID)
		if err != nil {
			return nil, err
		}
		res.Receipt = gateway.Receipt{Channel: receipt.Channel, TxID: rec.TxID, Block: block}
	}
	return res, nil
}

// RecordView is a record's metadata as its readers see it: the ledger record and the
// text of its off-chain note ("" if none).
type RecordView struct {
	wire.Record
	Note string `json:"note,omitempty"`
}

// GetRecord returns a record visible to the caller (its issuer, the operator, or a
// department whose live grant covers it) with the decrypted text of its note. Others
// get not_found. A department reading a record it did not issue is answered only after
// its read committed to the subject's access log (kind metadata). The record's subject
// (citizen) gets its own record, logged as a self access first.
func (s *Service) GetRecord(ctx context.Context, p gateway.Principal, recordID string) (*RecordView, error) {
	if p.Role == gateway.RoleCitizen {
		rec, err := s.selfGetRecord(ctx, p, recordID)
		if err != nil {
			return nil, err
		}
		return s.view(rec)
	}
	rec, err := s.visibleRecord(ctx, p, recordID)
	if err != nil {
		return nil, err
	}
	if err := s.logMetadata(ctx, p, rec.SubjectID, []wire.Record{*rec}, wire.MetadataGet); err != nil {
		return nil, err
	}
	return s.view(rec)
}

// logMetadata commits a department's read of records it did not issue (under its
// grants) to the subject's access log before the answer; its own records and the
// operator's reads are not logged.
func (s *Service) logMetadata(ctx context.Context, p gateway.Principal, subjectID string, recs []wire.Record, action string) error {
	if p.Role != gateway.RoleDepartment {
		return nil
	}
	var ids []string
	for _, r := range recs {
		if r.Issuer != p.MSPID {
			ids = append(ids, r.RecordID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	_, _, err := s.ledger.RecordMetadataAccess(ctx, p.Actor(), subjectID, ids, action)
	return err
}

// view is rec with the text of its note.
func (s *Service) view(rec *wire.Record) (*RecordView, error) {
	v := &RecordView{Record: *rec}
	if rec.NoteCID != "" {
		var err error
		if v.Note, err = s.readNote(rec.NoteCID); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// RecordPage is a page of a dossier.
type RecordPage struct {
	Records  []wire.Record `json:"records"`
	Bookmark string        `json:"bookmark,omitempty"`
}

// checkListArgs checks the arguments of a dossier listing (ListDossier,
// DelegateListDossier).
func checkListArgs(subjectID, recordType string, pageSize int, bookmark string) error {
	if err := CheckSubjectID("subjectId", subjectID); err != nil {
		return err
	}
	if recordType != "" {
		if err := wire.ValidateCode("type", recordType); err != nil {
			return wireErr(err)
		}
	}
	if pageSize < 0 || pageSize > wire.MaxPageSize {
		return gateway.Errorf(gateway.CodeInvalid, "pageSize must be within 0..%d", wire.MaxPageSize)
	}
	if len(bookmark) > MaxBookmarkLen {
		return gateway.Errorf(gateway.CodeInvalid, "bookmark too long")
	}
	return nil
}

// ListDossier lists the records of a subject that the caller may see; a subject
// (citizen) lists its whole dossier, each page logged as a self access first.
func (s *Service) ListDossier(ctx context.Context, p gateway.Principal, subjectID, recordType string, pageSize int, bookmark string) (*RecordPage, error) {
	if err := requireRole(p, gateway.RoleDepartment, gateway.RoleOperator, gateway.RoleCitizen); err != nil {
		return nil, err
	}
	if err := checkListArgs(subjectID, recordType, pageSize, bookmark); err != nil {
		return nil, err
	}
	if p.Role == gateway.RoleCitizen {
		if err := requireSubject(p, subjectID); err != nil {
			return nil, err
		}
	}
	raw, err := s.marks.open(p, bookmark, "dossier", subjectID, recordType)
	if err != nil {
		return nil, err
	}
	var out *RecordPage
	if p.Role == gateway.RoleCitizen {
		out, err = s.selfListDossier(ctx, p, subjectID, recordType, pageSize, raw)
	} else {
		out, err = s.deptListDossier(ctx, p, subjectID, recordType, pageSize, raw)
	}
	if err != nil {
		return nil, err
	}
	out.Bookmark = s.marks.seal(p, out.Bookmark, "dossier", subjectID, recordType)
	return out, nil
}

// deptListDossier lists what a department or the operator may see (raw chaincode
// bookmark in and out); a department's reads of records it did not issue are logged
// before the answer.
func (s *Service) deptListDossier(ctx context.Context, p gateway.Principal, subjectID, recordType string, pageSize int, bookmark string) (*RecordPage, error) {
	g, err := s.grantsFor(ctx, p, subjectID)
	if err != nil {
		return nil, err
	}
	page, err := s.ledger.ListDossier(ctx, p.Actor(), subjectID, recordType, pageSize, bookmark)
	if err != nil {
		return nil, err
	}
	out := &RecordPage{Records: []wire.Record{}, Bookmark: page.Bookmark}
	for _, r := range page.Records {
		if g.visible(&r) {
			out.Records = append(out.Records, r)
		}
	}
	if err := s.logMetadata(ctx, p, subjectID, out.Records, wire.MetadataList); err != nil {
		return nil, err
	}
	return out, nil
}

// RevokeRecord withdraws a record with a registered reason code; only its issuing
// department may (the chaincode enforces it, and key-level endorsement makes the
// issuer's peer required).
func (s *Service) RevokeRecord(ctx context.Context, p gateway.Principal, recordID, reason string) (*RecordResult, error) {
	if err := requireRole(p, gateway.RoleDepartment); err != nil {
		return nil, err
	}
	if err := wire.ValidateID("recordId", recordID); err != nil {
		return nil, wireErr(err)
	}
	if err := wire.ValidateCode("reason", reason); err != nil {
		return nil, gateway.Errorf(gateway.CodeInvalid, "reason must be a registered reason code (see GET /v1/admin/registry): %s", wire.AsError(err).Message)
	}
	rec, receipt, err := s.ledger.RevokeRecord(ctx, p.Actor(), recordID, reason)
	if err != nil {
		return nil, err
	}
	return &RecordResult{Record: *rec, Receipt: receipt, Created: true}, nil
}

// SupersedeResult is the answer to a supersede.
type SupersedeResult struct {
	Superseded wire.Record     `json:"superseded"`
	Record     wire.Record     `json:"record"`
	Receipt    gateway.Receipt `json:"receipt"`
}

// SupersedeRecord replaces a record by a new one (new file), atomically.
func (s *Service) SupersedeRecord(ctx context.Context, p gateway.Principal, oldID string, in AppendInput) (*SupersedeResult, error) {
	if err := requireRole(p, gateway.RoleDepartment); err != nil {
		return nil, err
	}
	if err := wire.ValidateID("recordId", oldID); err != nil {
		return nil, wireErr(err)
	}
	req, err := s.newRequest(p, in)
	if err != nil {
		return nil, err
	}
	if s.largeUpload(in) {
		if err := s.ledger.CheckSupersede(ctx, p.Actor(), oldID, req); err != nil {
			return nil, err
		}
	}
	files := s.newRequestFiles()
	defer files.finish()
	if err := files.stage(ctx, p, &req, in); err != nil {
		return nil, err
	}
	res, receipt, err := commitAndSubmit(ctx, files, func() (gateway.Pending[wire.SupersedeResult], error) {
		return s.ledger.EndorseSupersede(ctx, p.Actor(), oldID, req)
	})
	if err != nil {
		return nil, err
	}
	return &SupersedeResult{Superseded: res.Superseded, Record: res.Record, Receipt: receipt}, nil
}

// Content is a file being read under a grant.
type Content struct {
	Record  wire.Record
	Entry   wire.AccessEntry
	Receipt gateway.Receipt
	Body    io.ReadCloser
}

// ReadContent records the access on the ledger (the sharing chaincode checks the grant,
// the scope and the record) and only after that commit opens the file. The record's
// subject (citizen) reads its own file without a grant, logged as a self access first.
func (s *Service) ReadContent(ctx context.Context, p gateway.Principal, recordID, grantID, purpose string) (*Content, error) {
	if p.Role == gateway.RoleCitizen {
		return s.selfReadContent(ctx, p, recordID, grantID)
	}
	if err := requireRole(p, gateway.RoleDepartment); err != nil {
		return nil, err
	}
	if err := wire.ValidateID("recordId", recordID); err != nil {
		return nil, wireErr(err)
	}
	if err := wire.ValidateID("grantId", grantID); err != nil {
		return nil, wireErr(err)
	}
	if err := wire.ValidateCode("purpose", purpose); err != nil {
		return nil, gateway.Errorf(gateway.CodeInvalid, "purpose must be a registered purpose code (see GET /v1/admin/registry): %s", wire.AsError(err).Message)
	}
	entry, receipt, err := s.ledger.RecordAccess(ctx, p.Actor(), grantID, recordID, purpose)
	if err != nil {
		return nil, err
	}
	// The committed access proved the caller's right to this record; the platform
	// identity reads it (to find its file) without a second grant check by the chaincode.
	rec, err := s.ledger.GetRecord(ctx, s.cfg.Platform, recordID)
	if err != nil {
		return nil, err
	}
	return s.openContent(rec, entry, receipt)
}

// openContent opens the file of a record whose read was committed.
func (s *Service) openContent(rec *wire.Record, entry *wire.AccessEntry, receipt gateway.Receipt) (*Content, error) {
	recordID := rec.RecordID
	body, _, err := s.blobs.Open(rec.CID)
	if err != nil {
		if gateway.ErrorCode(err) == gateway.CodeNotFound {
			return nil, gateway.Wrap(gateway.CodeInternal, err, "the file of record %s is missing from the blob store", recordID)
		}
		return nil, err
	}
	return &Content{Record: *rec, Entry: *entry, Receipt: receipt, Body: body}, nil
}
