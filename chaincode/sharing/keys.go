package sharing

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"time"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/edossier-city/edossier/chaincode/internal/ccutil"
	"github.com/edossier-city/edossier/chaincode/wire"
)

// Subject keys. No single organisation can make a key speak for a subject:
//
//   - a first key needs the subject's proof of possession (the bind statement signed
//     by the new key) and an identity authority's attestation (the authority submits
//     the transaction; it is configured per network, never the operator, and must be
//     an active registered department);
//   - a further key needs the signature of an active key (and proof of possession);
//   - removing a key needs the signature of an active key;
//   - recovery without any key is requested through an identity authority, takes
//     effect only after Config.RecoveryDelay, and any active key can cancel it.
//
// Key entries carry no key-level endorsement policy, so the chaincode's own
// endorsement policy (a majority of organisations) guards every change. Every
// statement is accepted once (its hash is remembered), and every change is an
// entry of the subject's key log.

type keyTx struct {
	stub shim.ChaincodeStubInterface
	now  time.Time
	nowS string
	txID string
	org  string
	subj string
	keys []wire.SubjectKey
}

// beginKeyTx decodes and validates a statement of the given kind, checks its time
// and that it was not used before, and loads the subject's keys.
func (c *Contract) beginKeyTx(ctx contractapi.TransactionContextInterface, document, kind string) (*keyTx, *wire.ParsedKeyStatement, error) {
	doc := []byte(document)
	st, err := wire.ParseKeyStatement(doc)
	if err != nil {
		return nil, nil, err
	}
	if st.Kind != kind {
		return nil, nil, wire.Errorf(wire.CodeInvalid, "this function takes a %s statement, not %s", kind, st.Kind)
	}
	now, nowS, err := ccutil.TxTime(ctx)
	if err != nil {
		return nil, nil, err
	}
	if err := st.CheckTime(now); err != nil {
		return nil, nil, err
	}
	org, err := ccutil.CreatorMSP(ctx)
	if err != nil {
		return nil, nil, err
	}
	stub := ctx.GetStub()
	sum := sha256.Sum256(doc)
	marker := statementKey(hex.EncodeToString(sum[:]))
	used, err := stub.GetState(marker)
	if err != nil {
		return nil, nil, ccutil.Internal("reading statement marker", err)
	}
	if len(used) > 0 {
		return nil, nil, wire.Errorf(wire.CodeConflict, "this statement was used before (transaction %s); sign a new one", string(used))
	}
	if err := stub.PutState(marker, []byte(stub.GetTxID())); err != nil {
		return nil, nil, ccutil.Internal("writing statement marker", err)
	}
	keys, err := listKeys(stub, st.SubjectID)
	if err != nil {
		return nil, nil, err
	}
	return &keyTx{stub: stub, now: now, nowS: nowS, txID: stub.GetTxID(), org: org, subj: st.SubjectID, keys: keys}, st, nil
}

func (t *keyTx) active() []wire.SubjectKey {
	var out []wire.SubjectKey
	for _, k := range t.keys {
		if k.Status == wire.KeyActive {
			out = append(out, k)
		}
	}
	return out
}

func (t *keyTx) find(keyID string) *wire.SubjectKey {
	for i := range t.keys {
		if t.keys[i].KeyID == keyID {
			return &t.keys[i]
		}
	}
	return nil
}

// signedByActive returns the active key whose signature over doc verifies.
func (t *keyTx) signedByActive(doc []byte, sig string) (*wire.SubjectKey, error) {
	return verifyByAny(t.active(), t.subj, doc, sig)
}

// requireAuthority refuses unless the creator is a configured identity authority
// (never the operator) that is an active registered department.
func (c *Contract) requireAuthority(t *keyTx) error {
	if t.org == c.cfg.OperatorMSP || !slices.Contains(c.cfg.IdentityAuthorities, t.org) {
		return wire.Errorf(wire.CodeForbidden, "only an identity authority (not the operator) may attest a subject key; %s is none", t.org)
	}
	d, err := c.department(t.stub, t.org)
	if err != nil {
		return err
	}
	if d == nil || !d.Active {
		return wire.Errorf(wire.CodeForbidden, "identity authority %s is not an active registered department", t.org)
	}
	return nil
}

func proofOfPossession(st *wire.ParsedKeyStatement, doc []byte, pop string) error {
	if err := wire.VerifySignature(st.NewKey, doc, pop); err != nil {
		return wire.Errorf(wire.CodeBadSignature, "proof of possession: the statement is not signed by the new key")
	}
	return nil
}

func (t *keyTx) putKey(k *wire.SubjectKey) error {
	return ccutil.PutJSON(t.stub, subjectKeyKey(k.SubjectID, k.KeyID), k)
}

func (t *keyTx) newKey(st *wire.ParsedKeyStatement, by string) *wire.SubjectKey {
	return &wire.SubjectKey{
		SubjectID: t.subj, PublicKeyPEM: st.NewKeyPEM, KeyID: st.NewKeyID, Status: wire.KeyActive,
		AddedBy: by, AddedAt: t.nowS, AddedTx: t.txID,
	}
}

// logEvent writes one key-log entry (its own key: no read-modify-write) and emits it.
func (t *keyTx) logEvent(typ, keyID, by, recoveryID string) (*wire.KeyEvent, error) {
	e := wire.KeyEvent{SubjectID: t.subj, Type: typ, KeyID: keyID, By: by, RecoveryID: recoveryID, Org: t.org, Time: t.nowS, TxID: t.txID}
	if t.now.Year() < 1970 || t.now.Year() > 2261 {
		return nil, wire.Errorf(wire.CodeInvalid, "transaction time out of range")
	}
	if err := ccutil.PutJSON(t.stub, keyEventKey(t.subj, pad(t.now.UnixNano(), 19), t.txID), e); err != nil {
		return nil, err
	}
	if err := ccutil.SetEvent(t.stub, wire.EventSubjectKeyChanged, e); err != nil {
		return nil, err
	}
	return &e, nil
}

func (t *keyTx) refuseKnownKey(keyID string) error {
	if k := t.find(keyID); k != nil {
		if k.Status == wire.KeyActive {
			return wire.Errorf(wire.CodeConflict, "key %s is already an active key of subject %s", keyID, t.subj)
		}
		return wire.Errorf(wire.CodeConflict, "key %s was a key of subject %s before; use a fresh key", keyID, t.subj)
	}
	return nil
}

// BindSubjectKey binds a subject's first key. document is a KeyBindKind statement
// (wire.KeyStatement JSON) naming the subject and the new key; popSignature is the
// new key's signature over exactly the document bytes (proof of possession). The
// creator must be an identity authority (its attestation that it checked who the
// person or enterprise is); the operator never is. Refused: invalid or stale
// statement (invalid, expired), statement used before or subject already has an
// active key (conflict: add a key or request a recovery), creator not an identity
// authority (forbidden), proof of possession missing or wrong (bad_signature).
func (c *Contract) BindSubjectKey(ctx contractapi.TransactionContextInterface, document, popSignature string) (_ *wire.SubjectKey, err error) {
	defer ccutil.Guard(&err)
	t, st, err := c.beginKeyTx(ctx, document, wire.KeyBindKind)
	if err != nil {
		return nil, err
	}
	if err := c.requireAuthority(t); err != nil {
		return nil, err
	}
	if err := proofOfPossession(st, []byte(document), popSignature); err != nil {
		return nil, err
	}
	if len(t.active()) > 0 {
		return nil, wire.Errorf(wire.CodeConflict, "subject %s already has an active key: add a key with it, or request a recovery", t.subj)
	}
	if err := t.refuseKnownKey(st.NewKeyID); err != nil {
		return nil, err
	}
	k := t.newKey(st, "attestation:"+t.org)
	if err := t.putKey(k); err != nil {
		return nil, err
	}
	if _, err := t.logEvent(wire.KeyEventBound, k.KeyID, k.AddedBy, ""); err != nil {
		return nil, err
	}
	return k, nil
}

// AddSubjectKey adds a further key (another device). document is a KeyAddKind
// statement; signature is an active key's signature and popSignature the new key's,
// both over exactly the document bytes. Anyone may submit: the signatures are the
// authority. Refused as BindSubjectKey, plus: no active key (unknown_key), no active
// key signed (bad_signature), key already known (conflict), MaxActiveKeys reached
// (conflict).
func (c *Contract) AddSubjectKey(ctx contractapi.TransactionContextInterface, document, signature, popSignature string) (_ *wire.SubjectKey, err error) {
	defer ccutil.Guard(&err)
	t, st, err := c.beginKeyTx(ctx, document, wire.KeyAddKind)
	if err != nil {
		return nil, err
	}
	signer, err := t.signedByActive([]byte(document), signature)
	if err != nil {
		return nil, err
	}
	if err := proofOfPossession(st, []byte(document), popSignature); err != nil {
		return nil, err
	}
	if err := t.refuseKnownKey(st.NewKeyID); err != nil {
		return nil, err
	}
	if len(t.active()) >= wire.MaxActiveKeys {
		return nil, wire.Errorf(wire.CodeConflict, "subject %s has %d active keys already; remove one first", t.subj, wire.MaxActiveKeys)
	}
	k := t.newKey(st, "key:"+signer.KeyID)
	if err := t.putKey(k); err != nil {
		return nil, err
	}
	if _, err := t.logEvent(wire.KeyEventAdded, k.KeyID, k.AddedBy, ""); err != nil {
		return nil, err
	}
	return k, nil
}

// RemoveSubjectKey retires one of the subject's keys. document is a KeyRemoveKind
// statement naming the key; signature is an active key's (the key itself or
// another). Refused: no such active key (not_found), the last active key (conflict:
// a subject always keeps one; recovery replaces a lost one), bad signature.
func (c *Contract) RemoveSubjectKey(ctx contractapi.TransactionContextInterface, document, signature string) (_ *wire.SubjectKey, err error) {
	defer ccutil.Guard(&err)
	t, st, err := c.beginKeyTx(ctx, document, wire.KeyRemoveKind)
	if err != nil {
		return nil, err
	}
	signer, err := t.signedByActive([]byte(document), signature)
	if err != nil {
		return nil, err
	}
	k := t.find(st.KeyID)
	if k == nil || k.Status != wire.KeyActive {
		return nil, wire.Errorf(wire.CodeNotFound, "subject %s has no active key %s", t.subj, st.KeyID)
	}
	if len(t.active()) == 1 {
		return nil, wire.Errorf(wire.CodeConflict, "key %s is the last active key of subject %s; add another key first", st.KeyID, t.subj)
	}
	by := "key:" + signer.KeyID
	k.Status, k.RemovedBy, k.RemovedAt, k.RemovedTx = wire.KeyRemoved, by, t.nowS, t.txID
	if err := t.putKey(k); err != nil {
		return nil, err
	}
	if _, err := t.logEvent(wire.KeyEventRemoved, k.KeyID, by, ""); err != nil {
		return nil, err
	}
	return k, nil
}

// RequestKeyRecovery starts the recovery of a subject that lost its keys. document
// is a KeyRecoveryKind statement with the new key, popSignature the new key's
// signature; the creator must be an identity authority, as for BindSubjectKey. The
// recovery (ID = this transaction's ID) takes effect only when CompleteKeyRecovery
// runs at or after RecoveryDelay from now; until then any active key can cancel
// it, and it is in the subject's key log at once. Refused: subject without an
// active key (unknown_key: bind a first key instead), another recovery pending
// (conflict), key known (conflict), as BindSubjectKey otherwise.
func (c *Contract) RequestKeyRecovery(ctx contractapi.TransactionContextInterface, document, popSignature string) (_ *wire.KeyRecovery, err error) {
	defer ccutil.Guard(&err)
	t, st, err := c.beginKeyTx(ctx, document, wire.KeyRecoveryKind)
	if err != nil {
		return nil, err
	}
	if err := c.requireAuthority(t); err != nil {
		return nil, err
	}
	if err := proofOfPossession(st, []byte(document), popSignature); err != nil {
		return nil, err
	}
	if len(t.active()) == 0 {
		return nil, wire.Errorf(wire.CodeUnknownKey, "subject %s has no active key: bind a first key instead", t.subj)
	}
	if err := t.refuseKnownKey(st.NewKeyID); err != nil {
		return nil, err
	}
	recs, err := listRecoveries(t.stub, t.subj)
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		if r.Status == wire.RecoveryPending {
			return nil, wire.Errorf(wire.CodeConflict, "recovery %s of subject %s is pending already", r.RecoveryID, t.subj)
		}
	}
	r := &wire.KeyRecovery{
		RecoveryID: t.txID, SubjectID: t.subj, PublicKeyPEM: st.NewKeyPEM, KeyID: st.NewKeyID,
		AttestedBy: t.org, RequestedAt: t.nowS, EffectiveAt: wire.FormatTime(t.now.Add(c.cfg.RecoveryDelay)),
		Status: wire.RecoveryPending, RequestTx: t.txID,
	}
	if err := ccutil.PutJSON(t.stub, recoveryKey(t.subj, r.RecoveryID), r); err != nil {
		return nil, err
	}
	if _, err := t.logEvent(wire.KeyEventRecoveryRequested, r.KeyID, "attestation:"+t.org, r.RecoveryID); err != nil {
		return nil, err
	}
	return r, nil
}

// CancelKeyRecovery cancels a pending recovery. document is a
// KeyRecoveryCancelKind statement naming it, signature an active key's. Refused: no
// such recovery (not_found), not pending any more (conflict), bad signature.
func (c *Contract) CancelKeyRecovery(ctx contractapi.TransactionContextInterface, document, signature string) (_ *wire.KeyRecovery, err error) {
	defer ccutil.Guard(&err)
	t, st, err := c.beginKeyTx(ctx, document, wire.KeyRecoveryCancelKind)
	if err != nil {
		return nil, err
	}
	signer, err := t.signedByActive([]byte(document), signature)
	if err != nil {
		return nil, err
	}
	r, err := ccutil.Load[wire.KeyRecovery](t.stub, recoveryKey(t.subj, st.RecoveryID), wire.CodeNotFound, "subject %s has no recovery %s", t.subj, st.RecoveryID)
	if err != nil {
		return nil, err
	}
	if r.Status != wire.RecoveryPending {
		return nil, wire.Errorf(wire.CodeConflict, "recovery %s is %s", r.RecoveryID, r.Status)
	}
	by := "key:" + signer.KeyID
	r.Status, r.ClosedBy, r.ClosedAt, r.ClosedTx = wire.RecoveryCancelled, by, t.nowS, t.txID
	if err := ccutil.PutJSON(t.stub, recoveryKey(t.subj, r.RecoveryID), r); err != nil {
		return nil, err
	}
	if _, err := t.logEvent(wire.KeyEventRecoveryCancelled, r.KeyID, by, r.RecoveryID); err != nil {
		return nil, err
	}
	return r, nil
}

// CompleteKeyRecovery makes a pending recovery effective once its time lock has
// passed: every active key of the subject is removed and the recovery's key becomes
// its one active key. Anyone may submit (the new key holder usually does). Refused:
// unknown recovery (not_found), not pending (conflict), before effectiveAt
// (not_yet_valid).
func (c *Contract) CompleteKeyRecovery(ctx contractapi.TransactionContextInterface, subjectID, recoveryID string) (_ *wire.SubjectKey, err error) {
	defer ccutil.Guard(&err)
	if err := wire.ValidateSubjectID("subjectId", subjectID); err != nil {
		return nil, err
	}
	if err := wire.ValidateID("recoveryId", recoveryID); err != nil {
		return nil, err
	}
	now, nowS, err := ccutil.TxTime(ctx)
	if err != nil {
		return nil, err
	}
	org, err := ccutil.CreatorMSP(ctx)
	if err != nil {
		return nil, err
	}
	stub := ctx.GetStub()
	r, err := ccutil.Load[wire.KeyRecovery](stub, recoveryKey(subjectID, recoveryID), wire.CodeNotFound, "subject %s has no recovery %s", subjectID, recoveryID)
	if err != nil {
		return nil, err
	}
	if r.Status != wire.RecoveryPending {
		return nil, wire.Errorf(wire.CodeConflict, "recovery %s is %s", recoveryID, r.Status)
	}
	at, err := wire.ParseTime("effectiveAt", r.EffectiveAt)
	if err != nil {
		return nil, wire.Errorf(wire.CodeInternal, "stored recovery: %s", err)
	}
	if now.Before(at) {
		return nil, wire.Errorf(wire.CodeNotYetValid, "recovery %s takes effect at %s", recoveryID, r.EffectiveAt)
	}
	keys, err := listKeys(stub, subjectID)
	if err != nil {
		return nil, err
	}
	t := &keyTx{stub: stub, now: now, nowS: nowS, txID: stub.GetTxID(), org: org, subj: subjectID, keys: keys}
	if err := t.refuseKnownKey(r.KeyID); err != nil {
		return nil, err
	}
	by := "recovery:" + recoveryID
	for _, k := range t.active() {
		k.Status, k.RemovedBy, k.RemovedAt, k.RemovedTx = wire.KeyRemoved, by, nowS, t.txID
		if err := t.putKey(&k); err != nil {
			return nil, err
		}
	}
	nk := &wire.SubjectKey{SubjectID: subjectID, PublicKeyPEM: r.PublicKeyPEM, KeyID: r.KeyID, Status: wire.KeyActive, AddedBy: by, AddedAt: nowS, AddedTx: t.txID}
	if err := t.putKey(nk); err != nil {
		return nil, err
	}
	r.Status, r.ClosedAt, r.ClosedTx = wire.RecoveryEffective, nowS, t.txID
	if err := ccutil.PutJSON(stub, recoveryKey(subjectID, recoveryID), r); err != nil {
		return nil, err
	}
	if _, err := t.logEvent(wire.KeyEventRecoveryEffective, nk.KeyID, by, recoveryID); err != nil {
		return nil, err
	}
	return nk, nil
}

func listKeys(stub shim.ChaincodeStubInterface, subjectID string) ([]wire.SubjectKey, error) {
	return ccutil.ScanJSON[wire.SubjectKey](stub, objKey, []string{subjectID})
}

func listRecoveries(stub shim.ChaincodeStubInterface, subjectID string) ([]wire.KeyRecovery, error) {
	return ccutil.ScanJSON[wire.KeyRecovery](stub, objRecovery, []string{subjectID})
}

// activeKeys returns a subject's active keys.
func activeKeys(stub shim.ChaincodeStubInterface, subjectID string) ([]wire.SubjectKey, error) {
	keys, err := listKeys(stub, subjectID)
	if err != nil {
		return nil, err
	}
	out := keys[:0]
	for _, k := range keys {
		if k.Status == wire.KeyActive {
			out = append(out, k)
		}
	}
	return out, nil
}

// verifyByAny returns the key of keys whose signature over doc verifies:
// unknown_key if keys is empty, bad_signature if none verifies.
func verifyByAny(keys []wire.SubjectKey, subjectID string, doc []byte, sig string) (*wire.SubjectKey, error) {
	if len(keys) == 0 {
		return nil, wire.Errorf(wire.CodeUnknownKey, "subject %s has no active key", subjectID)
	}
	for i := range keys {
		pub, _, _, err := wire.ParseSubjectPublicKey(keys[i].PublicKeyPEM)
		if err != nil {
			return nil, wire.Errorf(wire.CodeInternal, "stored key does not parse: %v", err)
		}
		if wire.VerifySignature(pub, doc, sig) == nil {
			return &keys[i], nil
		}
	}
	return nil, wire.Errorf(wire.CodeBadSignature, "the signature does not verify against any active key of subject %s", subjectID)
}

// requireReader refuses key, grant-list and log queries to anyone but the operator
// (whose gateway answers a subject's signed requests).
func (c *Contract) requireReader(ctx contractapi.TransactionContextInterface) error {
	_, err := ccutil.RequireMSP(ctx, c.cfg.OperatorMSP, "platform operator (answering the subject's signed request)")
	return err
}

// GetSubjectKey returns one key of a subject (any status); not_found if the subject
// never had it. The gateway uses it to verify citizens' request signatures.
// Operator only.
func (c *Contract) GetSubjectKey(ctx contractapi.TransactionContextInterface, subjectID, keyID string) (_ *wire.SubjectKey, err error) {
	defer ccutil.Guard(&err)
	if err := c.requireReader(ctx); err != nil {
		return nil, err
	}
	if err := wire.ValidateSubjectID("subjectId", subjectID); err != nil {
		return nil, err
	}
	if err := wire.ValidateKeyID("keyId", keyID); err != nil {
		return nil, err
	}
	return ccutil.Load[wire.SubjectKey](ctx.GetStub(), subjectKeyKey(subjectID, keyID), wire.CodeNotFound, "subject %s has no key %s", subjectID, keyID)
}

// ListSubjectKeys returns every key (active and removed, ordered by key ID) and
// every recovery of a subject (empty lists if none). Operator only.
func (c *Contract) ListSubjectKeys(ctx contractapi.TransactionContextInterface, subjectID string) (_ *wire.SubjectKeys, err error) {
	defer ccutil.Guard(&err)
	if err := c.requireReader(ctx); err != nil {
		return nil, err
	}
	if err := wire.ValidateSubjectID("subjectId", subjectID); err != nil {
		return nil, err
	}
	stub := ctx.GetStub()
	keys, err := listKeys(stub, subjectID)
	if err != nil {
		return nil, err
	}
	recs, err := listRecoveries(stub, subjectID)
	if err != nil {
		return nil, err
	}
	return &wire.SubjectKeys{SubjectID: subjectID, Keys: keys, Recoveries: recs}, nil
}

// KeyEvents returns one page of a subject's key log, oldest first (pageSize and
// bookmark as in AccessLog). Operator only.
func (c *Contract) KeyEvents(ctx contractapi.TransactionContextInterface, subjectID, pageSize, bookmark string) (_ *wire.KeyEventPage, err error) {
	defer ccutil.Guard(&err)
	if err := c.requireReader(ctx); err != nil {
		return nil, err
	}
	if err := wire.ValidateSubjectID("subjectId", subjectID); err != nil {
		return nil, err
	}
	page := &wire.KeyEventPage{Events: []wire.KeyEvent{}}
	next, err := ccutil.Page(ctx.GetStub(), objKeyEvent, []string{subjectID}, pageSize, bookmark, func(_ string, v []byte) error {
		var e wire.KeyEvent
		if err := ccutil.Unmarshal(v, &e); err != nil {
			return err
		}
		page.Events = append(page.Events, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	page.Bookmark = next
	return page, nil
}
