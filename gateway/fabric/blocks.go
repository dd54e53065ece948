package fabric

import (
	"context"
	"strconv"
	"sync/atomic"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"google.golang.org/protobuf/proto"

	"github.com/edossier-city/edossier/gateway"
)

// BlockEvents streams a channel's full blocks from start, as the connected peer
// commits them (fabric-gateway block events; the peer checks that the actor's
// organisation may read the channel). The channel closes when the stream ends: an
// error or ctx.
func (c *Client) BlockEvents(ctx context.Context, a Actor, channel string, start uint64) (<-chan *common.Block, error) {
	gw, err := c.gateway(a)
	if err != nil {
		return nil, err
	}
	ch, err := gw.GetNetwork(channel).BlockEvents(ctx, client.WithStartBlock(start))
	if err != nil {
		return nil, classify(err)
	}
	return ch, nil
}

// BlockByTxID returns the block holding a transaction, as the peer stores it
// (protobuf, with its metadata: orderer signatures, validation flags).
func (c *Client) BlockByTxID(ctx context.Context, a Actor, channel, txID string) (*common.Block, error) {
	raw, err := c.evaluate(ctx, a, call{channel: channel, chaincode: "qscc", fn: "GetBlockByTxID", args: []string{channel, txID}})
	if err != nil {
		return nil, err
	}
	var block common.Block
	if err := proto.Unmarshal(raw, &block); err != nil {
		return nil, gateway.Wrap(gateway.CodeInternal, err, "decode block")
	}
	c.rememberBlock(txID, block.GetHeader().GetNumber())
	return &block, nil
}

// BlockByNumber returns one block of a channel (qscc GetBlockByNumber).
func (c *Client) BlockByNumber(ctx context.Context, a Actor, channel string, number uint64) (*common.Block, error) {
	raw, err := c.evaluate(ctx, a, call{channel: channel, chaincode: "qscc", fn: "GetBlockByNumber", args: []string{channel, strconv.FormatUint(number, 10)}})
	if err != nil {
		return nil, err
	}
	var block common.Block
	if err := proto.Unmarshal(raw, &block); err != nil {
		return nil, gateway.Wrap(gateway.CodeInternal, err, "decode block")
	}
	return &block, nil
}

func (c *Client) noteCommitted(channel string, block uint64) {
	v, _ := c.committed.LoadOrStore(channel, new(atomic.Uint64))
	n := v.(*atomic.Uint64)
	for {
		old := n.Load()
		if block <= old || n.CompareAndSwap(old, block) {
			return
		}
	}
}

// LastCommitted is the highest block of a channel that holds a transaction this client
// submitted and saw committed (0: none yet): an index that wants to answer with this
// gateway's own writes included must hold it.
func (c *Client) LastCommitted(channel string) uint64 {
	if v, ok := c.committed.Load(channel); ok {
		return v.(*atomic.Uint64).Load()
	}
	return 0
}
