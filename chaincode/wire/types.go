package wire

// Record status values.
const (
	StatusActive     = "active"
	StatusRevoked    = "revoked"
	StatusSuperseded = "superseded"
)

// Grant status values.
const (
	GrantActive  = "active"
	GrantRevoked = "revoked"
)

// Record is one entry of a dossier, as stored on channel municipal under
// key ("record", recordId). Every field is always present in JSON; optional
// ones are "" when unset.
type Record struct {
	RecordID  string `json:"recordId"`
	SubjectID string `json:"subjectId"`
	Type      string `json:"type"`
	// CID is the CIDv1 (raw, sha2-256) of the exact file bytes.
	CID       string `json:"cid"`
	Size      int64  `json:"size"`
	MediaType string `json:"mediaType"`
	// NoteCID is the CID of an off-chain note ("" if none): a salted JSON
	// document the gateway keeps encrypted in its blob store. No free text
	// is on the ledger; a record is named by its type.
	NoteCID string `json:"noteCid"`
	// Issuer is the MSP ID of the transaction creator that appended it.
	Issuer string `json:"issuer"`
	// IssuedAt is the append transaction's timestamp, UTC RFC 3339 with ns.
	IssuedAt string `json:"issuedAt"`
	// ValidUntil is the optional expiry of the document ("" = none),
	// normalised to UTC RFC 3339 with ns.
	ValidUntil string `json:"validUntil"`
	// Status is active, revoked or superseded.
	Status string `json:"status"`
	// Reason is the revocation reason code, registered with DefineReason
	// ("" unless revoked).
	Reason string `json:"reason"`
	// Supersedes is the record ID this record replaced ("" if none).
	Supersedes string `json:"supersedes"`
	// SupersededBy is the record ID that replaced this one ("" if none).
	SupersededBy string `json:"supersededBy"`
	// TxID is the transaction that appended the record.
	TxID string `json:"txId"`
	// StatusChangedAt / StatusTxID: time and transaction of the revocation
	// or supersession ("" while active).
	StatusChangedAt string `json:"statusChangedAt"`
	StatusTxID      string `json:"statusTxId"`
}

// AppendRequest is what a department sends for one record. The issuer and
// the issue time are not arguments: the chaincode takes them from the
// transaction.
type AppendRequest struct {
	RecordID   string `json:"recordId"`
	SubjectID  string `json:"subjectId"`
	Type       string `json:"type"`
	CID        string `json:"cid"`
	Size       int64  `json:"size"`
	MediaType  string `json:"mediaType"`
	NoteCID    string `json:"noteCid,omitempty"`
	ValidUntil string `json:"validUntil,omitempty"`
}

// AppendBatch is the argument of AppendRecords: 1..MaxBatch requests,
// appended all or nothing.
type AppendBatch struct {
	Records []AppendRequest `json:"records"`
}

// BatchResult is returned by AppendRecords. It is compact on purpose (the
// result travels inside the transaction): every record of the batch that is
// not listed in Existing was written by this transaction and equals
// NewRecord(request). Existing lists, in request order, the record IDs that
// were already stored with identical content (an idempotent retry); they
// keep their original issuedAt and txId (read them with GetRecord).
type BatchResult struct {
	TxID     string   `json:"txId"`
	Issuer   string   `json:"issuer"`
	IssuedAt string   `json:"issuedAt"`
	Count    int      `json:"count"`
	Created  int      `json:"created"`
	Existing []string `json:"existing"`
}

// NewRecord returns the record this batch stored for req (one of the
// batch's requests not listed in Existing).
func (b *BatchResult) NewRecord(req AppendRequest) (Record, error) {
	if err := req.Normalize(); err != nil {
		return Record{}, err
	}
	return Record{
		RecordID: req.RecordID, SubjectID: req.SubjectID, Type: req.Type, CID: req.CID,
		Size: req.Size, MediaType: req.MediaType, NoteCID: req.NoteCID,
		Issuer: b.Issuer, IssuedAt: b.IssuedAt, ValidUntil: req.ValidUntil,
		Status: StatusActive, TxID: b.TxID,
	}, nil
}

// SupersedeResult is returned by SupersedeRecord.
type SupersedeResult struct {
	// Superseded is the old record, now with status superseded.
	Superseded Record `json:"superseded"`
	// Record is the new record, linked by its supersedes field.
	Record Record `json:"record"`
}

// RecordPage is one page of ListDossier. Bookmark is "" on the last page.
type RecordPage struct {
	Records  []Record `json:"records"`
	Bookmark string   `json:"bookmark"`
}

// RecordVersion is one entry of a record's history (newest first).
type RecordVersion struct {
	TxID      string `json:"txId"`
	Timestamp string `json:"timestamp"`
	Record    Record `json:"record"`
}

// Department is a registered issuing organisation.
type Department struct {
	MSPID  string `json:"mspId"`
	Name   string `json:"name"`
	Code   string `json:"code"`
	Active bool   `json:"active"`
}

// RecordType is a kind of record ("birth-certificate", "business-licence").
type RecordType struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

// Purpose is a registered purpose code, the only purpose a grant or an
// access may state ("newborn-registration").
type Purpose struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

// Reason is a registered reason code for revoking a record or a grant
// ("issued-in-error").
type Reason struct {
	Code string `json:"code"`
	Name string `json:"name"`
}

// Registry is the whole issuer registry in one answer (dossier GetRegistry): every
// department, record type, accreditation (active and withdrawn), purpose and reason,
// each ordered by its key.
type Registry struct {
	Departments    []Department    `json:"departments"`
	RecordTypes    []RecordType    `json:"recordTypes"`
	Accreditations []Accreditation `json:"accreditations"`
	Purposes       []Purpose       `json:"purposes"`
	Reasons        []Reason        `json:"reasons"`
}

// Accreditation says whether a department may issue a record type.
type Accreditation struct {
	MSPID      string `json:"mspId"`
	RecordType string `json:"recordType"`
	Active     bool   `json:"active"`
}

// GrantScope lists what a grant covers: a record is in scope when its type
// is in RecordTypes or its ID is in RecordIDs.
type GrantScope struct {
	RecordTypes []string `json:"recordTypes"`
	RecordIDs   []string `json:"recordIds"`
}

// GrantKind and RevocationKind are the required values of the "kind" field of
// the signed documents; they keep one kind of document from being accepted
// as the other.
const (
	GrantKind      = "edossier.grant.v1"
	RevocationKind = "edossier.grant-revocation.v1"
)

// Grant is the document a subject signs to give one department access (Grantee,
// Scope, Purpose), or several at once (Parts: a free combination, or the parts of a
// "one thing" matter named by Matter), with one signature and one expiry. A grant has
// either the single form or Parts, never both; the single form encodes exactly as it
// did before parts existed.
type Grant struct {
	Kind      string     `json:"kind"`
	GrantID   string     `json:"grantId"`
	SubjectID string     `json:"subjectId"`
	Grantee   string     `json:"grantee,omitempty" metadata:",optional"`
	Scope     GrantScope `json:"scope,omitzero" metadata:",optional"`
	// Purpose is a registered purpose code (DefinePurpose).
	Purpose string `json:"purpose,omitempty" metadata:",optional"`
	// Matter pins the matter version the parts are copied from (nil: no matter).
	Matter *MatterRef `json:"matter,omitempty" metadata:",optional"`
	// Parts are the departments' parts, ordered by grantee, one per department.
	Parts     []GrantPart `json:"parts,omitempty" metadata:",optional"`
	ValidFrom string      `json:"validFrom"`
	ExpiresAt string      `json:"expiresAt"`
	Nonce     string      `json:"nonce,omitempty" metadata:",optional"`
}

// GrantPart is what one department of a multi-part grant may read, and for what.
type GrantPart struct {
	Grantee string     `json:"grantee"`
	Scope   GrantScope `json:"scope"`
	Purpose string     `json:"purpose"`
}

// MatterRef names one version of a "one thing" matter.
type MatterRef struct {
	Code    string `json:"code"`
	Version int    `json:"version"`
}

// Revocation is the document a subject signs to revoke a grant.
type Revocation struct {
	Kind      string `json:"kind"`
	GrantID   string `json:"grantId"`
	SubjectID string `json:"subjectId"`
	IssuedAt  string `json:"issuedAt"`
	// Reason is an optional registered reason code (DefineReason).
	Reason string `json:"reason,omitempty" metadata:",optional"`
}

// GrantState is a grant as stored on channel datashare.
type GrantState struct {
	GrantID   string `json:"grantId"`
	SubjectID string `json:"subjectId"`
	// Grantee is the single grantee ("" for a grant with parts: see Grant.Parts).
	Grantee string `json:"grantee"`
	Status  string `json:"status"`
	// Grant is the parsed document with times normalised to UTC RFC 3339
	// (ns) and empty scope lists as []. Document is the proof.
	Grant Grant `json:"grant"`
	// Document is the grant document exactly as signed, base64 (std).
	Document string `json:"document"`
	// Signature is the subject's ASN.1 ECDSA signature, base64 (std).
	Signature string `json:"signature"`
	// SignerKeyID is the key (active at the transaction time) whose signature
	// verified; SignedBy is the subject it belongs to: the grant's subject, or a
	// delegate (guardian, legal representative) acting for it.
	SignerKeyID string `json:"signerKeyId"`
	SignedBy    string `json:"signedBy"`
	CreatedAt   string `json:"createdAt"`
	CreatedTx   string `json:"createdTxId"`
	// Revocation fields are "" / 0 while the grant is active.
	RevokedAt           string `json:"revokedAt"`
	RevokedTx           string `json:"revokedTxId"`
	Revocation          string `json:"revocation"`
	RevocationSignature string `json:"revocationSignature"`
	RevocationKeyID     string `json:"revocationKeyId"`
	RevocationSignedBy  string `json:"revocationSignedBy"`
}

// GrantPage is one page of ListGrants.
type GrantPage struct {
	Grants   []GrantState `json:"grants"`
	Bookmark string       `json:"bookmark"`
}

// Access log entry kinds (AccessEntry.Kind).
const (
	// AccessFile is a grant-checked read of a record's file by a department
	// (RecordAccess).
	AccessFile = "file"
	// AccessOwnership is a check whether a document is in the subject's
	// dossier (RecordOwnershipCheck).
	AccessOwnership = "ownership"
	// AccessSelf is the subject's own read of its dossier through the
	// platform (RecordSelfAccess).
	AccessSelf = "self"
	// AccessMetadata is a department's read of a record's metadata under a
	// grant (a listing, a record, a history) through the platform
	// (RecordMetadataAccess).
	AccessMetadata = "metadata"
	// AccessDelegate is a delegate's read of the subject's dossier through the
	// platform (RecordDelegateAccess), signed by the delegate: a guardian for a
	// minor, a legal representative for an enterprise.
	AccessDelegate = "delegate"
)

// Metadata-read actions (AccessEntry.Action for Kind AccessMetadata).
const (
	MetadataList    = "list"
	MetadataGet     = "get"
	MetadataHistory = "history"
)

// Self-access actions (AccessEntry.Action for Kind AccessSelf).
const (
	SelfList    = "list"
	SelfGet     = "get"
	SelfHistory = "history"
	SelfContent = "content"
)

// Ownership check results (AccessEntry.Result for Kind AccessOwnership).
const (
	OwnershipInDossier    = "in_dossier"
	OwnershipNotInDossier = "not_in_dossier"
)

// AccessEntry is one line of a subject's access log: a committed, grant
// checked read of one record's file (kind "file"), an ownership check of a
// document against the subject's dossier (kind "ownership"), or the
// subject's own read through the platform (kind "self"). Entries written
// before kinds existed have Kind "" and are file reads.
type AccessEntry struct {
	// EntryID equals TxID (one entry per transaction), except for metadata
	// reads, which write one entry per record: TxID + "." + the record's
	// position in the transaction (3 digits).
	EntryID string `json:"entryId"`
	// Kind is AccessFile, AccessOwnership, AccessSelf, AccessMetadata or
	// AccessDelegate.
	Kind string `json:"kind"`
	// Action is what a self or delegate access did (SelfList, SelfGet,
	// SelfHistory, SelfContent) or a metadata read (MetadataList, MetadataGet,
	// MetadataHistory); "" for other kinds.
	Action     string `json:"action"`
	SubjectID  string `json:"subjectId"`
	RecordID   string `json:"recordId"`
	RecordType string `json:"recordType"`
	GrantID    string `json:"grantId"`
	// Org is the MSP ID of the reader (the grantee).
	Org string `json:"org"`
	// User is the reader's certificate subject common name (the Fabric CA
	// enrolment ID); UserID is the full Fabric client identity ID,
	// "x509::<subject DN>::<issuer DN>".
	User   string `json:"user"`
	UserID string `json:"userId"`
	// Purpose is the registered purpose code stated for the read (or the
	// grant's).
	Purpose string `json:"purpose"`
	// Part is the 1-based position of the grant part the read used, for a grant with
	// parts (0 for a single-grantee grant); Matter the matter version of that grant.
	Part   int        `json:"part,omitempty" metadata:",optional"`
	Matter *MatterRef `json:"matter,omitempty" metadata:",optional"`
	// CID is the document an ownership check asked about ("" otherwise).
	CID string `json:"cid"`
	// Checker is who asked an ownership check: the department's MSP ID, or
	// the verifier organisation the platform named when it submitted for a
	// verifier (asserted by the platform, not checked by the chaincode).
	Checker string `json:"checker"`
	// Result is the chaincode's own answer to an ownership check
	// (OwnershipInDossier or OwnershipNotInDossier); "" otherwise.
	Result string `json:"result"`
	// DelegateID, DelegationID, Relation and SignerKeyID name, for a delegate's
	// read (AccessDelegate), who read, under which delegation, and the
	// delegate's key that signed the read statement (checked by the chaincode).
	DelegateID   string `json:"delegateId,omitempty" metadata:",optional"`
	DelegationID string `json:"delegationId,omitempty" metadata:",optional"`
	Relation     string `json:"relation,omitempty" metadata:",optional"`
	SignerKeyID  string `json:"signerKeyId,omitempty" metadata:",optional"`
	Time         string `json:"time"`
	TxID         string `json:"txId"`
}

// AccessPage is one page of AccessLog, newest first.
type AccessPage struct {
	Entries  []AccessEntry `json:"entries"`
	Bookmark string        `json:"bookmark"`
}
