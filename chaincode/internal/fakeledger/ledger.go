// Package fakeledger is an in-memory stand-in for Fabric peers, for unit
// tests of the contracts only: channels with a world state, history,
// key-level validation parameters and events; transactions that read
// committed state only (no read-your-writes, as in Fabric) and commit their
// writes only on success; paginated queries refused in transactions that
// write; cross-channel chaincode calls that return the callee's response and
// drop its writes.
package fakeledger

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"sort"
	"time"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/ledger/queryresult"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/edossier-city/edossier/chaincode/wire"
)

// Network holds channels and the clock used as transaction timestamp.
type Network struct {
	// Now is the timestamp of the next transaction.
	Now      time.Time
	seq      uint64
	channels map[string]*Channel
}

// New returns an empty network whose clock starts at now.
func New(now time.Time) *Network {
	return &Network{Now: now.UTC(), channels: map[string]*Channel{}}
}

// Advance moves the clock.
func (n *Network) Advance(d time.Duration) { n.Now = n.Now.Add(d) }

// Channel is one channel with one chaincode deployed.
type Channel struct {
	Name    string
	CCName  string
	CC      shim.Chaincode
	state   map[string][]byte
	vparams map[string][]byte
	history map[string][]*queryresult.KeyModification
	// Events lists committed events in commit order.
	Events []Event
}

// Event is a committed chaincode event.
type Event struct {
	TxID    string
	Name    string
	Payload []byte
}

// AddChannel deploys cc as ccName on a new channel.
func (n *Network) AddChannel(name, ccName string, cc shim.Chaincode) *Channel {
	ch := &Channel{
		Name: name, CCName: ccName, CC: cc,
		state: map[string][]byte{}, vparams: map[string][]byte{},
		history: map[string][]*queryresult.KeyModification{},
	}
	n.channels[name] = ch
	return ch
}

// Channel returns a channel by name.
func (n *Network) Channel(name string) *Channel { return n.channels[name] }

// Get returns a committed value.
func (c *Channel) Get(key string) []byte { return c.state[key] }

// ValidationParameter returns a key's committed key-level policy.
func (c *Channel) ValidationParameter(key string) []byte { return c.vparams[key] }

// Keys returns all committed keys, sorted.
func (c *Channel) Keys() []string {
	keys := make([]string, 0, len(c.state))
	for k := range c.state {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Result is the outcome of one transaction.
type Result struct {
	TxID    string
	Status  int32
	Payload []byte
	Message string
	// Event is the transaction's event (nil if none or not committed).
	Event *Event
	// Writes counts committed key writes (0 for evaluate or failure).
	Writes int
}

// OK reports success.
func (r Result) OK() bool { return r.Status < shim.ERRORTHRESHOLD }

// Err returns the coded error of a failed transaction (nil on success). A
// failure without a parseable code is returned as CodeInternal with the
// raw message, so tests notice it.
func (r Result) Err() *wire.Error {
	if r.OK() {
		return nil
	}
	if e, ok := wire.ParseError(r.Message); ok {
		return e
	}
	return &wire.Error{Code: "uncoded", Message: r.Message}
}

func (n *Network) nextTx() (string, *timestamppb.Timestamp) {
	n.seq++
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], n.seq)
	sum := sha256.Sum256(b[:])
	return hex.EncodeToString(sum[:]), timestamppb.New(n.Now)
}

// NewStub prepares a transaction stub on a channel, for direct contract
// calls; Commit applies its writes.
func (n *Network) NewStub(channel string, id *Identity, args ...string) *Stub {
	ch := n.channels[channel]
	if ch == nil {
		panic("fakeledger: no channel " + channel)
	}
	txID, ts := n.nextTx()
	argv := make([][]byte, len(args))
	for i, a := range args {
		argv[i] = []byte(a)
	}
	var creator []byte
	if id != nil {
		creator = id.creator
	}
	return &Stub{net: n, ch: ch, args: argv, txID: txID, ts: ts, creator: creator,
		prop:   SignedProposal(channel, ch.CCName, txID, ts, creator),
		writes: map[string]*write{}, vwrites: map[string][]byte{}}
}

// SignedProposal builds the signed proposal a client sends to chaincode cc on
// channel: a peer.Proposal whose common.Header carries a ChannelHeader naming
// the channel (and a ChaincodeHeaderExtension naming cc) and a SignatureHeader
// with the creator. The signature is not a real one (nothing checks it here).
func SignedProposal(channel, cc, txID string, ts *timestamppb.Timestamp, creator []byte) *peer.SignedProposal {
	ext, err := proto.Marshal(&peer.ChaincodeHeaderExtension{ChaincodeId: &peer.ChaincodeID{Name: cc}})
	if err != nil {
		panic(err)
	}
	ch, err := proto.Marshal(&common.ChannelHeader{Type: int32(common.HeaderType_ENDORSER_TRANSACTION),
		ChannelId: channel, TxId: txID, Timestamp: ts, Extension: ext})
	if err != nil {
		panic(err)
	}
	sh, err := proto.Marshal(&common.SignatureHeader{Creator: creator, Nonce: []byte(txID)})
	if err != nil {
		panic(err)
	}
	hdr, err := proto.Marshal(&common.Header{ChannelHeader: ch, SignatureHeader: sh})
	if err != nil {
		panic(err)
	}
	pb, err := proto.Marshal(&peer.Proposal{Header: hdr})
	if err != nil {
		panic(err)
	}
	return &peer.SignedProposal{ProposalBytes: pb, Signature: []byte("fakeledger")}
}

// Submit runs fn with args as a transaction by id on channel and commits it
// if it succeeds.
func (n *Network) Submit(channel string, id *Identity, fn string, args ...string) Result {
	return n.run(channel, id, true, fn, args...)
}

// Evaluate runs a query: same as Submit but nothing is committed.
func (n *Network) Evaluate(channel string, id *Identity, fn string, args ...string) Result {
	return n.run(channel, id, false, fn, args...)
}

func (n *Network) run(channel string, id *Identity, commit bool, fn string, args ...string) Result {
	stub := n.NewStub(channel, id, append([]string{fn}, args...)...)
	resp := stub.ch.CC.Invoke(stub)
	res := Result{TxID: stub.txID, Status: resp.GetStatus(), Payload: resp.GetPayload(), Message: resp.GetMessage()}
	if !res.OK() || !commit {
		return res
	}
	if stub.paginated && (len(stub.writes) > 0 || len(stub.vwrites) > 0) {
		res.Status = shim.ERROR
		res.Message = "fakeledger: paginated queries are only supported in read-only transactions"
		res.Payload = nil
		return res
	}
	res.Writes, res.Event = stub.Commit()
	return res
}

type write struct {
	value  []byte
	delete bool
}

// Commit applies the stub's writes, validation parameters and event to the
// channel and returns the number of writes and the committed event.
func (s *Stub) Commit() (int, *Event) {
	keys := make([]string, 0, len(s.writes))
	for k := range s.writes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		w := s.writes[k]
		mod := &queryresult.KeyModification{TxId: s.txID, Timestamp: s.ts, IsDelete: w.delete}
		if w.delete {
			delete(s.ch.state, k)
			delete(s.ch.vparams, k)
		} else {
			s.ch.state[k] = w.value
			mod.Value = w.value
		}
		s.ch.history[k] = append(s.ch.history[k], mod)
	}
	for k, v := range s.vwrites {
		s.ch.vparams[k] = v
	}
	var ev *Event
	if s.event != nil {
		ev = s.event
		s.ch.Events = append(s.ch.Events, *ev)
	}
	return len(keys), ev
}
