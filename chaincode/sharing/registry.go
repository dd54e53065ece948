package sharing

import (
	"github.com/hyperledger/fabric-chaincode-go/v2/shim"

	"github.com/edossier-city/edossier/chaincode/wire"
)

// The purpose and revocation-reason registries live in the dossier contract
// on channel municipal (operator-maintained); sharing reads them with
// read-only cross-channel queries, like departments. A code the registry does
// not know is refused as invalid: no free text reaches channel datashare.

// requirePurpose checks that purpose is a purpose code registered in the
// dossier contract (invalid otherwise).
func (c *Contract) requirePurpose(stub shim.ChaincodeStubInterface, purpose string) error {
	return c.requireRegistered(stub, "GetPurpose", "purpose", purpose)
}

// requireReason checks that reason is "" (none given) or a reason code
// registered in the dossier contract (invalid otherwise).
func (c *Contract) requireReason(stub shim.ChaincodeStubInterface, reason string) error {
	if reason == "" {
		return nil
	}
	return c.requireRegistered(stub, "GetReason", "reason", reason)
}

func (c *Contract) requireRegistered(stub shim.ChaincodeStubInterface, fn, field, code string) error {
	if err := wire.ValidateCode(field, code); err != nil {
		return err
	}
	if _, err := c.callDossier(stub, fn, code); err != nil {
		if wire.AsError(err).Code == wire.CodeNotFound {
			return wire.Errorf(wire.CodeInvalid, "%s %s is not a registered code", field, code)
		}
		return err
	}
	return nil
}
