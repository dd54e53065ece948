package sharing

import (
	"time"

	"crypto/sha256"
	"encoding/hex"
	"slices"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/edossier-city/edossier/chaincode/internal/ccutil"
	"github.com/edossier-city/edossier/chaincode/wire"
)

// Delegation: a guardian signs grants and revocations for a minor, a legal
// representative for an enterprise, each with the delegate's own key. A relation
// needs the delegate's signature (it accepts) and an authority's attestation (it
// submits the transaction): an identity authority for guardians, a representative
// authority for legal representatives; never the operator. It ends by itself at its
// end date, and the subject, the delegate or the attesting authority can revoke it.

const objDelegation = "deleg" // (subjectId, delegationId) -> Delegation

func delegationKey(subject, id string) string { return ccutil.MustKey(objDelegation, subject, id) }

func listDelegations(stub shim.ChaincodeStubInterface, subjectID string) ([]wire.Delegation, error) {
	return ccutil.ScanJSON[wire.Delegation](stub, objDelegation, []string{subjectID})
}

// useStatement refuses a statement used before and remembers it.
func useStatement(stub shim.ChaincodeStubInterface, doc []byte) error {
	sum := sha256.Sum256(doc)
	marker := statementKey(hex.EncodeToString(sum[:]))
	used, err := stub.GetState(marker)
	if err != nil {
		return ccutil.Internal("reading statement marker", err)
	}
	if len(used) > 0 {
		return wire.Errorf(wire.CodeConflict, "this statement was used before (transaction %s); sign a new one", string(used))
	}
	if err := stub.PutState(marker, []byte(stub.GetTxID())); err != nil {
		return ccutil.Internal("writing statement marker", err)
	}
	return nil
}

// attesters returns the organisations that may attest a relation.
func (c *Contract) attesters(relation string) []string {
	if relation == wire.RelationLegalRepresentative {
		return c.cfg.RepresentativeAuthorities
	}
	return c.cfg.IdentityAuthorities
}

// BindDelegation records that DelegateID acts for SubjectID in Relation until EndsAt.
// statement is a wire.DelegationStatement signed (delegateSignature) by an active key
// of the delegate; the creator must be an authority for the relation (identity
// authority for guardian, representative authority for legal-representative; never
// the operator) and an active department. Refused: invalid statement or end date
// (invalid; the end must be after now and at most 25 years ahead), stale statement
// (expired), wrong creator (forbidden), no active delegate key (unknown_key), bad
// signature, statement used before or the same active relation already bound
// (conflict). The subject's key log records it.
func (c *Contract) BindDelegation(ctx contractapi.TransactionContextInterface, statement, delegateSignature string) (_ *wire.Delegation, err error) {
	defer ccutil.Guard(&err)
	doc := []byte(statement)
	var end time.Time
	st, now, nowS, err := ccutil.ParseStatement(ctx, doc, func(b []byte) (wire.DelegationStatement, time.Time, error) {
		st, e, issued, err := wire.ParseDelegationStatement(b)
		end = e
		return st, issued, err
	})
	if err != nil {
		return nil, err
	}
	if !end.After(now) || end.Sub(now) > wire.MaxDelegationSpan {
		return nil, wire.Errorf(wire.CodeInvalid, "endsAt must be after now and at most 25 years ahead")
	}
	org, err := ccutil.CreatorMSP(ctx)
	if err != nil {
		return nil, err
	}
	stub := ctx.GetStub()
	if org == c.cfg.OperatorMSP || !slices.Contains(c.attesters(st.Relation), org) {
		return nil, wire.Errorf(wire.CodeForbidden, "%s may not attest a %s relation", org, st.Relation)
	}
	dept, err := c.department(stub, org)
	if err != nil {
		return nil, err
	}
	if dept == nil || !dept.Active {
		return nil, wire.Errorf(wire.CodeForbidden, "%s is not an active registered department", org)
	}
	keys, err := activeKeys(stub, st.DelegateID)
	if err != nil {
		return nil, err
	}
	if _, err := verifyByAny(keys, st.DelegateID, doc, delegateSignature); err != nil {
		return nil, err
	}
	if err := useStatement(stub, doc); err != nil {
		return nil, err
	}
	existing, err := listDelegations(stub, st.SubjectID)
	if err != nil {
		return nil, err
	}
	for _, d := range existing {
		if d.DelegateID == st.DelegateID && d.Relation == st.Relation && d.LiveAt(now) {
			return nil, wire.Errorf(wire.CodeConflict, "delegation %s already makes %s %s of %s", d.DelegationID, st.DelegateID, st.Relation, st.SubjectID)
		}
	}
	d := &wire.Delegation{
		DelegationID: stub.GetTxID(), SubjectID: st.SubjectID, DelegateID: st.DelegateID, Relation: st.Relation,
		EndsAt: wire.FormatTime(end), AttestedBy: org, Status: wire.DelegationActive, CreatedAt: nowS, CreatedTx: stub.GetTxID(),
	}
	if err := ccutil.PutJSON(stub, delegationKey(d.SubjectID, d.DelegationID), d); err != nil {
		return nil, err
	}
	t := &keyTx{stub: stub, now: now, nowS: nowS, txID: stub.GetTxID(), org: org, subj: d.SubjectID}
	if _, err := t.logDelegation(wire.KeyEventDelegationBound, "attestation:"+org, d.DelegationID); err != nil {
		return nil, err
	}
	return d, nil
}

// RevokeDelegation ends a delegation before its end date. document is a
// wire.DelegationRevocation signed by an active key of the subject or of the delegate;
// or, with signature "", the creator is the authority that attested it. Refused:
// unknown delegation (not_found), not active (conflict), bad signature, another
// creator without a signature (forbidden).
func (c *Contract) RevokeDelegation(ctx contractapi.TransactionContextInterface, document, signature string) (_ *wire.Delegation, err error) {
	defer ccutil.Guard(&err)
	doc := []byte(document)
	r, now, nowS, err := ccutil.ParseStatement(ctx, doc, wire.ParseDelegationRevocation)
	if err != nil {
		return nil, err
	}
	org, err := ccutil.CreatorMSP(ctx)
	if err != nil {
		return nil, err
	}
	stub := ctx.GetStub()
	d, err := ccutil.Load[wire.Delegation](stub, delegationKey(r.SubjectID, r.DelegationID), wire.CodeNotFound, "subject %s has no delegation %s", r.SubjectID, r.DelegationID)
	if err != nil {
		return nil, err
	}
	if d.Status != wire.DelegationActive {
		return nil, wire.Errorf(wire.CodeConflict, "delegation %s is %s", d.DelegationID, d.Status)
	}
	by := ""
	if signature == "" {
		if org != d.AttestedBy || org == c.cfg.OperatorMSP {
			return nil, wire.Errorf(wire.CodeForbidden, "only the authority that attested delegation %s may revoke it without a signature", d.DelegationID)
		}
		by = "authority:" + org
	} else {
		keys, err := activeKeys(stub, d.SubjectID)
		if err != nil {
			return nil, err
		}
		more, err := activeKeys(stub, d.DelegateID)
		if err != nil {
			return nil, err
		}
		k, err := verifyByAny(append(keys, more...), d.SubjectID, doc, signature)
		if err != nil {
			return nil, err
		}
		by = "key:" + k.KeyID
	}
	if err := useStatement(stub, doc); err != nil {
		return nil, err
	}
	d.Status, d.RevokedBy, d.RevokedAt, d.RevokedTx = wire.DelegationRevoked, by, nowS, stub.GetTxID()
	if err := ccutil.PutJSON(stub, delegationKey(d.SubjectID, d.DelegationID), d); err != nil {
		return nil, err
	}
	t := &keyTx{stub: stub, now: now, nowS: nowS, txID: stub.GetTxID(), org: org, subj: d.SubjectID}
	if _, err := t.logDelegation(wire.KeyEventDelegationRevoked, by, d.DelegationID); err != nil {
		return nil, err
	}
	return d, nil
}

// ListDelegations returns every delegation of a subject (any status, ordered by ID).
// Operator only (its gateway answers the subject's and the delegates' signed requests).
func (c *Contract) ListDelegations(ctx contractapi.TransactionContextInterface, subjectID string) (_ []wire.Delegation, err error) {
	defer ccutil.Guard(&err)
	if err := c.requireReader(ctx); err != nil {
		return nil, err
	}
	if err := wire.ValidateSubjectID("subjectId", subjectID); err != nil {
		return nil, err
	}
	return listDelegations(ctx.GetStub(), subjectID)
}

// signer is who signed a subject's document: one of its active keys, or an active key
// of a live delegate.
type signer struct {
	key      *wire.SubjectKey
	signedBy string
}

// signedForSubject finds the key, active at the transaction time, whose signature
// over doc verifies: the subject's own keys first, then those of every delegate whose
// delegation is live at now. unknown_key if no key could sign, bad_signature if none
// verifies.
func signedForSubject(ctx contractapi.TransactionContextInterface, subjectID string, doc []byte, sig string) (*signer, error) {
	stub := ctx.GetStub()
	keys, err := activeKeys(stub, subjectID)
	if err != nil {
		return nil, err
	}
	now, _, err := ccutil.TxTime(ctx)
	if err != nil {
		return nil, err
	}
	dels, err := listDelegations(stub, subjectID)
	if err != nil {
		return nil, err
	}
	for _, d := range dels {
		if !d.LiveAt(now) {
			continue
		}
		more, err := activeKeys(stub, d.DelegateID)
		if err != nil {
			return nil, err
		}
		keys = append(keys, more...)
	}
	k, err := verifyByAny(keys, subjectID, doc, sig)
	if err != nil {
		return nil, err
	}
	return &signer{key: k, signedBy: k.SubjectID}, nil
}

// logDelegation writes a delegation event into the subject's key log.
func (t *keyTx) logDelegation(typ, by, delegationID string) (*wire.KeyEvent, error) {
	e := wire.KeyEvent{SubjectID: t.subj, Type: typ, By: by, DelegationID: delegationID, Org: t.org, Time: t.nowS, TxID: t.txID}
	if err := ccutil.PutJSON(t.stub, keyEventKey(t.subj, pad(t.now.UnixNano(), 19), t.txID), e); err != nil {
		return nil, err
	}
	if err := ccutil.SetEvent(t.stub, wire.EventSubjectKeyChanged, e); err != nil {
		return nil, err
	}
	return &e, nil
}
