package sharing

import (
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"

	"github.com/edossier-city/edossier/chaincode/internal/ccutil"
	"github.com/edossier-city/edossier/chaincode/wire"
)

// MaxKeyVersions bounds rotations per subject.
const MaxKeyVersions = 999999

// BindSubjectKey (operator) binds an ECDSA P-256 public key (PKIX PEM) to a
// subject after the operator's real-name check. Version 1. Binding the same
// key again returns it; a different key is a conflict (use
// RotateSubjectKey).
func (c *Contract) BindSubjectKey(ctx contractapi.TransactionContextInterface, subjectID, publicKeyPEM string) (_ *wire.SubjectKey, err error) {
	defer ccutil.Guard(&err)
	canon, keyID, have, found, err := c.keyChange(ctx, subjectID, publicKeyPEM)
	if err != nil {
		return nil, err
	}
	if found {
		if have.KeyID == keyID {
			return have, nil
		}
		return nil, wire.Errorf(wire.CodeConflict, "subject %s already has a key; rotate it instead", subjectID)
	}
	return c.storeKey(ctx, subjectID, canon, keyID, 1)
}

// keyChange is what binding and rotating share: the operator check, the subject ID,
// the new key in canonical form with its ID, and the subject's current key, if any.
func (c *Contract) keyChange(ctx contractapi.TransactionContextInterface, subjectID, keyPEM string) (canon, keyID string, have *wire.SubjectKey, found bool, err error) {
	if _, err := ccutil.RequireMSP(ctx, c.cfg.OperatorMSP, "platform operator"); err != nil {
		return "", "", nil, false, err
	}
	if err := wire.ValidateID("subjectId", subjectID); err != nil {
		return "", "", nil, false, err
	}
	if _, canon, keyID, err = wire.ParseSubjectPublicKey(keyPEM); err != nil {
		return "", "", nil, false, err
	}
	have = &wire.SubjectKey{}
	found, err = ccutil.GetJSON(ctx.GetStub(), subjectKeyKey(subjectID), have)
	return canon, keyID, have, found, err
}

// RotateSubjectKey (operator) replaces a subject's key with a new one
// (version + 1). Grants signed with an earlier key stay valid; revocations
// must be signed with the current key. A key used before by this subject is
// refused (conflict); rotating to the current key returns it unchanged.
func (c *Contract) RotateSubjectKey(ctx contractapi.TransactionContextInterface, subjectID, newKeyPEM string) (_ *wire.SubjectKey, err error) {
	defer ccutil.Guard(&err)
	canon, keyID, have, found, err := c.keyChange(ctx, subjectID, newKeyPEM)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, wire.Errorf(wire.CodeUnknownKey, "subject %s has no key to rotate", subjectID)
	}
	if have.KeyID == keyID {
		return have, nil
	}
	if have.Version >= MaxKeyVersions {
		return nil, wire.Errorf(wire.CodeConflict, "subject %s has too many key versions", subjectID)
	}
	old, err := listKeys(ctx, subjectID)
	if err != nil {
		return nil, err
	}
	for _, k := range old {
		if k.KeyID == keyID {
			return nil, wire.Errorf(wire.CodeConflict, "this key was version %d of subject %s; use a fresh key", k.Version, subjectID)
		}
	}
	return c.storeKey(ctx, subjectID, canon, keyID, have.Version+1)
}

func (c *Contract) storeKey(ctx contractapi.TransactionContextInterface, subjectID, canon, keyID string, version int) (*wire.SubjectKey, error) {
	_, now, err := ccutil.TxTime(ctx)
	if err != nil {
		return nil, err
	}
	stub := ctx.GetStub()
	k := wire.SubjectKey{SubjectID: subjectID, PublicKeyPEM: canon, KeyID: keyID, Version: version, BoundAt: now, TxID: stub.GetTxID()}
	pc := ccutil.PolicyCache{Role: c.role}
	for _, key := range []string{subjectKeyKey(subjectID), keyVersionKey(subjectID, version)} {
		if err := ccutil.PutJSON(stub, key, k); err != nil {
			return nil, err
		}
		if err := pc.SetFor(stub, key, c.cfg.OperatorMSP); err != nil {
			return nil, err
		}
	}
	return &k, nil
}

func listKeys(ctx contractapi.TransactionContextInterface, subjectID string) ([]wire.SubjectKey, error) {
	return ccutil.ScanJSON[wire.SubjectKey](ctx.GetStub(), objKeyVersion, []string{subjectID})
}

// GetSubjectKey returns a subject's current key; not_found if none is
// bound. The gateway uses it to verify citizens' request signatures.
func (c *Contract) GetSubjectKey(ctx contractapi.TransactionContextInterface, subjectID string) (_ *wire.SubjectKey, err error) {
	defer ccutil.Guard(&err)
	if err := wire.ValidateID("subjectId", subjectID); err != nil {
		return nil, err
	}
	k, err := ccutil.Load[wire.SubjectKey](ctx.GetStub(), subjectKeyKey(subjectID), wire.CodeNotFound, "subject %s has no key", subjectID)
	if err != nil {
		return nil, err
	}
	return k, nil
}

// ListSubjectKeys returns every key version of a subject, oldest first
// (empty if none), so that old grant signatures can be re-verified.
func (c *Contract) ListSubjectKeys(ctx contractapi.TransactionContextInterface, subjectID string) (_ []wire.SubjectKey, err error) {
	defer ccutil.Guard(&err)
	if err := wire.ValidateID("subjectId", subjectID); err != nil {
		return nil, err
	}
	return listKeys(ctx, subjectID)
}
