package service

import (
	"context"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
)

// The rest of Ledger for fakeLedger: the tests that need one of these override it in a
// wrapper (logLedger, keyLedger, ...); a call no test expects fails with an internal
// error naming the method instead of a panic.

var _ Ledger = (*fakeLedger)(nil)

func unfaked(method string) error {
	return gateway.Errorf(gateway.CodeInternal, "fake ledger: %s is not faked", method)
}

func (f *fakeLedger) CheckSupersede(context.Context, gateway.Actor, string, wire.AppendRequest) error {
	return unfaked("CheckSupersede")
}
func (f *fakeLedger) EndorseSupersede(context.Context, gateway.Actor, string, wire.AppendRequest) (gateway.Pending[wire.SupersedeResult], error) {
	return nil, unfaked("EndorseSupersede")
}
func (f *fakeLedger) RevokeRecord(context.Context, gateway.Actor, string, string) (*wire.Record, gateway.Receipt, error) {
	return nil, gateway.Receipt{}, unfaked("RevokeRecord")
}
func (f *fakeLedger) ListDossier(context.Context, gateway.Actor, string, string, int, string) (*wire.RecordPage, error) {
	return nil, unfaked("ListDossier")
}
func (f *fakeLedger) RecordHistory(context.Context, gateway.Actor, string) ([]wire.RecordVersion, error) {
	return nil, unfaked("RecordHistory")
}
func (f *fakeLedger) TxBlock(context.Context, gateway.Actor, string, string) (uint64, error) {
	return 0, unfaked("TxBlock")
}
func (f *fakeLedger) MunicipalChannel() string { return "municipal" }
func (f *fakeLedger) RegisterDepartment(context.Context, gateway.Actor, string, string, string) (*wire.Department, gateway.Receipt, error) {
	return nil, gateway.Receipt{}, unfaked("RegisterDepartment")
}
func (f *fakeLedger) DeactivateDepartment(context.Context, gateway.Actor, string) (*wire.Department, gateway.Receipt, error) {
	return nil, gateway.Receipt{}, unfaked("DeactivateDepartment")
}
func (f *fakeLedger) DefineRecordType(context.Context, gateway.Actor, string, string) (*wire.RecordType, gateway.Receipt, error) {
	return nil, gateway.Receipt{}, unfaked("DefineRecordType")
}
func (f *fakeLedger) Accredit(context.Context, gateway.Actor, string, string) (*wire.Accreditation, gateway.Receipt, error) {
	return nil, gateway.Receipt{}, unfaked("Accredit")
}
func (f *fakeLedger) Unaccredit(context.Context, gateway.Actor, string, string) (*wire.Accreditation, gateway.Receipt, error) {
	return nil, gateway.Receipt{}, unfaked("Unaccredit")
}
func (f *fakeLedger) DefinePurpose(context.Context, gateway.Actor, string, string) (*wire.Purpose, gateway.Receipt, error) {
	return nil, gateway.Receipt{}, unfaked("DefinePurpose")
}
func (f *fakeLedger) DefineReason(context.Context, gateway.Actor, string, string) (*wire.Reason, gateway.Receipt, error) {
	return nil, gateway.Receipt{}, unfaked("DefineReason")
}
func (f *fakeLedger) Registry(context.Context, gateway.Actor) (*wire.Registry, error) {
	return nil, unfaked("Registry")
}
func (f *fakeLedger) DefineMatter(context.Context, gateway.Actor, wire.MatterDefinition) (*wire.Matter, gateway.Receipt, error) {
	return nil, gateway.Receipt{}, unfaked("DefineMatter")
}
func (f *fakeLedger) GetMatter(context.Context, gateway.Actor, string, int) (*wire.Matter, error) {
	return nil, unfaked("GetMatter")
}
func (f *fakeLedger) ListMatters(context.Context, gateway.Actor) ([]wire.Matter, error) {
	return nil, unfaked("ListMatters")
}
func (f *fakeLedger) BindSubjectKey(context.Context, gateway.Actor, string, string) (*wire.SubjectKey, gateway.Receipt, error) {
	return nil, gateway.Receipt{}, unfaked("BindSubjectKey")
}
func (f *fakeLedger) AddSubjectKey(context.Context, gateway.Actor, string, string, string) (*wire.SubjectKey, gateway.Receipt, error) {
	return nil, gateway.Receipt{}, unfaked("AddSubjectKey")
}
func (f *fakeLedger) RemoveSubjectKey(context.Context, gateway.Actor, string, string) (*wire.SubjectKey, gateway.Receipt, error) {
	return nil, gateway.Receipt{}, unfaked("RemoveSubjectKey")
}
func (f *fakeLedger) RequestKeyRecovery(context.Context, gateway.Actor, string, string) (*wire.KeyRecovery, gateway.Receipt, error) {
	return nil, gateway.Receipt{}, unfaked("RequestKeyRecovery")
}
func (f *fakeLedger) CancelKeyRecovery(context.Context, gateway.Actor, string, string) (*wire.KeyRecovery, gateway.Receipt, error) {
	return nil, gateway.Receipt{}, unfaked("CancelKeyRecovery")
}
func (f *fakeLedger) CompleteKeyRecovery(context.Context, gateway.Actor, string, string) (*wire.SubjectKey, gateway.Receipt, error) {
	return nil, gateway.Receipt{}, unfaked("CompleteKeyRecovery")
}
func (f *fakeLedger) GetSubjectKey(context.Context, gateway.Actor, string, string) (*wire.SubjectKey, error) {
	return nil, unfaked("GetSubjectKey")
}
func (f *fakeLedger) ListSubjectKeys(context.Context, gateway.Actor, string) (*wire.SubjectKeys, error) {
	return nil, unfaked("ListSubjectKeys")
}
func (f *fakeLedger) KeyEvents(context.Context, gateway.Actor, string, int, string) (*wire.KeyEventPage, error) {
	return nil, unfaked("KeyEvents")
}
func (f *fakeLedger) BindDelegation(context.Context, gateway.Actor, string, string) (*wire.Delegation, gateway.Receipt, error) {
	return nil, gateway.Receipt{}, unfaked("BindDelegation")
}
func (f *fakeLedger) RevokeDelegation(context.Context, gateway.Actor, string, string) (*wire.Delegation, gateway.Receipt, error) {
	return nil, gateway.Receipt{}, unfaked("RevokeDelegation")
}
func (f *fakeLedger) RequestConsent(context.Context, gateway.Actor, wire.ConsentRequestInput) (*wire.ConsentRequest, gateway.Receipt, error) {
	return nil, gateway.Receipt{}, unfaked("RequestConsent")
}
func (f *fakeLedger) ApproveConsentRequest(context.Context, gateway.Actor, string, string, string) (*wire.GrantState, gateway.Receipt, error) {
	return nil, gateway.Receipt{}, unfaked("ApproveConsentRequest")
}
func (f *fakeLedger) DeclineConsentRequest(context.Context, gateway.Actor, string, string) (*wire.ConsentRequest, gateway.Receipt, error) {
	return nil, gateway.Receipt{}, unfaked("DeclineConsentRequest")
}
func (f *fakeLedger) GetConsentRequest(context.Context, gateway.Actor, string) (*wire.ConsentRequest, error) {
	return nil, unfaked("GetConsentRequest")
}
func (f *fakeLedger) ListConsentRequests(context.Context, gateway.Actor, string) ([]wire.ConsentRequest, error) {
	return nil, unfaked("ListConsentRequests")
}
func (f *fakeLedger) CreateGrant(context.Context, gateway.Actor, string, string) (*wire.GrantState, gateway.Receipt, error) {
	return nil, gateway.Receipt{}, unfaked("CreateGrant")
}
func (f *fakeLedger) RevokeGrant(context.Context, gateway.Actor, string, string) (*wire.GrantState, gateway.Receipt, error) {
	return nil, gateway.Receipt{}, unfaked("RevokeGrant")
}
func (f *fakeLedger) RecordAccess(context.Context, gateway.Actor, string, string, string) (*wire.AccessEntry, gateway.Receipt, error) {
	return nil, gateway.Receipt{}, unfaked("RecordAccess")
}
func (f *fakeLedger) AccessLog(context.Context, gateway.Actor, string, int, string) (*wire.AccessPage, error) {
	return nil, unfaked("AccessLog")
}
func (f *fakeLedger) RecordOwnershipCheck(context.Context, gateway.Actor, string, string, string) (*wire.AccessEntry, gateway.Receipt, error) {
	return nil, gateway.Receipt{}, unfaked("RecordOwnershipCheck")
}
func (f *fakeLedger) RecordSelfAccess(context.Context, gateway.Actor, string, string, string) (*wire.AccessEntry, gateway.Receipt, error) {
	return nil, gateway.Receipt{}, unfaked("RecordSelfAccess")
}
func (f *fakeLedger) RecordMetadataAccess(context.Context, gateway.Actor, string, []string, string) ([]wire.AccessEntry, gateway.Receipt, error) {
	return nil, gateway.Receipt{}, unfaked("RecordMetadataAccess")
}
