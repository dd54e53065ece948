package service

import (
	"context"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
)

// A subject's own reads (citizens, by request signature). Each is committed to the
// subject's access log (kind self) by the platform identity before the answer is
// returned; the platform asserts the subject, having verified the request signature
// with the subject's bound key.

// ownRecord loads a record for its subject: not_found unless it is in p's dossier (the
// same answer as for a record that does not exist).
func (s *Service) ownRecord(ctx context.Context, p gateway.Principal, recordID string) (*wire.Record, error) {
	if err := wire.ValidateID("recordId", recordID); err != nil {
		return nil, wireErr(err)
	}
	rec, err := s.ledger.GetRecord(ctx, s.cfg.Platform, recordID)
	if err != nil {
		return nil, err
	}
	if rec.SubjectID != p.SubjectID {
		return nil, recordNotFound(recordID)
	}
	return rec, nil
}

// logSelf commits the self-access entry.
func (s *Service) logSelf(ctx context.Context, p gateway.Principal, recordID, action string) (*wire.AccessEntry, gateway.Receipt, error) {
	return s.ledger.RecordSelfAccess(ctx, s.cfg.Platform, p.SubjectID, recordID, action)
}

func (s *Service) selfGetRecord(ctx context.Context, p gateway.Principal, recordID string) (*wire.Record, error) {
	rec, err := s.ownRecord(ctx, p, recordID)
	if err != nil {
		return nil, err
	}
	if _, _, err := s.logSelf(ctx, p, recordID, wire.SelfGet); err != nil {
		return nil, err
	}
	return rec, nil
}

func (s *Service) selfListDossier(ctx context.Context, p gateway.Principal, subjectID, recordType string, pageSize int, bookmark string) (*RecordPage, error) {
	if _, _, err := s.logSelf(ctx, p, "", wire.SelfList); err != nil {
		return nil, err
	}
	page, err := s.ledger.ListDossier(ctx, s.cfg.Platform, subjectID, recordType, pageSize, bookmark)
	if err != nil {
		return nil, err
	}
	out := &RecordPage{Records: page.Records, Bookmark: page.Bookmark}
	if out.Records == nil {
		out.Records = []wire.Record{}
	}
	return out, nil
}

func (s *Service) selfReadContent(ctx context.Context, p gateway.Principal, recordID, grantID string) (*Content, error) {
	if grantID != "" {
		return nil, gateway.Errorf(gateway.CodeInvalid, "a subject reads its own files without a grant: leave grantId out")
	}
	rec, err := s.ownRecord(ctx, p, recordID)
	if err != nil {
		return nil, err
	}
	entry, receipt, err := s.logSelf(ctx, p, recordID, wire.SelfContent)
	if err != nil {
		return nil, err
	}
	return s.openContent(rec, entry, receipt)
}

// HistoryResult is a record's history, newest first.
type HistoryResult struct {
	RecordID string               `json:"recordId"`
	Versions []wire.RecordVersion `json:"versions"`
}

// RecordHistory returns every committed version of a record, newest first, to whoever
// may see the record (GetRecord's rule; a department's read of a record it did not
// issue is logged first, action history); the record's subject (citizen) sees its own,
// logged as a self access first.
func (s *Service) RecordHistory(ctx context.Context, p gateway.Principal, recordID string) (*HistoryResult, error) {
	actor := p.Actor()
	if p.Role == gateway.RoleCitizen {
		if _, err := s.ownRecord(ctx, p, recordID); err != nil {
			return nil, err
		}
		if _, _, err := s.logSelf(ctx, p, recordID, wire.SelfHistory); err != nil {
			return nil, err
		}
		actor = s.cfg.Platform
	} else {
		rec, err := s.visibleRecord(ctx, p, recordID)
		if err != nil {
			return nil, err
		}
		if err := s.logMetadata(ctx, p, rec.SubjectID, []wire.Record{*rec}, wire.MetadataHistory); err != nil {
			return nil, err
		}
	}
	versions, err := s.ledger.RecordHistory(ctx, actor, recordID)
	if err != nil {
		return nil, err
	}
	if versions == nil {
		versions = []wire.RecordVersion{}
	}
	return &HistoryResult{RecordID: recordID, Versions: versions}, nil
}
