package integration

import (
	"crypto/sha256"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-gateway/pkg/identity"
	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/gateway"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/edossier-city/edossier/chaincode/wire"
)

// stampedProposal builds a proposal of fn as a would, but stamped at, and signs it with
// a's own key: the timestamp is the client's to choose, and the pinned Fabric peer does
// not bound it.
func stampedProposal(t *testing.T, a *actor, c *client.Contract, at time.Time, fn string, args ...string) *client.Proposal {
	t.Helper()
	p, err := c.NewProposal(fn, client.WithArguments(args...))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := p.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	var pt gateway.ProposedTransaction
	var prop peer.Proposal
	var hdr common.Header
	var ch common.ChannelHeader
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(proto.Unmarshal(raw, &pt))
	must(proto.Unmarshal(pt.GetProposal().GetProposalBytes(), &prop))
	must(proto.Unmarshal(prop.GetHeader(), &hdr))
	must(proto.Unmarshal(hdr.GetChannelHeader(), &ch))
	ch.Timestamp = timestamppb.New(at)
	var err2 error
	hdr.ChannelHeader, err2 = proto.Marshal(&ch)
	must(err2)
	prop.Header, err2 = proto.Marshal(&hdr)
	must(err2)
	propBytes, err2 := proto.Marshal(&prop)
	must(err2)
	pt.Proposal.ProposalBytes = propBytes
	raw, err2 = proto.Marshal(&pt)
	must(err2)
	keyPEM, err := os.ReadFile(a.keyFile)
	must(err)
	key, err := identity.PrivateKeyFromPEM(keyPEM)
	must(err)
	sign, err := identity.NewPrivateKeySign(key)
	must(err)
	digest := sha256.Sum256(propBytes)
	sig, err := sign(digest[:])
	must(err)
	signed, err := a.gw.NewSignedProposal(raw, sig)
	must(err)
	return signed
}

// forgedTime: a client stamps its proposals as it likes. The identity authority (say,
// a compromised counter) requests a recovery of alice's key and stamps the completion
// 73 hours ahead, past the time lock: every organisation's chaincode server compares
// the stamp with its own clock and refuses. The recovery stays pending and alice
// cancels it.
func (f *flow) forgedTime(t *testing.T) {
	a := f.alice
	thief := newCitizen(t, a.id)
	doc := thief.statement(t, wire.KeyRecoveryKind, nil)
	r, _ := submit[wire.KeyRecovery](t, f, f.police, f.police.sharing, "RequestKeyRecovery", string(doc), thief.sign(t, doc))

	ahead := time.Now().Add(73 * time.Hour)
	p := stampedProposal(t, f.police, f.police.sharing, ahead, "CompleteKeyRecovery", a.id, r.RecoveryID)
	ctx, cancel := flowCtx()
	defer cancel()
	_, err := p.EndorseWithContext(ctx)
	var endorseErr *client.EndorseError
	if !errors.As(err, &endorseErr) {
		t.Fatalf("completion stamped %s: %v, want a refusal at endorsement", ahead, err)
	}
	if e, ok := codeOf(err); !ok || e.Code != wire.CodeInvalid {
		t.Fatalf("completion stamped ahead: %v, want invalid (clock)", err)
	}
	// The same hand-made proposal stamped now is judged on its merits: not yet valid
	// (while the flow's short time lock has not passed).
	now := time.Now()
	p = stampedProposal(t, f.police, f.police.sharing, now, "CompleteKeyRecovery", a.id, r.RecoveryID)
	_, err = p.EndorseWithContext(ctx)
	if now.Before(parseTime(t, "effectiveAt", r.EffectiveAt).Add(-time.Second)) {
		if e, ok := codeOf(err); !ok || e.Code != wire.CodeNotYetValid {
			t.Fatalf("completion stamped now: %v, want not_yet_valid", err)
		}
	}
	cancelDoc := a.statement(t, wire.KeyRecoveryCancelKind, func(st *wire.KeyStatement) { st.RecoveryID = r.RecoveryID })
	c, _ := submit[wire.KeyRecovery](t, f, f.civil, f.civil.sharing, "CancelKeyRecovery", string(cancelDoc), a.sign(t, cancelDoc))
	if c.Status != wire.RecoveryCancelled {
		t.Fatalf("cancel after the forged completion: %+v", c)
	}
}
