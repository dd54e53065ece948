package main

import (
	"fmt"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/edossier-city/edossier/chaincode/ccapi"
	"github.com/edossier-city/edossier/chaincode/dossier"
	"github.com/edossier-city/edossier/chaincode/meta"
	"github.com/edossier-city/edossier/chaincode/sharing"
)

// newChaincode assembles the contract set named by cfg.Contract (its contract first, so
// it is the default); every set also carries the meta contract.
func newChaincode(cfg config) (*contractapi.ContractChaincode, error) {
	var contracts []contractapi.ContractInterface
	switch cfg.Contract {
	case "dossier":
		contracts = append(contracts, dossier.New(dossier.Config{OperatorMSP: cfg.OperatorMSP, MaxClockSkew: cfg.MaxClockSkew, SharingChannel: cfg.SharingChannel}))
	case "sharing":
		contracts = append(contracts, sharing.New(sharing.Config{
			OperatorMSP: cfg.OperatorMSP, DossierChannel: cfg.DossierChannel,
			IdentityAuthorities: cfg.IdentityAuthorities, RepresentativeAuthorities: cfg.RepresentativeAuthorities,
			RecoveryDelay: cfg.RecoveryDelay, MaxClockSkew: cfg.MaxClockSkew,
		}))
	case "meta":
	default:
		return nil, fmt.Errorf("unknown contract set %q", cfg.Contract)
	}
	contracts = append(contracts, meta.New(cfg.Version))
	cc, err := ccapi.NewChaincode(contracts...)
	if err != nil {
		return nil, err
	}
	cc.Info.Title = "e-dossier " + cfg.Contract
	cc.Info.Version = cfg.Version
	return cc, nil
}
