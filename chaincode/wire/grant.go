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
	if err := ValidateMSPID("grantee", g.Grantee); err != nil {
		return t, err
	}
	if g.Scope.RecordTypes == nil {
		g.Scope.RecordTypes = []string{}
	}
	if g.Scope.RecordIDs == nil {
		g.Scope.RecordIDs = []string{}
	}
	if len(g.Scope.RecordTypes)+len(g.Scope.RecordIDs) == 0 {
		return t, Errorf(CodeInvalid, "scope must name at least one record type or record ID")
	}
	if len(g.Scope.RecordTypes) > MaxScopeTypes {
		return t, Errorf(CodeInvalid, "scope.recordTypes has more than %d entries", MaxScopeTypes)
	}
	if len(g.Scope.RecordIDs) > MaxScopeIDs {
		return t, Errorf(CodeInvalid, "scope.recordIds has more than %d entries", MaxScopeIDs)
	}
	if err := checkList("scope.recordTypes", g.Scope.RecordTypes, ValidateCode); err != nil {
		return t, err
	}
	if err := checkList("scope.recordIds", g.Scope.RecordIDs, ValidateID); err != nil {
		return t, err
	}
	if err := ValidateCode("purpose", g.Purpose); err != nil {
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
// the gateway all decide "may this grantee see this record now" with
// CheckLive / LiveAt and Covers; no other copy of the rule exists.

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

// Covers reports whether the grant's scope covers rec: the same subject, and
// the record's type or its ID in scope. It says nothing about time or status
// (see LiveAt) nor about the grantee.
func (g *GrantState) Covers(rec *Record) bool {
	return rec != nil && rec.SubjectID == g.SubjectID && g.Grant.Scope.InScope(rec.Type, rec.RecordID)
}
