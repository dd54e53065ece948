package service

import (
	"context"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
)

// A delegate's reads of the subject's dossier (a guardian for a minor, a legal
// representative for an enterprise). Each read carries a wire.DelegateRead statement
// the delegate's device signed for exactly this read; the platform submits it and the
// chaincode checks the delegate's key and the live delegation, then logs the read in
// the subject's access log naming the delegate (kind delegate). The platform cannot
// write such an entry without the delegate's signature, and never writes a self entry
// for it: a delegate's signed request without a statement is refused.

// DelegateRead is a delegate's signed read statement: Document is the wire.DelegateRead
// (base64), Signature the delegate key's signature over it.
type DelegateRead struct {
	Document  string
	Signature string
}

// delegateRead checks what the gateway can check of a statement before the chaincode
// judges it: the caller (a citizen's signed request) is the delegate it names, and it
// names this subject, action and record.
func delegateRead(p gateway.Principal, dr DelegateRead, subjectID, action, recordID string) ([]byte, *wire.DelegateRead, error) {
	if err := requireRole(p, gateway.RoleCitizen); err != nil {
		return nil, nil, err
	}
	if dr.Signature == "" {
		return nil, nil, gateway.Errorf(gateway.CodeBadSignature, "a delegate's read needs the delegate's signature over its read statement")
	}
	doc, err := decodeDocument("read statement", dr.Document)
	if err != nil {
		return nil, nil, err
	}
	if err := checkNamedSubjects(doc, "subjectId", "delegateId"); err != nil {
		return nil, nil, err
	}
	st, _, err := wire.ParseDelegateRead(doc)
	if err != nil {
		return nil, nil, wireErr(err)
	}
	if st.DelegateID != p.SubjectID {
		return nil, nil, gateway.Errorf(gateway.CodeForbidden, "the read statement names another delegate than the request's signer")
	}
	if subjectID != "" && st.SubjectID != subjectID {
		return nil, nil, gateway.Errorf(gateway.CodeInvalid, "the read statement names another subject than the path")
	}
	if st.Action != action || st.RecordID != recordID {
		return nil, nil, gateway.Errorf(gateway.CodeInvalid, "the read statement is for %s %q, this request is %s %q", st.Action, st.RecordID, action, recordID)
	}
	return doc, &st, nil
}

// DelegateListDossier lists subjectID's whole dossier to a delegate, the page logged
// first as the delegate's read (one statement per page).
func (s *Service) DelegateListDossier(ctx context.Context, p gateway.Principal, subjectID string, dr DelegateRead, recordType string, pageSize int, bookmark string) (*RecordPage, error) {
	if err := checkListArgs(subjectID, recordType, pageSize, bookmark); err != nil {
		return nil, err
	}
	doc, _, err := delegateRead(p, dr, subjectID, wire.SelfList, "")
	if err != nil {
		return nil, err
	}
	raw, err := s.marks.open(p, bookmark, "delegate-dossier", subjectID, recordType)
	if err != nil {
		return nil, err
	}
	if _, _, err := s.ledger.RecordDelegateAccess(ctx, s.cfg.Platform, string(doc), dr.Signature); err != nil {
		return nil, err
	}
	page, err := s.ledger.ListDossier(ctx, s.cfg.Platform, subjectID, recordType, pageSize, raw)
	if err != nil {
		return nil, err
	}
	out := &RecordPage{Records: page.Records, Bookmark: s.marks.seal(p, page.Bookmark, "delegate-dossier", subjectID, recordType)}
	if out.Records == nil {
		out.Records = []wire.Record{}
	}
	return out, nil
}

// DelegateReadContent opens the file of a record of the subject the statement names,
// after the delegate's read committed to that subject's access log.
func (s *Service) DelegateReadContent(ctx context.Context, p gateway.Principal, recordID string, dr DelegateRead) (*Content, error) {
	if err := wire.ValidateID("recordId", recordID); err != nil {
		return nil, wireErr(err)
	}
	doc, st, err := delegateRead(p, dr, "", wire.SelfContent, recordID)
	if err != nil {
		return nil, err
	}
	rec, err := s.ledger.GetRecord(ctx, s.cfg.Platform, recordID)
	if err != nil {
		return nil, err
	}
	if rec.SubjectID != st.SubjectID {
		return nil, recordNotFound(recordID)
	}
	entry, receipt, err := s.ledger.RecordDelegateAccess(ctx, s.cfg.Platform, string(doc), dr.Signature)
	if err != nil {
		return nil, err
	}
	return s.openContent(rec, entry, receipt)
}
