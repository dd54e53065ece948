// Package sharing is the "sharing" contract, deployed on channel datashare:
// subject public keys, subject-signed grants and revocations, and the
// grant-checked access log. It reads records and departments from the
// "dossier" contract on channel municipal with read-only cross-channel
// queries. See docs/chaincode.md.
package sharing

import (
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
	"github.com/hyperledger/fabric-contract-api-go/v2/metadata"

	"github.com/edossier-city/edossier/chaincode/internal/ccutil"
)

// ContractName is the contract's namespace: "sharing:CreateGrant" etc.
const ContractName = "sharing"

// Defaults for Config.
const (
	DefaultDossierChaincode = "dossier"
	DefaultDossierChannel   = "municipal"
	// DossierContract is the contract namespace inside the dossier
	// chaincode.
	DossierContract = "dossier"
)

// Config configures the contract.
type Config struct {
	// OperatorMSP may bind and rotate subject keys. Empty means nobody can.
	OperatorMSP string
	// DossierChaincode and DossierChannel locate the dossier contract for
	// cross-channel reads ("" = "dossier" on "municipal").
	DossierChaincode string
	DossierChannel   string
	// KeyEndorsementRole is the MSP role in key-level endorsement policies:
	// "PEER" (default) or "MEMBER".
	KeyEndorsementRole string
}

// Contract is the sharing contract.
type Contract struct {
	contractapi.Contract
	cfg  Config
	role ccutil.Role
}

// New returns the contract named "sharing".
func New(cfg Config) *Contract {
	if cfg.DossierChaincode == "" {
		cfg.DossierChaincode = DefaultDossierChaincode
	}
	if cfg.DossierChannel == "" {
		cfg.DossierChannel = DefaultDossierChannel
	}
	c := &Contract{cfg: cfg, role: ccutil.RoleFromConfig(cfg.KeyEndorsementRole)}
	c.Name = ContractName
	c.Info = metadata.InfoMetadata{
		Title:       "e-dossier data sharing",
		Description: "Subject keys, subject-signed grants and the grant-checked access log",
		Version:     "1.0.0",
	}
	return c
}

// GetEvaluateTransactions marks the query functions (contractapi metadata).
func (c *Contract) GetEvaluateTransactions() []string {
	return []string{"GetSubjectKey", "ListSubjectKeys", "GetGrant", "ListGrants", "AccessLog"}
}

// Key layout.
const (
	objKey        = "skey"          // (subjectId) -> SubjectKey (current)
	objKeyVersion = "skey~v"        // (subjectId, version %06d) -> SubjectKey
	objGrant      = "grant"         // (grantId) -> GrantState
	objSubjGrant  = "subject~grant" // (subjectId, grantId) -> 0x00
	objAccess     = "access"        // (subjectId, invertedNanos %019d, txId) -> AccessEntry
)

func subjectKeyKey(subject string) string { return ccutil.MustKey(objKey, subject) }
func keyVersionKey(subject string, v int) string {
	return ccutil.MustKey(objKeyVersion, subject, pad(int64(v), 6))
}
func grantKey(id string) string              { return ccutil.MustKey(objGrant, id) }
func subjGrantKey(subject, id string) string { return ccutil.MustKey(objSubjGrant, subject, id) }
func accessKey(subject, inv, txID string) string {
	return ccutil.MustKey(objAccess, subject, inv, txID)
}

// pad formats a non-negative number with leading zeros to width digits.
func pad(n int64, width int) string {
	b := make([]byte, width)
	for i := width - 1; i >= 0; i-- {
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b)
}
