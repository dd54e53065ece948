package service

import (
	"context"
	"crypto/ecdsa"
	"encoding/json"
	"strings"
	"sync"
	"time"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
)

// Subject keys. The gateway only carries the subject's signed statements to the
// chaincode, which checks every signature and, for a first key or a recovery, that the
// submitting organisation is an identity authority (never the operator). Nothing the
// gateway or its operator does alone can make a key speak for a subject.

// KeyResult is a subject key with the receipt of the transaction that changed it.
type KeyResult struct {
	Key     wire.SubjectKey `json:"key"`
	Receipt gateway.Receipt `json:"receipt"`
}

// RecoveryResult is a key recovery with the receipt of the transaction that changed it.
type RecoveryResult struct {
	Recovery wire.KeyRecovery `json:"recovery"`
	Receipt  gateway.Receipt  `json:"receipt"`
}

// statement decodes and parses a base64 key statement of the wanted kind and checks that
// it names subjectID (when not "").
func statement(b64, kind, subjectID string) ([]byte, *wire.ParsedKeyStatement, error) {
	doc, err := decodeDocument("document", b64)
	if err != nil {
		return nil, nil, err
	}
	var named struct {
		SubjectID string `json:"subjectId"`
	}
	if json.Unmarshal(doc, &named) == nil && named.SubjectID != "" {
		if err := CheckSubjectID("the statement's subjectId", named.SubjectID); err != nil {
			return nil, nil, err
		}
	}
	st, err := wire.ParseKeyStatement(doc)
	if err != nil {
		return nil, nil, wireErr(err)
	}
	if st.Kind != kind {
		return nil, nil, gateway.Errorf(gateway.CodeInvalid, "the document is a %s statement; this operation takes %s", st.Kind, kind)
	}
	if subjectID != "" && st.SubjectID != subjectID {
		return nil, nil, gateway.Errorf(gateway.CodeForbidden, "the statement is for another subject")
	}
	return doc, st, nil
}

// BindSubjectKey submits a subject's first key, as the identity authority's clerk
// (a department API key of an identity-authority organisation): the statement signed
// by the new key is the subject's proof of possession, the transaction by the
// authority's identity its attestation.
func (s *Service) BindSubjectKey(ctx context.Context, p gateway.Principal, documentB64, popSignature string) (*KeyResult, error) {
	if err := requireRole(p, gateway.RoleDepartment); err != nil {
		return nil, err
	}
	doc, _, err := statement(documentB64, wire.KeyBindKind, "")
	if err != nil {
		return nil, err
	}
	k, r, err := s.ledger.BindSubjectKey(ctx, p.Actor(), string(doc), popSignature)
	if err != nil {
		return nil, err
	}
	return &KeyResult{Key: *k, Receipt: r}, nil
}

// RequestKeyRecovery submits a time-locked recovery for a subject that lost its keys,
// as the identity authority's clerk.
func (s *Service) RequestKeyRecovery(ctx context.Context, p gateway.Principal, documentB64, popSignature string) (*RecoveryResult, error) {
	if err := requireRole(p, gateway.RoleDepartment); err != nil {
		return nil, err
	}
	doc, _, err := statement(documentB64, wire.KeyRecoveryKind, "")
	if err != nil {
		return nil, err
	}
	rec, r, err := s.ledger.RequestKeyRecovery(ctx, p.Actor(), string(doc), popSignature)
	if err != nil {
		return nil, err
	}
	return &RecoveryResult{Recovery: *rec, Receipt: r}, nil
}

// AddSubjectKey adds a device key, signed by an active key of the subject and by the
// new key (the subject's own signed request).
func (s *Service) AddSubjectKey(ctx context.Context, p gateway.Principal, subjectID, documentB64, signature, popSignature string) (*KeyResult, error) {
	if err := requireSubject(p, subjectID); err != nil {
		return nil, err
	}
	doc, _, err := statement(documentB64, wire.KeyAddKind, subjectID)
	if err != nil {
		return nil, err
	}
	k, r, err := s.ledger.AddSubjectKey(ctx, s.cfg.Platform, string(doc), signature, popSignature)
	if err != nil {
		return nil, err
	}
	return &KeyResult{Key: *k, Receipt: r}, nil
}

// RemoveSubjectKey retires a key of the subject, signed by any active key.
func (s *Service) RemoveSubjectKey(ctx context.Context, p gateway.Principal, subjectID, keyID, documentB64, signature string) (*KeyResult, error) {
	if err := requireSubject(p, subjectID); err != nil {
		return nil, err
	}
	doc, st, err := statement(documentB64, wire.KeyRemoveKind, subjectID)
	if err != nil {
		return nil, err
	}
	if st.KeyID != keyID {
		return nil, gateway.Errorf(gateway.CodeInvalid, "the statement removes key %s, the path names %s", st.KeyID, keyID)
	}
	k, r, err := s.ledger.RemoveSubjectKey(ctx, s.cfg.Platform, string(doc), signature)
	if err != nil {
		return nil, err
	}
	return &KeyResult{Key: *k, Receipt: r}, nil
}

// CancelKeyRecovery cancels a pending recovery, signed by any active key.
func (s *Service) CancelKeyRecovery(ctx context.Context, p gateway.Principal, subjectID, recoveryID, documentB64, signature string) (*RecoveryResult, error) {
	if err := requireSubject(p, subjectID); err != nil {
		return nil, err
	}
	doc, st, err := statement(documentB64, wire.KeyRecoveryCancelKind, subjectID)
	if err != nil {
		return nil, err
	}
	if st.RecoveryID != recoveryID {
		return nil, gateway.Errorf(gateway.CodeInvalid, "the statement cancels recovery %s, the path names %s", st.RecoveryID, recoveryID)
	}
	rec, r, err := s.ledger.CancelKeyRecovery(ctx, s.cfg.Platform, string(doc), signature)
	if err != nil {
		return nil, err
	}
	return &RecoveryResult{Recovery: *rec, Receipt: r}, nil
}

// CompleteKeyRecovery makes a recovery effective once its time lock has passed. Anyone
// may ask (the new device has no active key to sign with yet); the chaincode refuses
// before the time lock, and after a cancellation.
func (s *Service) CompleteKeyRecovery(ctx context.Context, subjectID, recoveryID string) (*KeyResult, error) {
	if err := CheckSubjectID("subjectId", subjectID); err != nil {
		return nil, err
	}
	if err := wire.ValidateID("recoveryId", recoveryID); err != nil {
		return nil, wireErr(err)
	}
	k, r, err := s.ledger.CompleteKeyRecovery(ctx, s.cfg.Platform, subjectID, recoveryID)
	if err != nil {
		return nil, err
	}
	return &KeyResult{Key: *k, Receipt: r}, nil
}

// SubjectKeys lists a subject's keys and recoveries (the subject itself, or the
// operator).
func (s *Service) SubjectKeys(ctx context.Context, p gateway.Principal, subjectID string) (*wire.SubjectKeys, error) {
	if err := s.canReadSubject(ctx, p, subjectID); err != nil {
		return nil, err
	}
	return s.ledger.ListSubjectKeys(ctx, s.cfg.Platform, subjectID)
}

// KeyEvents lists a subject's key log, oldest first (the subject itself, or the
// operator).
func (s *Service) KeyEvents(ctx context.Context, p gateway.Principal, subjectID string, pageSize int, bookmark string) (*wire.KeyEventPage, error) {
	if err := s.canReadSubject(ctx, p, subjectID); err != nil {
		return nil, err
	}
	if err := checkPage(pageSize, bookmark); err != nil {
		return nil, err
	}
	raw, err := s.marks.open(p, bookmark, "key-events", subjectID)
	if err != nil {
		return nil, err
	}
	page, err := s.ledger.KeyEvents(ctx, s.cfg.Platform, subjectID, pageSize, raw)
	if err != nil {
		return nil, err
	}
	if page.Events == nil {
		page.Events = []wire.KeyEvent{}
	}
	page.Bookmark = s.marks.seal(p, page.Bookmark, "key-events", subjectID)
	return page, nil
}

func checkPage(pageSize int, bookmark string) error {
	if pageSize < 0 || pageSize > wire.MaxPageSize || len(bookmark) > MaxBookmarkLen {
		return gateway.Errorf(gateway.CodeInvalid, "pageSize must be within 0..%d", wire.MaxPageSize)
	}
	return nil
}

// KeyRef is the keyid of a citizen's request signature: "<subjectId>/<keyId>".
func KeyRef(subjectID, keyID string) string { return subjectID + "/" + keyID }

// ParseKeyRef splits a request signature's keyid into subject ID and key ID.
func ParseKeyRef(ref string) (subjectID, keyID string, err error) {
	subjectID, keyID, ok := strings.Cut(ref, "/")
	if !ok || wire.ValidateSubjectID("subjectId", subjectID) != nil || wire.ValidateKeyID("keyId", keyID) != nil {
		return "", "", gateway.Errorf(gateway.CodeUnauthorized, "keyid must be <subjectId>/<keyId>")
	}
	return subjectID, keyID, nil
}

// SubjectKeyResolver resolves the active key named by a request signature's keyid,
// caching answers briefly: a removed key stops authenticating requests within TTL, or
// as soon as the gateway sees the block that removed it (Observe, fed by the index's
// follower); it stops signing grants at once (the chaincode checks those).
type SubjectKeyResolver struct {
	svc *Service
	TTL time.Duration

	mu    sync.Mutex
	cache map[string]cachedKey
}

type cachedKey struct {
	key *ecdsa.PublicKey // nil: removed (Observe)
	at  time.Time
}

// SubjectKeyResolver returns the key resolver used by request-signature verification.
func (s *Service) SubjectKeyResolver(ttl time.Duration) *SubjectKeyResolver {
	return &SubjectKeyResolver{svc: s, TTL: ttl, cache: map[string]cachedKey{}}
}

// Key returns the public key of ref ("<subjectId>/<keyId>") if it is an active key of
// that subject: unknown_key otherwise.
func (k *SubjectKeyResolver) Key(ctx context.Context, ref string) (*ecdsa.PublicKey, error) {
	subjectID, keyID, err := ParseKeyRef(ref)
	if err != nil {
		return nil, err
	}
	now := k.svc.cfg.Now()
	k.mu.Lock()
	c, ok := k.cache[ref]
	k.mu.Unlock()
	if ok && now.Sub(c.at) < k.TTL {
		if c.key == nil {
			return nil, gateway.Errorf(gateway.CodeUnknownKey, "key %s of subject %s was removed", keyID, subjectID)
		}
		return c.key, nil
	}
	sk, err := k.svc.ledger.GetSubjectKey(ctx, k.svc.cfg.Platform, subjectID, keyID)
	if err != nil {
		if gateway.ErrorCode(err) == gateway.CodeNotFound || gateway.ErrorCode(err) == gateway.CodeUnknownKey {
			return nil, gateway.Errorf(gateway.CodeUnknownKey, "%s is not a key of subject %s", keyID, subjectID)
		}
		return nil, err
	}
	if sk.Status != wire.KeyActive {
		return nil, gateway.Errorf(gateway.CodeUnknownKey, "key %s of subject %s was removed", keyID, subjectID)
	}
	pub, _, _, err := wire.ParseSubjectPublicKey(sk.PublicKeyPEM)
	if err != nil {
		return nil, gateway.Wrap(gateway.CodeInternal, err, "bound key of %s unreadable", subjectID)
	}
	k.mu.Lock()
	k.put(ref, cachedKey{key: pub, at: now})
	k.mu.Unlock()
	return pub, nil
}

// put caches c under ref, emptying the cache first when it is full (a gateway's
// catch-up replays every key change of the ledger through Observe). k.mu is held.
func (k *SubjectKeyResolver) put(ref string, c cachedKey) {
	if len(k.cache) > 100_000 {
		k.cache = map[string]cachedKey{}
	}
	k.cache[ref] = c
}

// Observe takes a subject key's state from a committed block. A key no longer active
// is refused from now on (for TTL, without asking the ledger, whose peers may not all
// have committed the block yet; then as the ledger says); an active one is looked up
// afresh.
func (k *SubjectKeyResolver) Observe(subjectID, keyID string, active bool) {
	ref := KeyRef(subjectID, keyID)
	k.mu.Lock()
	defer k.mu.Unlock()
	if active {
		delete(k.cache, ref)
		return
	}
	k.put(ref, cachedKey{at: k.svc.cfg.Now()})
}
