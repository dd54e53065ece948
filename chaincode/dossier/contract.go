// Package dossier is the "dossier" contract, deployed on channel municipal:
// the registry of departments, record types, accreditations, purposes and
// revocation reasons, and the
// append-only records of every subject's dossier with their CID index.
//
// Every transaction function returns a *wire.Error on failure, so the
// client maps wire codes, never prose. See docs/chaincode.md.
package dossier

import (
	"time"

	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
	"github.com/hyperledger/fabric-contract-api-go/v2/metadata"

	"github.com/edossier-city/edossier/chaincode/internal/ccutil"
)

// ContractName is the contract's namespace: call functions as
// "dossier:AppendRecord" and so on.
const ContractName = "dossier"

// Config configures the contract.
type Config struct {
	// Now is this chaincode server's clock (nil: time.Now) and MaxClockSkew how far a
	// transaction's timestamp may be from it (0: ccutil.DefaultMaxClockSkew); see
	// ccutil.ClockCheck.
	Now          func() time.Time
	MaxClockSkew time.Duration
	// OperatorMSP is the MSP ID of the platform operator, the only
	// organisation allowed to administer departments, record types and
	// accreditations. Empty means nobody can.
	OperatorMSP string
	// KeyEndorsementRole is the MSP role named in key-level endorsement
	// policies: "PEER" (default; needs NodeOUs) or "MEMBER".
	KeyEndorsementRole string
	// SharingChaincode and SharingChannel locate the sharing contract: its
	// cross-channel calls see every record, and the dossier asks it for a
	// department's live grants ("" = "sharing" on "datashare").
	SharingChaincode string
	SharingChannel   string
}

// Defaults for Config.
const (
	DefaultSharingChaincode = "sharing"
	DefaultSharingChannel   = "datashare"
	// SharingContract is the contract namespace inside the sharing chaincode.
	SharingContract = "sharing"
)

// Contract is the dossier contract. Only its transaction functions are
// exported.
type Contract struct {
	contractapi.Contract
	cfg  Config
	role ccutil.Role
}

// New returns the contract named "dossier".
func New(cfg Config) *Contract {
	if cfg.SharingChaincode == "" {
		cfg.SharingChaincode = DefaultSharingChaincode
	}
	if cfg.SharingChannel == "" {
		cfg.SharingChannel = DefaultSharingChannel
	}
	c := &Contract{cfg: cfg, role: ccutil.RoleFromConfig(cfg.KeyEndorsementRole)}
	c.Name = ContractName
	c.BeforeTransaction = ccutil.ClockCheck(cfg.Now, cfg.MaxClockSkew)
	c.Info = metadata.InfoMetadata{
		Title:       "e-dossier records",
		Description: "Departments, record types, accreditations and append-only dossier records",
		Version:     "1.0.0",
	}
	return c
}

// GetEvaluateTransactions marks the query functions (contractapi metadata).
func (c *Contract) GetEvaluateTransactions() []string {
	return []string{
		"GetDepartment", "ListDepartments", "GetRecordType", "ListRecordTypes",
		"ListAccreditations", "GetRegistry", "GetPurpose", "ListPurposes", "GetReason", "ListReasons", "GetMatter", "ListMatters", "GetRecord", "ListDossier", "FindByCID", "GetRecordHistory",
	}
}

// Key layout (object types of composite keys).
const (
	objDept       = "dept"           // (mspId) -> Department
	objRecordType = "rtype"          // (code) -> RecordType
	objAccr       = "accr"           // (mspId, typeCode) -> Accreditation
	objPurpose    = "purpose"        // (code) -> Purpose
	objReason     = "reason"         // (code) -> Reason
	objRecord     = "record"         // (recordId) -> Record
	objCIDIndex   = "cid~record"     // (cid, recordId) -> 0x00
	objSubjIndex  = "subject~record" // (subjectId, typeCode, recordId) -> 0x00
)

// MaxFindResults caps FindByCID.
const MaxFindResults = 100

func deptKey(msp string) string         { return ccutil.MustKey(objDept, msp) }
func typeKey(code string) string        { return ccutil.MustKey(objRecordType, code) }
func accrKey(msp, code string) string   { return ccutil.MustKey(objAccr, msp, code) }
func purposeKey(code string) string     { return ccutil.MustKey(objPurpose, code) }
func reasonKey(code string) string      { return ccutil.MustKey(objReason, code) }
func recordKey(id string) string        { return ccutil.MustKey(objRecord, id) }
func cidIndexKey(cid, id string) string { return ccutil.MustKey(objCIDIndex, cid, id) }
func subjIndexKey(subject, typ, id string) string {
	return ccutil.MustKey(objSubjIndex, subject, typ, id)
}
