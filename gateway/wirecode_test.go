package gateway

import (
	"testing"

	"github.com/edossier-city/edossier/chaincode/wire"
)

// TestWireCode: every wire code has its gateway code; an unknown one is internal.
func TestWireCode(t *testing.T) {
	for w, g := range map[wire.Code]Code{
		wire.CodeInvalid: CodeInvalid, wire.CodeNotFound: CodeNotFound, wire.CodeForbidden: CodeForbidden,
		wire.CodeConflict: CodeConflict, wire.CodeExpired: CodeExpired, wire.CodeNotYetValid: CodeNotYetValid,
		wire.CodeRevoked: CodeRevoked, wire.CodeRecordInactive: CodeRevoked, wire.CodeOutOfScope: CodeOutOfScope,
		wire.CodeBadSignature: CodeBadSignature, wire.CodeUnknownKey: CodeUnknownKey, wire.CodeUnknownMatter: CodeUnknownMatter, wire.CodeInternal: CodeInternal,
		wire.Code("new_code"): CodeInternal,
	} {
		if got := WireCode(w); got != g {
			t.Errorf("%s -> %s, want %s", w, got, g)
		}
	}
}
