package fabric

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
)

// classify decides which HTTP status a Fabric failure becomes: these are the cases that
// can be built outside fabric-gateway (its endorse and submit errors have unexported
// parts; the end-to-end tests cover them on a real network).
func TestClassify(t *testing.T) {
	refusal := wire.Errorf(wire.CodeForbidden, "HealthMSP is not accredited for record type x")
	cases := []struct {
		name string
		err  error
		want gateway.Code
	}{
		{"deadline", fmt.Errorf("evaluate: %w", context.DeadlineExceeded), gateway.CodeUnavailable},
		{"cancelled", context.Canceled, gateway.CodeUnavailable},
		{"MVCC conflict", &client.CommitError{TransactionID: "t", Code: peer.TxValidationCode_MVCC_READ_CONFLICT}, gateway.CodeConflict},
		{"phantom read", &client.CommitError{TransactionID: "t", Code: peer.TxValidationCode_PHANTOM_READ_CONFLICT}, gateway.CodeConflict},
		{"key-level policy race", &client.CommitError{TransactionID: "t", Code: peer.TxValidationCode_ENDORSEMENT_POLICY_FAILURE}, gateway.CodeConflict},
		{"other invalidation", &client.CommitError{TransactionID: "t", Code: peer.TxValidationCode_BAD_PAYLOAD}, gateway.CodeConflict},
		{"chaincode refusal in the status message", status.Error(codes.Unknown, "chaincode response 500, "+refusal.Error()), gateway.CodeForbidden},
		{"peer down", status.Error(codes.Unavailable, "connection refused"), gateway.CodeUnavailable},
		{"peer overloaded", status.Error(codes.ResourceExhausted, "too many requests"), gateway.CodeUnavailable},
		{"anything else", errors.New("boom"), gateway.CodeInternal},
		{"already classified", gateway.Errorf(gateway.CodeTooLarge, "big"), gateway.CodeTooLarge},
	}
	for _, c := range cases {
		got := classify(c.err)
		if gateway.ErrorCode(got) != c.want {
			t.Errorf("%s: %v -> %s, want %s", c.name, c.err, gateway.ErrorCode(got), c.want)
		}
		if !errors.Is(got, c.err) && c.name != "already classified" {
			t.Errorf("%s: the cause is lost: %v", c.name, got)
		}
	}
	if classify(nil) != nil {
		t.Error("nil is not an error")
	}
	if got := classify(status.Error(codes.Unknown, refusal.Error())); gateway.ErrorMessage(got) != refusal.Message {
		t.Errorf("refusal message %q, want the chaincode's %q", gateway.ErrorMessage(got), refusal.Message)
	}
}
