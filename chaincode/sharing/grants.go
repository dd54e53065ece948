package sharing

import (
	"encoding/base64"
	"time"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/edossier-city/edossier/chaincode/internal/ccutil"
	"github.com/edossier-city/edossier/chaincode/wire"
)

// callDossier queries the dossier contract on its channel (read-only: Fabric
// discards cross-channel writes) and returns the payload or the callee's
// coded error.
func (c *Contract) callDossier(stub shim.ChaincodeStubInterface, fn string, args ...string) ([]byte, error) {
	argv := make([][]byte, 0, 1+len(args))
	argv = append(argv, []byte(DossierContract+":"+fn))
	for _, a := range args {
		argv = append(argv, []byte(a))
	}
	resp := stub.InvokeChaincode(c.cfg.DossierChaincode, argv, c.cfg.DossierChannel)
	if resp == nil {
		return nil, wire.Errorf(wire.CodeInternal, "no response from %s/%s", c.cfg.DossierChaincode, c.cfg.DossierChannel)
	}
	if resp.GetStatus() < shim.ERRORTHRESHOLD {
		return resp.GetPayload(), nil
	}
	if e, ok := wire.ParseError(resp.GetMessage()); ok {
		return nil, e
	}
	return nil, wire.Errorf(wire.CodeInternal, "%s.%s on %s failed: %s", c.cfg.DossierChaincode, fn, c.cfg.DossierChannel, resp.GetMessage())
}

// fromDossier calls a dossier contract function and decodes its JSON answer.
func fromDossier[T any](c *Contract, stub shim.ChaincodeStubInterface, fn string, args ...string) (*T, error) {
	b, err := c.callDossier(stub, fn, args...)
	if err != nil {
		return nil, err
	}
	var v T
	if err := ccutil.Unmarshal(b, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// department reads a department from the dossier contract. It returns
// (nil, nil) when the department is not registered.
func (c *Contract) department(stub shim.ChaincodeStubInterface, msp string) (*wire.Department, error) {
	d, err := fromDossier[wire.Department](c, stub, "GetDepartment", msp)
	if err != nil && wire.AsError(err).Code == wire.CodeNotFound {
		return nil, nil
	}
	return d, err
}

// activeDepartment returns the registered, active department of msp; forbidden for
// any other caller.
func (c *Contract) activeDepartment(stub shim.ChaincodeStubInterface, msp string) (*wire.Department, error) {
	dept, err := c.department(stub, msp)
	if err != nil {
		return nil, err
	}
	if dept == nil || !dept.Active {
		return nil, wire.Errorf(wire.CodeForbidden, "%s is not an active department", msp)
	}
	return dept, nil
}

// CreateGrant stores a grant from the subject-signed grant document
// (wire.Grant JSON) and its signature (base64 ASN.1 ECDSA P-256 over
// SHA-256 of exactly the document bytes). Refused: invalid document
// (invalid), expiry at or before the transaction time (expired), no key
// bound to the subject (unknown_key), missing or wrong signature
// (bad_signature), grant ID already used, also by a revoked grant
// (conflict), grantee not a registered active department (invalid). Anyone
// may submit: the subject's signature is the authority.
func (c *Contract) CreateGrant(ctx contractapi.TransactionContextInterface, document, signature string) (_ *wire.GrantState, err error) {
	defer ccutil.Guard(&err)
	doc := []byte(document)
	g, times, err := wire.ParseGrant(doc)
	if err != nil {
		return nil, err
	}
	now, nowStr, err := ccutil.TxTime(ctx)
	if err != nil {
		return nil, err
	}
	if !times.ExpiresAt.After(now) {
		return nil, wire.Errorf(wire.CodeExpired, "grant expires at %s, before the transaction time %s", g.ExpiresAt, nowStr)
	}
	stub := ctx.GetStub()
	sg, err := signedForSubject(ctx, g.SubjectID, doc, signature)
	if err != nil {
		return nil, err
	}
	existing, err := stub.GetState(grantKey(g.GrantID))
	if err != nil {
		return nil, ccutil.Internal("reading grant", err)
	}
	if len(existing) > 0 {
		return nil, wire.Errorf(wire.CodeConflict, "grant ID %s is already used", g.GrantID)
	}
	if err := c.checkParties(stub, &g); err != nil {
		return nil, err
	}
	st := wire.GrantState{
		GrantID:     g.GrantID,
		SubjectID:   g.SubjectID,
		Grantee:     g.Grantee,
		Status:      wire.GrantActive,
		Grant:       g,
		Document:    base64.StdEncoding.EncodeToString(doc),
		Signature:   signature,
		SignerKeyID: sg.key.KeyID,
		SignedBy:    sg.signedBy,
		CreatedAt:   nowStr,
		CreatedTx:   stub.GetTxID(),
	}
	if err := ccutil.PutJSON(stub, grantKey(g.GrantID), st); err != nil {
		return nil, err
	}
	if err := stub.PutState(subjGrantKey(g.SubjectID, g.GrantID), ccutil.IndexValue); err != nil {
		return nil, ccutil.Internal("writing grant index", err)
	}
	ev := wire.GrantCreatedEvent{GrantID: g.GrantID, SubjectID: g.SubjectID, Grantee: g.Grantee, Grantees: grantees(&g), Matter: g.Matter, ValidFrom: g.ValidFrom, ExpiresAt: g.ExpiresAt, TxID: st.CreatedTx}
	if err := ccutil.SetEvent(stub, wire.EventGrantCreated, ev); err != nil {
		return nil, err
	}
	return &st, nil
}

// checkParties refuses a grant whose departments are not all active registered
// departments (invalid), whose purposes are not registered (invalid), or that names
// a matter version which is not the matter's current one (unknown_matter) or whose
// parts are not exactly that version's parts (invalid). A matter's purposes were
// checked when the operator defined it; the matter is read once, across channels.
func (c *Contract) checkParties(stub shim.ChaincodeStubInterface, g *wire.Grant) error {
	parts := g.AllParts()
	if g.Matter != nil {
		m, err := fromDossier[wire.Matter](c, stub, "GetMatter", g.Matter.Code, "")
		if err != nil {
			if wire.AsError(err).Code == wire.CodeNotFound {
				return wire.Errorf(wire.CodeUnknownMatter, "matter %s is not defined", g.Matter.Code)
			}
			return err
		}
		if m.Version != g.Matter.Version {
			if g.Matter.Version < m.Version {
				return wire.Errorf(wire.CodeUnknownMatter, "matter %s version %d no longer exists: the current version is %d", m.Code, g.Matter.Version, m.Version)
			}
			return wire.Errorf(wire.CodeUnknownMatter, "matter %s has no version %d", m.Code, g.Matter.Version)
		}
		if err := m.CheckGrant(g); err != nil {
			return err
		}
	}
	checked := map[string]bool{}
	for _, p := range parts {
		dept, err := c.department(stub, p.Grantee)
		if err != nil {
			return err
		}
		if dept == nil || !dept.Active {
			return wire.Errorf(wire.CodeInvalid, "grantee %s is not an active registered department", p.Grantee)
		}
		if g.Matter == nil && !checked[p.Purpose] {
			if err := c.requirePurpose(stub, p.Purpose); err != nil {
				return err
			}
			checked[p.Purpose] = true
		}
	}
	return nil
}

// grantees lists the departments of a grant with parts (nil for a single grantee,
// which events carry in Grantee).
func grantees(g *wire.Grant) []string {
	if len(g.Parts) == 0 {
		return nil
	}
	out := make([]string, len(g.Parts))
	for i, p := range g.Parts {
		out[i] = p.Grantee
	}
	return out
}

// RevokeGrant revokes a grant from a subject-signed revocation document
// (wire.Revocation JSON) and its signature by the subject's current key.
// Refused: invalid document (invalid), unknown grant (not_found), document
// naming another subject than the grant's (forbidden), bad signature
// (bad_signature), grant already revoked by a different document
// (conflict). Submitting the same revocation again returns the grant.
func (c *Contract) RevokeGrant(ctx contractapi.TransactionContextInterface, document, signature string) (_ *wire.GrantState, err error) {
	defer ccutil.Guard(&err)
	doc := []byte(document)
	r, err := wire.ParseRevocation(doc)
	if err != nil {
		return nil, err
	}
	stub := ctx.GetStub()
	st, err := ccutil.Load[wire.GrantState](stub, grantKey(r.GrantID), wire.CodeNotFound, "grant %s does not exist", r.GrantID)
	if err != nil {
		return nil, err
	}
	if st.SubjectID != r.SubjectID {
		return nil, wire.Errorf(wire.CodeForbidden, "grant %s belongs to another subject", r.GrantID)
	}
	sg, err := signedForSubject(ctx, st.SubjectID, doc, signature)
	if err != nil {
		return nil, err
	}
	if err := c.requireReason(stub, r.Reason); err != nil {
		return nil, err
	}
	docB64 := base64.StdEncoding.EncodeToString(doc)
	if st.Status == wire.GrantRevoked {
		if st.Revocation == docB64 {
			return st, nil
		}
		return nil, wire.Errorf(wire.CodeConflict, "grant %s is already revoked", r.GrantID)
	}
	_, nowStr, err := ccutil.TxTime(ctx)
	if err != nil {
		return nil, err
	}
	st.Status = wire.GrantRevoked
	st.RevokedAt = nowStr
	st.RevokedTx = stub.GetTxID()
	st.Revocation = docB64
	st.RevocationSignature = signature
	st.RevocationKeyID = sg.key.KeyID
	st.RevocationSignedBy = sg.signedBy
	if err := ccutil.PutJSON(stub, grantKey(r.GrantID), st); err != nil {
		return nil, err
	}
	ev := wire.GrantRevokedEvent{GrantID: st.GrantID, SubjectID: st.SubjectID, Grantee: st.Grantee, Grantees: grantees(&st.Grant), Time: nowStr, TxID: st.RevokedTx}
	if err := ccutil.SetEvent(stub, wire.EventGrantRevoked, ev); err != nil {
		return nil, err
	}
	return st, nil
}

// GetGrant returns one grant to the operator or to the grant's grantee;
// not_found if unknown or if the caller is neither (the two are
// indistinguishable).
func (c *Contract) GetGrant(ctx contractapi.TransactionContextInterface, grantID string) (_ *wire.GrantState, err error) {
	defer ccutil.Guard(&err)
	if err := wire.ValidateID("grantId", grantID); err != nil {
		return nil, err
	}
	msp, err := ccutil.CreatorMSP(ctx)
	if err != nil {
		return nil, err
	}
	st, err := ccutil.Load[wire.GrantState](ctx.GetStub(), grantKey(grantID), wire.CodeNotFound, "grant %s does not exist", grantID)
	if err != nil {
		return nil, err
	}
	if msp != c.cfg.OperatorMSP && !st.Grant.Names(msp) {
		return nil, wire.Errorf(wire.CodeNotFound, "grant %s does not exist", grantID)
	}
	return st, nil
}

// ListGrants returns one page of a subject's grants (all statuses), ordered
// by grant ID: every grant to the operator (whose gateway answers the
// subject's signed requests), only the grants naming it to any other caller.
// pageSize/bookmark as in AccessLog. Evaluate only.
func (c *Contract) ListGrants(ctx contractapi.TransactionContextInterface, subjectID, pageSize, bookmark string) (_ *wire.GrantPage, err error) {
	defer ccutil.Guard(&err)
	if err := wire.ValidateSubjectID("subjectId", subjectID); err != nil {
		return nil, err
	}
	msp, err := ccutil.CreatorMSP(ctx)
	if err != nil {
		return nil, err
	}
	stub := ctx.GetStub()
	var keys []string
	next, err := ccutil.Page(stub, objSubjGrant, []string{subjectID}, pageSize, bookmark, collectGrantKeys(&keys))
	if err != nil {
		return nil, err
	}
	grants, err := readGrants(stub, keys, func(st *wire.GrantState) bool {
		return msp == c.cfg.OperatorMSP || st.Grant.Names(msp)
	})
	if err != nil {
		return nil, err
	}
	return &wire.GrantPage{Grants: grants, Bookmark: next}, nil
}

// CoveringGrants returns the subject's grants that name the creator's
// organisation as grantee and are live at the transaction time
// (wire.GrantState.LiveAt), ordered by grant ID, unpaginated (a subject's
// grants are few; the scan reads the subject's grant index once). The
// dossier contract calls it across channels, read-only, to decide which
// records a department may see; it calls nothing itself, so there is no
// circular cross-channel call. Evaluate only.
func (c *Contract) CoveringGrants(ctx contractapi.TransactionContextInterface, subjectID string) (_ []wire.GrantState, err error) {
	defer ccutil.Guard(&err)
	if err := wire.ValidateSubjectID("subjectId", subjectID); err != nil {
		return nil, err
	}
	msp, err := ccutil.CreatorMSP(ctx)
	if err != nil {
		return nil, err
	}
	now, _, err := ccutil.TxTime(ctx)
	if err != nil {
		return nil, err
	}
	return liveGrantsOf(ctx.GetStub(), subjectID, msp, now)
}

// liveGrantsOf reads the subject's grants to grantee that are live at now.
func liveGrantsOf(stub shim.ChaincodeStubInterface, subjectID, grantee string, now time.Time) ([]wire.GrantState, error) {
	var keys []string
	if err := ccutil.Scan(stub, objSubjGrant, []string{subjectID}, collectGrantKeys(&keys)); err != nil {
		return nil, err
	}
	return readGrants(stub, keys, func(st *wire.GrantState) bool {
		return st.Grant.Names(grantee) && st.SubjectID == subjectID && st.LiveAt(now)
	})
}

// collectGrantKeys turns the entries of a subject's grant index into grant keys.
func collectGrantKeys(keys *[]string) func(string, []byte) error {
	return func(k string, _ []byte) error {
		id, err := ccutil.LastAttr(k)
		if err != nil {
			return err
		}
		*keys = append(*keys, grantKey(id))
		return nil
	}
}

// readGrants reads the grants at keys in one call and keeps those keep accepts, in
// key order; an index entry without its grant is an internal error.
func readGrants(stub shim.ChaincodeStubInterface, keys []string, keep func(*wire.GrantState) bool) ([]wire.GrantState, error) {
	out := []wire.GrantState{}
	if len(keys) == 0 {
		return out, nil
	}
	vals, err := stub.GetMultipleStates(keys...)
	if err != nil {
		return nil, ccutil.Internal("reading grants", err)
	}
	for _, v := range vals {
		if len(v) == 0 {
			return nil, wire.Errorf(wire.CodeInternal, "grant index points at a missing grant")
		}
		var st wire.GrantState
		if err := ccutil.Unmarshal(v, &st); err != nil {
			return nil, err
		}
		if keep(&st) {
			out = append(out, st)
		}
	}
	return out, nil
}
