package service

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
)

// The attesting authority's counter: the delegations and key recoveries an authority
// attested for a subject, ending a delegation it attested, and the new version of a
// matter the operator means to define. None of this is a trust rule: the chaincode
// lets only the attesting authority end a delegation without a signature, refuses a
// recovery before its time lock or after a cancellation, and numbers matter versions
// itself (never rewriting one). What the gateway adds is the view (an authority sees
// only what it attested) and the operator's check that it edits the latest version.

// AttestedDelegations lists the delegations of subjectID that the calling
// department's organisation attested (a department API key; others are forbidden).
func (s *Service) AttestedDelegations(ctx context.Context, p gateway.Principal, subjectID string) ([]wire.Delegation, error) {
	if err := requireRole(p, gateway.RoleDepartment); err != nil {
		return nil, err
	}
	if err := CheckSubjectID("subjectId", subjectID); err != nil {
		return nil, err
	}
	all, err := s.ledger.ListDelegations(ctx, s.cfg.Platform, subjectID)
	if err != nil {
		return nil, err
	}
	out := []wire.Delegation{}
	for _, d := range all {
		if d.AttestedBy == p.MSPID {
			out = append(out, d)
		}
	}
	return out, nil
}

// EndDelegation ends a delegation as the authority that attested it: the gateway
// writes the (unsigned) revocation document, the chaincode checks that the submitting
// organisation is the attesting one (forbidden otherwise, conflict if already ended).
func (s *Service) EndDelegation(ctx context.Context, p gateway.Principal, subjectID, delegationID string) (*DelegationResult, error) {
	if err := requireRole(p, gateway.RoleDepartment); err != nil {
		return nil, err
	}
	if err := CheckSubjectID("subjectId", subjectID); err != nil {
		return nil, err
	}
	if err := wire.ValidateID("delegationId", delegationID); err != nil {
		return nil, wireErr(err)
	}
	var n [16]byte
	if _, err := rand.Read(n[:]); err != nil {
		return nil, gateway.Wrap(gateway.CodeInternal, err, "nonce")
	}
	doc, err := wire.Marshal(wire.DelegationRevocation{Kind: wire.DelegationRevocationKind, SubjectID: subjectID,
		DelegationID: delegationID, IssuedAt: wire.FormatTime(s.cfg.Now()), Nonce: "counter-" + hex.EncodeToString(n[:])})
	if err != nil {
		return nil, gateway.Wrap(gateway.CodeInternal, err, "revocation does not encode")
	}
	return s.RevokeDelegation(ctx, p, subjectID, delegationID, base64.StdEncoding.EncodeToString(doc), "")
}

// AttestedRecoveries lists the key recoveries of subjectID that the calling
// department's organisation requested (pending, effective or cancelled).
func (s *Service) AttestedRecoveries(ctx context.Context, p gateway.Principal, subjectID string) ([]wire.KeyRecovery, error) {
	if err := requireRole(p, gateway.RoleDepartment); err != nil {
		return nil, err
	}
	if err := CheckSubjectID("subjectId", subjectID); err != nil {
		return nil, err
	}
	keys, err := s.ledger.ListSubjectKeys(ctx, s.cfg.Platform, subjectID)
	if err != nil {
		return nil, err
	}
	out := []wire.KeyRecovery{}
	for _, r := range keys.Recoveries {
		if r.AttestedBy == p.MSPID {
			out = append(out, r)
		}
	}
	return out, nil
}

// DefineMatterVersion defines version `version` of a matter (operator only): 1 for a
// new matter, the latest version + 1 for a new version of one. Any other number is a
// conflict (the matter changed since the operator read it, or the number does not
// increase), and so is a definition with the same content as the latest version (the
// ledger would keep that version: nothing new is defined).
func (s *Service) DefineMatterVersion(ctx context.Context, p gateway.Principal, d wire.MatterDefinition, version int) (*AdminResult[wire.Matter], error) {
	if err := requireRole(p, gateway.RoleOperator); err != nil {
		return nil, err
	}
	if err := wire.ValidateCode("code", d.Code); err != nil {
		return nil, wireErr(err)
	}
	latest := 0
	switch m, err := s.ledger.GetMatter(ctx, s.cfg.Platform, d.Code, 0); {
	case err == nil:
		latest = m.Version
	case gateway.ErrorCode(err) != gateway.CodeNotFound:
		return nil, err
	}
	if version != latest+1 {
		return nil, gateway.Errorf(gateway.CodeConflict, "matter %s is at version %d: the next version is %d, not %d", d.Code, latest, latest+1, version)
	}
	res, err := s.DefineMatter(ctx, p, d)
	if err != nil {
		return nil, err
	}
	if res.Value.Version != version {
		return nil, gateway.Errorf(gateway.CodeConflict, "matter %s version %d has this content already", d.Code, res.Value.Version)
	}
	return res, nil
}
