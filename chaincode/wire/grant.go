package wire

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"strings"
	"time"
)

// GrantTimes holds the parsed validity window of a grant.
type GrantTimes struct {
	ValidFrom time.Time
	ExpiresAt time.Time
}

// ParseGrant decodes a signed grant document (DecodeSigned rules), validates
// it, and returns it normalised: times in FormatTime form, nil scope lists as
// empty lists. The caller verifies the signature over the original bytes.
func ParseGrant(doc []byte) (Grant, GrantTimes, error) {
	var g Grant
	if err := DecodeSigned(doc, &g, MaxDocumentBytes); err != nil {
		return Grant{}, GrantTimes{}, err
	}
	t, err := g.normalize()
	if err != nil {
		return Grant{}, GrantTimes{}, err
	}
	return g, t, nil
}

func (g *Grant) normalize() (GrantTimes, error) {
	var t GrantTimes
	if g.Kind != GrantKind {
		return t, Errorf(CodeInvalid, "kind must be %q", GrantKind)
	}
	if err := ValidateID("grantId", g.GrantID); err != nil {
		return t, err
	}
	if err := ValidateSubjectID("subjectId", g.SubjectID); err != nil {
		return t, err
	}
	if len(g.Parts) == 0 && g.Matter == nil {
		if err := ValidateMSPID("grantee", g.Grantee); err != nil {
			return t, err
		}
		if err := normalizeScope("scope", &g.Scope); err != nil {
			return t, err
		}
		if err := ValidateCode("purpose", g.Purpose); err != nil {
			return t, err
		}
	} else if err := g.normalizeParts(); err != nil {
		return t, err
	}
	if err := ValidateText("nonce", g.Nonce, MaxNonceLen, false); err != nil {
		return t, err
	}
	var err error
	if t.ValidFrom, err = ParseTime("validFrom", g.ValidFrom); err != nil {
		return t, err
	}
	if t.ExpiresAt, err = ParseTime("expiresAt", g.ExpiresAt); err != nil {
		return t, err
	}
	if !t.ValidFrom.Before(t.ExpiresAt) {
		return t, Errorf(CodeInvalid, "validFrom must be before expiresAt")
	}
	g.ValidFrom = FormatTime(t.ValidFrom)
	g.ExpiresAt = FormatTime(t.ExpiresAt)
	return t, nil
}

// normalizeScope turns nil scope lists into empty ones and checks the scope names
// 1..limit distinct, valid record types and IDs.
func normalizeScope(field string, sc *GrantScope) error {
	if sc.RecordTypes == nil {
		sc.RecordTypes = []string{}
	}
	if sc.RecordIDs == nil {
		sc.RecordIDs = []string{}
	}
	if len(sc.RecordTypes)+len(sc.RecordIDs) == 0 {
		return Errorf(CodeInvalid, "%s must name at least one record type or record ID", field)
	}
	if len(sc.RecordTypes) > MaxScopeTypes {
		return Errorf(CodeInvalid, "%s.recordTypes has more than %d entries", field, MaxScopeTypes)
	}
	if len(sc.RecordIDs) > MaxScopeIDs {
		return Errorf(CodeInvalid, "%s.recordIds has more than %d entries", field, MaxScopeIDs)
	}
	if err := checkList(field+".recordTypes", sc.RecordTypes, ValidateCode); err != nil {
		return err
	}
	return checkList(field+".recordIds", sc.RecordIDs, ValidateID)
}

// normalizeParts checks the multi-part form: no single-grantee fields, 1 to
// MaxMatterParts parts in ascending grantee order (so one department has one part),
// each a valid grantee, scope and purpose; a matter reference, if any, valid.
func (g *Grant) normalizeParts() error {
	if g.Grantee != "" || g.Purpose != "" || len(g.Scope.RecordTypes)+len(g.Scope.RecordIDs) > 0 {
		return Errorf(CodeInvalid, "a grant with parts has no grantee, scope or purpose of its own")
	}
	g.Scope = GrantScope{}
	if len(g.Parts) == 0 || len(g.Parts) > MaxMatterParts {
		return Errorf(CodeInvalid, "a grant has 1 to %d parts", MaxMatterParts)
	}
	for i := range g.Parts {
		p := &g.Parts[i]
		if err := ValidateMSPID("parts.grantee", p.Grantee); err != nil {
			return err
		}
		if i > 0 && p.Grantee <= g.Parts[i-1].Grantee {
			return Errorf(CodeInvalid, "parts must be ordered by grantee, one part per department (%s after %s)", p.Grantee, g.Parts[i-1].Grantee)
		}
		if err := normalizeScope("parts.scope", &p.Scope); err != nil {
			return err
		}
		if err := ValidateCode("parts.purpose", p.Purpose); err != nil {
			return err
		}
	}
	if g.Matter != nil {
		if err := ValidateCode("matter.code", g.Matter.Code); err != nil {
			return err
		}
		if g.Matter.Version < 1 || g.Matter.Version > MaxMatterVersions {
			return Errorf(CodeInvalid, "matter.version must be within 1..%d", MaxMatterVersions)
		}
	}
	return nil
}

func checkList(field string, list []string, check func(string, string) error) error {
	seen := make(map[string]bool, len(list))
	for _, s := range list {
		if err := check(field, s); err != nil {
			return err
		}
		if seen[s] {
			return Errorf(CodeInvalid, "%s lists %q twice", field, s)
		}
		seen[s] = true
	}
	return nil
}

// EncodeGrant validates g and returns the bytes a subject signs: Marshal of
// the normalised grant. Any other valid encoding is accepted too; this one
// is simply the recommended one.
func EncodeGrant(g Grant) ([]byte, error) {
	if _, err := g.normalize(); err != nil {
		return nil, err
	}
	return marshalDocument(g)
}

func marshalDocument(v any) ([]byte, error) {
	b, err := Marshal(v)
	if err != nil {
		return nil, err
	}
	if len(b) > MaxDocumentBytes {
		return nil, Errorf(CodeInvalid, "document larger than %d bytes", MaxDocumentBytes)
	}
	return b, nil
}

// InScope reports whether a record of the given type and ID is covered by
// the scope.
func (s GrantScope) InScope(recordType, recordID string) bool {
	for _, t := range s.RecordTypes {
		if t == recordType {
			return true
		}
	}
	for _, id := range s.RecordIDs {
		if id == recordID {
			return true
		}
	}
	return false
}

// ParseRevocation decodes a signed revocation document (DecodeSigned rules),
// validates it and returns it with IssuedAt normalised.
func ParseRevocation(doc []byte) (Revocation, error) {
	var r Revocation
	if err := DecodeSigned(doc, &r, MaxDocumentBytes); err != nil {
		return Revocation{}, err
	}
	if err := r.normalize(); err != nil {
		return Revocation{}, err
	}
	return r, nil
}

func (r *Revocation) normalize() error {
	if r.Kind != RevocationKind {
		return Errorf(CodeInvalid, "kind must be %q", RevocationKind)
	}
	if err := ValidateID("grantId", r.GrantID); err != nil {
		return err
	}
	if err := ValidateSubjectID("subjectId", r.SubjectID); err != nil {
		return err
	}
	v, err := NormalizeTime("issuedAt", r.IssuedAt)
	if err != nil {
		return err
	}
	r.IssuedAt = v
	if r.Reason == "" {
		return nil
	}
	return ValidateCode("reason", r.Reason)
}

// EncodeRevocation validates r and returns the recommended bytes to sign.
func EncodeRevocation(r Revocation) ([]byte, error) {
	if err := r.normalize(); err != nil {
		return nil, err
	}
	return marshalDocument(r)
}

// ParseSubjectPublicKey parses a PKIX "PUBLIC KEY" PEM block holding an ECDSA
// P-256 key. It returns the key, its canonical PEM (re-encoded) and its key
// ID (lower-case hex SHA-256 of the DER). Other key types, curves, PEM types
// and trailing non-space data are refused with CodeInvalid.
func ParseSubjectPublicKey(pemText string) (*ecdsa.PublicKey, string, string, error) {
	if pemText == "" {
		return nil, "", "", Errorf(CodeInvalid, "public key is required")
	}
	if len(pemText) > MaxKeyPEMBytes {
		return nil, "", "", Errorf(CodeInvalid, "public key PEM larger than %d bytes", MaxKeyPEMBytes)
	}
	block, rest := pem.Decode([]byte(pemText))
	if block == nil || block.Type != "PUBLIC KEY" || len(block.Headers) != 0 {
		return nil, "", "", Errorf(CodeInvalid, "public key must be one PEM block of type PUBLIC KEY")
	}
	if strings.TrimSpace(string(rest)) != "" {
		return nil, "", "", Errorf(CodeInvalid, "trailing data after the PEM block")
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, "", "", Errorf(CodeInvalid, "public key does not parse: %v", err)
	}
	ec, ok := pub.(*ecdsa.PublicKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, "", "", Errorf(CodeInvalid, "public key must be ECDSA P-256")
	}
	der, err := x509.MarshalPKIXPublicKey(ec)
	if err != nil {
		return nil, "", "", Errorf(CodeInvalid, "public key does not encode: %v", err)
	}
	sum := sha256.Sum256(der)
	canon := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	return ec, canon, hex.EncodeToString(sum[:]), nil
}

// VerifySignature checks an ASN.1 DER ECDSA signature, base64 (standard
// alphabet, padded), over SHA-256 of exactly doc. Failures are
// CodeBadSignature.
func VerifySignature(pub *ecdsa.PublicKey, doc []byte, sigB64 string) error {
	if sigB64 == "" {
		return Errorf(CodeBadSignature, "signature is missing")
	}
	if len(sigB64) > MaxSignatureLen {
		return Errorf(CodeBadSignature, "signature longer than %d characters", MaxSignatureLen)
	}
	sig, err := base64.StdEncoding.Strict().DecodeString(sigB64)
	if err != nil {
		return Errorf(CodeBadSignature, "signature is not standard base64")
	}
	digest := sha256.Sum256(doc)
	if !ecdsa.VerifyASN1(pub, digest[:], sig) {
		return Errorf(CodeBadSignature, "signature does not verify against the subject's key")
	}
	return nil
}

// SignDocument signs doc for VerifySignature (for clients and tests; the
// chaincode never signs).
func SignDocument(priv *ecdsa.PrivateKey, doc []byte) (string, error) {
	digest := sha256.Sum256(doc)
	sig, err := ecdsa.SignASN1(rand.Reader, priv, digest[:])
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// The one coverage rule. The sharing contract (RecordAccess,
// RecordMetadataAccess, CoveringGrants), the dossier contract's visibility and
// the gateway all decide "may this department see this record now" with
// CheckLive / LiveAt and PartFor / CoversFor / Allows; no other copy of the rule
// exists.

// AllParts returns the grant's parts: Parts, or the single grantee as one part.
func (g *Grant) AllParts() []GrantPart {
	if len(g.Parts) > 0 {
		return g.Parts
	}
	return []GrantPart{{Grantee: g.Grantee, Scope: g.Scope, Purpose: g.Purpose}}
}

// PartFor returns the part of department msp and its 1-based position in Parts (0
// for a single-grantee grant); ok is false when the grant gives msp nothing. A
// department only ever uses its own part: the part of another department of the
// same grant does not exist for it.
func (g *Grant) PartFor(msp string) (part GrantPart, pos int, ok bool) {
	if len(g.Parts) == 0 {
		if g.Grantee == "" || g.Grantee != msp {
			return GrantPart{}, 0, false
		}
		return GrantPart{Grantee: g.Grantee, Scope: g.Scope, Purpose: g.Purpose}, 0, true
	}
	for i := range g.Parts {
		if g.Parts[i].Grantee == msp {
			return g.Parts[i], i + 1, true
		}
	}
	return GrantPart{}, 0, false
}

// Names reports whether the grant gives department msp a part.
func (g *Grant) Names(msp string) bool {
	_, _, ok := g.PartFor(msp)
	return ok
}

// CheckLive reports why the grant does not let its grantee read at time t:
// nil when it is active and validFrom <= t < expiresAt, else a CodeRevoked,
// CodeNotYetValid or CodeExpired error (CodeInternal for a stored window that
// does not parse).
func (g *GrantState) CheckLive(t time.Time) *Error {
	if g.Status == GrantRevoked {
		return Errorf(CodeRevoked, "grant %s was revoked at %s", g.GrantID, g.RevokedAt)
	}
	if g.Status != GrantActive {
		return Errorf(CodeInternal, "grant %s has status %q", g.GrantID, g.Status)
	}
	from, err := ParseTime("validFrom", g.Grant.ValidFrom)
	if err != nil {
		return Errorf(CodeInternal, "stored grant %s: %s", g.GrantID, AsError(err).Message)
	}
	until, err := ParseTime("expiresAt", g.Grant.ExpiresAt)
	if err != nil {
		return Errorf(CodeInternal, "stored grant %s: %s", g.GrantID, AsError(err).Message)
	}
	if t.Before(from) {
		return Errorf(CodeNotYetValid, "grant %s is valid from %s", g.GrantID, g.Grant.ValidFrom)
	}
	if !t.Before(until) {
		return Errorf(CodeExpired, "grant %s expired at %s", g.GrantID, g.Grant.ExpiresAt)
	}
	return nil
}

// LiveAt reports whether the grant is active and validFrom <= t < expiresAt.
func (g *GrantState) LiveAt(t time.Time) bool { return g.CheckLive(t) == nil }

// CoversFor reports whether department msp's part of the grant covers rec: the
// grant's subject, and the record's type or ID in that part's scope (never in
// another department's part). It says nothing about time or status (see LiveAt).
func (g *GrantState) CoversFor(msp string, rec *Record) bool {
	if rec == nil || rec.SubjectID != g.SubjectID {
		return false
	}
	p, _, ok := g.Grant.PartFor(msp)
	return ok && p.Scope.InScope(rec.Type, rec.RecordID)
}

// Allows reports whether the grant lets department msp see rec at t: live and
// covering rec in msp's own part.
func (g *GrantState) Allows(msp string, rec *Record, t time.Time) bool {
	return g.CoversFor(msp, rec) && g.LiveAt(t)
}
