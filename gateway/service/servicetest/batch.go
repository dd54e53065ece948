package servicetest

import (
	"context"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
)

// The batch-anchoring methods of service.Ledger (service.BatchLedger).

func (Ledger) EndorseAnchorBatch(context.Context, gateway.Actor, []byte) (gateway.Pending[wire.BatchAnchor], error) {
	return nil, unfaked("EndorseAnchorBatch")
}
func (Ledger) GetBatch(context.Context, gateway.Actor, string) (*wire.BatchAnchor, error) {
	return nil, unfaked("GetBatch")
}
func (Ledger) GetBatchRecord(context.Context, gateway.Actor, wire.BatchProof) (*wire.BatchRecord, error) {
	return nil, unfaked("GetBatchRecord")
}
func (Ledger) RevokeBatchRecord(context.Context, gateway.Actor, wire.BatchProof, string) (*wire.BatchRecord, gateway.Receipt, error) {
	return nil, gateway.Receipt{}, unfaked("RevokeBatchRecord")
}
func (Ledger) SupersedeBatchRecord(context.Context, gateway.Actor, wire.BatchProof, wire.AppendRequest) (*wire.BatchSupersedeResult, gateway.Receipt, error) {
	return nil, gateway.Receipt{}, unfaked("SupersedeBatchRecord")
}
func (Ledger) RecordBatchAccess(context.Context, gateway.Actor, string, wire.BatchProof, string) (*wire.AccessEntry, gateway.Receipt, error) {
	return nil, gateway.Receipt{}, unfaked("RecordBatchAccess")
}
