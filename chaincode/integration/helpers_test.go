package integration

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base32"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-protos-go-apiv2/gateway"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/grpc/status"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/network/nettest"
)

// Names of the default network (network/network.yaml).
const (
	chMunicipal = "municipal"
	chDatashare = "datashare"
	ccDossier   = "dossier"
	ccSharing   = "sharing"

	mspOperator = "OperatorMSP"
	mspCivil    = "CivilAffairsMSP"
	mspHealth   = "HealthMSP"
	mspPolice   = "PublicSecurityMSP" // the identity authority of the default network
)

// actor is one organisation's user connected through its own peer's gateway.
type actor struct {
	name    string // "health/clerk"
	msp     string
	cn      string // the user's certificate common name (its enrolment ID)
	keyFile string // the user's private key (PEM), for hand-made proposals
	gw      *client.Gateway
	dossier *client.Contract // dossier:* on municipal
	sharing *client.Contract // sharing:* on datashare
	meta    *client.Contract // meta:* of the dossier chaincode
}

func newActor(t testing.TB, n *nettest.Net, org, user, msp string) *actor {
	t.Helper()
	gw := n.Gateway(t, org, user)
	o, err := n.Profile.Org(org)
	if err != nil {
		t.Fatal(err)
	}
	if o.MSPID != msp {
		t.Fatalf("organisation %s has MSP ID %s, the tests expect %s", org, o.MSPID, msp)
	}
	u, err := o.User(user)
	if err != nil {
		t.Fatal(err)
	}
	certPEM, err := os.ReadFile(u.Cert)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(certPEM)
	if block == nil {
		t.Fatalf("%s/%s: no PEM certificate in %s", org, user, u.Cert)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return &actor{
		name:    org + "/" + user,
		msp:     msp,
		cn:      cert.Subject.CommonName,
		keyFile: u.Key,
		gw:      gw,
		dossier: gw.GetNetwork(chMunicipal).GetContractWithName(ccDossier, "dossier"),
		sharing: gw.GetNetwork(chDatashare).GetContractWithName(ccSharing, "sharing"),
		meta:    gw.GetNetwork(chMunicipal).GetContractWithName(ccDossier, "meta"),
	}
}

// channelOf returns the channel a contract handle addresses.
func channelOf(c *client.Contract) string {
	if c.ChaincodeName() == ccSharing {
		return chDatashare
	}
	return chMunicipal
}

// submitTx endorses, submits and waits for the commit of one transaction. It
// returns the result and the transaction ID. A transaction that commits with a
// validation code other than VALID is a *commitFailure.
func submitTx(ctx context.Context, c *client.Contract, fn string, args ...string) ([]byte, string, error) {
	return submitOn(ctx, c, nil, fn, args...)
}

// submitOn is submitTx endorsed only by the peers of the given organisations
// (nil: the gateway's endorsement plan).
func submitOn(ctx context.Context, c *client.Contract, orgs []string, fn string, args ...string) ([]byte, string, error) {
	opts := []client.ProposalOption{client.WithArguments(args...)}
	if orgs != nil {
		opts = append(opts, client.WithEndorsingOrganizations(orgs...))
	}
	p, err := c.NewProposal(fn, opts...)
	if err != nil {
		return nil, "", err
	}
	tx, err := p.EndorseWithContext(ctx)
	if err != nil {
		return nil, p.TransactionID(), err
	}
	commit, err := tx.SubmitWithContext(ctx)
	if err != nil {
		return tx.Result(), tx.TransactionID(), err
	}
	st, err := commit.StatusWithContext(ctx)
	if err != nil {
		return tx.Result(), tx.TransactionID(), err
	}
	if !st.Successful {
		return tx.Result(), tx.TransactionID(), &commitFailure{txID: st.TransactionID, code: st.Code}
	}
	return tx.Result(), tx.TransactionID(), nil
}

// commitFailure is a transaction that was ordered but invalidated by the
// peers (MVCC read conflict, endorsement policy failure, ...).
type commitFailure struct {
	txID string
	code peer.TxValidationCode
}

func (e *commitFailure) Error() string {
	return fmt.Sprintf("transaction %s committed with validation code %s", e.txID, e.code)
}

// codeOf extracts the chaincode's wire error from a fabric-gateway error: from
// its text (the gateway client appends the endorsers' messages) or else from
// the gRPC status details.
func codeOf(err error) (*wire.Error, bool) {
	if err == nil {
		return nil, false
	}
	if e, ok := wire.ParseError(err.Error()); ok {
		return e, true
	}
	if st, ok := status.FromError(err); ok {
		for _, d := range st.Details() {
			if ed, ok := d.(*gateway.ErrorDetail); ok {
				if e, ok := wire.ParseError(ed.GetMessage()); ok {
					return e, true
				}
			}
		}
	}
	return nil, false
}

// flowCtx bounds every single call of the flow test.
func flowCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 60*time.Second)
}

// submit runs a transaction that must commit VALID and decodes its result
// into a T. It then waits until every peer has the block, so that the next
// step may read through any organisation's peer (and so that cross-channel
// reads of sharing see the same dossier state on every endorser).
func submit[T any](t testing.TB, f *flow, a *actor, c *client.Contract, fn string, args ...string) (T, string) {
	t.Helper()
	var out T
	ctx, cancel := flowCtx()
	defer cancel()
	res, txID, err := submitTx(ctx, c, fn, args...)
	if err != nil {
		t.Fatalf("%s %s:%s: %v", a.name, c.ContractName(), fn, err)
	}
	if err := json.Unmarshal(res, &out); err != nil {
		t.Fatalf("%s %s:%s: result %q: %v", a.name, c.ContractName(), fn, res, err)
	}
	f.settle(t, a, channelOf(c))
	return out, txID
}

// refuse runs a transaction that the chaincode must refuse with code want at
// endorsement: the error must be a *client.EndorseError carrying a wire error.
func refuse(t testing.TB, a *actor, c *client.Contract, want wire.Code, fn string, args ...string) *wire.Error {
	t.Helper()
	ctx, cancel := flowCtx()
	defer cancel()
	res, _, err := submitTx(ctx, c, fn, args...)
	if err == nil {
		t.Fatalf("%s %s:%s: committed (result %.300s), want refusal %q", a.name, c.ContractName(), fn, res, want)
	}
	var endorseErr *client.EndorseError
	if !errors.As(err, &endorseErr) {
		t.Fatalf("%s %s:%s: failed after endorsement (%T: %v), want a chaincode refusal %q at endorsement", a.name, c.ContractName(), fn, err, err, want)
	}
	e, ok := codeOf(err)
	if !ok {
		t.Fatalf("%s %s:%s: refusal without a wire error code (want %q): %v", a.name, c.ContractName(), fn, want, err)
	}
	if e.Code != want {
		t.Fatalf("%s %s:%s: code %q (%s), want %q", a.name, c.ContractName(), fn, e.Code, e.Message, want)
	}
	return e
}

// evaluate runs a query and decodes its result into a T.
func evaluate[T any](t testing.TB, a *actor, c *client.Contract, fn string, args ...string) T {
	t.Helper()
	var out T
	ctx, cancel := flowCtx()
	defer cancel()
	res, err := c.EvaluateWithContext(ctx, fn, client.WithArguments(args...))
	if err != nil {
		t.Fatalf("%s %s:%s (evaluate): %v", a.name, c.ContractName(), fn, err)
	}
	if err := json.Unmarshal(res, &out); err != nil {
		t.Fatalf("%s %s:%s: result %q: %v", a.name, c.ContractName(), fn, res, err)
	}
	return out
}

// refuseEval runs a query that must fail with code want.
func refuseEval(t testing.TB, a *actor, c *client.Contract, want wire.Code, fn string, args ...string) *wire.Error {
	t.Helper()
	ctx, cancel := flowCtx()
	defer cancel()
	res, err := c.EvaluateWithContext(ctx, fn, client.WithArguments(args...))
	if err == nil {
		t.Fatalf("%s %s:%s (evaluate): returned %.300s, want refusal %q", a.name, c.ContractName(), fn, res, want)
	}
	e, ok := codeOf(err)
	if !ok {
		t.Fatalf("%s %s:%s (evaluate): error without a wire code (want %q): %v", a.name, c.ContractName(), fn, want, err)
	}
	if e.Code != want {
		t.Fatalf("%s %s:%s (evaluate): code %q (%s), want %q", a.name, c.ContractName(), fn, e.Code, e.Message, want)
	}
	return e
}

// mustJSON encodes v with the wire encoder.
func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := wire.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// file is an off-chain document: its bytes, CID and size.
type file struct {
	data []byte
	cid  string
	size int64
}

func newFile(t testing.TB, content string) file {
	t.Helper()
	c, n, err := wire.CIDOf(bytes.NewReader([]byte(content)))
	if err != nil {
		t.Fatal(err)
	}
	return file{data: []byte(content), cid: c.String(), size: n}
}

// request builds an append request; note stands for the off-chain note
// whose CID the record carries ("" = none).
func request(id, subject, typ string, f file, note string) wire.AppendRequest {
	r := wire.AppendRequest{RecordID: id, SubjectID: subject, Type: typ, CID: f.cid, Size: f.size,
		MediaType: "application/pdf"}
	if note != "" {
		r.NoteCID = noteCID(note)
	}
	return r
}

// noteCID is the CID of a note document standing for text.
func noteCID(text string) string {
	c, _, err := wire.CIDOf(bytes.NewReader([]byte(`{"salt":"test","text":"` + text + `"}`)))
	if err != nil {
		panic(err)
	}
	return c.String()
}

// pseudonym is a valid person subject ID named by name (the tests have no
// subject secret; any value of the pseudonym form will do).
func pseudonym(name string) string {
	h := sha256.Sum256([]byte("integration subject\x00" + name))
	return "p-" + strings.ToLower(base32.StdEncoding.EncodeToString(h[:20]))
}

// citizen is a subject with an ECDSA P-256 key pair generated by the test.
type citizen struct {
	id  string
	key *ecdsa.PrivateKey
	pem string
}

func newCitizen(t testing.TB, id string) *citizen {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return &citizen{id: id, key: k, pem: string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))}
}

func (c *citizen) sign(t testing.TB, doc []byte) string {
	t.Helper()
	sig, err := wire.SignDocument(c.key, doc)
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// statement encodes a key statement of this citizen issued now; kinds that carry a
// new key carry this citizen's key.
func (c *citizen) statement(t testing.TB, kind string, mod func(*wire.KeyStatement)) []byte {
	t.Helper()
	nonce := make([]byte, 12)
	if _, err := rand.Read(nonce); err != nil {
		t.Fatal(err)
	}
	st := wire.KeyStatement{Kind: kind, SubjectID: c.id, IssuedAt: wire.FormatTime(time.Now()), Nonce: fmt.Sprintf("n-%x", nonce)}
	if kind == wire.KeyBindKind || kind == wire.KeyAddKind || kind == wire.KeyRecoveryKind {
		st.PublicKeyPEM = c.pem
	}
	if mod != nil {
		mod(&st)
	}
	doc, err := wire.EncodeKeyStatement(st)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// keyID is the key ID of this citizen's key.
func (c *citizen) keyID(t testing.TB) string {
	t.Helper()
	_, _, id, err := wire.ParseSubjectPublicKey(c.pem)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// grantDoc encodes a grant document of this citizen.
func (c *citizen) grantDoc(t testing.TB, id, grantee string, types, ids []string, purpose string, from, until time.Time) []byte {
	t.Helper()
	doc, err := wire.EncodeGrant(wire.Grant{
		Kind: wire.GrantKind, GrantID: id, SubjectID: c.id, Grantee: grantee,
		Scope:   wire.GrantScope{RecordTypes: types, RecordIDs: ids},
		Purpose: purpose, ValidFrom: wire.FormatTime(from), ExpiresAt: wire.FormatTime(until),
	})
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func (c *citizen) revocationDoc(t testing.TB, grantID, reason string) []byte {
	t.Helper()
	doc, err := wire.EncodeRevocation(wire.Revocation{Kind: wire.RevocationKind, GrantID: grantID, SubjectID: c.id,
		IssuedAt: wire.FormatTime(time.Now()), Reason: reason})
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// parseTime parses a ledger time or fails.
func parseTime(t testing.TB, field, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("%s %q: %v", field, s, err)
	}
	return v
}

// nearNow checks that a ledger time (a transaction timestamp set by the
// submitting client) is close to the test's clock.
func nearNow(t testing.TB, field, s string) {
	t.Helper()
	if d := time.Since(parseTime(t, field, s)); d < -time.Minute || d > 5*time.Minute {
		t.Fatalf("%s %s is %s away from now", field, s, d)
	}
}

func ids(recs []wire.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.RecordID
	}
	return out
}
