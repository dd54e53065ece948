package fakeledger

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-protos-go-apiv2/ledger/queryresult"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Stub implements the parts of shim.ChaincodeStubInterface the contracts
// use. Calling anything else panics on the nil embedded interface.
type Stub struct {
	shim.ChaincodeStubInterface

	net     *Network
	ch      *Channel
	args    [][]byte
	txID    string
	ts      *timestamppb.Timestamp
	creator []byte
	// prop is the client's signed proposal; a callee gets its caller's.
	prop *peer.SignedProposal

	writes  map[string]*write
	vwrites map[string][]byte
	event   *Event

	// callee marks a stub of a cross-channel call: writes are dropped.
	callee    bool
	paginated bool

	// FailState makes every state access fail (to test internal errors).
	FailState bool
	// Calls counts stub calls by method name.
	Calls map[string]int
}

var errFailState = errors.New("fakeledger: state unavailable")

func (s *Stub) count(m string) {
	if s.Calls == nil {
		s.Calls = map[string]int{}
	}
	s.Calls[m]++
}

// GetArgs returns the raw arguments.
func (s *Stub) GetArgs() [][]byte { return s.args }

// GetStringArgs returns the arguments as strings.
func (s *Stub) GetStringArgs() []string {
	out := make([]string, len(s.args))
	for i, a := range s.args {
		out[i] = string(a)
	}
	return out
}

// GetFunctionAndParameters splits the first argument off.
func (s *Stub) GetFunctionAndParameters() (string, []string) {
	a := s.GetStringArgs()
	if len(a) == 0 {
		return "", nil
	}
	return a[0], a[1:]
}

// GetTxID returns the transaction ID.
func (s *Stub) GetTxID() string { return s.txID }

// GetChannelID returns the channel name.
func (s *Stub) GetChannelID() string { return s.ch.Name }

// GetSignedProposal returns the client's signed proposal: it names the
// channel and chaincode the client addressed, also in a callee.
func (s *Stub) GetSignedProposal() (*peer.SignedProposal, error) {
	if s.prop == nil {
		return nil, errors.New("fakeledger: no signed proposal")
	}
	return s.prop, nil
}

// GetTxTimestamp returns the transaction timestamp.
func (s *Stub) GetTxTimestamp() (*timestamppb.Timestamp, error) { return s.ts, nil }

// GetCreator returns the serialized creator identity.
func (s *Stub) GetCreator() ([]byte, error) {
	if s.creator == nil {
		return nil, errors.New("fakeledger: no creator")
	}
	return s.creator, nil
}

// GetState reads committed state (Fabric does not show a transaction its
// own writes).
func (s *Stub) GetState(key string) ([]byte, error) {
	s.count("GetState")
	if s.FailState {
		return nil, errFailState
	}
	return s.ch.state[key], nil
}

// GetMultipleStates reads several keys.
func (s *Stub) GetMultipleStates(keys ...string) ([][]byte, error) {
	s.count("GetMultipleStates")
	if s.FailState {
		return nil, errFailState
	}
	out := make([][]byte, len(keys))
	for i, k := range keys {
		out[i] = s.ch.state[k]
	}
	return out, nil
}

func checkKey(key string) error {
	if key == "" {
		return errors.New("fakeledger: empty key")
	}
	if !utf8.ValidString(key) {
		return errors.New("fakeledger: key is not UTF-8")
	}
	return nil
}

// PutState buffers a write.
func (s *Stub) PutState(key string, value []byte) error {
	s.count("PutState")
	if s.FailState {
		return errFailState
	}
	if err := checkKey(key); err != nil {
		return err
	}
	if len(value) == 0 {
		return errors.New("fakeledger: empty value (Fabric would delete the key)")
	}
	if s.paginated {
		return errors.New("fakeledger: write after a paginated query")
	}
	if s.callee {
		return nil
	}
	s.writes[key] = &write{value: append([]byte(nil), value...)}
	return nil
}

// DelState buffers a delete.
func (s *Stub) DelState(key string) error {
	s.count("DelState")
	if err := checkKey(key); err != nil {
		return err
	}
	if !s.callee {
		s.writes[key] = &write{delete: true}
	}
	return nil
}

// SetStateValidationParameter buffers a key-level policy.
func (s *Stub) SetStateValidationParameter(key string, ep []byte) error {
	s.count("SetStateValidationParameter")
	if err := checkKey(key); err != nil {
		return err
	}
	if !s.callee {
		s.vwrites[key] = append([]byte(nil), ep...)
	}
	return nil
}

// GetStateValidationParameter reads a committed key-level policy.
func (s *Stub) GetStateValidationParameter(key string) ([]byte, error) {
	return s.ch.vparams[key], nil
}

// CreateCompositeKey is shim.CreateCompositeKey.
func (s *Stub) CreateCompositeKey(objectType string, attributes []string) (string, error) {
	return shim.CreateCompositeKey(objectType, attributes)
}

// SplitCompositeKey splits a composite key.
func (s *Stub) SplitCompositeKey(key string) (string, []string, error) {
	if len(key) < 2 || key[0] != 0 {
		return "", nil, fmt.Errorf("fakeledger: not a composite key")
	}
	parts := strings.Split(strings.TrimSuffix(key[1:], "\x00"), "\x00")
	return parts[0], parts[1:], nil
}

func (s *Stub) rangeKeys(start, end string) []string {
	var keys []string
	for k := range s.ch.state {
		if k >= start && (end == "" || k < end) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

func (s *Stub) iter(keys []string) *Iterator {
	it := &Iterator{}
	for _, k := range keys {
		it.kvs = append(it.kvs, &queryresult.KV{Namespace: s.ch.CCName, Key: k, Value: s.ch.state[k]})
	}
	return it
}

// GetStateByRange iterates committed keys in [start, end).
func (s *Stub) GetStateByRange(start, end string) (shim.StateQueryIteratorInterface, error) {
	s.count("GetStateByRange")
	if s.FailState {
		return nil, errFailState
	}
	return s.iter(s.rangeKeys(start, end)), nil
}

const maxRune = string(rune(0x10FFFF))

// GetStateByPartialCompositeKey iterates keys with a composite prefix.
func (s *Stub) GetStateByPartialCompositeKey(objectType string, attrs []string) (shim.StateQueryIteratorInterface, error) {
	s.count("GetStateByPartialCompositeKey")
	if s.FailState {
		return nil, errFailState
	}
	prefix, err := shim.CreateCompositeKey(objectType, attrs)
	if err != nil {
		return nil, err
	}
	return s.iter(s.rangeKeys(prefix, prefix+maxRune)), nil
}

// GetStateByPartialCompositeKeyWithPagination pages like LevelDB-backed
// Fabric: the bookmark is the next key to read, "" after the last page.
func (s *Stub) GetStateByPartialCompositeKeyWithPagination(objectType string, attrs []string, pageSize int32, bookmark string) (shim.StateQueryIteratorInterface, *peer.QueryResponseMetadata, error) {
	s.count("GetStateByPartialCompositeKeyWithPagination")
	if s.FailState {
		return nil, nil, errFailState
	}
	if len(s.writes) > 0 || len(s.vwrites) > 0 {
		return nil, nil, errors.New("fakeledger: paginated query after a write")
	}
	s.paginated = true
	prefix, err := shim.CreateCompositeKey(objectType, attrs)
	if err != nil {
		return nil, nil, err
	}
	start := prefix
	if bookmark != "" {
		start = bookmark
	}
	keys := s.rangeKeys(start, prefix+maxRune)
	next := ""
	if pageSize > 0 && len(keys) > int(pageSize) {
		next = keys[pageSize]
		keys = keys[:pageSize]
	}
	return s.iter(keys), &peer.QueryResponseMetadata{FetchedRecordsCount: int32(len(keys)), Bookmark: next}, nil
}

// GetHistoryForKey returns committed modifications, newest first.
func (s *Stub) GetHistoryForKey(key string) (shim.HistoryQueryIteratorInterface, error) {
	s.count("GetHistoryForKey")
	if s.FailState {
		return nil, errFailState
	}
	h := s.ch.history[key]
	it := &HistoryIterator{}
	for i := len(h) - 1; i >= 0; i-- {
		it.mods = append(it.mods, h[i])
	}
	return it, nil
}

// SetEvent sets the transaction's event (the last call wins, as in Fabric).
func (s *Stub) SetEvent(name string, payload []byte) error {
	s.count("SetEvent")
	if name == "" {
		return errors.New("fakeledger: event name is empty")
	}
	if !s.callee {
		s.event = &Event{TxID: s.txID, Name: name, Payload: append([]byte(nil), payload...)}
	}
	return nil
}

// StartWriteBatch is a no-op: writes are buffered anyway.
func (s *Stub) StartWriteBatch() { s.count("StartWriteBatch") }

// FinishWriteBatch is a no-op.
func (s *Stub) FinishWriteBatch() error { s.count("FinishWriteBatch"); return nil }

// InvokeChaincode calls the chaincode deployed as name on channel ("" = this
// channel) with the same transaction ID, timestamp, creator and signed
// proposal (as Fabric does). On another
// channel only the response counts: the callee's writes and event are
// dropped, as in Fabric.
func (s *Stub) InvokeChaincode(name string, args [][]byte, channel string) *peer.Response {
	s.count("InvokeChaincode")
	if channel == "" {
		channel = s.ch.Name
	}
	ch := s.net.channels[channel]
	if ch == nil || ch.CCName != name {
		return &peer.Response{Status: shim.ERROR, Message: fmt.Sprintf("chaincode %s not found on channel %s", name, channel)}
	}
	callee := &Stub{net: s.net, ch: ch, args: args, txID: s.txID, ts: s.ts, creator: s.creator, prop: s.prop,
		writes: map[string]*write{}, vwrites: map[string][]byte{}, callee: true}
	return ch.CC.Invoke(callee)
}

// Iterator is a state query iterator over a fixed slice.
type Iterator struct {
	kvs []*queryresult.KV
	i   int
}

// HasNext reports whether Next has more.
func (it *Iterator) HasNext() bool { return it.i < len(it.kvs) }

// Next returns the next entry.
func (it *Iterator) Next() (*queryresult.KV, error) {
	if it.i >= len(it.kvs) {
		return nil, errors.New("fakeledger: iterator exhausted")
	}
	it.i++
	return it.kvs[it.i-1], nil
}

// Close does nothing.
func (it *Iterator) Close() error { return nil }

// HistoryIterator iterates key modifications.
type HistoryIterator struct {
	mods []*queryresult.KeyModification
	i    int
}

// HasNext reports whether Next has more.
func (it *HistoryIterator) HasNext() bool { return it.i < len(it.mods) }

// Next returns the next modification.
func (it *HistoryIterator) Next() (*queryresult.KeyModification, error) {
	if it.i >= len(it.mods) {
		return nil, errors.New("fakeledger: iterator exhausted")
	}
	it.i++
	return it.mods[it.i-1], nil
}

// Close does nothing.
func (it *HistoryIterator) Close() error { return nil }
