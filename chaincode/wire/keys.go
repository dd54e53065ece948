package wire

import (
	"crypto/ecdsa"
	"time"
)

// Subject key statuses.
const (
	KeyActive  = "active"
	KeyRemoved = "removed"
)

// Key recovery statuses.
const (
	RecoveryPending   = "pending"
	RecoveryCancelled = "cancelled"
	RecoveryEffective = "effective"
)

// Kinds of key statement: the required value of KeyStatement.Kind. Each kind is
// signed for one purpose only, so no statement can be replayed as another.
const (
	KeyBindKind           = "edossier.key-bind.v1"
	KeyAddKind            = "edossier.key-add.v1"
	KeyRemoveKind         = "edossier.key-remove.v1"
	KeyRecoveryKind       = "edossier.key-recovery.v1"
	KeyRecoveryCancelKind = "edossier.key-recovery-cancel.v1"
)

// Key event types in a subject's key log.
const (
	KeyEventBound             = "bound"
	KeyEventAdded             = "added"
	KeyEventRemoved           = "removed"
	KeyEventRecoveryRequested = "recovery-requested"
	KeyEventRecoveryCancelled = "recovery-cancelled"
	KeyEventRecoveryEffective = "recovery-effective"
	KeyEventDelegationBound   = "delegation-bound"
	KeyEventDelegationRevoked = "delegation-revoked"
)

// Statement timing: a key statement must be signed at most MaxStatementAge before
// the transaction that uses it and at most MaxStatementSkew after it.
const (
	MaxStatementAge  = time.Hour
	MaxStatementSkew = 5 * time.Minute
)

// MaxActiveKeys bounds the active keys of one subject (devices).
const MaxActiveKeys = 8

// KeyStatement is a document a subject signs about its own keys:
//
//   - bind (KeyBindKind): the first key of a subject, signed by that new key (proof of
//     possession) and submitted by an identity authority (its attestation);
//   - add (KeyAddKind): a further key, signed by an active key and by the new key;
//   - remove (KeyRemoveKind): retire KeyID, signed by an active key;
//   - recovery (KeyRecoveryKind): a new key for a subject that lost its keys, signed by
//     the new key and submitted by an identity authority; time-locked;
//   - cancel (KeyRecoveryCancelKind): cancel the pending recovery RecoveryID, signed
//     by an active key.
//
// The chaincode remembers the hash of every statement it accepted: none is accepted
// twice.
type KeyStatement struct {
	Kind         string `json:"kind"`
	SubjectID    string `json:"subjectId"`
	PublicKeyPEM string `json:"publicKeyPem,omitempty" metadata:",optional"`
	KeyID        string `json:"keyId,omitempty" metadata:",optional"`
	RecoveryID   string `json:"recoveryId,omitempty" metadata:",optional"`
	IssuedAt     string `json:"issuedAt"`
	Nonce        string `json:"nonce"`
}

// ParsedKeyStatement is a validated statement with its parsed parts.
type ParsedKeyStatement struct {
	KeyStatement
	IssuedAt time.Time
	// NewKey, NewKeyPEM (canonical) and NewKeyID are set for bind, add and recovery.
	NewKey    *ecdsa.PublicKey
	NewKeyPEM string
	NewKeyID  string
}

// ParseKeyStatement decodes a signed key statement (DecodeSigned rules) and
// validates it for its kind. It does not check signatures or times against the
// ledger.
func ParseKeyStatement(doc []byte) (*ParsedKeyStatement, error) {
	var s KeyStatement
	if err := DecodeSigned(doc, &s, MaxDocumentBytes); err != nil {
		return nil, err
	}
	p := &ParsedKeyStatement{KeyStatement: s}
	if err := p.validate(); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *ParsedKeyStatement) validate() error {
	s := &p.KeyStatement
	needKey, needKeyID, needRecovery := false, false, false
	switch s.Kind {
	case KeyBindKind, KeyAddKind, KeyRecoveryKind:
		needKey = true
	case KeyRemoveKind:
		needKeyID = true
	case KeyRecoveryCancelKind:
		needRecovery = true
	default:
		return Errorf(CodeInvalid, "kind must be one of %s, %s, %s, %s, %s", KeyBindKind, KeyAddKind, KeyRemoveKind, KeyRecoveryKind, KeyRecoveryCancelKind)
	}
	if err := ValidateSubjectID("subjectId", s.SubjectID); err != nil {
		return err
	}
	if needKey {
		pub, canon, id, err := ParseSubjectPublicKey(s.PublicKeyPEM)
		if err != nil {
			return err
		}
		p.NewKey, p.NewKeyPEM, p.NewKeyID = pub, canon, id
	} else if s.PublicKeyPEM != "" {
		return Errorf(CodeInvalid, "publicKeyPem is not part of a %s statement", s.Kind)
	}
	if needKeyID {
		if err := ValidateKeyID("keyId", s.KeyID); err != nil {
			return err
		}
	} else if s.KeyID != "" {
		return Errorf(CodeInvalid, "keyId is not part of a %s statement", s.Kind)
	}
	if needRecovery {
		if err := ValidateID("recoveryId", s.RecoveryID); err != nil {
			return err
		}
	} else if s.RecoveryID != "" {
		return Errorf(CodeInvalid, "recoveryId is not part of a %s statement", s.Kind)
	}
	t, err := ParseTime("issuedAt", s.IssuedAt)
	if err != nil {
		return err
	}
	p.IssuedAt = t
	return checkNonce(s.Nonce)
}

// checkNonce accepts 16..MaxNonceLen characters of [A-Za-z0-9._:-] (base64url and hex
// nonces included).
func checkNonce(n string) error {
	if len(n) < 16 || len(n) > MaxNonceLen {
		return Errorf(CodeInvalid, "nonce must have 16 to %d characters", MaxNonceLen)
	}
	for i := 0; i < len(n); i++ {
		if c := n[i]; !isAlnum(c) && c != '.' && c != '_' && c != ':' && c != '-' {
			return Errorf(CodeInvalid, "nonce contains a character outside [A-Za-z0-9._:-]")
		}
	}
	return nil
}

// CheckTime refuses a statement signed more than MaxStatementAge before now or more
// than MaxStatementSkew after it (CodeExpired / CodeInvalid).
func (p *ParsedKeyStatement) CheckTime(now time.Time) error {
	return CheckStatementTime(p.IssuedAt, now)
}

// EncodeKeyStatement validates s and returns the bytes to sign (Marshal of s).
func EncodeKeyStatement(s KeyStatement) ([]byte, error) {
	p := &ParsedKeyStatement{KeyStatement: s}
	if err := p.validate(); err != nil {
		return nil, err
	}
	return marshalDocument(s)
}

// ValidateKeyID checks a key ID: 64 lower-case hex characters (SHA-256 of the DER).
func ValidateKeyID(field, s string) error {
	if len(s) != 64 {
		return Errorf(CodeInvalid, "%s must be 64 lower-case hex characters", field)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return Errorf(CodeInvalid, "%s must be 64 lower-case hex characters", field)
		}
	}
	return nil
}

// SubjectKey is one public key of a subject (channel datashare). A subject may
// have up to MaxActiveKeys active keys, one per device; removed keys stay as
// history, so that old signatures can still be checked.
type SubjectKey struct {
	SubjectID string `json:"subjectId"`
	// PublicKeyPEM is the PKIX "PUBLIC KEY" PEM of an ECDSA P-256 key.
	PublicKeyPEM string `json:"publicKeyPem"`
	// KeyID is the lower-case hex SHA-256 of the key's PKIX DER encoding.
	KeyID string `json:"keyId"`
	// Status is active or removed.
	Status string `json:"status"`
	// AddedBy says what authorised the key: "attestation:<MSP ID>" (first key),
	// "key:<key ID>" (added by an active key) or "recovery:<recovery ID>".
	AddedBy string `json:"addedBy"`
	AddedAt string `json:"addedAt"`
	AddedTx string `json:"addedTxId"`
	// RemovedBy is "key:<key ID>" or "recovery:<recovery ID>" ("" while active).
	RemovedBy string `json:"removedBy"`
	RemovedAt string `json:"removedAt"`
	RemovedTx string `json:"removedTxId"`
}

// KeyRecovery is a pending (or finished) replacement of a subject's keys by a new
// key, requested through an identity authority without any old key. It takes
// effect only at EffectiveAt, and only if no active key cancelled it before.
type KeyRecovery struct {
	RecoveryID   string `json:"recoveryId"`
	SubjectID    string `json:"subjectId"`
	PublicKeyPEM string `json:"publicKeyPem"`
	KeyID        string `json:"keyId"`
	// AttestedBy is the identity authority that submitted the request.
	AttestedBy  string `json:"attestedBy"`
	RequestedAt string `json:"requestedAt"`
	EffectiveAt string `json:"effectiveAt"`
	Status      string `json:"status"`
	RequestTx   string `json:"requestTxId"`
	// ClosedBy is "key:<key ID>" for a cancellation, "" otherwise.
	ClosedBy string `json:"closedBy"`
	ClosedAt string `json:"closedAt"`
	ClosedTx string `json:"closedTxId"`
}

// KeyEvent is one entry of a subject's key log (oldest first).
type KeyEvent struct {
	SubjectID string `json:"subjectId"`
	Type      string `json:"type"`
	// KeyID is the key the event is about (the new key of a recovery).
	KeyID string `json:"keyId"`
	// By is what authorised the event: "attestation:<MSP ID>", "key:<key ID>",
	// "recovery:<recovery ID>".
	By           string `json:"by"`
	RecoveryID   string `json:"recoveryId"`
	DelegationID string `json:"delegationId,omitempty"`
	// Org is the organisation that submitted the transaction.
	Org  string `json:"org"`
	Time string `json:"time"`
	TxID string `json:"txId"`
}

// KeyEventPage is one page of KeyEvents, oldest first.
type KeyEventPage struct {
	Events   []KeyEvent `json:"events"`
	Bookmark string     `json:"bookmark"`
}

// SubjectKeys is the answer to ListSubjectKeys: every key (active and removed) and
// every recovery of a subject.
type SubjectKeys struct {
	SubjectID  string        `json:"subjectId"`
	Keys       []SubjectKey  `json:"keys"`
	Recoveries []KeyRecovery `json:"recoveries"`
}
