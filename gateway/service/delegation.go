package service

import (
	"context"
	"encoding/json"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
)

// Delegation: a guardian (or an enterprise's legal representative) signs grants and
// revocations for the subject with its own key. The chaincode checks the delegate's
// signature, the attesting authority and the end date; the gateway only lets a
// delegate's signed requests reach the subject's grants and logs while the relation is
// live.

// DelegationResult is a delegation with the receipt of the transaction that changed it.
type DelegationResult struct {
	Delegation wire.Delegation `json:"delegation"`
	Receipt    gateway.Receipt `json:"receipt"`
}

// BindDelegation submits a delegate's signed statement as the attesting authority's
// clerk (a department API key of an identity or representative authority).
func (s *Service) BindDelegation(ctx context.Context, p gateway.Principal, documentB64, delegateSignature string) (*DelegationResult, error) {
	if err := requireRole(p, gateway.RoleDepartment); err != nil {
		return nil, err
	}
	doc, err := decodeDocument("document", documentB64)
	if err != nil {
		return nil, err
	}
	if err := checkNamedSubjects(doc, "subjectId", "delegateId"); err != nil {
		return nil, err
	}
	if _, _, _, err := wire.ParseDelegationStatement(doc); err != nil {
		return nil, wireErr(err)
	}
	d, r, err := s.ledger.BindDelegation(ctx, p.Actor(), string(doc), delegateSignature)
	if err != nil {
		return nil, err
	}
	return &DelegationResult{Delegation: *d, Receipt: r}, nil
}

// RevokeDelegation ends a delegation: a revocation signed by the subject or the
// delegate (a citizen's signed request), or, without a signature, by the attesting
// authority's clerk.
func (s *Service) RevokeDelegation(ctx context.Context, p gateway.Principal, subjectID, delegationID, documentB64, signature string) (*DelegationResult, error) {
	if err := CheckSubjectID("subjectId", subjectID); err != nil {
		return nil, err
	}
	actor := s.cfg.Platform
	switch p.Role {
	case gateway.RoleCitizen:
		if err := s.actsFor(ctx, p, subjectID); err != nil {
			return nil, err
		}
		if signature == "" {
			return nil, gateway.Errorf(gateway.CodeBadSignature, "a citizen's revocation needs its signature")
		}
	case gateway.RoleDepartment:
		if signature != "" {
			return nil, gateway.Errorf(gateway.CodeInvalid, "an authority revokes without a subject signature")
		}
		actor = p.Actor()
	default:
		return nil, requireRole(p, gateway.RoleCitizen, gateway.RoleDepartment)
	}
	doc, err := decodeDocument("document", documentB64)
	if err != nil {
		return nil, err
	}
	r, _, err := wire.ParseDelegationRevocation(doc)
	if err != nil {
		return nil, wireErr(err)
	}
	if r.SubjectID != subjectID || r.DelegationID != delegationID {
		return nil, gateway.Errorf(gateway.CodeInvalid, "the revocation names another subject or delegation than the path")
	}
	d, rc, err := s.ledger.RevokeDelegation(ctx, actor, string(doc), signature)
	if err != nil {
		return nil, err
	}
	return &DelegationResult{Delegation: *d, Receipt: rc}, nil
}

// Delegations lists a subject's delegations: to the subject, a live delegate, or the
// operator.
func (s *Service) Delegations(ctx context.Context, p gateway.Principal, subjectID string) ([]wire.Delegation, error) {
	if err := s.canReadSubject(ctx, p, subjectID); err != nil {
		return nil, err
	}
	return s.ledger.ListDelegations(ctx, s.cfg.Platform, subjectID)
}

// actsFor refuses unless the citizen p is subjectID itself or a live delegate of it.
func (s *Service) actsFor(ctx context.Context, p gateway.Principal, subjectID string) error {
	if err := requireRole(p, gateway.RoleCitizen); err != nil {
		return err
	}
	if p.SubjectID == subjectID {
		return nil
	}
	dels, err := s.ledger.ListDelegations(ctx, s.cfg.Platform, subjectID)
	if err != nil {
		return err
	}
	now := s.cfg.Now()
	for _, d := range dels {
		if d.DelegateID == p.SubjectID && d.LiveAt(now) {
			return nil
		}
	}
	return gateway.Errorf(gateway.CodeForbidden, "a subject may act only on its own dossier, or as a live delegate")
}

// checkNamedSubjects refuses a document whose named subject fields hold an ID number
// (raw_id_number) before the strict parse would call it merely invalid.
func checkNamedSubjects(doc []byte, fields ...string) error {
	var m map[string]any
	if json.Unmarshal(doc, &m) != nil {
		return nil
	}
	for _, f := range fields {
		if v, ok := m[f].(string); ok && v != "" {
			if err := CheckSubjectID("the document's "+f, v); err != nil {
				return err
			}
		}
	}
	return nil
}
