// Package fabric is the gateway's Fabric adapter: one shared gRPC connection to a peer,
// one fabric-gateway Gateway per acting identity, per-phase timeouts, typed errors.
// Transaction names and argument encodings of the chaincodes live in contract.go and
// nowhere else.
package fabric

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-gateway/pkg/identity"
	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
	"github.com/edossier-city/edossier/network/connfile"
)

// Actor is the Fabric identity a call runs as.
type Actor = gateway.Actor

// Signer resolves an actor to its X.509 identity and signing function (the wallet).
type Signer interface {
	Identity(org, user string) (*identity.X509Identity, identity.Sign, error)
}

// Timeouts per phase of a Fabric call.
type Timeouts struct {
	Evaluate     time.Duration
	Endorse      time.Duration
	Submit       time.Duration
	CommitStatus time.Duration
}

// DefaultTimeouts suit a network on one machine or a LAN.
var DefaultTimeouts = Timeouts{Evaluate: 10 * time.Second, Endorse: 15 * time.Second, Submit: 10 * time.Second, CommitStatus: 60 * time.Second}

// Config configures a Client.
type Config struct {
	Profile *connfile.Profile
	// PeerOrg names the organisation whose peer the shared connection goes to.
	PeerOrg  string
	Signer   Signer
	Timeouts Timeouts
	// Channels and chaincodes.
	MunicipalChannel, DatashareChannel string
	DossierChaincode, SharingChaincode string
	// Observe, if set, receives the duration of every Fabric call phase
	// (evaluate, endorse, submit, commit) for metrics.
	Observe func(phase, transaction string, d time.Duration, err error)
}

// Client talks to the e-dossier chaincodes.
type Client struct {
	cfg  Config
	conn *grpc.ClientConn

	mu       sync.Mutex
	gateways map[Actor]*client.Gateway

	localMSP string // MSP of the peer the connection goes to

	blockMu    sync.Mutex
	blockCache map[string]uint64 // txID -> block number
	committed  sync.Map          // channel -> *atomic.Uint64: highest block of this client's own commits
}

// Dial opens the shared connection. It does not block; readiness is Ping's job.
func Dial(cfg Config) (*Client, error) {
	if cfg.Timeouts == (Timeouts{}) {
		cfg.Timeouts = DefaultTimeouts
	}
	if cfg.MunicipalChannel == "" {
		cfg.MunicipalChannel = "municipal"
	}
	if cfg.DatashareChannel == "" {
		cfg.DatashareChannel = "datashare"
	}
	if cfg.DossierChaincode == "" {
		cfg.DossierChaincode = "dossier"
	}
	if cfg.SharingChaincode == "" {
		cfg.SharingChaincode = "sharing"
	}
	org, err := cfg.Profile.Org(cfg.PeerOrg)
	if err != nil {
		return nil, err
	}
	conn, err := org.DialPeer()
	if err != nil {
		return nil, err
	}
	return newClient(cfg, conn, org.MSPID), nil
}

func newClient(cfg Config, conn *grpc.ClientConn, localMSP string) *Client {
	return &Client{cfg: cfg, conn: conn, localMSP: localMSP, gateways: map[Actor]*client.Gateway{}, blockCache: map[string]uint64{}}
}

// within bounds one Fabric call phase by its configured timeout, whatever context the
// caller gives: fabric-gateway applies the timeouts given to client.Connect only to
// the methods without a context, and the ...WithContext methods use only the
// context they are given (a request context has no deadline). A zero timeout leaves
// the context as it is.
func within(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, d)
}

// Close closes every gateway and the connection.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, gw := range c.gateways {
		gw.Close()
	}
	c.gateways = map[Actor]*client.Gateway{}
	return c.conn.Close()
}

func (c *Client) gateway(a Actor) (*client.Gateway, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gw, ok := c.gateways[a]; ok {
		return gw, nil
	}
	id, sign, err := c.cfg.Signer.Identity(a.Org, a.User)
	if err != nil {
		return nil, gateway.Wrap(gateway.CodeInternal, err, "no Fabric identity for %s/%s", a.Org, a.User)
	}
	t := c.cfg.Timeouts
	gw, err := client.Connect(id, client.WithSign(sign), client.WithClientConnection(c.conn),
		client.WithEvaluateTimeout(t.Evaluate), client.WithEndorseTimeout(t.Endorse),
		client.WithSubmitTimeout(t.Submit), client.WithCommitStatusTimeout(t.CommitStatus))
	if err != nil {
		return nil, err
	}
	c.gateways[a] = gw
	return gw, nil
}

func (c *Client) observe(phase, fn string, start time.Time, err error) {
	if c.cfg.Observe != nil {
		c.cfg.Observe(phase, fn, time.Since(start), err)
	}
}

// call is one chaincode invocation.
type call struct {
	channel, chaincode, contract, fn string
	args                             []string
}

// evaluate runs a query on one peer.
func (c *Client) evaluate(ctx context.Context, a Actor, k call) ([]byte, error) {
	gw, err := c.gateway(a)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	cctx, cancel := within(ctx, c.cfg.Timeouts.Evaluate)
	b, err := gw.GetNetwork(k.channel).GetContractWithName(k.chaincode, k.contract).
		EvaluateWithContext(cctx, k.fn, client.WithArguments(k.args...))
	cancel()
	c.observe("evaluate", k.fn, start, err)
	if err != nil {
		return nil, classify(err)
	}
	return b, nil
}

// submit endorses, orders and waits for the commit; it succeeds only when the
// transaction committed VALID, and returns where it landed.
func (c *Client) submit(ctx context.Context, a Actor, k call) ([]byte, gateway.Receipt, error) {
	e, receipt, err := c.endorse(ctx, a, k)
	if err != nil {
		return nil, receipt, err
	}
	return e.submit(ctx)
}

// endorsed is a transaction endorsed by enough peers, not yet submitted.
type endorsed struct {
	c       *Client
	fn      string
	tx      *client.Transaction
	receipt gateway.Receipt
}

// endorse has the transaction endorsed (by the peers the endorsement policy needs),
// waiting briefly for other organisations' peers that have not yet caught up with this
// gateway's own writes. The receipt carries the transaction ID even on error.
func (c *Client) endorse(ctx context.Context, a Actor, k call) (*endorsed, gateway.Receipt, error) {
	gw, err := c.gateway(a)
	if err != nil {
		return nil, gateway.Receipt{}, err
	}
	contract := gw.GetNetwork(k.channel).GetContractWithName(k.chaincode, k.contract)
	proposal, err := contract.NewProposal(k.fn, client.WithArguments(k.args...))
	if err != nil {
		return nil, gateway.Receipt{}, gateway.Wrap(gateway.CodeInternal, err, "build proposal")
	}
	receipt := gateway.Receipt{Channel: k.channel, TxID: proposal.TransactionID()}
	for attempt := 0; ; attempt++ {
		start := time.Now()
		cctx, cancel := within(ctx, c.cfg.Timeouts.Endorse)
		tx, err := proposal.EndorseWithContext(cctx)
		cancel()
		c.observe("endorse", k.fn, start, err)
		if err == nil {
			return &endorsed{c: c, fn: k.fn, tx: tx, receipt: receipt}, receipt, nil
		}
		if attempt >= 4 || !c.lagging(err) || ctx.Err() != nil {
			return nil, receipt, classify(err)
		}
		// The gateway's own peer endorsed, other organisations' peers refused: they have
		// not yet committed the block this request depends on (a write just made through
		// this gateway). Give them a moment.
		time.Sleep(time.Duration(50<<attempt) * time.Millisecond)
	}
}

// submit orders an endorsed transaction and waits for its commit status.
func (e *endorsed) submit(ctx context.Context) ([]byte, gateway.Receipt, error) {
	c, receipt := e.c, e.receipt
	start := time.Now()
	cctx, cancel := within(ctx, c.cfg.Timeouts.Submit)
	commit, err := e.tx.SubmitWithContext(cctx)
	cancel()
	c.observe("submit", e.fn, start, err)
	if err != nil {
		return nil, receipt, classify(err)
	}
	start = time.Now()
	cctx, cancel = within(ctx, c.cfg.Timeouts.CommitStatus)
	st, err := commit.StatusWithContext(cctx)
	cancel()
	c.observe("commit", e.fn, start, err)
	if err != nil {
		return nil, receipt, classify(err)
	}
	receipt.Block = st.BlockNumber
	if !st.Successful {
		return nil, receipt, classify(&client.CommitError{TransactionID: st.TransactionID, Code: st.Code})
	}
	c.rememberBlock(receipt.TxID, receipt.Block)
	c.noteCommitted(receipt.Channel, receipt.Block)
	return e.tx.Result(), receipt, nil
}

// lagging reports an endorsement that the connected peer's organisation granted and
// other organisations' peers refused: their ledgers are behind ours.
func (c *Client) lagging(err error) bool {
	var ee *client.EndorseError
	if !errors.As(err, &ee) || status.Code(err) != codes.Aborted {
		return false
	}
	details := ee.Details()
	if len(details) == 0 {
		return false
	}
	for _, d := range details {
		if d.GetMspId() == c.localMSP {
			return false
		}
	}
	return true
}

func (c *Client) rememberBlock(txID string, block uint64) {
	c.blockMu.Lock()
	defer c.blockMu.Unlock()
	if len(c.blockCache) > 100_000 {
		c.blockCache = map[string]uint64{}
	}
	c.blockCache[txID] = block
}

// TxBlock returns the number of the block holding a transaction (qscc GetBlockByTxID,
// cached).
func (c *Client) TxBlock(ctx context.Context, a Actor, channel, txID string) (uint64, error) {
	c.blockMu.Lock()
	b, ok := c.blockCache[txID]
	c.blockMu.Unlock()
	if ok {
		return b, nil
	}
	raw, err := c.evaluate(ctx, a, call{channel: channel, chaincode: "qscc", fn: "GetBlockByTxID", args: []string{channel, txID}})
	if err != nil {
		return 0, err
	}
	var block common.Block
	if err := proto.Unmarshal(raw, &block); err != nil {
		return 0, gateway.Wrap(gateway.CodeInternal, err, "decode block")
	}
	c.rememberBlock(txID, block.GetHeader().GetNumber())
	return block.GetHeader().GetNumber(), nil
}

// Height returns the block height of a channel on the connected peer.
func (c *Client) Height(ctx context.Context, a Actor, channel string) (uint64, error) {
	raw, err := c.evaluate(ctx, a, call{channel: channel, chaincode: "qscc", fn: "GetChainInfo", args: []string{channel}})
	if err != nil {
		return 0, err
	}
	var info common.BlockchainInfo
	if err := proto.Unmarshal(raw, &info); err != nil {
		return 0, gateway.Wrap(gateway.CodeInternal, err, "decode chain info")
	}
	return info.GetHeight(), nil
}

// classify turns a fabric-gateway error into a *gateway.Error by type: chaincode
// refusals keep their wire code; unreachable or overloaded Fabric is unavailable;
// invalidated transactions are conflicts.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var ge *gateway.Error
	if errors.As(err, &ge) {
		return err
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return gateway.Wrap(gateway.CodeUnavailable, err, "the ledger did not answer in time")
	}
	var commitErr *client.CommitError
	if errors.As(err, &commitErr) {
		switch commitErr.Code {
		case peer.TxValidationCode_MVCC_READ_CONFLICT, peer.TxValidationCode_PHANTOM_READ_CONFLICT:
			return gateway.Wrap(gateway.CodeConflict, err, "the transaction conflicted with a concurrent change; retry")
		case peer.TxValidationCode_ENDORSEMENT_POLICY_FAILURE:
			// With key-level policies this is how a concurrent write to the same key
			// loses (the winner set the key's policy in the same block): retryable.
			return gateway.Wrap(gateway.CodeConflict, err, "the transaction lost a race with a concurrent change or lacks required endorsements; retry")
		default:
			return gateway.Wrap(gateway.CodeConflict, err, "the transaction was invalidated: %s", commitErr.Code)
		}
	}
	// A chaincode refusal: the wire error JSON is in the message or the details.
	if we, ok := chaincodeError(err); ok {
		return gateway.Wrap(gateway.WireCode(we.Code), err, "%s", we.Message)
	}
	var endorseErr *client.EndorseError
	var submitErr *client.SubmitError
	var statusErr *client.CommitStatusError
	switch {
	case errors.As(err, &statusErr):
		return gateway.Wrap(gateway.CodeUnavailable, err, "the commit status of transaction %s is unknown; retry with the same idempotency key", statusErr.TransactionID)
	case errors.As(err, &submitErr):
		return gateway.Wrap(gateway.CodeUnavailable, err, "the ordering service is unavailable")
	case errors.As(err, &endorseErr):
		switch status.Code(err) {
		case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted, codes.Aborted:
			return gateway.Wrap(gateway.CodeUnavailable, err, "endorsing peers are unavailable")
		case codes.FailedPrecondition:
			return gateway.Wrap(gateway.CodeUnavailable, err, "not enough endorsing peers are available")
		}
		return gateway.Wrap(gateway.CodeInternal, err, "endorsement failed")
	}
	switch status.Code(err) {
	case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted:
		return gateway.Wrap(gateway.CodeUnavailable, err, "the ledger is unavailable")
	}
	return gateway.Wrap(gateway.CodeInternal, err, "ledger call failed")
}

// chaincodeError finds the chaincode's wire error in a gRPC error's message or details.
func chaincodeError(err error) (*wire.Error, bool) {
	var texts []string
	if st, ok := status.FromError(err); ok {
		texts = append(texts, st.Message())
		for _, d := range st.Details() {
			if m, ok := d.(interface{ GetMessage() string }); ok {
				texts = append(texts, m.GetMessage())
			}
		}
	}
	var te *client.TransactionError
	if errors.As(err, &te) {
		for _, d := range te.Details() {
			texts = append(texts, d.GetMessage())
		}
	}
	texts = append(texts, err.Error())
	for _, t := range texts {
		if strings.Contains(t, `"code"`) {
			if we, ok := wire.ParseError(t); ok {
				return we, true
			}
		}
	}
	return nil, false
}
