// Package ccapi builds the contract API chaincode that serves the e-dossier
// contracts (cmd/edossier-chaincode and the unit tests' fake ledger).
package ccapi

import (
	"reflect"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
	"github.com/hyperledger/fabric-contract-api-go/v2/metadata"
	"github.com/hyperledger/fabric-contract-api-go/v2/serializer"
)

// Serializer converts transaction arguments and results exactly like
// contractapi's JSONSerializer but skips the check of each value against the
// JSON schema generated from the Go types. Every parameter of these contracts
// is a string, which the contract decodes and checks itself (package wire:
// strict JSON, sizes, formats), so for parameters the schema says nothing
// more than "a string"; results are the contract's own values. For a result
// holding records the skipped check is a marshal, an unmarshal into maps and a
// gojsonschema walk on every call, done by every endorsing peer's chaincode.
type Serializer struct{ serializer.JSONSerializer }

// FromString converts a parameter.
func (s *Serializer) FromString(param string, t reflect.Type, _ *metadata.ParameterMetadata, c *metadata.ComponentMetadata) (reflect.Value, error) {
	return s.JSONSerializer.FromString(param, t, nil, c)
}

// ToString converts a result.
func (s *Serializer) ToString(v reflect.Value, t reflect.Type, _ *metadata.ReturnMetadata, c *metadata.ComponentMetadata) (string, error) {
	return s.JSONSerializer.ToString(v, t, nil, c)
}

// NewChaincode is contractapi.NewChaincode with the Serializer.
func NewChaincode(contracts ...contractapi.ContractInterface) (*contractapi.ContractChaincode, error) {
	cc, err := contractapi.NewChaincode(contracts...)
	if err != nil {
		return nil, err
	}
	cc.TransactionSerializer = &Serializer{}
	return cc, nil
}
