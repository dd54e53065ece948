// Package meta is a small contract deployed in every e-dossier chaincode: it reports the
// running code version (a CCaaS package ID does not pin the code) and offers a trivial
// Put/Get that benchmarks use as the raw Fabric baseline.
package meta

import (
	"fmt"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
)

// Limits of the baseline Put.
const (
	MaxKeyLen   = 64
	MaxValueLen = 4096
	keyPrefix   = "meta/"
)

// Contract is the "meta" contract.
type Contract struct {
	contractapi.Contract
	version string
}

// New returns the meta contract reporting the given code version.
func New(version string) *Contract {
	c := &Contract{version: version}
	c.Name = "meta"
	c.Info.Title = "e-dossier meta"
	c.Info.Version = version
	return c
}

// Version returns the version of the running chaincode server.
func (c *Contract) Version(ctx contractapi.TransactionContextInterface) (string, error) {
	return c.version, nil
}

// Put stores a value under a key: the trivial write used as the benchmark baseline.
func (c *Contract) Put(ctx contractapi.TransactionContextInterface, key, value string) error {
	if key == "" || len(key) > MaxKeyLen {
		return fmt.Errorf("key must have 1 to %d bytes", MaxKeyLen)
	}
	if len(value) > MaxValueLen {
		return fmt.Errorf("value must have at most %d bytes", MaxValueLen)
	}
	return ctx.GetStub().PutState(keyPrefix+key, []byte(value))
}

// Get returns the value stored by Put ("" when absent).
func (c *Contract) Get(ctx contractapi.TransactionContextInterface, key string) (string, error) {
	if key == "" || len(key) > MaxKeyLen {
		return "", fmt.Errorf("key must have 1 to %d bytes", MaxKeyLen)
	}
	b, err := ctx.GetStub().GetState(keyPrefix + key)
	return string(b), err
}
