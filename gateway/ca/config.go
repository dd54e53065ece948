package ca

import (
	"encoding/json"
	"path/filepath"
	"strconv"
)

// The SDK reads its configuration through viper, whose keys are case-insensitive and
// split on dots. Organisations and CAs therefore get synthetic keys (org0, ca0, ...)
// instead of their connection-file names.

func orgKey(i int) string { return "org" + strconv.Itoa(i) }
func caKey(i int) string  { return "ca" + strconv.Itoa(i) }

// sdkOrg is what the SDK configuration needs to know about one organisation.
type sdkOrg struct {
	index           int
	mspID           string
	caName, caURL   string
	tlsCertPath     string
	registrarID     string
	registrarSecret string
}

// sdkConfig returns the SDK configuration (JSON for config.FromRaw): one organisation
// and one CA per connection-file organisation with a CA, the credential store and the
// software keystore under dir, BCCSP SW with SHA2-256.
func sdkConfig(dir string, orgs []sdkOrg) ([]byte, error) {
	type obj = map[string]any
	organizations := obj{}
	cas := obj{}
	for _, o := range orgs {
		organizations[orgKey(o.index)] = obj{
			"mspid": o.mspID,
			// The identity manager insists on a crypto path; it points at an empty
			// folder inside dir so that identities come only from the SDK's own stores.
			"cryptoPath":             filepath.Join(dir, "none", "{username}"),
			"certificateAuthorities": []string{caKey(o.index)},
		}
		cas[caKey(o.index)] = obj{
			"url":        o.caURL,
			"caName":     o.caName,
			"tlsCACerts": obj{"path": o.tlsCertPath},
			"registrar":  obj{"enrollId": o.registrarID, "enrollSecret": o.registrarSecret},
		}
	}
	client := obj{
		"logging": obj{"level": "warning"},
		"credentialStore": obj{
			"path":        filepath.Join(dir, "users"),
			"cryptoStore": obj{"path": filepath.Join(dir, "crypto")},
		},
		"BCCSP": obj{"security": obj{
			"enabled":       true,
			"default":       obj{"provider": "SW"},
			"hashAlgorithm": "SHA2",
			"softVerify":    true,
			"level":         256,
		}},
		"tlsCerts": obj{"systemCertPool": false},
	}
	if len(orgs) > 0 {
		client["organization"] = orgKey(orgs[0].index)
	}
	return json.Marshal(obj{
		"version":                "1.0.0",
		"client":                 client,
		"organizations":          organizations,
		"certificateAuthorities": cas,
	})
}

// keystoreDir is where the SDK's software BCCSP keeps private keys
// (client.credentialStore.cryptoStore.path + "/keystore").
func keystoreDir(dir string) string { return filepath.Join(dir, "crypto", "keystore") }
