// Package sharing is the "sharing" contract, deployed on channel datashare:
// subject public keys, subject-signed grants and revocations, and the
// grant-checked access log. It reads records and departments from the
// "dossier" contract on channel municipal with read-only cross-channel
// queries. See docs/chaincode.md.
package sharing

import (
	"time"

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

// DefaultRecoveryDelay is the default time lock of a key recovery.
const DefaultRecoveryDelay = 72 * time.Hour

// Config configures the contract.
type Config struct {
	// Now is this chaincode server's clock (nil: time.Now) and MaxClockSkew how far a
	// transaction's timestamp may be from it (0: ccutil.DefaultMaxClockSkew); see
	// ccutil.ClockCheck.
	Now          func() time.Time
	MaxClockSkew time.Duration
	// OperatorMSP is the platform operator: it alone may read subjects' keys, grant
	// lists, key logs and access logs (its gateway answers subjects' signed
	// requests). It can never attest a subject key.
	OperatorMSP string
	// IdentityAuthorities are the MSP IDs whose transactions attest a subject's first
	// key or a key recovery (a real-name identity service such as the public security
	// bureau). They come from the network spec, which every organisation's chaincode
	// server is configured from, so changing them takes a majority of organisations,
	// not the operator's registry. The operator is never one, even if listed.
	IdentityAuthorities []string
	// RepresentativeAuthorities attest enterprises' legal representatives (the
	// market-regulation department), configured like IdentityAuthorities.
	RepresentativeAuthorities []string
	// RecoveryDelay is the time lock of a key recovery (default DefaultRecoveryDelay).
	RecoveryDelay time.Duration
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
	if cfg.RecoveryDelay <= 0 {
		cfg.RecoveryDelay = DefaultRecoveryDelay
	}
	c := &Contract{cfg: cfg, role: ccutil.RoleFromConfig(cfg.KeyEndorsementRole)}
	c.Name = ContractName
	c.BeforeTransaction = ccutil.ClockCheck(cfg.Now, cfg.MaxClockSkew)
	c.Info = metadata.InfoMetadata{
		Title:       "e-dossier data sharing",
		Description: "Subject keys, subject-signed grants and the grant-checked access log",
		Version:     "1.0.0",
	}
	return c
}

// GetEvaluateTransactions marks the query functions (contractapi metadata).
func (c *Contract) GetEvaluateTransactions() []string {
	return []string{"GetSubjectKey", "ListSubjectKeys", "KeyEvents", "ListDelegations", "GetConsentRequest", "ListConsentRequests", "MyConsentRequests", "GetGrant", "ListGrants", "CoveringGrants", "AccessLog"}
}

// Key layout.
const (
	objKey       = "skey"          // (subjectId, keyId) -> SubjectKey
	objRecovery  = "skey~rec"      // (subjectId, recoveryId) -> KeyRecovery
	objKeyEvent  = "skey~ev"       // (subjectId, unixNanos %019d, txId) -> KeyEvent
	objStatement = "kstmt"         // (hex SHA-256 of a key statement) -> txId that used it
	objGrant     = "grant"         // (grantId) -> GrantState
	objSubjGrant = "subject~grant" // (subjectId, grantId) -> 0x00
	objAccess    = "access"        // (subjectId, invertedNanos %019d, txId) -> AccessEntry
)

func subjectKeyKey(subject, keyID string) string { return ccutil.MustKey(objKey, subject, keyID) }
func recoveryKey(subject, id string) string      { return ccutil.MustKey(objRecovery, subject, id) }
func keyEventKey(subject, nanos, txID string) string {
	return ccutil.MustKey(objKeyEvent, subject, nanos, txID)
}
func statementKey(hash string) string        { return ccutil.MustKey(objStatement, hash) }
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
