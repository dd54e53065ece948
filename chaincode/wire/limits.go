package wire

// Limits. Inputs beyond them are refused with CodeInvalid. Lengths are in
// bytes of UTF-8 unless stated otherwise.
const (
	// MaxIDLen bounds record IDs, subject IDs and grant IDs.
	MaxIDLen = 128
	// MaxMSPIDLen bounds MSP IDs (organisations).
	MaxMSPIDLen = 64
	// MaxCodeLen bounds record type codes and department codes.
	MaxCodeLen = 64
	// MaxNameLen bounds department and record type names.
	MaxNameLen = 256
	// SubjectIDLen is the length of a subject ID: "p-" or "e-" and 32
	// characters of lower-case base32.
	SubjectIDLen = 34
	// MaxNoteBytes bounds the free-text note a department may attach to a
	// record (off-chain: only its CID is on the ledger).
	MaxNoteBytes = 4 << 10
	// MaxMediaTypeLen bounds a media type ("application/pdf").
	MaxMediaTypeLen = 127
	// MaxNonceLen bounds the optional nonce of a grant document.
	MaxNonceLen = 128
	// MaxCIDLen bounds a CID string before it is decoded (the canonical
	// CIDv1 raw sha2-256 string is 59 characters).
	MaxCIDLen = 100
	// MaxSize is the largest file size a record may declare (1 TiB).
	MaxSize int64 = 1 << 40

	// MaxRequestBytes bounds one AppendRequest JSON document.
	MaxRequestBytes = 16 << 10
	// MaxBatch is the largest number of records in one AppendRecords call.
	MaxBatch = 1000
	// MaxBatchBytes bounds one AppendBatch JSON document.
	MaxBatchBytes = 4 << 20

	// MaxDocumentBytes bounds a signed grant or revocation document.
	MaxDocumentBytes = 16 << 10
	// MaxSignatureLen bounds a base64 signature argument. An ASN.1 ECDSA
	// P-256 signature is at most 72 bytes, 96 base64 characters.
	MaxSignatureLen = 256
	// MaxScopeTypes bounds scope.recordTypes of a grant.
	MaxScopeTypes = 64
	// MaxScopeIDs bounds scope.recordIds of a grant.
	MaxScopeIDs = 256
	// MaxKeyPEMBytes bounds a subject public key in PEM.
	MaxKeyPEMBytes = 4 << 10

	// DefaultPageSize is used when a query's pageSize argument is "" or "0".
	DefaultPageSize = 50
	// MaxPageSize is the largest page a query returns.
	MaxPageSize = 200
	// MaxBookmarkLen bounds a bookmark argument.
	MaxBookmarkLen = 1024
)
