// Package protoconflict lets fabric-sdk-go live in the same program as fabric-gateway.
//
// fabric-sdk-go v1.0.0 is built on github.com/hyperledger/fabric-protos-go, fabric-gateway
// on github.com/hyperledger/fabric-protos-go-apiv2; both register the same protobuf
// names (common.Envelope, rwset.TxReadWriteSet, ...), and google.golang.org/protobuf
// panics on the second registration while the program initialises. The registry reads
// GOLANG_PROTOBUF_REGISTRATION_CONFLICT when a conflict happens, so this package sets it
// to "ignore" (unless the environment already sets it) in its init, which Go runs before
// the init of any fabric-protos-go package: since Go 1.21 packages initialise in import
// path order among those whose imports are ready, this package imports only os, and
// "github.com/edossier-city/..." sorts before "github.com/hyperledger/...". Package ca
// calls Done from its own init, after all of its dependencies have registered, so the
// setting does not outlive initialisation or leak into child processes.
//
// With "ignore", the first registration of a name wins (in practice the SDK's
// fabric-protos-go types, whose packages become ready first). That is harmless here:
// neither this project, fabric-gateway nor the SDK's msp client looks message types up
// in the global registry; each unmarshals into its own concrete types.
package protoconflict

import "os"

const env = "GOLANG_PROTOBUF_REGISTRATION_CONFLICT"

var set bool

func init() {
	if _, ok := os.LookupEnv(env); !ok {
		set = os.Setenv(env, "ignore") == nil
	}
}

// Done removes the setting made by this package's init, if any.
func Done() {
	if set {
		os.Unsetenv(env)
		set = false
	}
}
