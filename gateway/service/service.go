// Package service holds the gateway's use cases. It owns the interfaces of its adapters
// (Ledger: Fabric; Blobs: the encrypted blob store; Subjects: the subject-ID deriver),
// checks who may do what, and never reports a half-done write as success. Errors are
// *gateway.Error values with stable codes; gateway/api turns them into HTTP.
package service

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"io"
	"strings"
	"time"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
)

// Ledger is what the service needs from Fabric (implemented by gateway/fabric), split
// by use case; every method is used by the service. Writes return only after the
// transaction committed VALID, with its receipt; errors are *gateway.Error (chaincode
// refusals keep their code; unreachable Fabric is CodeUnavailable; invalidated
// transactions CodeConflict).
type Ledger interface {
	RecordLedger
	BatchLedger
	RegistryLedger
	KeyLedger
	SharingLedger
	AccessLedger
}

// RecordLedger holds the records of the municipal channel (records.go, batch.go,
// verify.go).
type RecordLedger interface {
	// CheckAppend and CheckSupersede run the chaincode's checks without committing.
	CheckAppend(ctx context.Context, a gateway.Actor, req wire.AppendRequest) error
	CheckSupersede(ctx context.Context, a gateway.Actor, oldID string, req wire.AppendRequest) error
	// EndorseAppend, EndorseAppendRecords and EndorseSupersede return the write
	// endorsed and unsubmitted; Submit commits it.
	EndorseAppend(ctx context.Context, a gateway.Actor, req wire.AppendRequest) (gateway.Pending[wire.Record], error)
	EndorseAppendRecords(ctx context.Context, a gateway.Actor, batch wire.AppendBatch) (gateway.Pending[wire.BatchResult], error)
	EndorseSupersede(ctx context.Context, a gateway.Actor, oldID string, req wire.AppendRequest) (gateway.Pending[wire.SupersedeResult], error)
	RevokeRecord(ctx context.Context, a gateway.Actor, recordID, reason string) (*wire.Record, gateway.Receipt, error)
	GetRecord(ctx context.Context, a gateway.Actor, recordID string) (*wire.Record, error)
	ListDossier(ctx context.Context, a gateway.Actor, subjectID, recordType string, pageSize int, bookmark string) (*wire.RecordPage, error)
	FindByCID(ctx context.Context, a gateway.Actor, cid string) ([]wire.Record, error)
	RecordHistory(ctx context.Context, a gateway.Actor, recordID string) ([]wire.RecordVersion, error)
	// TxBlock is the block of a committed transaction (receipts of idempotent retries
	// and verifications); MunicipalChannel names the records' channel.
	TxBlock(ctx context.Context, a gateway.Actor, channel, txID string) (uint64, error)
	MunicipalChannel() string
}

// RegistryLedger holds the registries of the dossier chaincode: departments, record
// types, accreditations, purposes, reasons and matters (admin.go, matters.go).
type RegistryLedger interface {
	RegisterDepartment(ctx context.Context, a gateway.Actor, mspID, name, code string) (*wire.Department, gateway.Receipt, error)
	DeactivateDepartment(ctx context.Context, a gateway.Actor, mspID string) (*wire.Department, gateway.Receipt, error)
	DefineRecordType(ctx context.Context, a gateway.Actor, code, name string) (*wire.RecordType, gateway.Receipt, error)
	Accredit(ctx context.Context, a gateway.Actor, mspID, recordType string) (*wire.Accreditation, gateway.Receipt, error)
	Unaccredit(ctx context.Context, a gateway.Actor, mspID, recordType string) (*wire.Accreditation, gateway.Receipt, error)
	DefinePurpose(ctx context.Context, a gateway.Actor, code, name string) (*wire.Purpose, gateway.Receipt, error)
	DefineReason(ctx context.Context, a gateway.Actor, code, name string) (*wire.Reason, gateway.Receipt, error)
	// Registry reads the whole registry in one query.
	Registry(ctx context.Context, a gateway.Actor) (*wire.Registry, error)
	// ListAccreditations lists one department's accreditations (bulk appends).
	ListAccreditations(ctx context.Context, a gateway.Actor, mspID string) ([]wire.Accreditation, error)
	DefineMatter(ctx context.Context, a gateway.Actor, d wire.MatterDefinition) (*wire.Matter, gateway.Receipt, error)
	GetMatter(ctx context.Context, a gateway.Actor, code string, version int) (*wire.Matter, error)
	ListMatters(ctx context.Context, a gateway.Actor) ([]wire.Matter, error)
}

// KeyLedger holds subjects' device keys and delegations on the data-sharing channel
// (keys.go, delegation.go).
type KeyLedger interface {
	BindSubjectKey(ctx context.Context, a gateway.Actor, document, popSignature string) (*wire.SubjectKey, gateway.Receipt, error)
	AddSubjectKey(ctx context.Context, a gateway.Actor, document, signature, popSignature string) (*wire.SubjectKey, gateway.Receipt, error)
	RemoveSubjectKey(ctx context.Context, a gateway.Actor, document, signature string) (*wire.SubjectKey, gateway.Receipt, error)
	RequestKeyRecovery(ctx context.Context, a gateway.Actor, document, popSignature string) (*wire.KeyRecovery, gateway.Receipt, error)
	CancelKeyRecovery(ctx context.Context, a gateway.Actor, document, signature string) (*wire.KeyRecovery, gateway.Receipt, error)
	CompleteKeyRecovery(ctx context.Context, a gateway.Actor, subjectID, recoveryID string) (*wire.SubjectKey, gateway.Receipt, error)
	GetSubjectKey(ctx context.Context, a gateway.Actor, subjectID, keyID string) (*wire.SubjectKey, error)
	ListSubjectKeys(ctx context.Context, a gateway.Actor, subjectID string) (*wire.SubjectKeys, error)
	KeyEvents(ctx context.Context, a gateway.Actor, subjectID string, pageSize int, bookmark string) (*wire.KeyEventPage, error)
	BindDelegation(ctx context.Context, a gateway.Actor, statement, delegateSignature string) (*wire.Delegation, gateway.Receipt, error)
	RevokeDelegation(ctx context.Context, a gateway.Actor, document, signature string) (*wire.Delegation, gateway.Receipt, error)
	ListDelegations(ctx context.Context, a gateway.Actor, subjectID string) ([]wire.Delegation, error)
}

// SharingLedger holds consent requests and grants on the data-sharing channel
// (sharing.go, requests.go, visibility.go).
type SharingLedger interface {
	RequestConsent(ctx context.Context, a gateway.Actor, in wire.ConsentRequestInput) (*wire.ConsentRequest, gateway.Receipt, error)
	ApproveConsentRequest(ctx context.Context, a gateway.Actor, requestID, document, signature string) (*wire.GrantState, gateway.Receipt, error)
	DeclineConsentRequest(ctx context.Context, a gateway.Actor, document, signature string) (*wire.ConsentRequest, gateway.Receipt, error)
	GetConsentRequest(ctx context.Context, a gateway.Actor, requestID string) (*wire.ConsentRequest, error)
	ListConsentRequests(ctx context.Context, a gateway.Actor, subjectID string) ([]wire.ConsentRequest, error)
	// MyConsentRequests is one page of the calling department's own requests across
	// subjects (the chaincode takes the requester from a's MSP ID), newest first,
	// filtered by status ("" any).
	MyConsentRequests(ctx context.Context, a gateway.Actor, status string, pageSize int, bookmark string) (*wire.ConsentRequestPage, error)
	CreateGrant(ctx context.Context, a gateway.Actor, document, signature string) (*wire.GrantState, gateway.Receipt, error)
	RevokeGrant(ctx context.Context, a gateway.Actor, document, signature string) (*wire.GrantState, gateway.Receipt, error)
	ListGrants(ctx context.Context, a gateway.Actor, subjectID string, pageSize int, bookmark string) (*wire.GrantPage, error)
}

// AccessLedger commits every read to the subject's access log on the data-sharing
// channel before the answer (records.go, self.go, checks.go) and reads the log.
type AccessLedger interface {
	RecordAccess(ctx context.Context, a gateway.Actor, grantID, recordID, purpose string) (*wire.AccessEntry, gateway.Receipt, error)
	AccessLog(ctx context.Context, a gateway.Actor, subjectID string, pageSize int, bookmark string) (*wire.AccessPage, error)
	// RecordOwnershipCheck commits an ownership check of cid against subjectID's dossier
	// (checker: the verifier the platform acts for, "" for a department); the entry's
	// Result is the chaincode's answer.
	RecordOwnershipCheck(ctx context.Context, a gateway.Actor, subjectID, cid, checker string) (*wire.AccessEntry, gateway.Receipt, error)
	// RecordBatchOwnershipCheck is RecordOwnershipCheck that also counts the batch
	// record proof proves (CodeBadProof if it does not lead to the anchored root).
	RecordBatchOwnershipCheck(ctx context.Context, a gateway.Actor, subjectID, cid, checker string, proof wire.BatchProof) (*wire.AccessEntry, gateway.Receipt, error)
	// RecordSelfAccess commits a subject's own read (action wire.SelfList, SelfGet,
	// SelfHistory, SelfContent; recordID "" for a listing), submitted by the platform.
	RecordSelfAccess(ctx context.Context, a gateway.Actor, subjectID, recordID, action string) (*wire.AccessEntry, gateway.Receipt, error)
	// RecordDelegateAccess commits a delegate's read of the subject's dossier: statement
	// is the delegate's signed wire.DelegateRead, which the chaincode checks (the
	// delegate's key, the live delegation), submitted by the platform.
	RecordDelegateAccess(ctx context.Context, a gateway.Actor, statement, signature string) (*wire.AccessEntry, gateway.Receipt, error)
	// RecordMetadataAccess commits a department's read of the metadata of records of
	// subjectID under its grants (action wire.MetadataList, MetadataGet,
	// MetadataHistory), one entry per record, submitted as the department.
	RecordMetadataAccess(ctx context.Context, a gateway.Actor, subjectID string, recordIDs []string, action string) ([]wire.AccessEntry, gateway.Receipt, error)
}

// BlobInfo, CommittedBlob and BlobBatch are the blob store's value types and batch,
// defined in package gateway so that gateway/blob implements Blobs directly.
type (
	BlobInfo      = gateway.BlobInfo
	CommittedBlob = gateway.CommittedBlob
	BlobBatch     = gateway.BlobBatch
)

// Blobs is the content-addressed, encrypted blob store (implemented by gateway/blob).
// Files are written through a BlobBatch: staged first, durable (fsynced, renamed into
// place) only on Commit, so that a request the ledger refuses leaves nothing behind.
// Errors are *gateway.Error, passed through by the service: CodeTooLarge above the
// size limit, CodeStorageFull when the disk is full (nothing stored), CodeNotFound /
// CodeInvalid from Open, CodeBlobCorrupt from Open or from reading an opened blob when
// the stored file fails authentication or its CID.
type Blobs interface {
	NewBatch() BlobBatch
	Open(cid string) (io.ReadCloser, BlobInfo, error)
	Stat(cid string) (BlobInfo, error)
	Delete(cid string) error
}

// Subjects derives pseudonymous subject IDs from ID numbers (gateway/subject). Errors
// are *gateway.Error (invalid for a malformed kind or ID number), passed through.
type Subjects interface {
	SubjectID(kind, idNumber string) (string, error)
}

// Config holds the identities the service acts as where no caller identity applies.
type Config struct {
	// Platform is the operator identity that submits citizens' signed grants and
	// revocations (the chaincode checks the citizen's signature, not the submitter)
	// and answers public verification queries.
	Platform gateway.Actor
	// Now is the clock (tests set it); defaults to time.Now.
	Now func() time.Time
	// OrphanGrace is how long after a failed transaction the blob it added is
	// removed (if still unreferenced); default 2 minutes.
	OrphanGrace time.Duration
	// PrecheckAbove is the upload length (bytes) above which an append's metadata is
	// checked by the chaincode before the file is read (also when the length is
	// unknown); smaller uploads are staged first and judged by the endorsement itself.
	// Default 1 MiB; negative: always check first.
	PrecheckAbove int64
	// Ownership bounds ownership checks (see OwnershipLimits for the defaults).
	Ownership OwnershipLimits
	// NoteKey keys the salts of the notes of idempotent appends (see NoteKey), so that
	// a retry, on any gateway of the platform, names the same note document. Every
	// gateway of a platform needs the same key; nil: a random key (retries after a
	// restart then conflict when they carry a note).
	NoteKey []byte
	// Users enrolls department users with their organisation's CA and issues their API
	// keys (CreateUser); nil: CreateUser answers unavailable.
	Users Users
	// KeyAdmin lists, revokes and issues API keys (ListAPIKeys, RevokeAPIKey,
	// CreateVerifier); nil: those answer unavailable.
	KeyAdmin KeyAdmin
	// BookmarkKey (32 bytes) seals listing bookmarks (see BookmarkKey); every gateway
	// of a platform needs the same key. nil: a random key (bookmarks then do not
	// survive a restart or cross gateways).
	BookmarkKey []byte
}

// DefaultPrecheckAbove is Config.PrecheckAbove's default.
const DefaultPrecheckAbove = 1 << 20

// Service implements the gateway's use cases.
type Service struct {
	ledger   Ledger
	blobs    Blobs
	subjects Subjects
	cfg      Config
	inflight inflight
	limits   *ownershipLimiter
	marks    *bookmarkSealer
	regNames registryNames
	index    Index  // nil: verification queries the chaincode (index.go)
	prover   Prover // nil: no proofs
}

// New returns a Service.
func New(l Ledger, b Blobs, s Subjects, cfg Config) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.OrphanGrace == 0 {
		cfg.OrphanGrace = 2 * time.Minute
	}
	if cfg.PrecheckAbove == 0 {
		cfg.PrecheckAbove = DefaultPrecheckAbove
	}
	if len(cfg.NoteKey) == 0 {
		cfg.NoteKey = make([]byte, 32)
		if _, err := rand.Read(cfg.NoteKey); err != nil {
			panic(err)
		}
	}
	if len(cfg.BookmarkKey) == 0 {
		cfg.BookmarkKey = make([]byte, 32)
		if _, err := rand.Read(cfg.BookmarkKey); err != nil {
			panic(err)
		}
	}
	return &Service{ledger: l, blobs: b, subjects: s, cfg: cfg, inflight: inflight{n: map[string]int{}, checking: map[string]bool{}},
		limits: newOwnershipLimiter(cfg.Ownership), marks: newBookmarkSealer(cfg.BookmarkKey)}
}

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// newRecordID returns a fresh random record ID.
func newRecordID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return "r-" + strings.ToLower(b32.EncodeToString(b))
}

// idempotentRecordID derives the record ID of an append from the caller's organisation
// and idempotency key, so a retry (also after a gateway restart, also on another
// gateway) names the same record and the chaincode returns it instead of a second one.
func idempotentRecordID(mspID, key string) string {
	h := sha256.Sum256([]byte("edossier-record\x00" + mspID + "\x00" + key))
	return "r-" + strings.ToLower(b32.EncodeToString(h[:16]))
}

// MaxIdempotencyKeyLen bounds the Idempotency-Key header.
const MaxIdempotencyKeyLen = 200

func requireRole(p gateway.Principal, roles ...gateway.Role) error {
	for _, r := range roles {
		if p.Role == r {
			return nil
		}
	}
	if p.Role == "" || p.Role == gateway.RolePublic {
		return gateway.Errorf(gateway.CodeUnauthorized, "authentication required")
	}
	return gateway.Errorf(gateway.CodeForbidden, "this operation is not allowed for the %s role", p.Role)
}

// wireErr converts an error of a wire validation rule into a gateway error (its code
// through gateway.WireCode); an error without a wire code is invalid input.
func wireErr(err error) error {
	if err == nil {
		return nil
	}
	if we := wire.AsError(err); we != nil {
		return gateway.Errorf(gateway.WireCode(we.Code), "%s", we.Message)
	}
	return gateway.Wrap(gateway.CodeInvalid, err, "%s", err.Error())
}
