package service

import (
	"context"
	"errors"
	"time"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
)

// visibleRecord loads a record for a department or the operator: not_found unless the
// caller may see it (the chaincode decides, and the gateway checks again with the same
// rule).
func (s *Service) visibleRecord(ctx context.Context, p gateway.Principal, recordID string) (*wire.Record, error) {
	if err := requireRole(p, gateway.RoleDepartment, gateway.RoleOperator); err != nil {
		return nil, err
	}
	if err := wire.ValidateID("recordId", recordID); err != nil {
		return nil, wireErr(err)
	}
	rec, err := s.ledger.GetRecord(ctx, p.Actor(), recordID)
	if err != nil {
		return nil, err
	}
	g, err := s.grantsFor(ctx, p, rec.SubjectID)
	if err != nil {
		return nil, err
	}
	if !g.visible(rec) {
		return nil, recordNotFound(recordID)
	}
	return rec, nil
}

// recordNotFound is the answer for a record the caller may not see: the chaincode's
// answer for a record that does not exist, word for word, so the two cannot be told
// apart.
func recordNotFound(recordID string) error {
	return gateway.Errorf(gateway.CodeNotFound, "record %s does not exist", recordID)
}

// grantView is what a caller may see of one subject's dossier.
type grantView struct {
	p      gateway.Principal
	now    time.Time
	grants []wire.GrantState
}

// grantsFor loads the live grants of a subject for a department caller.
func (s *Service) grantsFor(ctx context.Context, p gateway.Principal, subjectID string) (*grantView, error) {
	g := &grantView{p: p, now: s.cfg.Now()}
	if p.Role != gateway.RoleDepartment {
		return g, nil
	}
	bookmark := ""
	for i := 0; i < 50; i++ {
		page, err := s.ledger.ListGrants(ctx, s.cfg.Platform, subjectID, wire.MaxPageSize, bookmark)
		if err != nil {
			var ge *gateway.Error
			if errors.As(err, &ge) && ge.Code == gateway.CodeNotFound {
				return g, nil
			}
			return nil, err
		}
		for _, gr := range page.Grants {
			if gr.Status == wire.GrantActive && gr.Grant.Names(p.MSPID) {
				g.grants = append(g.grants, gr)
			}
		}
		if page.Bookmark == "" {
			break
		}
		bookmark = page.Bookmark
	}
	return g, nil
}

func (g *grantView) visible(r *wire.Record) bool {
	switch g.p.Role {
	case gateway.RoleOperator:
		return true
	case gateway.RoleDepartment:
		if r.Issuer == g.p.MSPID {
			return true
		}
		for i := range g.grants {
			if g.grants[i].Allows(g.p.MSPID, r, g.now) {
				return true
			}
		}
	}
	return false
}
