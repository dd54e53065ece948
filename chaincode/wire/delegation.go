package wire

import "time"

// Delegation relations: someone who signs grants and revocations for a subject with
// the delegate's own key.
const (
	// RelationGuardian: a parent or guardian of a minor, attested by an identity
	// authority, ending at a fixed date (such as the 18th birthday).
	RelationGuardian = "guardian"
	// RelationLegalRepresentative: an enterprise's legal representative, attested by
	// a representative authority (the market-regulation department).
	RelationLegalRepresentative = "legal-representative"
)

// Delegation statement kinds.
const (
	DelegationKind           = "edossier.delegation.v1"
	DelegationRevocationKind = "edossier.delegation-revocation.v1"
)

// MaxDelegationSpan bounds how far in the future a delegation may end.
const MaxDelegationSpan = 25 * 366 * 24 * time.Hour

// Delegation statuses.
const (
	DelegationActive  = "active"
	DelegationRevoked = "revoked"
)

// DelegationStatement is signed by the delegate's key: it accepts to act for
// SubjectID in Relation until EndsAt. An authority submits it after checking the
// relation (a birth certificate, a business registration).
type DelegationStatement struct {
	Kind       string `json:"kind"`
	SubjectID  string `json:"subjectId"`
	DelegateID string `json:"delegateId"`
	Relation   string `json:"relation"`
	EndsAt     string `json:"endsAt"`
	IssuedAt   string `json:"issuedAt"`
	Nonce      string `json:"nonce"`
}

// DelegationRevocation is signed by an active key of the subject or of the delegate.
type DelegationRevocation struct {
	Kind         string `json:"kind"`
	SubjectID    string `json:"subjectId"`
	DelegationID string `json:"delegationId"`
	IssuedAt     string `json:"issuedAt"`
	Nonce        string `json:"nonce"`
}

// Delegation is a stored relation (channel datashare, key (subjectId, delegationId)).
// It counts only while active and before EndsAt: it never outlives its end date.
type Delegation struct {
	DelegationID string `json:"delegationId"`
	SubjectID    string `json:"subjectId"`
	DelegateID   string `json:"delegateId"`
	Relation     string `json:"relation"`
	EndsAt       string `json:"endsAt"`
	AttestedBy   string `json:"attestedBy"`
	Status       string `json:"status"`
	CreatedAt    string `json:"createdAt"`
	CreatedTx    string `json:"createdTxId"`
	// RevokedBy is "key:<key ID>" or "authority:<MSP ID>" ("" while active).
	RevokedBy string `json:"revokedBy"`
	RevokedAt string `json:"revokedAt"`
	RevokedTx string `json:"revokedTxId"`
}

// LiveAt reports whether the delegation lets its delegate act at t.
func (d *Delegation) LiveAt(t time.Time) bool {
	if d.Status != DelegationActive {
		return false
	}
	end, err := ParseTime("endsAt", d.EndsAt)
	return err == nil && t.Before(end)
}

// ParseDelegationStatement strictly decodes and validates a delegation statement; it
// returns the parsed end and issue times.
func ParseDelegationStatement(doc []byte) (DelegationStatement, time.Time, time.Time, error) {
	var s DelegationStatement
	if err := DecodeSigned(doc, &s, MaxDocumentBytes); err != nil {
		return s, time.Time{}, time.Time{}, err
	}
	if s.Kind != DelegationKind {
		return s, time.Time{}, time.Time{}, Errorf(CodeInvalid, "kind must be %q", DelegationKind)
	}
	if err := ValidateSubjectID("subjectId", s.SubjectID); err != nil {
		return s, time.Time{}, time.Time{}, err
	}
	if err := ValidateSubjectID("delegateId", s.DelegateID); err != nil {
		return s, time.Time{}, time.Time{}, err
	}
	if s.SubjectID == s.DelegateID {
		return s, time.Time{}, time.Time{}, Errorf(CodeInvalid, "a subject cannot be its own delegate")
	}
	if s.Relation != RelationGuardian && s.Relation != RelationLegalRepresentative {
		return s, time.Time{}, time.Time{}, Errorf(CodeInvalid, "relation must be %s or %s", RelationGuardian, RelationLegalRepresentative)
	}
	end, err := ParseTime("endsAt", s.EndsAt)
	if err != nil {
		return s, time.Time{}, time.Time{}, err
	}
	issued, err := ParseTime("issuedAt", s.IssuedAt)
	if err != nil {
		return s, time.Time{}, time.Time{}, err
	}
	return s, end, issued, checkNonce(s.Nonce)
}

// ParseDelegationRevocation strictly decodes and validates a delegation revocation.
func ParseDelegationRevocation(doc []byte) (DelegationRevocation, time.Time, error) {
	var r DelegationRevocation
	if err := DecodeSigned(doc, &r, MaxDocumentBytes); err != nil {
		return r, time.Time{}, err
	}
	if r.Kind != DelegationRevocationKind {
		return r, time.Time{}, Errorf(CodeInvalid, "kind must be %q", DelegationRevocationKind)
	}
	if err := ValidateSubjectID("subjectId", r.SubjectID); err != nil {
		return r, time.Time{}, err
	}
	if err := ValidateID("delegationId", r.DelegationID); err != nil {
		return r, time.Time{}, err
	}
	issued, err := ParseTime("issuedAt", r.IssuedAt)
	if err != nil {
		return r, time.Time{}, err
	}
	return r, issued, checkNonce(r.Nonce)
}

// CheckStatementTime refuses a statement issued more than MaxStatementAge before now or
// more than MaxStatementSkew after it (expired / invalid).
func CheckStatementTime(issued, now time.Time) error {
	if issued.After(now.Add(MaxStatementSkew)) {
		return Errorf(CodeInvalid, "statement issuedAt %s is in the future", FormatTime(issued))
	}
	if now.Sub(issued) > MaxStatementAge {
		return Errorf(CodeExpired, "statement issued at %s is older than %s", FormatTime(issued), MaxStatementAge)
	}
	return nil
}

// DelegateReadKind is the kind of the statement a delegate signs for each read of
// the subject's dossier it makes.
const DelegateReadKind = "edossier.delegate-read.v1"

// DelegateRead is signed by an active key of the delegate for one read of the
// subject's dossier through the platform: Action is SelfList (RecordID ""),
// SelfGet, SelfHistory or SelfContent. The chaincode checks the signature and that
// DelegationID is live and names DelegateID as delegate of SubjectID, and logs the
// read as the delegate's (AccessDelegate). Each statement is used once.
type DelegateRead struct {
	Kind         string `json:"kind"`
	SubjectID    string `json:"subjectId"`
	DelegateID   string `json:"delegateId"`
	DelegationID string `json:"delegationId"`
	Action       string `json:"action"`
	RecordID     string `json:"recordId"`
	IssuedAt     string `json:"issuedAt"`
	Nonce        string `json:"nonce"`
}

// CheckReadAction validates a self or delegate read's action and record ID: a
// listing names no record, the other actions one.
func CheckReadAction(action, recordID string) error {
	switch action {
	case SelfList:
		if recordID != "" {
			return Errorf(CodeInvalid, "a listing names no record")
		}
	case SelfGet, SelfHistory, SelfContent:
		return ValidateID("recordId", recordID)
	default:
		return Errorf(CodeInvalid, "action must be list, get, history or content")
	}
	return nil
}

// ParseDelegateRead strictly decodes and validates a delegate's read statement.
func ParseDelegateRead(doc []byte) (DelegateRead, time.Time, error) {
	var r DelegateRead
	if err := DecodeSigned(doc, &r, MaxDocumentBytes); err != nil {
		return r, time.Time{}, err
	}
	if r.Kind != DelegateReadKind {
		return r, time.Time{}, Errorf(CodeInvalid, "kind must be %q", DelegateReadKind)
	}
	if err := ValidateSubjectID("subjectId", r.SubjectID); err != nil {
		return r, time.Time{}, err
	}
	if err := ValidateSubjectID("delegateId", r.DelegateID); err != nil {
		return r, time.Time{}, err
	}
	if r.SubjectID == r.DelegateID {
		return r, time.Time{}, Errorf(CodeInvalid, "a subject reads its own dossier as itself, not as its delegate")
	}
	if err := ValidateID("delegationId", r.DelegationID); err != nil {
		return r, time.Time{}, err
	}
	if err := CheckReadAction(r.Action, r.RecordID); err != nil {
		return r, time.Time{}, err
	}
	issued, err := ParseTime("issuedAt", r.IssuedAt)
	if err != nil {
		return r, time.Time{}, err
	}
	return r, issued, checkNonce(r.Nonce)
}
