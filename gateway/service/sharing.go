package service

import (
	"context"
	"crypto/ecdsa"
	"encoding/base64"
	"sync"
	"time"

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
	if err := requireSubject(p, subjectID); err != nil {
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
	if r.SubjectID != p.SubjectID {
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

func (s *Service) canReadSubject(p gateway.Principal, subjectID string) error {
	if err := CheckSubjectID("subjectId", subjectID); err != nil {
		return err
	}
	if p.Role == gateway.RoleOperator {
		return nil
	}
	return requireSubject(p, subjectID)
}

// ListGrants lists a subject's grants (the subject itself, or the operator).
func (s *Service) ListGrants(ctx context.Context, p gateway.Principal, subjectID string, pageSize int, bookmark string) (*wire.GrantPage, error) {
	if err := s.canReadSubject(p, subjectID); err != nil {
		return nil, err
	}
	if pageSize < 0 || pageSize > wire.MaxPageSize || len(bookmark) > wire.MaxBookmarkLen {
		return nil, gateway.Errorf(gateway.CodeInvalid, "pageSize must be within 0..%d", wire.MaxPageSize)
	}
	page, err := s.ledger.ListGrants(ctx, s.cfg.Platform, subjectID, pageSize, bookmark)
	if err != nil {
		return nil, err
	}
	if page.Grants == nil {
		page.Grants = []wire.GrantState{}
	}
	return page, nil
}

// AccessLog lists every read of a subject's files, newest first.
func (s *Service) AccessLog(ctx context.Context, p gateway.Principal, subjectID string, pageSize int, bookmark string) (*wire.AccessPage, error) {
	if err := s.canReadSubject(p, subjectID); err != nil {
		return nil, err
	}
	if pageSize < 0 || pageSize > wire.MaxPageSize || len(bookmark) > wire.MaxBookmarkLen {
		return nil, gateway.Errorf(gateway.CodeInvalid, "pageSize must be within 0..%d", wire.MaxPageSize)
	}
	page, err := s.ledger.AccessLog(ctx, s.cfg.Platform, subjectID, pageSize, bookmark)
	if err != nil {
		return nil, err
	}
	if page.Entries == nil {
		page.Entries = []wire.AccessEntry{}
	}
	return page, nil
}

// SubjectKeys resolves a subject's bound public key for request signatures, caching it
// briefly (a rotation takes effect within TTL).
type SubjectKeys struct {
	svc *Service
	TTL time.Duration

	mu    sync.Mutex
	cache map[string]cachedKey
}

type cachedKey struct {
	key *ecdsa.PublicKey
	at  time.Time
}

// SubjectKeys returns the key resolver used by request-signature verification.
func (s *Service) SubjectKeys(ttl time.Duration) *SubjectKeys {
	return &SubjectKeys{svc: s, TTL: ttl, cache: map[string]cachedKey{}}
}

// Key returns the public key bound to subjectID.
func (k *SubjectKeys) Key(ctx context.Context, subjectID string) (*ecdsa.PublicKey, error) {
	if err := wire.ValidateSubjectID("subjectId", subjectID); err != nil {
		return nil, gateway.Errorf(gateway.CodeUnauthorized, "invalid key id")
	}
	now := k.svc.cfg.Now()
	k.mu.Lock()
	c, ok := k.cache[subjectID]
	k.mu.Unlock()
	if ok && now.Sub(c.at) < k.TTL {
		return c.key, nil
	}
	sk, err := k.svc.ledger.GetSubjectKey(ctx, k.svc.cfg.Platform, subjectID)
	if err != nil {
		if gateway.ErrorCode(err) == gateway.CodeNotFound || gateway.ErrorCode(err) == gateway.CodeUnknownKey {
			return nil, gateway.Errorf(gateway.CodeUnknownKey, "no key is bound to subject %s", subjectID)
		}
		return nil, err
	}
	pub, _, _, err := wire.ParseSubjectPublicKey(sk.PublicKeyPEM)
	if err != nil {
		return nil, gateway.Wrap(gateway.CodeInternal, err, "bound key of %s unreadable", subjectID)
	}
	k.mu.Lock()
	if len(k.cache) > 100_000 {
		k.cache = map[string]cachedKey{}
	}
	k.cache[subjectID] = cachedKey{key: pub, at: now}
	k.mu.Unlock()
	return pub, nil
}
