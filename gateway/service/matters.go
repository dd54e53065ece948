package service

import (
	"context"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
)

// DefineMatter defines a "one thing" matter, or a new version of it (operator only):
// which departments take part, and for each the record types it reads and why. The
// chaincode checks every department, record type and purpose against the registry.
func (s *Service) DefineMatter(ctx context.Context, p gateway.Principal, d wire.MatterDefinition) (*AdminResult[wire.Matter], error) {
	return admin(p, func() (*wire.Matter, gateway.Receipt, error) {
		b, err := wire.Marshal(d)
		if err != nil {
			return nil, gateway.Receipt{}, gateway.Wrap(gateway.CodeInvalid, err, "matter does not encode")
		}
		norm, err := wire.DecodeMatterDefinition(b)
		if err != nil {
			return nil, gateway.Receipt{}, wireErr(err)
		}
		return s.ledger.DefineMatter(ctx, p.Actor(), norm)
	})
}

// Matters lists the latest version of every matter (anyone: matters are public, so a
// citizen can see what a department will read before consenting).
func (s *Service) Matters(ctx context.Context) ([]wire.Matter, error) {
	return s.ledger.ListMatters(ctx, s.cfg.Platform)
}

// Matter returns one version of a matter (0: the latest).
func (s *Service) Matter(ctx context.Context, code string, version int) (*wire.Matter, error) {
	if err := wire.ValidateCode("code", code); err != nil {
		return nil, wireErr(err)
	}
	if version < 0 || version > wire.MaxMatterVersions {
		return nil, gateway.Errorf(gateway.CodeInvalid, "version must be within 0..%d", wire.MaxMatterVersions)
	}
	return s.ledger.GetMatter(ctx, s.cfg.Platform, code, version)
}

// fillMatter completes a grant that names a matter (version 0: the current one) but
// lists no parts with that version's parts: exactly what the matter asks. A matter
// or version that does not exist is unknown_matter.
func (s *Service) fillMatter(ctx context.Context, g *wire.Grant) error {
	m, err := s.Matter(ctx, g.Matter.Code, g.Matter.Version)
	if err != nil {
		if gateway.ErrorCode(err) == gateway.CodeNotFound {
			return gateway.Errorf(gateway.CodeUnknownMatter, "matter %s version %d is not defined", g.Matter.Code, g.Matter.Version)
		}
		return err
	}
	ref := m.Ref()
	g.Matter, g.Parts = &ref, m.GrantParts()
	return nil
}
