package ccutil_test

import (
	"testing"
	"time"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"

	"github.com/edossier-city/edossier/chaincode/internal/ccutil"
	"github.com/edossier-city/edossier/chaincode/internal/fakeledger"
)

// originCC answers with ProposalOrigin and CalledFrom, and forwards a call
// to the other channel when asked.
type originCC struct{}

func (originCC) Init(shim.ChaincodeStubInterface) *peer.Response { return shim.Success(nil) }
func (originCC) Invoke(stub shim.ChaincodeStubInterface) *peer.Response {
	if args := stub.GetStringArgs(); len(args) == 2 && args[0] == "forward" {
		return stub.InvokeChaincode("cc-b", [][]byte{[]byte("origin")}, args[1])
	}
	o, err := ccutil.ProposalOrigin(stub)
	if err != nil {
		return shim.Error(err.Error())
	}
	from, err := ccutil.CalledFrom(stub, "chan-a", "cc-a")
	if err != nil {
		return shim.Error(err.Error())
	}
	s := o.Channel + "/" + o.Chaincode
	if from {
		s += " called-from-a"
	}
	return shim.Success([]byte(s))
}

func TestProposalOrigin(t *testing.T) {
	n := fakeledger.New(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	n.AddChannel("chan-a", "cc-a", originCC{})
	n.AddChannel("chan-b", "cc-b", originCC{})
	id := fakeledger.NewIdentity("Org1MSP", "u")
	for _, c := range []struct {
		channel string
		args    []string
		want    string
	}{
		{"chan-a", []string{"origin"}, "chan-a/cc-a"},
		{"chan-b", []string{"origin"}, "chan-b/cc-b"},
		// A callee sees its caller's proposal.
		{"chan-a", []string{"forward", "chan-b"}, "chan-a/cc-a called-from-a"},
	} {
		r := n.Evaluate(c.channel, id, c.args[0], c.args[1:]...)
		if !r.OK() || string(r.Payload) != c.want {
			t.Fatalf("%s %v: %q %s, want %q", c.channel, c.args, r.Payload, r.Message, c.want)
		}
	}
}
