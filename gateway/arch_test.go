package gateway_test

import (
	"os/exec"
	"strings"
	"testing"
)

const mod = "github.com/edossier-city/edossier/"

// deps lists the packages pkg depends on (go list -deps).
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", mod+pkg).Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	return strings.Fields(string(out))
}

// imports lists the packages pkg imports directly.
func imports(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-f", `{{join .Imports " "}}`, mod+pkg).Output()
	if err != nil {
		t.Fatalf("go list -f {{.Imports}} %s: %v", pkg, err)
	}
	return strings.Fields(string(out))
}

// TestImportRules keeps the architecture of docs/architecture.md: the HTTP layer (REST
// API and web portal) and the use cases never reach Fabric, the chaincode never imports gateway code, and the
// adapters do not import one another.
func TestImportRules(t *testing.T) {
	adapters := []string{"gateway/fabric", "gateway/blob", "gateway/ca", "gateway/identity", "gateway/httpsig", "gateway/subject", "gateway/index"}
	forbid := func(pkg string, bad func(dep string) bool, why string) {
		t.Helper()
		for _, d := range deps(t, pkg) {
			if d != mod+pkg && bad(d) {
				t.Errorf("%s imports %s: %s", pkg, d, why)
			}
		}
	}
	hyperledger := func(d string) bool { return strings.HasPrefix(d, "github.com/hyperledger/") }
	for _, p := range []string{"gateway/api", "gateway/web", "gateway/service", "gateway"} {
		forbid(p, hyperledger, "only the adapters talk to Fabric")
	}
	// The portal uses the use cases (and the API's status mapping), never an adapter:
	// no Fabric client, no blob store, no key store of its own.
	for _, d := range imports(t, "gateway/web") {
		for _, a := range adapters {
			if d == mod+a || strings.HasPrefix(d, mod+a+"/") {
				t.Errorf("gateway/web imports %s: the portal calls the service layer, not the adapters", d)
			}
		}
	}
	for _, p := range []string{"chaincode/wire", "chaincode/dossier", "chaincode/sharing", "chaincode/meta", "chaincode/ccapi"} {
		forbid(p, func(d string) bool { return strings.HasPrefix(d, mod+"gateway") }, "chaincode never imports gateway code")
	}
	for _, a := range adapters {
		forbid(a, func(d string) bool {
			for _, other := range adapters {
				if other != a && (d == mod+other || strings.HasPrefix(d, mod+other+"/")) {
					return true
				}
			}
			return false
		}, "adapters do not import each other")
	}
	// The use cases depend on no adapter but the subject-ID rules of gateway/subject
	// (the ID-number check that keeps raw numbers off the ledger).
	forbid("gateway/service", func(d string) bool {
		for _, a := range adapters {
			if a != "gateway/subject" && (d == mod+a || strings.HasPrefix(d, mod+a+"/")) {
				return true
			}
		}
		return false
	}, "the service owns its adapters' interfaces, it does not import them")
}
