package ccutil

import (
	"errors"
	"testing"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
	"github.com/hyperledger/fabric-protos-go-apiv2/msp"
	"google.golang.org/protobuf/proto"

	"github.com/edossier-city/edossier/chaincode/wire"
)

func TestOrgPolicyRoles(t *testing.T) {
	for cfg, want := range map[string]msp.MSPRole_MSPRoleType{"": msp.MSPRole_PEER, "PEER": msp.MSPRole_PEER, "member": msp.MSPRole_MEMBER} {
		p, err := OrgPolicy(RoleFromConfig(cfg), "Org1MSP")
		if err != nil {
			t.Fatal(err)
		}
		var env common.SignaturePolicyEnvelope
		if err := proto.Unmarshal(p, &env); err != nil || len(env.Identities) != 1 {
			t.Fatal(err)
		}
		var role msp.MSPRole
		if err := proto.Unmarshal(env.Identities[0].Principal, &role); err != nil {
			t.Fatal(err)
		}
		if role.MspIdentifier != "Org1MSP" || role.Role != want {
			t.Fatalf("%q: got %v", cfg, &role)
		}
		if n := env.Rule.GetNOutOf().GetN(); n != 1 {
			t.Fatalf("N = %d", n)
		}
	}
	if _, err := OrgPolicy(Role("ADMIN"), "X"); err == nil {
		t.Fatal("unknown role accepted")
	}
}

func TestKeys(t *testing.T) {
	k, err := Key("a", "b", "c")
	if err != nil {
		t.Fatal(err)
	}
	typ, attrs, err := SplitKey(k)
	if err != nil || typ != "a" || len(attrs) != 2 || attrs[1] != "c" {
		t.Fatalf("%q %v %v", typ, attrs, err)
	}
	if last, err := LastAttr(k); err != nil || last != "c" {
		t.Fatal(err)
	}
	if _, err := LastAttr(MustKey("a")); err == nil {
		t.Fatal("no attributes")
	}
	for _, bad := range []string{"", "plain", "\x00a"} {
		if _, _, err := SplitKey(bad); err == nil {
			t.Errorf("SplitKey(%q)", bad)
		}
	}
	if _, err := Key("a", "x\x00"); err == nil || wire.AsError(err).Code != wire.CodeInvalid {
		t.Fatal("bad part accepted")
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("MustKey did not panic")
			}
		}()
		MustKey("a", string(rune(0x10FFFF)))
	}()
}

func TestGuard(t *testing.T) {
	f := func(p any, e error) (err error) {
		defer Guard(&err)
		if p != nil {
			panic(p)
		}
		return e
	}
	if err := f("boom", nil); wire.AsError(err).Code != wire.CodeInternal {
		t.Fatal(err)
	}
	if err := f(nil, errors.New("plain")); err.(*wire.Error).Code != wire.CodeInternal {
		t.Fatal(err)
	}
	if err := f(nil, wire.Errorf(wire.CodeConflict, "c")); err.(*wire.Error).Code != wire.CodeConflict {
		t.Fatal(err)
	}
	if err := f(nil, nil); err != nil {
		t.Fatal(err)
	}
}
