package wire

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Code is a stable, machine-readable error code. Chaincode functions return
// only *Error values, so a client can map the failure without parsing prose.
type Code string

// Error codes. These strings are part of the wire contract: never rename one.
const (
	// CodeInvalid: an argument is missing, malformed, oversized or
	// inconsistent. Nothing was written.
	CodeInvalid Code = "invalid"
	// CodeNotFound: the addressed record, grant, department, record type,
	// accreditation or subject key does not exist.
	CodeNotFound Code = "not_found"
	// CodeForbidden: the caller's organisation may not do this (not the
	// operator, not the issuer, not the grantee, not an active accredited
	// department).
	CodeForbidden Code = "forbidden"
	// CodeConflict: the request contradicts the ledger state (record or grant
	// ID already used with different content, record not active any more,
	// subject key already bound, ...).
	CodeConflict Code = "conflict"
	// CodeExpired: the grant's expiry is at or before the transaction time
	// (on create: an expiry in the past).
	CodeExpired Code = "expired"
	// CodeNotYetValid: the grant's validFrom is after the transaction time.
	CodeNotYetValid Code = "not_yet_valid"
	// CodeRevoked: the grant has been revoked by its subject.
	CodeRevoked Code = "revoked"
	// CodeOutOfScope: the record is not covered by the grant (other subject,
	// type not in scope and ID not in scope).
	CodeOutOfScope Code = "out_of_scope"
	// CodeRecordInactive: the record is revoked or superseded, so it cannot be
	// read under a grant.
	CodeRecordInactive Code = "record_inactive"
	// CodeBadSignature: the subject signature is missing, malformed, or does
	// not verify against the subject's bound key.
	CodeBadSignature Code = "bad_signature"
	// CodeUnknownKey: no public key is bound to the subject.
	CodeUnknownKey Code = "unknown_key"
	// CodeUnknownMatter: a grant or consent request names a matter version that is
	// not defined, or that is no longer the matter's current version (new consent is
	// given only to what the matter asks today; grants signed before stay as signed).
	CodeUnknownMatter Code = "unknown_matter"
	// CodeInternal: the ledger API or a cross-channel call failed unexpectedly.
	// Retrying may help; the request itself was not judged.
	CodeInternal Code = "internal"
)

// Codes lists every code, in a fixed order.
var Codes = []Code{
	CodeInvalid, CodeNotFound, CodeForbidden, CodeConflict, CodeExpired,
	CodeNotYetValid, CodeRevoked, CodeOutOfScope, CodeRecordInactive,
	CodeBadSignature, CodeUnknownKey, CodeUnknownMatter, CodeInternal,
}

// Known reports whether c is one of the codes above.
func (c Code) Known() bool {
	for _, k := range Codes {
		if c == k {
			return true
		}
	}
	return false
}

// Error is the only error type chaincode returns. Its Error() string is the
// compact JSON object {"code":"...","message":"..."}.
type Error struct {
	Code    Code   `json:"code"`
	Message string `json:"message"`
}

// Errorf builds an *Error with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Error returns the compact JSON encoding of e.
func (e *Error) Error() string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(e) // cannot fail: two strings
	return strings.TrimSuffix(b.String(), "\n")
}

// ParseError finds the first {"code":...,"message":...} object inside s
// (Fabric wraps chaincode errors in prose such as
// "chaincode response 500, {...}") and returns it. The object must carry a
// non-empty code; unknown codes are returned as they are, so that a newer
// chaincode does not turn into an unparseable one.
func ParseError(s string) (*Error, bool) {
	if e, ok := parseError(s); ok {
		return e, true
	}
	// The text may have been quoted once more by a logger or %q formatting.
	if strings.Contains(s, `{\"code\":`) {
		return parseError(strings.ReplaceAll(s, `\"`, `"`))
	}
	return nil, false
}

func parseError(s string) (*Error, bool) {
	const marker = `{"code":`
	for i := 0; i < len(s); {
		j := strings.Index(s[i:], marker)
		if j < 0 {
			return nil, false
		}
		start := i + j
		dec := json.NewDecoder(strings.NewReader(s[start:]))
		var e Error
		if err := dec.Decode(&e); err == nil && e.Code != "" {
			return &e, true
		}
		i = start + 1
	}
	return nil, false
}

// AsError converts any error into an *Error: an *Error is returned unchanged,
// an error whose text contains an encoded *Error is decoded, anything else
// becomes CodeInternal with the error text as message.
func AsError(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) && e != nil {
		return e
	}
	if e, ok := ParseError(err.Error()); ok {
		return e
	}
	return &Error{Code: CodeInternal, Message: err.Error()}
}
