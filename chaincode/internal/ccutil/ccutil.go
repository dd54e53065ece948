// Package ccutil holds the small helpers both contracts use around the
// Fabric stub: coded errors, transaction time and creator, JSON state
// access, composite keys, key-level endorsement policies and pagination.
package ccutil

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"

	"github.com/hyperledger/fabric-chaincode-go/v2/pkg/statebased"
	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-contract-api-go/v2/contractapi"
	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/proto"

	"github.com/edossier-city/edossier/chaincode/wire"
)

// Guard turns a panic into a CodeInternal error and makes sure every error
// leaving a transaction function is a *wire.Error. Use as
// `defer ccutil.Guard(&err)` with a named error result.
func Guard(errp *error) {
	if r := recover(); r != nil {
		*errp = wire.Errorf(wire.CodeInternal, "unexpected failure: %v", r)
		return
	}
	if *errp != nil {
		*errp = wire.AsError(*errp)
	}
}

// Internal wraps a ledger API failure.
func Internal(what string, err error) *wire.Error {
	return wire.Errorf(wire.CodeInternal, "%s: %v", what, err)
}

// TxTime returns the transaction timestamp (UTC) and its FormatTime string.
func TxTime(ctx contractapi.TransactionContextInterface) (time.Time, string, error) {
	ts, err := ctx.GetStub().GetTxTimestamp()
	if err != nil {
		return time.Time{}, "", Internal("reading transaction timestamp", err)
	}
	if ts == nil {
		return time.Time{}, "", wire.Errorf(wire.CodeInternal, "transaction has no timestamp")
	}
	t := time.Unix(ts.GetSeconds(), int64(ts.GetNanos())).UTC()
	return t, wire.FormatTime(t), nil
}

// ParseStatement parses a signed statement with parse (which returns it and its
// issue time), reads the transaction time and refuses a statement issued too far from
// it (wire.CheckStatementTime: expired or not yet valid). It returns the statement and
// the transaction time, as time and as its wire string.
func ParseStatement[T any](ctx contractapi.TransactionContextInterface, doc []byte, parse func([]byte) (T, time.Time, error)) (T, time.Time, string, error) {
	var zero T
	st, issued, err := parse(doc)
	if err != nil {
		return zero, time.Time{}, "", err
	}
	now, nowS, err := TxTime(ctx)
	if err != nil {
		return zero, time.Time{}, "", err
	}
	if err := wire.CheckStatementTime(issued, now); err != nil {
		return zero, time.Time{}, "", err
	}
	return st, now, nowS, nil
}

// CreatorMSP returns the MSP ID of the transaction creator.
func CreatorMSP(ctx contractapi.TransactionContextInterface) (string, error) {
	ci := ctx.GetClientIdentity()
	if ci == nil {
		return "", wire.Errorf(wire.CodeForbidden, "no client identity")
	}
	msp, err := ci.GetMSPID()
	if err != nil || msp == "" {
		return "", wire.Errorf(wire.CodeForbidden, "client identity has no MSP ID")
	}
	return msp, nil
}

// Creator describes the transaction creator for the access log.
type Creator struct {
	MSPID string
	// User is the certificate subject common name, or UserID when the
	// identity has no certificate or no common name.
	User string
	// UserID is the decoded Fabric client identity ID,
	// "x509::<subject DN>::<issuer DN>".
	UserID string
}

// CreatorInfo returns MSP ID, common name and decoded identity ID.
func CreatorInfo(ctx contractapi.TransactionContextInterface) (Creator, error) {
	msp, err := CreatorMSP(ctx)
	if err != nil {
		return Creator{}, err
	}
	ci := ctx.GetClientIdentity()
	c := Creator{MSPID: msp}
	if id, err := ci.GetID(); err == nil {
		if raw, err := base64.StdEncoding.DecodeString(id); err == nil {
			c.UserID = string(raw)
		} else {
			c.UserID = id
		}
	}
	if cert, err := ci.GetX509Certificate(); err == nil && cert != nil {
		c.User = cert.Subject.CommonName
	}
	if c.User == "" {
		c.User = c.UserID
	}
	if c.User == "" {
		return Creator{}, wire.Errorf(wire.CodeForbidden, "client identity has no ID")
	}
	return c, nil
}

// Key builds a composite key. Attributes are validated by the caller (the
// wire validators exclude U+0000 and U+10FFFF), so a failure is internal.
func Key(objectType string, attrs ...string) (string, error) {
	k, err := shim.CreateCompositeKey(objectType, attrs)
	if err != nil {
		return "", wire.Errorf(wire.CodeInvalid, "bad key part: %v", err)
	}
	return k, nil
}

// MustKey is Key for attributes that were validated already; it panics on a
// bad part (caught by Guard).
func MustKey(objectType string, attrs ...string) string {
	k, err := Key(objectType, attrs...)
	if err != nil {
		panic(err)
	}
	return k
}

// PutJSON stores v under key, encoded with wire.Marshal.
func PutJSON(stub shim.ChaincodeStubInterface, key string, v any) error {
	b, err := wire.Marshal(v)
	if err != nil {
		return Internal("encoding state", err)
	}
	if err := stub.PutState(key, b); err != nil {
		return Internal("writing state", err)
	}
	return nil
}

// GetJSON loads key into v. It reports false when the key does not exist.
func GetJSON(stub shim.ChaincodeStubInterface, key string, v any) (bool, error) {
	b, err := stub.GetState(key)
	if err != nil {
		return false, Internal("reading state", err)
	}
	if len(b) == 0 {
		return false, nil
	}
	if err := Unmarshal(b, v); err != nil {
		return false, err
	}
	return true, nil
}

// Load reads key as a T; when the key does not exist it fails with code and the
// formatted message.
func Load[T any](stub shim.ChaincodeStubInterface, key string, code wire.Code, format string, args ...any) (*T, error) {
	var v T
	found, err := GetJSON(stub, key, &v)
	if err != nil {
		return nil, err
	}
	if !found {
		return nil, wire.Errorf(code, format, args...)
	}
	return &v, nil
}

// Unmarshal decodes a stored value.
func Unmarshal(b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		return Internal("decoding stored state", err)
	}
	return nil
}

// IndexValue is the value of index keys (Fabric treats an empty value as a
// delete).
var IndexValue = []byte{0}

// Role is the MSP role used in key-level endorsement policies.
type Role = statebased.RoleType

// RoleFromConfig maps "", "PEER" to the peer role and "MEMBER" to the member
// role.
func RoleFromConfig(s string) Role {
	if strings.EqualFold(s, string(statebased.RoleTypeMember)) {
		return statebased.RoleTypeMember
	}
	return statebased.RoleTypePeer
}

// OrgPolicy returns a key-level endorsement policy requiring one endorsement
// by the given organisation in the given role.
func OrgPolicy(role Role, msp string) ([]byte, error) {
	ep, err := statebased.NewStateEP(nil)
	if err != nil {
		return nil, Internal("building endorsement policy", err)
	}
	if err := ep.AddOrgs(role, msp); err != nil {
		return nil, Internal("building endorsement policy", err)
	}
	p, err := ep.Policy()
	if err != nil {
		return nil, Internal("building endorsement policy", err)
	}
	return p, nil
}

// PolicyCache builds each organisation's policy once per transaction.
type PolicyCache struct {
	Role     Role
	policies map[string][]byte
}

// SetFor sets key's validation parameter to "one endorsement by msp".
func (c *PolicyCache) SetFor(stub shim.ChaincodeStubInterface, key, msp string) error {
	if c.policies == nil {
		c.policies = map[string][]byte{}
	}
	p, ok := c.policies[msp]
	if !ok {
		var err error
		if p, err = OrgPolicy(c.Role, msp); err != nil {
			return err
		}
		c.policies[msp] = p
	}
	if err := stub.SetStateValidationParameter(key, p); err != nil {
		return Internal("setting key endorsement policy", err)
	}
	return nil
}

// Page runs a paginated partial-composite-key query and calls fn for every
// entry. The bookmark must be "" or a key inside the queried range; anything
// else is refused (Fabric would otherwise start the range there).
func Page(stub shim.ChaincodeStubInterface, objectType string, attrs []string, pageSizeArg, bookmark string,
	fn func(key string, value []byte) error) (string, error) {
	pageSize, err := wire.ParsePageSize(pageSizeArg)
	if err != nil {
		return "", err
	}
	return PageN(stub, objectType, attrs, pageSize, bookmark, fn)
}

// PageN is Page with a page size the caller checked (it may exceed
// wire.MaxPageSize, for a scan that reads ahead).
func PageN(stub shim.ChaincodeStubInterface, objectType string, attrs []string, pageSize int32, bookmark string,
	fn func(key string, value []byte) error) (string, error) {
	prefix, err := Key(objectType, attrs...)
	if err != nil {
		return "", err
	}
	if bookmark != "" && (len(bookmark) > wire.MaxBookmarkLen || !strings.HasPrefix(bookmark, prefix)) {
		return "", wire.Errorf(wire.CodeInvalid, "bookmark does not belong to this query")
	}
	it, md, err := stub.GetStateByPartialCompositeKeyWithPagination(objectType, attrs, pageSize, bookmark)
	if err != nil {
		return "", Internal("range query", err)
	}
	if err := each(it, fn); err != nil {
		return "", err
	}
	if md == nil {
		return "", nil
	}
	return md.GetBookmark(), nil
}

// Scan runs an unpaginated partial-composite-key query (small, bounded
// ranges only) and calls fn for every entry.
func Scan(stub shim.ChaincodeStubInterface, objectType string, attrs []string, fn func(key string, value []byte) error) error {
	it, err := stub.GetStateByPartialCompositeKey(objectType, attrs)
	if err != nil {
		return Internal("range query", err)
	}
	return each(it, fn)
}

// each calls fn for every entry of a range query. The peer releases an iterator by
// itself once it has sent the last results (has_more false), and at the end of the
// transaction in any case, so Close, one more chaincode-to-peer round trip, is sent only
// when the loop stops before the end.
func each(it shim.StateQueryIteratorInterface, fn func(key string, value []byte) error) error {
	for it.HasNext() {
		kv, err := it.Next()
		if err != nil {
			it.Close()
			return Internal("range query", err)
		}
		if err := fn(kv.GetKey(), kv.GetValue()); err != nil {
			it.Close()
			return err
		}
	}
	return nil
}

// ScanJSON runs Scan and decodes every value as a T, in key order; never nil.
func ScanJSON[T any](stub shim.ChaincodeStubInterface, objectType string, attrs []string) ([]T, error) {
	out := []T{}
	err := Scan(stub, objectType, attrs, func(_ string, v []byte) error {
		var t T
		if err := Unmarshal(v, &t); err != nil {
			return err
		}
		out = append(out, t)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// LastAttr returns the last attribute of a composite key.
func LastAttr(key string) (string, error) {
	_, attrs, err := SplitKey(key)
	if err != nil {
		return "", err
	}
	if len(attrs) == 0 {
		return "", wire.Errorf(wire.CodeInternal, "composite key without attributes")
	}
	return attrs[len(attrs)-1], nil
}

// SplitKey splits a composite key without a round trip to the peer.
func SplitKey(key string) (string, []string, error) {
	if len(key) < 2 || key[0] != 0 || key[len(key)-1] != 0 {
		return "", nil, wire.Errorf(wire.CodeInternal, "not a composite key: %q", key)
	}
	parts := strings.Split(key[1:len(key)-1], "\x00")
	return parts[0], parts[1:], nil
}

// SetEvent encodes v and sets it as the transaction's event.
func SetEvent(stub shim.ChaincodeStubInterface, name string, v any) error {
	b, err := wire.Marshal(v)
	if err != nil {
		return Internal("encoding event", err)
	}
	if err := stub.SetEvent(name, b); err != nil {
		return Internal("setting event", err)
	}
	return nil
}

// RequireMSP refuses unless the creator's MSP is want (and want is set).
func RequireMSP(ctx contractapi.TransactionContextInterface, want, role string) (string, error) {
	msp, err := CreatorMSP(ctx)
	if err != nil {
		return "", err
	}
	if want == "" || msp != want {
		return "", wire.Errorf(wire.CodeForbidden, "only the %s may do this (caller is %s)", role, msp)
	}
	return msp, nil
}

// DefaultMaxClockSkew is how far a transaction's timestamp may be from an endorser's
// clock (see ClockCheck).
const DefaultMaxClockSkew = 5 * time.Minute

// ClockCheck returns a contract's BeforeTransaction function that refuses (invalid) a
// transaction whose timestamp is more than maxSkew away from this chaincode server's
// clock now. The timestamp is set by the submitting client and the pinned Fabric peer
// does not bound it (upstream added such a check in 2024, after the pinned commit), so
// without this a client could stamp a proposal days ahead to pass a time lock, or
// backdate it to use an expired grant. Each organisation's chaincode server checks with
// its own clock, so forging a time takes a majority of endorsing organisations. Only
// transactions at the edge of the window depend on the clocks; nothing written does.
func ClockCheck(now func() time.Time, maxSkew time.Duration) func(contractapi.TransactionContextInterface) error {
	if now == nil {
		now = time.Now
	}
	if maxSkew <= 0 {
		maxSkew = DefaultMaxClockSkew
	}
	return func(ctx contractapi.TransactionContextInterface) error {
		t, ts, err := TxTime(ctx)
		if err != nil {
			return err
		}
		if d := t.Sub(now()); d > maxSkew || d < -maxSkew {
			return wire.Errorf(wire.CodeInvalid, "transaction timestamp %s is %s away from this endorser's clock (at most %s allowed)", ts, d.Round(time.Second), maxSkew)
		}
		return nil
	}
}

// Origin is what the client's signed proposal addressed: the channel of its
// channel header and the chaincode of its chaincode header extension. In a
// chaincode called by another chaincode (InvokeChaincode) the callee sees the
// caller's proposal, so a dossier function called by sharing across channels
// sees Origin{datashare, sharing} while its own stub.GetChannelID() is
// municipal. A client cannot forge it: the peer runs a proposal on the channel
// and chaincode its headers name.
type Origin struct {
	Channel   string
	Chaincode string
}

// ProposalOrigin parses stub.GetSignedProposal (peer.Proposal -> common.Header
// -> common.ChannelHeader -> peer.ChaincodeHeaderExtension).
func ProposalOrigin(stub shim.ChaincodeStubInterface) (Origin, error) {
	sp, err := stub.GetSignedProposal()
	if err != nil {
		return Origin{}, Internal("reading the signed proposal", err)
	}
	if sp == nil {
		return Origin{}, wire.Errorf(wire.CodeInternal, "transaction has no signed proposal")
	}
	var prop peer.Proposal
	if err := proto.Unmarshal(sp.GetProposalBytes(), &prop); err != nil {
		return Origin{}, Internal("decoding the proposal", err)
	}
	var hdr common.Header
	if err := proto.Unmarshal(prop.GetHeader(), &hdr); err != nil {
		return Origin{}, Internal("decoding the proposal header", err)
	}
	var ch common.ChannelHeader
	if err := proto.Unmarshal(hdr.GetChannelHeader(), &ch); err != nil {
		return Origin{}, Internal("decoding the channel header", err)
	}
	var ext peer.ChaincodeHeaderExtension
	if err := proto.Unmarshal(ch.GetExtension(), &ext); err != nil {
		return Origin{}, Internal("decoding the chaincode header extension", err)
	}
	return Origin{Channel: ch.GetChannelId(), Chaincode: ext.GetChaincodeId().GetName()}, nil
}

// CalledFrom reports whether this invocation was made by chaincode cc on
// channel channel calling across channels: the proposal names them while the
// stub runs on another channel.
func CalledFrom(stub shim.ChaincodeStubInterface, channel, cc string) (bool, error) {
	o, err := ProposalOrigin(stub)
	if err != nil {
		return false, err
	}
	return o.Channel == channel && o.Chaincode == cc && stub.GetChannelID() != channel, nil
}
