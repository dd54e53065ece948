// Package proof builds and checks the proof bundles a verifier keeps
// (gateway.ProofBundle): a record, the transactions that wrote it with the endorsers'
// signatures, and the blocks that order them with the orderers' signatures. Verify
// needs nothing but the bundle and the channel's MSP root certificates.
package proof

import (
	"context"
	"fmt"
	"strconv"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"google.golang.org/protobuf/proto"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
	"github.com/edossier-city/edossier/gateway/index"
)

// Blocks fetches blocks from the ledger (gateway/fabric through the platform identity).
type Blocks interface {
	BlockByTxID(ctx context.Context, channel, txID string) (*common.Block, error)
	Height(ctx context.Context, channel string) (uint64, error)
}

// Builder assembles proof bundles.
type Builder struct {
	Blocks    Blocks
	Channel   string
	Chaincode string
}

// recordKey is the dossier chaincode's state key of a record; batchKey of an anchored
// batch; batchStatusKey of a batch record's sparse status.
func recordKey(id string) string { return "\x00record\x00" + id + "\x00" }
func batchKey(id string) string  { return "\x00batch\x00" + id + "\x00" }
func batchStatusKey(id string, index uint64) string {
	return "\x00bstatus\x00" + id + "\x00" + strconv.FormatUint(index, 10) + "\x00"
}

// Build returns the proof of rec (as read from the ledger): its append transaction,
// the transaction of its status change if any, and the status as of the channel's
// current last block.
func (b *Builder) Build(ctx context.Context, rec wire.Record) (*gateway.ProofBundle, error) {
	height, err := b.Blocks.Height(ctx, b.Channel)
	if err != nil {
		return nil, err
	}
	out := &gateway.ProofBundle{Format: gateway.ProofFormat, Channel: b.Channel, Chaincode: b.Chaincode, RecordID: rec.RecordID}
	txIDs := []string{rec.TxID}
	if rec.StatusTxID != "" && rec.StatusTxID != rec.TxID {
		txIDs = append(txIDs, rec.StatusTxID)
	}
	for _, id := range txIDs {
		blk, err := b.Blocks.BlockByTxID(ctx, b.Channel, id)
		if err != nil {
			return nil, err
		}
		ptx, value, err := b.proofTx(blk, id, recordKey(rec.RecordID))
		if err != nil {
			return nil, err
		}
		out.Transactions = append(out.Transactions, *ptx)
		out.RecordValue = value
	}
	if height > 0 {
		out.StatusAtBlock = height - 1
	}
	return out, nil
}

// BuildBatch returns the proof of a batch record as the chaincode confirmed it (br,
// from GetBatchRecord) with its leaf and inclusion proof: the AnchorBatch transaction
// with the batch key it wrote, the transaction of its status change if any with the
// status key it wrote, and the status as of the channel's current last block.
func (b *Builder) BuildBatch(ctx context.Context, br wire.BatchRecord, p wire.BatchProof) (*gateway.ProofBundle, error) {
	height, err := b.Blocks.Height(ctx, b.Channel)
	if err != nil {
		return nil, err
	}
	out := &gateway.ProofBundle{Format: gateway.ProofFormat, Channel: b.Channel, Chaincode: b.Chaincode, RecordID: p.Leaf.RecordID,
		Batch: &gateway.ProofBatch{Proof: p}}
	blk, err := b.Blocks.BlockByTxID(ctx, b.Channel, br.Record.TxID)
	if err != nil {
		return nil, err
	}
	ptx, value, err := b.proofTx(blk, br.Record.TxID, batchKey(p.BatchID))
	if err != nil {
		return nil, err
	}
	out.Transactions, out.Batch.AnchorValue = append(out.Transactions, *ptx), value
	if id := br.Record.StatusTxID; id != "" {
		if blk, err = b.Blocks.BlockByTxID(ctx, b.Channel, id); err != nil {
			return nil, err
		}
		if ptx, value, err = b.proofTx(blk, id, batchStatusKey(p.BatchID, p.Index)); err != nil {
			return nil, err
		}
		out.Transactions, out.Batch.StatusValue = append(out.Transactions, *ptx), value
	}
	if height > 0 {
		out.StatusAtBlock = height - 1
	}
	return out, nil
}

// proofTx finds transaction txID in blk and the value it wrote under key.
func (b *Builder) proofTx(blk *common.Block, txID, key string) (*gateway.ProofTx, []byte, error) {
	hdr, err := proto.Marshal(blk.GetHeader())
	if err != nil {
		return nil, nil, gateway.Wrap(gateway.CodeInternal, err, "encode block header")
	}
	md := blk.GetMetadata().GetMetadata()
	if len(md) <= int(common.BlockMetadataIndex_TRANSACTIONS_FILTER) {
		return nil, nil, gateway.Errorf(gateway.CodeInternal, "block %d has no metadata", blk.GetHeader().GetNumber())
	}
	for i, env := range blk.GetData().GetData() {
		writes, id, _, err := index.TxWrites(env, map[string]bool{b.Chaincode: true})
		if err != nil {
			return nil, nil, gateway.Wrap(gateway.CodeInternal, err, "decode block %d", blk.GetHeader().GetNumber())
		}
		if id != txID {
			continue
		}
		var value []byte
		for _, w := range writes {
			if w.Key == key {
				value = w.Value
			}
		}
		if value == nil {
			return nil, nil, gateway.Errorf(gateway.CodeInternal, "transaction %s does not write key %q", txID, key)
		}
		filter := md[common.BlockMetadataIndex_TRANSACTIONS_FILTER]
		code := int32(-1)
		if i < len(filter) {
			code = int32(filter[i])
		}
		return &gateway.ProofTx{TxID: txID, TxIndex: i, ValidationCode: code, Header: hdr, Data: blk.GetData().GetData(),
			Signatures: md[common.BlockMetadataIndex_SIGNATURES]}, value, nil
	}
	return nil, nil, fmt.Errorf("transaction %s not in block %d", txID, blk.GetHeader().GetNumber())
}
