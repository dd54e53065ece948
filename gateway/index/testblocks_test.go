package index

import (
	"crypto/sha256"
	"encoding/json"
	"strings"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/ledger/rwset"
	"github.com/hyperledger/fabric-protos-go-apiv2/ledger/rwset/kvrwset"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/proto"
)

type kv struct {
	ns, key string
	value   []byte
}

type testTx struct {
	id      string
	invalid bool
	config  bool
	writes  []kv
	args    [][]byte // the chaincode input
}

func ckey(typ string, attrs ...string) string {
	return "\x00" + typ + "\x00" + strings.Join(attrs, "\x00") + "\x00"
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// makeBlock builds a block the way a peer delivers it (envelopes of endorser
// transactions with their read-write sets, the validation flags in the metadata).
func makeBlock(channel string, number uint64, prev []byte, txs ...testTx) *common.Block {
	var data [][]byte
	var filter []byte
	for _, tx := range txs {
		byNS := map[string]*kvrwset.KVRWSet{}
		var order []string
		for _, w := range tx.writes {
			if byNS[w.ns] == nil {
				byNS[w.ns] = &kvrwset.KVRWSet{}
				order = append(order, w.ns)
			}
			byNS[w.ns].Writes = append(byNS[w.ns].Writes, &kvrwset.KVWrite{Key: w.key, Value: w.value})
		}
		rws := &rwset.TxReadWriteSet{DataModel: rwset.TxReadWriteSet_KV}
		for _, ns := range order {
			rws.NsRwset = append(rws.NsRwset, &rwset.NsReadWriteSet{Namespace: ns, Rwset: must(proto.Marshal(byNS[ns]))})
		}
		ca := &peer.ChaincodeAction{Results: must(proto.Marshal(rws)), Response: &peer.Response{Status: 200}}
		prp := &peer.ProposalResponsePayload{ProposalHash: []byte("h"), Extension: must(proto.Marshal(ca))}
		cis := &peer.ChaincodeInvocationSpec{ChaincodeSpec: &peer.ChaincodeSpec{Input: &peer.ChaincodeInput{Args: tx.args}}}
		cpp := &peer.ChaincodeProposalPayload{Input: must(proto.Marshal(cis))}
		cap := &peer.ChaincodeActionPayload{ChaincodeProposalPayload: must(proto.Marshal(cpp)),
			Action: &peer.ChaincodeEndorsedAction{ProposalResponsePayload: must(proto.Marshal(prp))}}
		ptx := &peer.Transaction{Actions: []*peer.TransactionAction{{Payload: must(proto.Marshal(cap))}}}
		typ := common.HeaderType_ENDORSER_TRANSACTION
		if tx.config {
			typ = common.HeaderType_CONFIG
		}
		ch := &common.ChannelHeader{Type: int32(typ), ChannelId: channel, TxId: tx.id}
		payload := &common.Payload{Header: &common.Header{ChannelHeader: must(proto.Marshal(ch))}, Data: must(proto.Marshal(ptx))}
		env := &common.Envelope{Payload: must(proto.Marshal(payload))}
		data = append(data, must(proto.Marshal(env)))
		code := peer.TxValidationCode_VALID
		if tx.invalid {
			code = peer.TxValidationCode_MVCC_READ_CONFLICT
		}
		filter = append(filter, byte(code))
	}
	var all []byte
	for _, d := range data {
		all = append(all, d...)
	}
	dh := sha256.Sum256(all)
	md := make([][]byte, 5)
	md[common.BlockMetadataIndex_TRANSACTIONS_FILTER] = filter
	return &common.Block{
		Header:   &common.BlockHeader{Number: number, PreviousHash: prev, DataHash: dh[:]},
		Data:     &common.BlockData{Data: data},
		Metadata: &common.BlockMetadata{Metadata: md},
	}
}

// chain builds consecutive blocks.
type chain struct {
	channel string
	blocks  []*common.Block
}

func (c *chain) add(txs ...testTx) *common.Block {
	var prev []byte
	if n := len(c.blocks); n > 0 {
		prev = HeaderHash(c.blocks[n-1].Header)
	}
	b := makeBlock(c.channel, uint64(len(c.blocks)), prev, txs...)
	c.blocks = append(c.blocks, b)
	return b
}
