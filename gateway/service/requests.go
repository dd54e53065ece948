package service

import (
	"context"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
)

// Consent requests: a department asks a subject for a grant; the subject (or a live
// delegate) approves by signing exactly the requested grant document, or declines.
// The chaincode checks that the approved bytes are the request's.

// ConsentRequestResult is a request with the receipt of the transaction that changed it.
type ConsentRequestResult struct {
	Request wire.ConsentRequest `json:"request"`
	Receipt gateway.Receipt     `json:"receipt"`
}

// RequestConsent asks subjectID for in.Grant (a department, for itself: the chaincode
// refuses a grant that gives the caller no part). A grant naming a matter without
// parts asks for that matter version's parts (version 0: the current version).
func (s *Service) RequestConsent(ctx context.Context, p gateway.Principal, subjectID string, in wire.ConsentRequestInput) (*ConsentRequestResult, error) {
	if err := requireRole(p, gateway.RoleDepartment); err != nil {
		return nil, err
	}
	if err := CheckSubjectID("subjectId", subjectID); err != nil {
		return nil, err
	}
	if in.Grant.SubjectID == "" {
		in.Grant.SubjectID = subjectID
	}
	if in.Grant.SubjectID != subjectID {
		return nil, gateway.Errorf(gateway.CodeInvalid, "the requested grant names another subject than the path")
	}
	if in.Grant.Matter != nil && len(in.Grant.Parts) == 0 {
		if err := s.fillMatter(ctx, &in.Grant); err != nil {
			return nil, err
		}
	} else if in.Grant.Grantee == "" && len(in.Grant.Parts) == 0 {
		in.Grant.Grantee = p.MSPID
	}
	b, err := wire.Marshal(in)
	if err != nil {
		return nil, gateway.Wrap(gateway.CodeInvalid, err, "request does not encode")
	}
	norm, _, _, err := wire.DecodeConsentRequestInput(b)
	if err != nil {
		return nil, wireErr(err)
	}
	r, rc, err := s.ledger.RequestConsent(ctx, p.Actor(), norm)
	if err != nil {
		return nil, err
	}
	return &ConsentRequestResult{Request: *r, Receipt: rc}, nil
}

// ConsentRequests lists a subject's requests: all of them to the subject, a live
// delegate or the operator; to a department only the ones it made (it learns nothing
// of other departments' requests, only the outcome of its own).
func (s *Service) ConsentRequests(ctx context.Context, p gateway.Principal, subjectID string) ([]wire.ConsentRequest, error) {
	if p.Role == gateway.RoleDepartment {
		if err := CheckSubjectID("subjectId", subjectID); err != nil {
			return nil, err
		}
		all, err := s.ledger.ListConsentRequests(ctx, s.cfg.Platform, subjectID)
		if err != nil {
			return nil, err
		}
		own := []wire.ConsentRequest{}
		for _, r := range all {
			if r.Requester == p.MSPID {
				own = append(own, r)
			}
		}
		return own, nil
	}
	if err := s.canReadSubject(ctx, p, subjectID); err != nil {
		return nil, err
	}
	return s.ledger.ListConsentRequests(ctx, s.cfg.Platform, subjectID)
}

// DepartmentConsentRequests is one page of the calling department's own consent
// requests across subjects, newest first, with their outcome; status filters by
// pending, approved, declined or expired ("" any). The chaincode picks the requests by
// the department's own Fabric identity, so no argument can show another department's.
// A filtered page may be short while its bookmark says more follow.
func (s *Service) DepartmentConsentRequests(ctx context.Context, p gateway.Principal, status string, pageSize int, bookmark string) (*wire.ConsentRequestPage, error) {
	if err := requireRole(p, gateway.RoleDepartment); err != nil {
		return nil, err
	}
	if err := wire.CheckRequestStatus(status); err != nil {
		return nil, wireErr(err)
	}
	if pageSize < 0 || pageSize > wire.MaxPageSize || len(bookmark) > MaxBookmarkLen {
		return nil, gateway.Errorf(gateway.CodeInvalid, "pageSize must be within 0..%d", wire.MaxPageSize)
	}
	raw, err := s.marks.open(p, bookmark, "my-consent-requests", status)
	if err != nil {
		return nil, err
	}
	page, err := s.ledger.MyConsentRequests(ctx, p.Actor(), status, pageSize, raw)
	if err != nil {
		return nil, err
	}
	if page.Requests == nil {
		page.Requests = []wire.ConsentRequest{}
	}
	page.Bookmark = s.marks.seal(p, page.Bookmark, "my-consent-requests", status)
	return page, nil
}

// ConsentRequest returns one request to its requesting department or the operator.
func (s *Service) ConsentRequest(ctx context.Context, p gateway.Principal, requestID string) (*wire.ConsentRequest, error) {
	if err := requireRole(p, gateway.RoleDepartment, gateway.RoleOperator); err != nil {
		return nil, err
	}
	if err := wire.ValidateID("requestId", requestID); err != nil {
		return nil, wireErr(err)
	}
	return s.ledger.GetConsentRequest(ctx, p.Actor(), requestID)
}

// ApproveConsentRequest submits the subject's (or delegate's) signature over exactly
// the requested grant document.
func (s *Service) ApproveConsentRequest(ctx context.Context, p gateway.Principal, requestID, documentB64, signature string) (*GrantResult, error) {
	if err := wire.ValidateID("requestId", requestID); err != nil {
		return nil, wireErr(err)
	}
	doc, err := decodeDocument("document", documentB64)
	if err != nil {
		return nil, err
	}
	g, _, err := wire.ParseGrant(doc)
	if err != nil {
		return nil, wireErr(err)
	}
	if err := s.actsFor(ctx, p, g.SubjectID); err != nil {
		return nil, err
	}
	st, rc, err := s.ledger.ApproveConsentRequest(ctx, s.cfg.Platform, requestID, string(doc), signature)
	if err != nil {
		return nil, err
	}
	return &GrantResult{Grant: *st, Receipt: rc}, nil
}

// DeclineConsentRequest submits a signed decline.
func (s *Service) DeclineConsentRequest(ctx context.Context, p gateway.Principal, requestID, documentB64, signature string) (*ConsentRequestResult, error) {
	doc, err := decodeDocument("document", documentB64)
	if err != nil {
		return nil, err
	}
	d, _, err := wire.ParseConsentDecline(doc)
	if err != nil {
		return nil, wireErr(err)
	}
	if d.RequestID != requestID {
		return nil, gateway.Errorf(gateway.CodeInvalid, "the decline names request %s, the path %s", d.RequestID, requestID)
	}
	if err := s.actsFor(ctx, p, d.SubjectID); err != nil {
		return nil, err
	}
	r, rc, err := s.ledger.DeclineConsentRequest(ctx, s.cfg.Platform, string(doc), signature)
	if err != nil {
		return nil, err
	}
	return &ConsentRequestResult{Request: *r, Receipt: rc}, nil
}
