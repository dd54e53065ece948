package fabric

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/identity"
	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	gwproto "github.com/hyperledger/fabric-protos-go-apiv2/gateway"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
)

// stallingGateway is a Fabric Gateway service that never answers the phases named in
// stall (it waits until the client gives up); the others answer at once.
type stallingGateway struct {
	gwproto.UnimplementedGatewayServer
	stall map[string]bool
}

func (s *stallingGateway) wait(ctx context.Context) error {
	<-ctx.Done()
	return ctx.Err()
}

func (s *stallingGateway) Evaluate(ctx context.Context, _ *gwproto.EvaluateRequest) (*gwproto.EvaluateResponse, error) {
	return nil, s.wait(ctx)
}

func (s *stallingGateway) Endorse(ctx context.Context, _ *gwproto.EndorseRequest) (*gwproto.EndorseResponse, error) {
	if s.stall["endorse"] {
		return nil, s.wait(ctx)
	}
	return &gwproto.EndorseResponse{PreparedTransaction: preparedEnvelope()}, nil
}

func (s *stallingGateway) Submit(ctx context.Context, _ *gwproto.SubmitRequest) (*gwproto.SubmitResponse, error) {
	if s.stall["submit"] {
		return nil, s.wait(ctx)
	}
	return &gwproto.SubmitResponse{}, nil
}

func (s *stallingGateway) CommitStatus(ctx context.Context, _ *gwproto.SignedCommitStatusRequest) (*gwproto.CommitStatusResponse, error) {
	return nil, s.wait(ctx)
}

// preparedEnvelope is the smallest transaction envelope fabric-gateway can parse.
func preparedEnvelope() *common.Envelope {
	result, _ := proto.Marshal(&peer.ChaincodeAction{Response: &peer.Response{Status: 200, Payload: []byte(`{}`)}})
	prp, _ := proto.Marshal(&peer.ProposalResponsePayload{Extension: result})
	cap, _ := proto.Marshal(&peer.ChaincodeActionPayload{Action: &peer.ChaincodeEndorsedAction{ProposalResponsePayload: prp}})
	tx, _ := proto.Marshal(&peer.Transaction{Actions: []*peer.TransactionAction{{Payload: cap}}})
	ch, _ := proto.Marshal(&common.ChannelHeader{ChannelId: "municipal"})
	payload, _ := proto.Marshal(&common.Payload{Header: &common.Header{ChannelHeader: ch}, Data: tx})
	return &common.Envelope{Payload: payload}
}

// selfSigner signs as one throw-away identity.
type selfSigner struct {
	id   *identity.X509Identity
	sign identity.Sign
}

func (s selfSigner) Identity(_, _ string) (*identity.X509Identity, identity.Sign, error) {
	return s.id, s.sign, nil
}

func newSelfSigner(t *testing.T) selfSigner {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "clerk"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	id, err := identity.NewX509Identity("CivilAffairsMSP", cert)
	if err != nil {
		t.Fatal(err)
	}
	sign, err := identity.NewPrivateKeySign(key)
	if err != nil {
		t.Fatal(err)
	}
	return selfSigner{id: id, sign: sign}
}

// stallingClient starts a fake Gateway service on 127.0.0.1 that stalls the given
// phases and returns a Client connected to it with short per-phase timeouts.
func stallingClient(t *testing.T, timeouts Timeouts, stall ...string) *Client {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	fake := &stallingGateway{stall: map[string]bool{}}
	for _, p := range stall {
		fake.stall[p] = true
	}
	gwproto.RegisterGatewayServer(srv, fake)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Signer: newSelfSigner(t), Timeouts: timeouts,
		MunicipalChannel: "municipal", DatashareChannel: "datashare", DossierChaincode: "dossier", SharingChaincode: "sharing"}
	c := newClient(cfg, conn, "CivilAffairsMSP")
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// TestEveryPhaseHasItsDeadline: a Fabric that never answers yields unavailable for
// every phase although the caller's context has no deadline (as a request context
// has none): the configured per-phase timeout bounds the call. The bound checked
// is generous (a guard against hanging forever, not a measure of speed).
func TestEveryPhaseHasItsDeadline(t *testing.T) {
	const short = 200 * time.Millisecond
	long := time.Hour
	actor := Actor{Org: "civil", User: "clerk"}
	req := wire.AppendRequest{}
	cases := []struct {
		name     string
		timeouts Timeouts // only the phase under test is short
		stall    []string
		run      func(ctx context.Context, c *Client) error
	}{
		{"evaluate", Timeouts{Evaluate: short, Endorse: long, Submit: long, CommitStatus: long}, nil,
			func(ctx context.Context, c *Client) error { _, err := c.GetRecord(ctx, actor, "r1"); return err }},
		{"endorse", Timeouts{Evaluate: long, Endorse: short, Submit: long, CommitStatus: long}, []string{"endorse"},
			func(ctx context.Context, c *Client) error { _, err := c.EndorseAppend(ctx, actor, req); return err }},
		{"submit", Timeouts{Evaluate: long, Endorse: long, Submit: short, CommitStatus: long}, []string{"submit"},
			func(ctx context.Context, c *Client) error {
				_, _, err := c.submit(ctx, actor, c.dossier("AppendRecord", "{}"))
				return err
			}},
		{"commit status", Timeouts{Evaluate: long, Endorse: long, Submit: long, CommitStatus: short}, nil,
			func(ctx context.Context, c *Client) error {
				_, _, err := c.submit(ctx, actor, c.dossier("AppendRecord", "{}"))
				return err
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := stallingClient(t, tc.timeouts, tc.stall...)
			done := make(chan error, 1)
			go func() { done <- tc.run(context.Background(), c) }()
			select {
			case err := <-done:
				var ge *gateway.Error
				if !errors.As(err, &ge) || ge.Code != gateway.CodeUnavailable {
					t.Fatalf("want a %s error, got %v", gateway.CodeUnavailable, err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("the call was still unanswered after 30 s with a 200 ms phase timeout")
			}
		})
	}
}
