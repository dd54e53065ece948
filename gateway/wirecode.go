package gateway

import "github.com/edossier-city/edossier/chaincode/wire"

// WireCode is the one table from the codes of chaincode/wire errors (the chaincode's
// refusals, the shared validation rules) to gateway codes: the same name where the
// gateway has it, record_inactive as revoked, anything unknown as internal. The Fabric
// adapter and the service both translate through it.
func WireCode(c wire.Code) Code {
	switch c {
	case wire.CodeInvalid:
		return CodeInvalid
	case wire.CodeNotFound:
		return CodeNotFound
	case wire.CodeForbidden:
		return CodeForbidden
	case wire.CodeConflict:
		return CodeConflict
	case wire.CodeExpired:
		return CodeExpired
	case wire.CodeNotYetValid:
		return CodeNotYetValid
	case wire.CodeRevoked, wire.CodeRecordInactive:
		return CodeRevoked
	case wire.CodeOutOfScope:
		return CodeOutOfScope
	case wire.CodeBadSignature:
		return CodeBadSignature
	case wire.CodeUnknownKey:
		return CodeUnknownKey
	case wire.CodeUnknownMatter:
		return CodeUnknownMatter
	}
	return CodeInternal
}
