package index

import (
	"crypto/sha256"
	"encoding/asn1"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/ledger/rwset"
	"github.com/hyperledger/fabric-protos-go-apiv2/ledger/rwset/kvrwset"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/proto"

	"github.com/edossier-city/edossier/chaincode/wire"
)

// Block is what the index takes from one Fabric block: its number and hashes, and
// the state writes of its valid endorser transactions, in block order.
type Block struct {
	Channel string
	Number  uint64
	// Hash is the SHA-256 of the block header's ASN.1 encoding (what the next
	// block's PreviousHash holds); PrevHash is the header's PreviousHash.
	Hash, PrevHash []byte
	// Txs counts every transaction of the block, Valid the valid endorser ones.
	Txs, Valid int
	Writes     []Write
	// Inputs holds the chaincode arguments of the valid transactions that write a
	// batch key ("batch", batchId), by position in the block: an AnchorBatch carries
	// its batch's leaves there (wire.DecodeBatch), not in its writes.
	Inputs map[int][][]byte
}

// Write is one key written (or deleted) by a valid transaction.
type Write struct {
	TxID      string
	TxNum     int // position of the transaction in the block
	Namespace string
	Key       string
	Value     []byte
	Delete    bool
}

// SubjectKeyChange is a subject key that a block's valid transaction wrote: bound,
// added, recovered or removed, and whether it is active after it.
type SubjectKeyChange struct {
	SubjectID, KeyID string
	Active           bool
}

// SubjectKeyChanges returns the subject keys the block's valid transactions wrote on
// the sharing chaincode (none for another channel). The index keeps no table of them;
// the gateway's request-signature check forgets a removed key with them, without
// waiting for its cache to expire.
func (n Namespaces) SubjectKeyChanges(b *Block) []SubjectKeyChange {
	if b.Channel != n.DatashareChannel {
		return nil
	}
	var out []SubjectKeyChange
	for _, w := range b.Writes {
		typ, attrs, ok := splitKey(w.Key)
		if w.Namespace != n.Sharing || !ok || typ != "skey" || len(attrs) != 2 {
			continue
		}
		var k wire.SubjectKey
		active := !w.Delete && json.Unmarshal(w.Value, &k) == nil && k.Status == wire.KeyActive
		out = append(out, SubjectKeyChange{SubjectID: attrs[0], KeyID: attrs[1], Active: active})
	}
	return out
}

// HeaderHash returns the hash Fabric chains blocks with: SHA-256 over the ASN.1 DER
// of (number, previous hash, data hash).
func HeaderHash(h *common.BlockHeader) []byte {
	sum := sha256.Sum256(HeaderBytes(h))
	return sum[:]
}

// HeaderBytes is the ASN.1 DER encoding of a block header that Fabric hashes and the
// orderers sign.
func HeaderBytes(h *common.BlockHeader) []byte {
	b, err := asn1.Marshal(struct {
		Number       *big.Int
		PreviousHash []byte
		DataHash     []byte
	}{new(big.Int).SetUint64(h.GetNumber()), h.GetPreviousHash(), h.GetDataHash()})
	if err != nil {
		panic(err) // cannot happen for these types
	}
	return b
}

// ParseBlock decodes a block delivered by the peer. Only transactions the peer
// validated (TRANSACTIONS_FILTER = VALID) contribute writes; namespaces not listed are
// skipped (nil: all).
func ParseBlock(channel string, b *common.Block, namespaces map[string]bool) (*Block, error) {
	if b.GetHeader() == nil {
		return nil, fmt.Errorf("block without header")
	}
	out := &Block{Channel: channel, Number: b.Header.Number, Hash: HeaderHash(b.Header), PrevHash: b.Header.PreviousHash}
	data := b.GetData().GetData()
	out.Txs = len(data)
	var filter []byte
	if md := b.GetMetadata().GetMetadata(); len(md) > int(common.BlockMetadataIndex_TRANSACTIONS_FILTER) {
		filter = md[common.BlockMetadataIndex_TRANSACTIONS_FILTER]
	}
	for i, envBytes := range data {
		if i >= len(filter) || peer.TxValidationCode(filter[i]) != peer.TxValidationCode_VALID {
			continue
		}
		writes, txID, ok, err := TxWrites(envBytes, namespaces)
		if err != nil {
			return nil, fmt.Errorf("block %d transaction %d: %w", out.Number, i, err)
		}
		if !ok {
			continue
		}
		out.Valid++
		batch := false
		for _, w := range writes {
			w.TxID, w.TxNum = txID, i
			out.Writes = append(out.Writes, w)
			batch = batch || strings.HasPrefix(w.Key, batchKeyPrefix)
		}
		if batch {
			args, err := TxInput(envBytes)
			if err != nil {
				return nil, fmt.Errorf("block %d transaction %d: %w", out.Number, i, err)
			}
			if out.Inputs == nil {
				out.Inputs = map[int][][]byte{}
			}
			out.Inputs[i] = args
		}
	}
	return out, nil
}

// TxWrites returns the transaction ID of an envelope and, for an endorser
// transaction, its state writes in the given namespaces (ok false for other kinds,
// such as configuration transactions).
func TxWrites(envBytes []byte, namespaces map[string]bool) ([]Write, string, bool, error) {
	env := &common.Envelope{}
	if err := proto.Unmarshal(envBytes, env); err != nil {
		return nil, "", false, fmt.Errorf("envelope: %w", err)
	}
	payload := &common.Payload{}
	if err := proto.Unmarshal(env.Payload, payload); err != nil {
		return nil, "", false, fmt.Errorf("payload: %w", err)
	}
	ch := &common.ChannelHeader{}
	if err := proto.Unmarshal(payload.GetHeader().GetChannelHeader(), ch); err != nil {
		return nil, "", false, fmt.Errorf("channel header: %w", err)
	}
	if common.HeaderType(ch.Type) != common.HeaderType_ENDORSER_TRANSACTION {
		return nil, ch.TxId, false, nil
	}
	tx := &peer.Transaction{}
	if err := proto.Unmarshal(payload.Data, tx); err != nil {
		return nil, "", false, fmt.Errorf("transaction: %w", err)
	}
	var out []Write
	for _, act := range tx.Actions {
		res, err := ActionResults(act)
		if err != nil {
			return nil, "", false, err
		}
		for _, ns := range res.NsRwset {
			if namespaces != nil && !namespaces[ns.Namespace] {
				continue
			}
			kv := &kvrwset.KVRWSet{}
			if err := proto.Unmarshal(ns.Rwset, kv); err != nil {
				return nil, "", false, fmt.Errorf("read-write set: %w", err)
			}
			for _, w := range kv.Writes {
				out = append(out, Write{Namespace: ns.Namespace, Key: w.Key, Value: w.Value, Delete: w.IsDelete})
			}
		}
	}
	return out, ch.TxId, true, nil
}

// batchKeyPrefix starts the dossier chaincode's batch keys ("batch", batchId).
const batchKeyPrefix = "\x00batch\x00"

// TxInput returns the chaincode arguments of an endorser transaction's (first) action
// as the transaction carries them (Fabric keeps the input, drops the transient map).
func TxInput(envBytes []byte) ([][]byte, error) {
	env := &common.Envelope{}
	if err := proto.Unmarshal(envBytes, env); err != nil {
		return nil, fmt.Errorf("envelope: %w", err)
	}
	payload := &common.Payload{}
	if err := proto.Unmarshal(env.Payload, payload); err != nil {
		return nil, fmt.Errorf("payload: %w", err)
	}
	tx := &peer.Transaction{}
	if err := proto.Unmarshal(payload.Data, tx); err != nil {
		return nil, fmt.Errorf("transaction: %w", err)
	}
	if len(tx.Actions) == 0 {
		return nil, fmt.Errorf("transaction without actions")
	}
	cap := &peer.ChaincodeActionPayload{}
	if err := proto.Unmarshal(tx.Actions[0].Payload, cap); err != nil {
		return nil, fmt.Errorf("chaincode action payload: %w", err)
	}
	cpp := &peer.ChaincodeProposalPayload{}
	if err := proto.Unmarshal(cap.ChaincodeProposalPayload, cpp); err != nil {
		return nil, fmt.Errorf("chaincode proposal payload: %w", err)
	}
	cis := &peer.ChaincodeInvocationSpec{}
	if err := proto.Unmarshal(cpp.Input, cis); err != nil {
		return nil, fmt.Errorf("chaincode invocation: %w", err)
	}
	return cis.GetChaincodeSpec().GetInput().GetArgs(), nil
}

// ActionResults decodes the read-write set of one transaction action.
func ActionResults(act *peer.TransactionAction) (*rwset.TxReadWriteSet, error) {
	cap := &peer.ChaincodeActionPayload{}
	if err := proto.Unmarshal(act.Payload, cap); err != nil {
		return nil, fmt.Errorf("chaincode action payload: %w", err)
	}
	prp := &peer.ProposalResponsePayload{}
	if err := proto.Unmarshal(cap.GetAction().GetProposalResponsePayload(), prp); err != nil {
		return nil, fmt.Errorf("proposal response payload: %w", err)
	}
	ca := &peer.ChaincodeAction{}
	if err := proto.Unmarshal(prp.Extension, ca); err != nil {
		return nil, fmt.Errorf("chaincode action: %w", err)
	}
	rws := &rwset.TxReadWriteSet{}
	if err := proto.Unmarshal(ca.Results, rws); err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	return rws, nil
}
