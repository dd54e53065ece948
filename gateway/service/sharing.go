package service

import (
	"context"
	"encoding/base64"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
)

// GrantResult is a grant with the receipt of the transaction that changed it.
type GrantResult struct {
	Grant   wire.GrantState `json:"grant"`
	Receipt gateway.Receipt `json:"receipt"`
}

func decodeDocument(field, b64 string) ([]byte, error) {
	doc, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(doc) == 0 {
		return nil, gateway.Errorf(gateway.CodeInvalid, "%s must be the signed document, base64 (standard alphabet)", field)
	}
	if len(doc) > wire.MaxDocumentBytes {
		return nil, gateway.Errorf(gateway.CodeInvalid, "%s larger than %d bytes", field, wire.MaxDocumentBytes)
	}
	return doc, nil
}

func requireSubject(p gateway.Principal, subjectID string) error {
	if err := requireRole(p, gateway.RoleCitizen); err != nil {
		return err
	}
	if p.SubjectID != subjectID {
		return gateway.Errorf(gateway.CodeForbidden, "a subject may act only on its own dossier")
	}
	return nil
}

// CreateGrant submits a grant document signed by the subject. The document (base64)
// travels to the chaincode byte for byte, which verifies the signature against the
// subject's bound key: the gateway cannot forge consent.
func (s *Service) CreateGrant(ctx context.Context, p gateway.Principal, subjectID, documentB64, signature string) (*GrantResult, error) {
	if err := CheckSubjectID("subjectId", subjectID); err != nil {
		return nil, err
	}
	if err := s.actsFor(ctx, p, subjectID); err != nil {
		return nil, err
	}
	doc, err := decodeDocument("grant", documentB64)
	if err != nil {
		return nil, err
	}
	g, _, err := wire.ParseGrant(doc)
	if err != nil {
		return nil, wireErr(err)
	}
	if g.SubjectID != subjectID {
		return nil, gateway.Errorf(gateway.CodeForbidden, "the grant document is for another subject")
	}
	st, receipt, err := s.ledger.CreateGrant(ctx, s.cfg.Platform, string(doc), signature)
	if err != nil {
		return nil, err
	}
	return &GrantResult{Grant: *st, Receipt: receipt}, nil
}

// RevokeGrant submits a revocation document signed by the subject.
func (s *Service) RevokeGrant(ctx context.Context, p gateway.Principal, grantID, documentB64, signature string) (*GrantResult, error) {
	if err := requireRole(p, gateway.RoleCitizen); err != nil {
		return nil, err
	}
	if err := wire.ValidateID("grantId", grantID); err != nil {
		return nil, wireErr(err)
	}
	doc, err := decodeDocument("revocation", documentB64)
	if err != nil {
		return nil, err
	}
	r, err := wire.ParseRevocation(doc)
	if err != nil {
		return nil, wireErr(err)
	}
	if err := s.actsFor(ctx, p, r.SubjectID); err != nil {
		return nil, gateway.Errorf(gateway.CodeForbidden, "the revocation document is for another subject")
	}
	if r.GrantID != grantID {
		return nil, gateway.Errorf(gateway.CodeInvalid, "the revocation document names grant %s, the path %s", r.GrantID, grantID)
	}
	st, receipt, err := s.ledger.RevokeGrant(ctx, s.cfg.Platform, string(doc), signature)
	if err != nil {
		return nil, err
	}
	return &GrantResult{Grant: *st, Receipt: receipt}, nil
}

// canReadSubject lets the operator, the subject and its live delegates read a subject's
// grants, logs, keys and delegations.
func (s *Service) canReadSubject(ctx context.Context, p gateway.Principal, subjectID string) error {
	if err := CheckSubjectID("subjectId", subjectID); err != nil {
		return err
	}
	if p.Role == gateway.RoleOperator {
		return nil
	}
	return s.actsFor(ctx, p, subjectID)
}

// ListGrants lists a subject's grants (the subject itself, or the operator).
func (s *Service) ListGrants(ctx context.Context, p gateway.Principal, subjectID string, pageSize int, bookmark string) (*wire.GrantPage, error) {
	if err := s.canReadSubject(ctx, p, subjectID); err != nil {
		return nil, err
	}
	if pageSize < 0 || pageSize > wire.MaxPageSize || len(bookmark) > MaxBookmarkLen {
		return nil, gateway.Errorf(gateway.CodeInvalid, "pageSize must be within 0..%d", wire.MaxPageSize)
	}
	raw, err := s.marks.open(p, bookmark, "grants", subjectID)
	if err != nil {
		return nil, err
	}
	page, err := s.ledger.ListGrants(ctx, s.cfg.Platform, subjectID, pageSize, raw)
	if err != nil {
		return nil, err
	}
	if page.Grants == nil {
		page.Grants = []wire.GrantState{}
	}
	page.Bookmark = s.marks.seal(p, page.Bookmark, "grants", subjectID)
	return page, nil
}

// AccessLog lists every read of a subject's files and metadata (and its own reads and
// ownership checks), newest first.
func (s *Service) AccessLog(ctx context.Context, p gateway.Principal, subjectID string, pageSize int, bookmark string) (*wire.AccessPage, error) {
	if err := s.canReadSubject(ctx, p, subjectID); err != nil {
		return nil, err
	}
	if pageSize < 0 || pageSize > wire.MaxPageSize || len(bookmark) > MaxBookmarkLen {
		return nil, gateway.Errorf(gateway.CodeInvalid, "pageSize must be within 0..%d", wire.MaxPageSize)
	}
	raw, err := s.marks.open(p, bookmark, "access-log", subjectID)
	if err != nil {
		return nil, err
	}
	page, err := s.ledger.AccessLog(ctx, s.cfg.Platform, subjectID, pageSize, raw)
	if err != nil {
		return nil, err
	}
	if page.Entries == nil {
		page.Entries = []wire.AccessEntry{}
	}
	page.Bookmark = s.marks.seal(p, page.Bookmark, "access-log", subjectID)
	return page, nil
}

// AccessGroup is the entries of one page of an access log made under one grant
// (GrantID "" for entries under no grant: the subject's own reads, ownership checks),
// with the grant's matter if it has one.
type AccessGroup struct {
	GrantID string             `json:"grantId"`
	Matter  *wire.MatterRef    `json:"matter,omitempty"`
	Entries []wire.AccessEntry `json:"entries"`
}

// AccessGroups is one page of an access log grouped by grant.
type AccessGroups struct {
	Groups   []AccessGroup `json:"groups"`
	Bookmark string        `json:"bookmark"`
}

// AccessLogByGrant is AccessLog with the page's entries grouped by grant, groups in
// the order of their newest entry, entries newest first; each entry says which part
// of its grant it used.
func (s *Service) AccessLogByGrant(ctx context.Context, p gateway.Principal, subjectID string, pageSize int, bookmark string) (*AccessGroups, error) {
	page, err := s.AccessLog(ctx, p, subjectID, pageSize, bookmark)
	if err != nil {
		return nil, err
	}
	return &AccessGroups{Groups: GroupByGrant(page.Entries), Bookmark: page.Bookmark}, nil
}

// GroupByGrant groups access entries by grant, keeping their order.
func GroupByGrant(entries []wire.AccessEntry) []AccessGroup {
	out := []AccessGroup{}
	at := map[string]int{}
	for _, e := range entries {
		i, ok := at[e.GrantID]
		if !ok {
			i = len(out)
			at[e.GrantID] = i
			out = append(out, AccessGroup{GrantID: e.GrantID, Entries: []wire.AccessEntry{}})
		}
		if e.Matter != nil && out[i].Matter == nil {
			m := *e.Matter
			out[i].Matter = &m
		}
		out[i].Entries = append(out[i].Entries, e)
	}
	return out
}
