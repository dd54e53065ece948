package ca_test

import (
	"os"
	"testing"

	apiv2 "github.com/hyperledger/fabric-protos-go-apiv2/common"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoregistry"

	_ "github.com/edossier-city/edossier/gateway/ca" // fabric-sdk-go and its fabric-protos-go
)

// TestProtobufRegistrationOrder guards the init-order workaround of package
// protoconflict: this test binary links fabric-sdk-go (through package ca) beside
// fabric-protos-go-apiv2, as the gateway does. Without the workaround the binary
// panics while initialising (the test fails before it starts). The conflict setting
// must not outlive initialisation, and fabric-gateway's concrete types must still
// marshal and unmarshal, whichever implementation the global registry kept.
func TestProtobufRegistrationOrder(t *testing.T) {
	if _, err := protoregistry.GlobalTypes.FindMessageByName("common.Envelope"); err != nil {
		t.Fatalf("common.Envelope not registered: %v", err)
	}
	if _, ok := os.LookupEnv("GOLANG_PROTOBUF_REGISTRATION_CONFLICT"); ok {
		t.Fatal("the registration-conflict setting outlived initialisation")
	}
	in := &apiv2.Envelope{Payload: []byte("payload"), Signature: []byte("sig")}
	b, err := proto.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out apiv2.Envelope
	if err := proto.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(in, &out) {
		t.Fatalf("round trip changed the envelope: %v != %v", in, &out)
	}
}
