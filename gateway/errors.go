// Package gateway holds the domain of the e-dossier REST gateway: principals and
// actors, the application error type with its stable codes (Error, and WireCode, the
// one table from chaincode/wire codes), ledger receipts, Pending (an endorsed,
// unsubmitted write) and the blob store's value types and BlobBatch. The use cases and
// the interfaces they need from their adapters (Ledger, Blobs, Subjects, Users) live in
// gateway/service; the adapters in sub-packages by technology (gateway/fabric,
// gateway/blob, gateway/ca, gateway/identity, gateway/subject, gateway/httpsig) return
// *Error, which the service passes through; HTTP handlers live in gateway/api, which
// turns codes into statuses in one place.
package gateway

import (
	"errors"
	"fmt"
	"time"
)

// Code is a stable, machine-readable error code. Clients and the HTTP layer switch on
// codes, never on messages.
type Code string

// Error codes. The HTTP status of each is fixed in gateway/api.
const (
	CodeInvalid        Code = "invalid"         // malformed or missing input
	CodeRawIDNumber    Code = "raw_id_number"   // an ID number or credit code where a subject ID goes
	CodeUnauthorized   Code = "unauthorized"    // no or bad credentials
	CodeBadSignature   Code = "bad_signature"   // a citizen signature does not verify
	CodeStaleSignature Code = "stale_signature" // signed too long ago or in the future
	CodeReplay         Code = "replay"          // a signed request or document seen before
	CodeForbidden      Code = "forbidden"       // authenticated, but not allowed
	CodeNotFound       Code = "not_found"       // no such thing (or not visible to the caller)
	CodeConflict       Code = "conflict"        // clashes with the current state
	CodeExpired        Code = "expired"         // grant or signed statement no longer valid
	CodeNotYetValid    Code = "not_yet_valid"   // grant or key recovery not valid yet
	CodeRevoked        Code = "revoked"         // grant or record revoked
	CodeOutOfScope     Code = "out_of_scope"    // record not covered by the grant
	CodeUnknownKey     Code = "unknown_key"     // no key bound to the subject
	CodeUnknownMatter  Code = "unknown_matter"  // a matter version that is not defined or no longer current
	CodeBadProof       Code = "bad_proof"       // a batch leaf and proof do not lead to the anchored root
	CodeTooLarge       Code = "too_large"       // upload above the limit
	CodeUnsupported    Code = "unsupported_media_type"
	CodeRateLimited    Code = "rate_limited"
	CodeUnavailable    Code = "unavailable"  // Fabric or storage unavailable: retry later
	CodeStorageFull    Code = "storage_full" // the blob store's disk is full: nothing was stored
	CodeBlobCorrupt    Code = "blob_corrupt" // a stored file fails authentication or its CID
	CodeInternal       Code = "internal"
)

// Error is the application error. Message is safe to show to the caller.
type Error struct {
	Code    Code
	Message string
	Err     error // cause, for logs; never shown to callers
	// RetryAfter, for rate_limited and unavailable, is when the caller may try again
	// (0: the HTTP layer's default).
	RetryAfter time.Duration
}

// RetryAfter returns the RetryAfter of the first *Error in err's chain (0 if none).
func RetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with a formatted message.
func Errorf(code Code, format string, a ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, a...)}
}

// Wrap returns an *Error with a cause.
func Wrap(code Code, err error, format string, a ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, a...), Err: err}
}

// ErrorCode returns the code of err: the code of the first *Error in its chain,
// CodeInternal for any other error, "" for nil.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// ErrorMessage returns the caller-safe message of err.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
