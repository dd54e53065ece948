package service

import (
	"context"
	"io"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
)

// MaxBatch is the most records one bulk append takes (one transaction).
const MaxBatch = 500

// BatchItem is one record of a bulk append; File names the multipart part with its file.
type BatchItem struct {
	File           string `json:"file"`
	SubjectID      string `json:"subjectId"`
	Type           string `json:"type"`
	Note           string `json:"note,omitempty"`
	MediaType      string `json:"mediaType,omitempty"`
	ValidUntil     string `json:"validUntil,omitempty"`
	IdempotencyKey string `json:"idempotencyKey,omitempty"`
}

// NextFile yields the uploaded files in order: the part name, its declared media type
// and its content; io.EOF after the last.
type NextFile func() (name, mediaType string, r io.Reader, err error)

// BatchRecord is the outcome for one item.
type BatchRecord struct {
	File     string `json:"file"`
	RecordID string `json:"recordId"`
	CID      string `json:"cid"`
	Created  bool   `json:"created"`
}

// BatchResult is the answer to a bulk append: every record committed in one transaction.
type BatchResult struct {
	Receipt  gateway.Receipt `json:"receipt"`
	Count    int             `json:"count"`
	Created  int             `json:"created"`
	Records  []BatchRecord   `json:"records"`
	IssuedAt string          `json:"issuedAt"`
	Issuer   string          `json:"issuer"`
}

// AppendBatch stores the files of a manifest and appends all its records in one
// transaction: all or nothing. Items with an idempotency key keep their record ID across
// retries, so a repeated batch returns the existing records instead of duplicating them.
func (s *Service) AppendBatch(ctx context.Context, p gateway.Principal, items []BatchItem, next NextFile) (*BatchResult, error) {
	if err := requireRole(p, gateway.RoleDepartment); err != nil {
		return nil, err
	}
	if len(items) == 0 || len(items) > MaxBatch {
		return nil, gateway.Errorf(gateway.CodeInvalid, "a batch holds 1 to %d records, got %d", MaxBatch, len(items))
	}
	reqs := make([]wire.AppendRequest, len(items))
	byFile := make(map[string]int, len(items))
	types := map[string]bool{}
	ids := map[string]bool{}
	for i, it := range items {
		if it.File == "" {
			return nil, gateway.Errorf(gateway.CodeInvalid, "records[%d]: missing file name", i)
		}
		if _, dup := byFile[it.File]; dup {
			return nil, gateway.Errorf(gateway.CodeInvalid, "records[%d]: file %q named twice", i, it.File)
		}
		byFile[it.File] = i
		id, err := s.recordID(p, it.IdempotencyKey)
		if err != nil {
			return nil, err
		}
		if ids[id] {
			return nil, gateway.Errorf(gateway.CodeInvalid, "records[%d]: idempotency key used twice in the batch", i)
		}
		ids[id] = true
		req, err := s.request(id, AppendInput{Meta: RecordMeta{SubjectID: it.SubjectID, Type: it.Type, Note: it.Note,
			MediaType: it.MediaType, ValidUntil: it.ValidUntil}})
		if err != nil {
			return nil, gateway.Errorf(gateway.ErrorCode(err), "records[%d]: %s", i, gateway.ErrorMessage(err))
		}
		reqs[i] = req
		types[req.Type] = true
	}
	// Accreditation is checked once for the batch before any file is stored.
	if err := s.checkAccredited(ctx, p, types); err != nil {
		return nil, err
	}
	files := s.newRequestFiles()
	defer files.finish()
	err := readBatchFiles(ctx, files, next, byFile, "manifest", func(i int, mt string, info BlobInfo) error {
		var err error
		reqs[i].CID, reqs[i].Size = info.CID, info.Size
		if reqs[i].NoteCID, err = files.putNote(ctx, p, reqs[i].RecordID, items[i].Note, items[i].IdempotencyKey != ""); err != nil {
			return err
		}
		if items[i].MediaType == "" && mt != "" {
			reqs[i].MediaType = wire.MediaTypeOf(mt)
			if err := reqs[i].Normalize(); err != nil {
				return gateway.Errorf(gateway.CodeInvalid, "records[%d]: %s", i, wire.AsError(err).Message)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// The chaincode judges the whole batch first; every file is durable before the
	// transaction is submitted.
	res, receipt, err := commitAndSubmit(ctx, files, func() (gateway.Pending[wire.BatchResult], error) {
		return s.ledger.EndorseAppendRecords(ctx, p.Actor(), wire.AppendBatch{Records: reqs})
	})
	if err != nil {
		return nil, err
	}
	existing := make(map[string]bool, len(res.Existing))
	for _, id := range res.Existing {
		existing[id] = true
	}
	out := &BatchResult{Receipt: receipt, Count: res.Count, Created: res.Created, IssuedAt: res.IssuedAt, Issuer: res.Issuer,
		Records: make([]BatchRecord, len(reqs))}
	for i, r := range reqs {
		out.Records[i] = BatchRecord{File: items[i].File, RecordID: r.RecordID, CID: r.CID, Created: !existing[r.RecordID]}
	}
	return out, nil
}

// readBatchFiles stores the file parts of a bulk request (AppendBatch, AnchorBatch):
// byFile maps each part name the request's records give to its record's index (what
// names the request's JSON part in errors). Each part must be one of them, sent once;
// stored is called with its index, declared media type and stored file; a named part
// that never came is refused.
func readBatchFiles(ctx context.Context, files *requestFiles, next NextFile, byFile map[string]int, what string, stored func(i int, mediaType string, info BlobInfo) error) error {
	seen := map[string]bool{}
	for {
		name, mt, r, err := next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		i, ok := byFile[name]
		if !ok || seen[name] {
			return gateway.Errorf(gateway.CodeInvalid, "file part %q is not in the %s (or sent twice)", name, what)
		}
		seen[name] = true
		info, err := files.put(ctx, r)
		if err != nil {
			return err
		}
		if err := stored(i, mt, info); err != nil {
			return err
		}
	}
	missing, first := "", -1
	for name, i := range byFile {
		if !seen[name] && (first < 0 || i < first) {
			missing, first = name, i
		}
	}
	if first >= 0 {
		return gateway.Errorf(gateway.CodeInvalid, "records[%d]: file part %q missing", first, missing)
	}
	return nil
}

// checkAccredited refuses a batch whose types the caller may not issue.
func (s *Service) checkAccredited(ctx context.Context, p gateway.Principal, types map[string]bool) error {
	accs, err := s.ledger.ListAccreditations(ctx, p.Actor(), p.MSPID)
	if err != nil {
		return err
	}
	ok := map[string]bool{}
	for _, a := range accs {
		if a.Active && a.MSPID == p.MSPID {
			ok[a.RecordType] = true
		}
	}
	for t := range types {
		if !ok[t] {
			return gateway.Errorf(gateway.CodeForbidden, "%s is not accredited to issue %s records", p.MSPID, t)
		}
	}
	return nil
}
