// Package servicetest has test doubles of the service's adapters for the tests of
// gateway/service and gateway/api.
package servicetest

import (
	"context"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
)

// Ledger implements service.Ledger with every method answering an internal error that
// names it. A test fake embeds it and overrides what its test needs, so that a call no
// test expects fails as an error instead of a nil-interface panic, and a new Ledger
// method breaks the build here rather than at run time.
type Ledger struct{}

func unfaked(method string) error {
	return gateway.Errorf(gateway.CodeInternal, "fake ledger: %s is not faked", method)
}

func (Ledger) CheckAppend(context.Context, gateway.Actor, wire.AppendRequest) error {
	return unfaked("CheckAppend")
}
func (Ledger) CheckSupersede(context.Context, gateway.Actor, string, wire.AppendRequest) error {
	return unfaked("CheckSupersede")
}
func (Ledger) EndorseAppend(context.Context, gateway.Actor, wire.AppendRequest) (gateway.Pending[wire.Record], error) {
	return nil, unfaked("EndorseAppend")
}
func (Ledger) EndorseAppendRecords(context.Context, gateway.Actor, wire.AppendBatch) (gateway.Pending[wire.BatchResult], error) {
	return nil, unfaked("EndorseAppendRecords")
}
func (Ledger) EndorseSupersede(context.Context, gateway.Actor, string, wire.AppendRequest) (gateway.Pending[wire.SupersedeResult], error) {
	return nil, unfaked("EndorseSupersede")
}
func (Ledger) RevokeRecord(context.Context, gateway.Actor, string, string) (*wire.Record, gateway.Receipt, error) {
	return nil, gateway.Receipt{}, unfaked("RevokeRecord")
}
func (Ledger) GetRecord(context.Context, gateway.Actor, string) (*wire.Record, error) {
	return nil, unfaked("GetRecord")
}
func (Ledger) ListDossier(context.Context, gateway.Actor, string, string, int, string) (*wire.RecordPage, error) {
	return nil, unfaked("ListDossier")
}
func (Ledger) FindByCID(context.Context, gateway.Actor, string) ([]wire.Record, error) {
	return nil, unfaked("FindByCID")
}
func (Ledger) RecordHistory(context.Context, gateway.Actor, string) ([]wire.RecordVersion, error) {
	return nil, unfaked("RecordHistory")
}
func (Ledger) TxBlock(context.Context, gateway.Actor, string, string) (uint64, error) {
	return 0, unfaked("TxBlock")
}
func (Ledger) MunicipalChannel() string { return "municipal" }
func (Ledger) RegisterDepartment(context.Context, gateway.Actor, string, string, string) (*wire.Department, gateway.Receipt, error) {
	return nil, gateway.Receipt{}, unfaked("RegisterDepartment")
}
func (Ledger) DeactivateDepartment(context.Context, gateway.Actor, string) (*wire.Department, gateway.Receipt, error) {
	return nil, gateway.Receipt{}, unfaked("DeactivateDepartment")
}
func (Ledger) DefineRecordType(context.Context, gateway.Actor, string, string) (*wire.RecordType, gateway.Receipt, error) {
	return nil, gateway.Receipt{}, unfaked("DefineRecordType")
}
func (Ledger) Accredit(context.Context, gateway.Actor, string, string) (*wire.Accreditation, gateway.Receipt, error) {
	return nil, gateway.Receipt{}, unfaked("Accredit")
}
func (Ledger) Unaccredit(context.Context, gateway.Actor, string, string) (*wire.Accreditation, gateway.Receipt, error) {
	return nil, gateway.Receipt{}, unfaked("Unaccredit")
}
func (Ledger) DefinePurpose(context.Context, gateway.Actor, string, string) (*wire.Purpose, gateway.Receipt, error) {
	return nil, gateway.Receipt{}, unfaked("DefinePurpose")
}
func (Ledger) DefineReason(context.Context, gateway.Actor, string, string) (*wire.Reason, gateway.Receipt, error) {
	return nil, gateway.Receipt{}, unfaked("DefineReason")
}
func (Ledger) Registry(context.Context, gateway.Actor) (*wire.Registry, error) {
	return nil, unfaked("Registry")
}
func (Ledger) ListAccreditations(context.Context, gateway.Actor, string) ([]wire.Accreditation, error) {
	return nil, unfaked("ListAccreditations")
}
func (Ledger) DefineMatter(context.Context, gateway.Actor, wire.MatterDefinition) (*wire.Matter, gateway.Receipt, error) {
	return nil, gateway.Receipt{}, unfaked("DefineMatter")
}
func (Ledger) GetMatter(context.Context, gateway.Actor, string, int) (*wire.Matter, error) {
	return nil, unfaked("GetMatter")
}
func (Ledger) ListMatters(context.Context, gateway.Actor) ([]wire.Matter, error) {
	return nil, unfaked("ListMatters")
}
func (Ledger) BindSubjectKey(context.Context, gateway.Actor, string, string) (*wire.SubjectKey, gateway.Receipt, error) {
	return nil, gateway.Receipt{}, unfaked("BindSubjectKey")
}
func (Ledger) AddSubjectKey(context.Context, gateway.Actor, string, string, string) (*wire.SubjectKey, gateway.Receipt, error) {
	return nil, gateway.Receipt{}, unfaked("AddSubjectKey")
}
func (Ledger) RemoveSubjectKey(context.Context, gateway.Actor, string, string) (*wire.SubjectKey, gateway.Receipt, error) {
	return nil, gateway.Receipt{}, unfaked("RemoveSubjectKey")
}
func (Ledger) RequestKeyRecovery(context.Context, gateway.Actor, string, string) (*wire.KeyRecovery, gateway.Receipt, error) {
	return nil, gateway.Receipt{}, unfaked("RequestKeyRecovery")
}
func (Ledger) CancelKeyRecovery(context.Context, gateway.Actor, string, string) (*wire.KeyRecovery, gateway.Receipt, error) {
	return nil, gateway.Receipt{}, unfaked("CancelKeyRecovery")
}
func (Ledger) CompleteKeyRecovery(context.Context, gateway.Actor, string, string) (*wire.SubjectKey, gateway.Receipt, error) {
	return nil, gateway.Receipt{}, unfaked("CompleteKeyRecovery")
}
func (Ledger) GetSubjectKey(context.Context, gateway.Actor, string, string) (*wire.SubjectKey, error) {
	return nil, unfaked("GetSubjectKey")
}
func (Ledger) ListSubjectKeys(context.Context, gateway.Actor, string) (*wire.SubjectKeys, error) {
	return nil, unfaked("ListSubjectKeys")
}
func (Ledger) KeyEvents(context.Context, gateway.Actor, string, int, string) (*wire.KeyEventPage, error) {
	return nil, unfaked("KeyEvents")
}
func (Ledger) BindDelegation(context.Context, gateway.Actor, string, string) (*wire.Delegation, gateway.Receipt, error) {
	return nil, gateway.Receipt{}, unfaked("BindDelegation")
}
func (Ledger) RevokeDelegation(context.Context, gateway.Actor, string, string) (*wire.Delegation, gateway.Receipt, error) {
	return nil, gateway.Receipt{}, unfaked("RevokeDelegation")
}
func (Ledger) ListDelegations(context.Context, gateway.Actor, string) ([]wire.Delegation, error) {
	return nil, unfaked("ListDelegations")
}
func (Ledger) RequestConsent(context.Context, gateway.Actor, wire.ConsentRequestInput) (*wire.ConsentRequest, gateway.Receipt, error) {
	return nil, gateway.Receipt{}, unfaked("RequestConsent")
}
func (Ledger) ApproveConsentRequest(context.Context, gateway.Actor, string, string, string) (*wire.GrantState, gateway.Receipt, error) {
	return nil, gateway.Receipt{}, unfaked("ApproveConsentRequest")
}
func (Ledger) DeclineConsentRequest(context.Context, gateway.Actor, string, string) (*wire.ConsentRequest, gateway.Receipt, error) {
	return nil, gateway.Receipt{}, unfaked("DeclineConsentRequest")
}
func (Ledger) GetConsentRequest(context.Context, gateway.Actor, string) (*wire.ConsentRequest, error) {
	return nil, unfaked("GetConsentRequest")
}
func (Ledger) MyConsentRequests(context.Context, gateway.Actor, string, int, string) (*wire.ConsentRequestPage, error) {
	return nil, unfaked("MyConsentRequests")
}

func (Ledger) ListConsentRequests(context.Context, gateway.Actor, string) ([]wire.ConsentRequest, error) {
	return nil, unfaked("ListConsentRequests")
}
func (Ledger) CreateGrant(context.Context, gateway.Actor, string, string) (*wire.GrantState, gateway.Receipt, error) {
	return nil, gateway.Receipt{}, unfaked("CreateGrant")
}
func (Ledger) RevokeGrant(context.Context, gateway.Actor, string, string) (*wire.GrantState, gateway.Receipt, error) {
	return nil, gateway.Receipt{}, unfaked("RevokeGrant")
}
func (Ledger) ListGrants(context.Context, gateway.Actor, string, int, string) (*wire.GrantPage, error) {
	return nil, unfaked("ListGrants")
}
func (Ledger) RecordAccess(context.Context, gateway.Actor, string, string, string) (*wire.AccessEntry, gateway.Receipt, error) {
	return nil, gateway.Receipt{}, unfaked("RecordAccess")
}
func (Ledger) AccessLog(context.Context, gateway.Actor, string, int, string) (*wire.AccessPage, error) {
	return nil, unfaked("AccessLog")
}
func (Ledger) RecordOwnershipCheck(context.Context, gateway.Actor, string, string, string) (*wire.AccessEntry, gateway.Receipt, error) {
	return nil, gateway.Receipt{}, unfaked("RecordOwnershipCheck")
}
func (Ledger) RecordBatchOwnershipCheck(context.Context, gateway.Actor, string, string, string, wire.BatchProof) (*wire.AccessEntry, gateway.Receipt, error) {
	return nil, gateway.Receipt{}, unfaked("RecordBatchOwnershipCheck")
}
func (Ledger) RecordSelfAccess(context.Context, gateway.Actor, string, string, string) (*wire.AccessEntry, gateway.Receipt, error) {
	return nil, gateway.Receipt{}, unfaked("RecordSelfAccess")
}
func (Ledger) RecordDelegateAccess(context.Context, gateway.Actor, string, string) (*wire.AccessEntry, gateway.Receipt, error) {
	return nil, gateway.Receipt{}, unfaked("RecordDelegateAccess")
}
func (Ledger) RecordMetadataAccess(context.Context, gateway.Actor, string, []string, string) ([]wire.AccessEntry, gateway.Receipt, error) {
	return nil, gateway.Receipt{}, unfaked("RecordMetadataAccess")
}
