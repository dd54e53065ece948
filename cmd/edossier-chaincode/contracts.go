package main

import (
	"fmt"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/edossier-city/edossier/chaincode/meta"
)

// newChaincode assembles the contract set named by cfg.Contract; every set also
// carries the meta contract.
func newChaincode(cfg config) (*contractapi.ContractChaincode, error) {
	var contracts []contractapi.ContractInterface
	switch cfg.Contract {
	case "meta", "dossier", "sharing": // dossier and sharing contracts are wired in with issue 3
	default:
		return nil, fmt.Errorf("unknown contract set %q", cfg.Contract)
	}
	contracts = append(contracts, meta.New(cfg.Version))
	cc, err := contractapi.NewChaincode(contracts...)
	if err != nil {
		return nil, err
	}
	cc.Info.Title = "e-dossier " + cfg.Contract
	cc.Info.Version = cfg.Version
	return cc, nil
}
