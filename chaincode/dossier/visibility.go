package dossier

import (
	"time"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/edossier-city/edossier/chaincode/internal/ccutil"
	"github.com/edossier-city/edossier/chaincode/wire"
)

// Who sees a record's metadata (GetRecord, ListDossier, GetRecordHistory):
//
//   - the operator (creator MSP = Config.OperatorMSP): its gateway answers
//     subjects' signed requests and verifications;
//   - the sharing chaincode calling across channels (the signed proposal names
//     the sharing channel and chaincode while this stub runs on another
//     channel): it checks grants, ownership and self accesses itself;
//   - the record's issuer (creator MSP = record.Issuer);
//   - a department with a grant of the record's subject, live at the
//     transaction time, that covers the record (wire.GrantState.LiveAt and
//     Covers; the grants come from sharing's CoveringGrants, read-only).
//
// Anyone else gets not_found with the message of a missing record.

// viewer is what one transaction's creator may see.
type viewer struct {
	c   *Contract
	ctx contractapi.TransactionContextInterface
	all bool
	msp string
	now time.Time
	// grants caches CoveringGrants by subject.
	grants map[string][]wire.GrantState
}

func (c *Contract) viewer(ctx contractapi.TransactionContextInterface) (*viewer, error) {
	msp, err := ccutil.CreatorMSP(ctx)
	if err != nil {
		return nil, err
	}
	v := &viewer{c: c, ctx: ctx, msp: msp, grants: map[string][]wire.GrantState{}}
	if c.cfg.OperatorMSP != "" && msp == c.cfg.OperatorMSP {
		v.all = true
		return v, nil
	}
	fromSharing, err := ccutil.CalledFrom(ctx.GetStub(), c.cfg.SharingChannel, c.cfg.SharingChaincode)
	if err != nil {
		return nil, err
	}
	if fromSharing {
		v.all = true
		return v, nil
	}
	if v.now, _, err = ccutil.TxTime(ctx); err != nil {
		return nil, err
	}
	return v, nil
}

// sees reports whether the viewer may see rec.
func (v *viewer) sees(rec *wire.Record) (bool, error) {
	if v.all || rec.Issuer == v.msp {
		return true, nil
	}
	grants, err := v.grantsOf(rec.SubjectID)
	if err != nil {
		return false, err
	}
	for i := range grants {
		if grants[i].Allows(v.msp, rec, v.now) {
			return true, nil
		}
	}
	return false, nil
}

// grantsOf asks the sharing contract, across channels and read-only, for the
// creator's grants of subject that are live at the transaction time.
func (v *viewer) grantsOf(subject string) ([]wire.GrantState, error) {
	if g, ok := v.grants[subject]; ok {
		return g, nil
	}
	c := v.c
	resp := v.ctx.GetStub().InvokeChaincode(c.cfg.SharingChaincode,
		[][]byte{[]byte(SharingContract + ":CoveringGrants"), []byte(subject)}, c.cfg.SharingChannel)
	if resp == nil {
		return nil, wire.Errorf(wire.CodeInternal, "no response from %s/%s", c.cfg.SharingChaincode, c.cfg.SharingChannel)
	}
	if resp.GetStatus() >= shim.ERRORTHRESHOLD {
		if e, ok := wire.ParseError(resp.GetMessage()); ok {
			return nil, wire.Errorf(wire.CodeInternal, "reading grants: %s", e.Message)
		}
		return nil, wire.Errorf(wire.CodeInternal, "%s.CoveringGrants on %s failed: %s", c.cfg.SharingChaincode, c.cfg.SharingChannel, resp.GetMessage())
	}
	var g []wire.GrantState
	if err := ccutil.Unmarshal(resp.GetPayload(), &g); err != nil {
		return nil, err
	}
	v.grants[subject] = g
	return g, nil
}

// notFound is the one answer for a record that is missing or invisible: the
// two are indistinguishable, byte for byte.
func notFound(recordID string) error {
	return wire.Errorf(wire.CodeNotFound, "record %s does not exist", recordID)
}
