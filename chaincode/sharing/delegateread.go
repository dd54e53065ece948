package sharing

import (
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/edossier-city/edossier/chaincode/internal/ccutil"
	"github.com/edossier-city/edossier/chaincode/wire"
)

// RecordDelegateAccess records, before the answer leaves the gateway, that a
// delegate (a guardian, a legal representative) read the subject's dossier through
// the platform. statement is a wire.DelegateRead signed (signature) by an active key
// of the delegate it names; the delegation it names must be the subject's, name that
// delegate and be live at the transaction time. The platform submits it (the
// operator's identity, forbidden otherwise), but cannot write it without the
// delegate's signature, and a delegate's statement never makes a self entry
// (RecordSelfAccess) nor a self request a delegate entry: the entry (kind delegate)
// names the delegate, the delegation, its relation and the signing key.
//
// Refused: invalid or stale statement (invalid / expired), not the platform
// (forbidden), unknown delegation of this subject (not_found), a delegation of
// another delegate (forbidden), revoked (revoked) or past its end date (expired),
// no active key of the delegate (unknown_key), a signature of any other key
// (bad_signature), a statement used before (conflict), a record not in the
// subject's dossier (not_found). Refusals write nothing; it writes the entry and the
// statement's use marker and emits AccessRecorded.
func (c *Contract) RecordDelegateAccess(ctx contractapi.TransactionContextInterface, statement, signature string) (_ *wire.AccessEntry, err error) {
	defer ccutil.Guard(&err)
	doc := []byte(statement)
	r, now, _, err := ccutil.ParseStatement(ctx, doc, wire.ParseDelegateRead)
	if err != nil {
		return nil, err
	}
	who, err := ccutil.CreatorInfo(ctx)
	if err != nil {
		return nil, err
	}
	if c.cfg.OperatorMSP == "" || who.MSPID != c.cfg.OperatorMSP {
		return nil, wire.Errorf(wire.CodeForbidden, "only the platform records a delegate's reads")
	}
	stub := ctx.GetStub()
	d, err := ccutil.Load[wire.Delegation](stub, delegationKey(r.SubjectID, r.DelegationID), wire.CodeNotFound, "subject %s has no delegation %s", r.SubjectID, r.DelegationID)
	if err != nil {
		return nil, err
	}
	if d.DelegateID != r.DelegateID {
		return nil, wire.Errorf(wire.CodeForbidden, "delegation %s does not make %s a delegate of %s", d.DelegationID, r.DelegateID, r.SubjectID)
	}
	if d.Status != wire.DelegationActive {
		return nil, wire.Errorf(wire.CodeRevoked, "delegation %s is %s", d.DelegationID, d.Status)
	}
	if !d.LiveAt(now) {
		return nil, wire.Errorf(wire.CodeExpired, "delegation %s ended at %s", d.DelegationID, d.EndsAt)
	}
	keys, err := activeKeys(stub, r.DelegateID)
	if err != nil {
		return nil, err
	}
	k, err := verifyByAny(keys, r.DelegateID, doc, signature)
	if err != nil {
		return nil, err
	}
	e := wire.AccessEntry{Kind: wire.AccessDelegate, Action: r.Action, SubjectID: r.SubjectID, RecordID: r.RecordID,
		Org: who.MSPID, User: who.User, UserID: who.UserID,
		DelegateID: d.DelegateID, DelegationID: d.DelegationID, Relation: d.Relation, SignerKeyID: k.KeyID}
	if err := c.readRecordType(ctx, &e); err != nil {
		return nil, err
	}
	if err := useStatement(stub, doc); err != nil {
		return nil, err
	}
	return c.logEntry(ctx, e)
}
