package fabric

import (
	"context"
	"encoding/json"
	"strconv"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
)

// This file is the only place that knows the chaincodes' transaction names and argument
// encodings.

func (c *Client) dossier(fn string, args ...string) call {
	return call{channel: c.cfg.MunicipalChannel, chaincode: c.cfg.DossierChaincode, contract: "dossier", fn: fn, args: args}
}

func (c *Client) sharing(fn string, args ...string) call {
	return call{channel: c.cfg.DatashareChannel, chaincode: c.cfg.SharingChaincode, contract: "sharing", fn: fn, args: args}
}

func (c *Client) meta(channel, chaincode, fn string, args ...string) call {
	return call{channel: channel, chaincode: chaincode, contract: "meta", fn: fn, args: args}
}

func decode[T any](b []byte) (*T, error) {
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, gateway.Wrap(gateway.CodeInternal, err, "decode chaincode result")
	}
	return &v, nil
}

func submitJSON[T any](c *Client, ctx context.Context, a Actor, k call) (*T, gateway.Receipt, error) {
	b, r, err := c.submit(ctx, a, k)
	if err != nil {
		return nil, r, err
	}
	v, err := decode[T](b)
	return v, r, err
}

// endorseJSON endorses a transaction and decodes the chaincode's answer.
func endorseJSON[T any](c *Client, ctx context.Context, a Actor, k call) (gateway.Pending[T], error) {
	e, _, err := c.endorse(ctx, a, k)
	if err != nil {
		return nil, err
	}
	v, err := decode[T](e.tx.Result())
	if err != nil {
		return nil, err
	}
	return &pending[T]{e: e, result: v}, nil
}

// pending is an endorsed transaction with its decoded result.
type pending[T any] struct {
	e      *endorsed
	result *T
}

func (p *pending[T]) Result() *T   { return p.result }
func (p *pending[T]) TxID() string { return p.e.receipt.TxID }
func (p *pending[T]) Submit(ctx context.Context) (*T, gateway.Receipt, error) {
	_, r, err := p.e.submit(ctx)
	if err != nil {
		return nil, r, err
	}
	return p.result, r, nil
}

func evaluateJSON[T any](c *Client, ctx context.Context, a Actor, k call) (*T, error) {
	b, err := c.evaluate(ctx, a, k)
	if err != nil {
		return nil, err
	}
	return decode[T](b)
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // wire types always marshal
	}
	return string(b)
}

// MunicipalChannel is the channel of the dossier chaincode.
func (c *Client) MunicipalChannel() string { return c.cfg.MunicipalChannel }

// DatashareChannel is the channel of the sharing chaincode.
func (c *Client) DatashareChannel() string { return c.cfg.DatashareChannel }

// Records (dossier on municipal).

// CheckAppend evaluates AppendRecord: the chaincode judges the request, nothing commits.
func (c *Client) CheckAppend(ctx context.Context, a Actor, req wire.AppendRequest) error {
	_, err := c.evaluate(ctx, a, c.dossier("AppendRecord", mustJSON(req)))
	return err
}

// CheckSupersede evaluates SupersedeRecord without committing.
func (c *Client) CheckSupersede(ctx context.Context, a Actor, oldID string, req wire.AppendRequest) error {
	_, err := c.evaluate(ctx, a, c.dossier("SupersedeRecord", oldID, mustJSON(req)))
	return err
}

// EndorseAppend, EndorseAppendRecords and EndorseSupersede have the transaction
// endorsed and return it unsubmitted: the chaincode's verdict without a commit.
func (c *Client) EndorseAppend(ctx context.Context, a Actor, req wire.AppendRequest) (gateway.Pending[wire.Record], error) {
	return endorseJSON[wire.Record](c, ctx, a, c.dossier("AppendRecord", mustJSON(req)))
}

func (c *Client) EndorseAppendRecords(ctx context.Context, a Actor, batch wire.AppendBatch) (gateway.Pending[wire.BatchResult], error) {
	return endorseJSON[wire.BatchResult](c, ctx, a, c.dossier("AppendRecords", mustJSON(batch)))
}

func (c *Client) EndorseSupersede(ctx context.Context, a Actor, oldID string, req wire.AppendRequest) (gateway.Pending[wire.SupersedeResult], error) {
	return endorseJSON[wire.SupersedeResult](c, ctx, a, c.dossier("SupersedeRecord", oldID, mustJSON(req)))
}

func (c *Client) RevokeRecord(ctx context.Context, a Actor, recordID, reason string) (*wire.Record, gateway.Receipt, error) {
	return submitJSON[wire.Record](c, ctx, a, c.dossier("RevokeRecord", recordID, reason))
}

func (c *Client) GetRecord(ctx context.Context, a Actor, recordID string) (*wire.Record, error) {
	return evaluateJSON[wire.Record](c, ctx, a, c.dossier("GetRecord", recordID))
}

func (c *Client) ListDossier(ctx context.Context, a Actor, subjectID, recordType string, pageSize int, bookmark string) (*wire.RecordPage, error) {
	return evaluateJSON[wire.RecordPage](c, ctx, a, c.dossier("ListDossier", subjectID, recordType, strconv.Itoa(pageSize), bookmark))
}

func (c *Client) FindByCID(ctx context.Context, a Actor, cid string) ([]wire.Record, error) {
	v, err := evaluateJSON[[]wire.Record](c, ctx, a, c.dossier("FindByCID", cid))
	if err != nil {
		return nil, err
	}
	return *v, nil
}

func (c *Client) RecordHistory(ctx context.Context, a Actor, recordID string) ([]wire.RecordVersion, error) {
	v, err := evaluateJSON[[]wire.RecordVersion](c, ctx, a, c.dossier("GetRecordHistory", recordID))
	if err != nil {
		return nil, err
	}
	return *v, nil
}

// Registry (dossier on municipal, operator only for writes).

func (c *Client) RegisterDepartment(ctx context.Context, a Actor, mspID, name, code string) (*wire.Department, gateway.Receipt, error) {
	return submitJSON[wire.Department](c, ctx, a, c.dossier("RegisterDepartment", mspID, name, code))
}

func (c *Client) DeactivateDepartment(ctx context.Context, a Actor, mspID string) (*wire.Department, gateway.Receipt, error) {
	return submitJSON[wire.Department](c, ctx, a, c.dossier("DeactivateDepartment", mspID))
}

func (c *Client) DefineRecordType(ctx context.Context, a Actor, code, name string) (*wire.RecordType, gateway.Receipt, error) {
	return submitJSON[wire.RecordType](c, ctx, a, c.dossier("DefineRecordType", code, name))
}

func (c *Client) Accredit(ctx context.Context, a Actor, mspID, recordType string) (*wire.Accreditation, gateway.Receipt, error) {
	return submitJSON[wire.Accreditation](c, ctx, a, c.dossier("Accredit", mspID, recordType))
}

func (c *Client) Unaccredit(ctx context.Context, a Actor, mspID, recordType string) (*wire.Accreditation, gateway.Receipt, error) {
	return submitJSON[wire.Accreditation](c, ctx, a, c.dossier("Unaccredit", mspID, recordType))
}

func (c *Client) GetDepartment(ctx context.Context, a Actor, mspID string) (*wire.Department, error) {
	return evaluateJSON[wire.Department](c, ctx, a, c.dossier("GetDepartment", mspID))
}

func (c *Client) ListDepartments(ctx context.Context, a Actor) ([]wire.Department, error) {
	v, err := evaluateJSON[[]wire.Department](c, ctx, a, c.dossier("ListDepartments"))
	if err != nil {
		return nil, err
	}
	return *v, nil
}

func (c *Client) ListRecordTypes(ctx context.Context, a Actor) ([]wire.RecordType, error) {
	v, err := evaluateJSON[[]wire.RecordType](c, ctx, a, c.dossier("ListRecordTypes"))
	if err != nil {
		return nil, err
	}
	return *v, nil
}

func (c *Client) DefinePurpose(ctx context.Context, a Actor, code, name string) (*wire.Purpose, gateway.Receipt, error) {
	return submitJSON[wire.Purpose](c, ctx, a, c.dossier("DefinePurpose", code, name))
}

func (c *Client) DefineReason(ctx context.Context, a Actor, code, name string) (*wire.Reason, gateway.Receipt, error) {
	return submitJSON[wire.Reason](c, ctx, a, c.dossier("DefineReason", code, name))
}

// DefineMatter submits a matter definition (wire.MatterDefinition JSON).
func (c *Client) DefineMatter(ctx context.Context, a Actor, d wire.MatterDefinition) (*wire.Matter, gateway.Receipt, error) {
	b, err := wire.Marshal(d)
	if err != nil {
		return nil, gateway.Receipt{}, gateway.Wrap(gateway.CodeInternal, err, "encoding the matter")
	}
	return submitJSON[wire.Matter](c, ctx, a, c.dossier("DefineMatter", string(b)))
}

// GetMatter reads one version of a matter (0: the latest).
func (c *Client) GetMatter(ctx context.Context, a Actor, code string, version int) (*wire.Matter, error) {
	v := ""
	if version > 0 {
		v = strconv.Itoa(version)
	}
	return evaluateJSON[wire.Matter](c, ctx, a, c.dossier("GetMatter", code, v))
}

// ListMatters reads the latest version of every matter.
func (c *Client) ListMatters(ctx context.Context, a Actor) ([]wire.Matter, error) {
	v, err := evaluateJSON[[]wire.Matter](c, ctx, a, c.dossier("ListMatters"))
	if err != nil {
		return nil, err
	}
	return *v, nil
}

func (c *Client) ListPurposes(ctx context.Context, a Actor) ([]wire.Purpose, error) {
	v, err := evaluateJSON[[]wire.Purpose](c, ctx, a, c.dossier("ListPurposes"))
	if err != nil {
		return nil, err
	}
	return *v, nil
}

func (c *Client) ListReasons(ctx context.Context, a Actor) ([]wire.Reason, error) {
	v, err := evaluateJSON[[]wire.Reason](c, ctx, a, c.dossier("ListReasons"))
	if err != nil {
		return nil, err
	}
	return *v, nil
}

// Registry reads the whole registry in one query (dossier GetRegistry).
func (c *Client) Registry(ctx context.Context, a Actor) (*wire.Registry, error) {
	return evaluateJSON[wire.Registry](c, ctx, a, c.dossier("GetRegistry"))
}

func (c *Client) ListAccreditations(ctx context.Context, a Actor, mspID string) ([]wire.Accreditation, error) {
	v, err := evaluateJSON[[]wire.Accreditation](c, ctx, a, c.dossier("ListAccreditations", mspID))
	if err != nil {
		return nil, err
	}
	return *v, nil
}

// Sharing (sharing on datashare).

// Subject keys: every change carries the subject's signed statement; the chaincode
// checks the signatures and, for a first key or a recovery, that the creator is an
// identity authority.

func (c *Client) BindSubjectKey(ctx context.Context, a Actor, document, popSignature string) (*wire.SubjectKey, gateway.Receipt, error) {
	return submitJSON[wire.SubjectKey](c, ctx, a, c.sharing("BindSubjectKey", document, popSignature))
}

func (c *Client) AddSubjectKey(ctx context.Context, a Actor, document, signature, popSignature string) (*wire.SubjectKey, gateway.Receipt, error) {
	return submitJSON[wire.SubjectKey](c, ctx, a, c.sharing("AddSubjectKey", document, signature, popSignature))
}

func (c *Client) RemoveSubjectKey(ctx context.Context, a Actor, document, signature string) (*wire.SubjectKey, gateway.Receipt, error) {
	return submitJSON[wire.SubjectKey](c, ctx, a, c.sharing("RemoveSubjectKey", document, signature))
}

func (c *Client) RequestKeyRecovery(ctx context.Context, a Actor, document, popSignature string) (*wire.KeyRecovery, gateway.Receipt, error) {
	return submitJSON[wire.KeyRecovery](c, ctx, a, c.sharing("RequestKeyRecovery", document, popSignature))
}

func (c *Client) CancelKeyRecovery(ctx context.Context, a Actor, document, signature string) (*wire.KeyRecovery, gateway.Receipt, error) {
	return submitJSON[wire.KeyRecovery](c, ctx, a, c.sharing("CancelKeyRecovery", document, signature))
}

func (c *Client) CompleteKeyRecovery(ctx context.Context, a Actor, subjectID, recoveryID string) (*wire.SubjectKey, gateway.Receipt, error) {
	return submitJSON[wire.SubjectKey](c, ctx, a, c.sharing("CompleteKeyRecovery", subjectID, recoveryID))
}

func (c *Client) BindDelegation(ctx context.Context, a Actor, statement, delegateSignature string) (*wire.Delegation, gateway.Receipt, error) {
	return submitJSON[wire.Delegation](c, ctx, a, c.sharing("BindDelegation", statement, delegateSignature))
}

func (c *Client) RevokeDelegation(ctx context.Context, a Actor, document, signature string) (*wire.Delegation, gateway.Receipt, error) {
	return submitJSON[wire.Delegation](c, ctx, a, c.sharing("RevokeDelegation", document, signature))
}

func (c *Client) ListDelegations(ctx context.Context, a Actor, subjectID string) ([]wire.Delegation, error) {
	v, err := evaluateJSON[[]wire.Delegation](c, ctx, a, c.sharing("ListDelegations", subjectID))
	if err != nil {
		return nil, err
	}
	return *v, nil
}

func (c *Client) RequestConsent(ctx context.Context, a Actor, in wire.ConsentRequestInput) (*wire.ConsentRequest, gateway.Receipt, error) {
	b, err := wire.Marshal(in)
	if err != nil {
		return nil, gateway.Receipt{}, gateway.Wrap(gateway.CodeInternal, err, "encoding the request")
	}
	return submitJSON[wire.ConsentRequest](c, ctx, a, c.sharing("RequestConsent", string(b)))
}

func (c *Client) ApproveConsentRequest(ctx context.Context, a Actor, requestID, document, signature string) (*wire.GrantState, gateway.Receipt, error) {
	return submitJSON[wire.GrantState](c, ctx, a, c.sharing("ApproveConsentRequest", requestID, document, signature))
}

func (c *Client) DeclineConsentRequest(ctx context.Context, a Actor, document, signature string) (*wire.ConsentRequest, gateway.Receipt, error) {
	return submitJSON[wire.ConsentRequest](c, ctx, a, c.sharing("DeclineConsentRequest", document, signature))
}

func (c *Client) GetConsentRequest(ctx context.Context, a Actor, requestID string) (*wire.ConsentRequest, error) {
	return evaluateJSON[wire.ConsentRequest](c, ctx, a, c.sharing("GetConsentRequest", requestID))
}

func (c *Client) MyConsentRequests(ctx context.Context, a Actor, status string, pageSize int, bookmark string) (*wire.ConsentRequestPage, error) {
	return evaluateJSON[wire.ConsentRequestPage](c, ctx, a, c.sharing("MyConsentRequests", status, strconv.Itoa(pageSize), bookmark))
}

func (c *Client) ListConsentRequests(ctx context.Context, a Actor, subjectID string) ([]wire.ConsentRequest, error) {
	v, err := evaluateJSON[[]wire.ConsentRequest](c, ctx, a, c.sharing("ListConsentRequests", subjectID))
	if err != nil {
		return nil, err
	}
	return *v, nil
}

func (c *Client) GetSubjectKey(ctx context.Context, a Actor, subjectID, keyID string) (*wire.SubjectKey, error) {
	return evaluateJSON[wire.SubjectKey](c, ctx, a, c.sharing("GetSubjectKey", subjectID, keyID))
}

func (c *Client) ListSubjectKeys(ctx context.Context, a Actor, subjectID string) (*wire.SubjectKeys, error) {
	return evaluateJSON[wire.SubjectKeys](c, ctx, a, c.sharing("ListSubjectKeys", subjectID))
}

func (c *Client) KeyEvents(ctx context.Context, a Actor, subjectID string, pageSize int, bookmark string) (*wire.KeyEventPage, error) {
	return evaluateJSON[wire.KeyEventPage](c, ctx, a, c.sharing("KeyEvents", subjectID, strconv.Itoa(pageSize), bookmark))
}

func (c *Client) CreateGrant(ctx context.Context, a Actor, document, signature string) (*wire.GrantState, gateway.Receipt, error) {
	return submitJSON[wire.GrantState](c, ctx, a, c.sharing("CreateGrant", document, signature))
}

func (c *Client) RevokeGrant(ctx context.Context, a Actor, document, signature string) (*wire.GrantState, gateway.Receipt, error) {
	return submitJSON[wire.GrantState](c, ctx, a, c.sharing("RevokeGrant", document, signature))
}

func (c *Client) GetGrant(ctx context.Context, a Actor, grantID string) (*wire.GrantState, error) {
	return evaluateJSON[wire.GrantState](c, ctx, a, c.sharing("GetGrant", grantID))
}

func (c *Client) ListGrants(ctx context.Context, a Actor, subjectID string, pageSize int, bookmark string) (*wire.GrantPage, error) {
	return evaluateJSON[wire.GrantPage](c, ctx, a, c.sharing("ListGrants", subjectID, strconv.Itoa(pageSize), bookmark))
}

func (c *Client) RecordAccess(ctx context.Context, a Actor, grantID, recordID, purpose string) (*wire.AccessEntry, gateway.Receipt, error) {
	return submitJSON[wire.AccessEntry](c, ctx, a, c.sharing("RecordAccess", grantID, recordID, purpose))
}

func (c *Client) RecordOwnershipCheck(ctx context.Context, a Actor, subjectID, cid, checker string) (*wire.AccessEntry, gateway.Receipt, error) {
	return submitJSON[wire.AccessEntry](c, ctx, a, c.sharing("RecordOwnershipCheck", subjectID, cid, checker))
}

func (c *Client) RecordBatchOwnershipCheck(ctx context.Context, a Actor, subjectID, cid, checker string, proof wire.BatchProof) (*wire.AccessEntry, gateway.Receipt, error) {
	return submitJSON[wire.AccessEntry](c, ctx, a, c.sharing("RecordBatchOwnershipCheck", subjectID, cid, checker, mustJSON(proof)))
}

func (c *Client) RecordSelfAccess(ctx context.Context, a Actor, subjectID, recordID, action string) (*wire.AccessEntry, gateway.Receipt, error) {
	return submitJSON[wire.AccessEntry](c, ctx, a, c.sharing("RecordSelfAccess", subjectID, recordID, action))
}

// RecordDelegateAccess submits sharing:RecordDelegateAccess.
func (c *Client) RecordDelegateAccess(ctx context.Context, a Actor, statement, signature string) (*wire.AccessEntry, gateway.Receipt, error) {
	return submitJSON[wire.AccessEntry](c, ctx, a, c.sharing("RecordDelegateAccess", statement, signature))
}

func (c *Client) RecordMetadataAccess(ctx context.Context, a Actor, subjectID string, recordIDs []string, action string) ([]wire.AccessEntry, gateway.Receipt, error) {
	v, r, err := submitJSON[[]wire.AccessEntry](c, ctx, a, c.sharing("RecordMetadataAccess", subjectID, mustJSON(recordIDs), action))
	if err != nil {
		return nil, r, err
	}
	return *v, r, nil
}

func (c *Client) AccessLog(ctx context.Context, a Actor, subjectID string, pageSize int, bookmark string) (*wire.AccessPage, error) {
	return evaluateJSON[wire.AccessPage](c, ctx, a, c.sharing("AccessLog", subjectID, strconv.Itoa(pageSize), bookmark))
}

// Batch anchoring (dossier) and batch reads (sharing).

// EndorseAnchorBatch endorses AnchorBatch with the batch's compact, binary encoding
// (wire.EncodeBatch) as its one argument.
func (c *Client) EndorseAnchorBatch(ctx context.Context, a Actor, batch []byte) (gateway.Pending[wire.BatchAnchor], error) {
	return endorseJSON[wire.BatchAnchor](c, ctx, a, c.dossier("AnchorBatch", string(batch)))
}

func (c *Client) GetBatch(ctx context.Context, a Actor, batchID string) (*wire.BatchAnchor, error) {
	return evaluateJSON[wire.BatchAnchor](c, ctx, a, c.dossier("GetBatch", batchID))
}

func (c *Client) GetBatchRecord(ctx context.Context, a Actor, proof wire.BatchProof) (*wire.BatchRecord, error) {
	return evaluateJSON[wire.BatchRecord](c, ctx, a, c.dossier("GetBatchRecord", mustJSON(proof)))
}

func (c *Client) RevokeBatchRecord(ctx context.Context, a Actor, proof wire.BatchProof, reason string) (*wire.BatchRecord, gateway.Receipt, error) {
	return submitJSON[wire.BatchRecord](c, ctx, a, c.dossier("RevokeBatchRecord", mustJSON(proof), reason))
}

func (c *Client) SupersedeBatchRecord(ctx context.Context, a Actor, proof wire.BatchProof, req wire.AppendRequest) (*wire.BatchSupersedeResult, gateway.Receipt, error) {
	return submitJSON[wire.BatchSupersedeResult](c, ctx, a, c.dossier("SupersedeBatchRecord", mustJSON(proof), mustJSON(req)))
}

func (c *Client) RecordBatchAccess(ctx context.Context, a Actor, grantID string, proof wire.BatchProof, purpose string) (*wire.AccessEntry, gateway.Receipt, error) {
	return submitJSON[wire.AccessEntry](c, ctx, a, c.sharing("RecordBatchAccess", grantID, mustJSON(proof), purpose))
}

// Baseline (meta), used by benchmarks as the raw Fabric reference.

func (c *Client) MetaPut(ctx context.Context, a Actor, key, value string) (gateway.Receipt, error) {
	_, r, err := c.submit(ctx, a, c.meta(c.cfg.MunicipalChannel, c.cfg.DossierChaincode, "Put", key, value))
	return r, err
}

func (c *Client) MetaGet(ctx context.Context, a Actor, key string) (string, error) {
	b, err := c.evaluate(ctx, a, c.meta(c.cfg.MunicipalChannel, c.cfg.DossierChaincode, "Get", key))
	return string(b), err
}

// Version reports the running dossier chaincode's version (readiness check).
func (c *Client) Version(ctx context.Context, a Actor) (string, error) {
	b, err := c.evaluate(ctx, a, c.meta(c.cfg.MunicipalChannel, c.cfg.DossierChaincode, "Version"))
	return string(b), err
}
