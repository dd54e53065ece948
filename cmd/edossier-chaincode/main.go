// Command edossier-chaincode serves the e-dossier contracts as a Fabric chaincode
// service (CCaaS). The peer dials it at the address in the package's connection.json.
//
// Configuration (environment, set by `edossierctl network up`):
//
//	CHAINCODE_ID              package ID the peer knows this chaincode by (required)
//	CHAINCODE_SERVER_ADDRESS  listen address, e.g. 127.0.0.1:7045 (required)
//	CHAINCODE_CONTRACT        contract set: dossier, sharing or meta (required)
//	CHAINCODE_VERSION         version reported by meta:Version
//	CHAINCODE_TLS_CERT, CHAINCODE_TLS_KEY  server TLS key pair (both or neither)
//	EDOSSIER_OPERATOR_MSP     MSP ID of the platform operator
//	EDOSSIER_DOSSIER_CHANNEL  channel of the dossier chaincode (for sharing's reads)
//	EDOSSIER_SHARING_CHANNEL  channel of the sharing chaincode (dossier's visibility; default datashare)
//	EDOSSIER_IDENTITY_AUTHORITIES  comma-separated MSP IDs that attest subject keys and guardians
//	EDOSSIER_REPRESENTATIVE_AUTHORITIES  comma-separated MSP IDs that attest legal representatives
//	EDOSSIER_RECOVERY_DELAY   time lock of a subject-key recovery (Go duration; default 72h)
//	EDOSSIER_MAX_CLOCK_SKEW   how far a transaction's timestamp may be from this server's clock (default 5m)
package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
)

func main() {
	if err := run(os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "edossier-chaincode:", err)
		os.Exit(1)
	}
}

func run(getenv func(string) string) error {
	cfg, err := configFrom(getenv)
	if err != nil {
		return err
	}
	cc, err := newChaincode(cfg)
	if err != nil {
		return err
	}
	srv := &shim.ChaincodeServer{
		CCID:     cfg.ID,
		Address:  cfg.Address,
		CC:       cc,
		TLSProps: shim.TLSProperties{Disabled: true},
	}
	if cfg.TLSCert != "" {
		key, err := os.ReadFile(cfg.TLSKey)
		if err != nil {
			return err
		}
		cert, err := os.ReadFile(cfg.TLSCert)
		if err != nil {
			return err
		}
		srv.TLSProps = shim.TLSProperties{Key: key, Cert: cert}
	}
	fmt.Fprintf(os.Stderr, "edossier-chaincode %s: serving %s as %s on %s (tls %v)\n", cfg.Version, cfg.Contract, cfg.ID, cfg.Address, cfg.TLSCert != "")
	return srv.Start()
}

type config struct {
	ID, Address, Contract, Version                 string
	TLSCert, TLSKey                                string
	OperatorMSP, DossierChannel, SharingChannel    string
	IdentityAuthorities, RepresentativeAuthorities []string
	RecoveryDelay, MaxClockSkew                    time.Duration
}

func configFrom(getenv func(string) string) (config, error) {
	c := config{
		ID: getenv("CHAINCODE_ID"), Address: getenv("CHAINCODE_SERVER_ADDRESS"), Contract: getenv("CHAINCODE_CONTRACT"),
		Version: getenv("CHAINCODE_VERSION"), TLSCert: getenv("CHAINCODE_TLS_CERT"), TLSKey: getenv("CHAINCODE_TLS_KEY"),
		OperatorMSP: getenv("EDOSSIER_OPERATOR_MSP"), DossierChannel: getenv("EDOSSIER_DOSSIER_CHANNEL"),
		SharingChannel: getenv("EDOSSIER_SHARING_CHANNEL"),
	}
	switch {
	case c.ID == "":
		return c, fmt.Errorf("CHAINCODE_ID is not set")
	case c.Address == "":
		return c, fmt.Errorf("CHAINCODE_SERVER_ADDRESS is not set")
	case c.Contract == "":
		return c, fmt.Errorf("CHAINCODE_CONTRACT is not set")
	case c.OperatorMSP == "" && c.Contract != "meta":
		return c, fmt.Errorf("EDOSSIER_OPERATOR_MSP is not set")
	case (c.TLSCert == "") != (c.TLSKey == ""):
		return c, fmt.Errorf("set both CHAINCODE_TLS_CERT and CHAINCODE_TLS_KEY, or neither")
	}
	c.IdentityAuthorities = mspList(getenv("EDOSSIER_IDENTITY_AUTHORITIES"))
	c.RepresentativeAuthorities = mspList(getenv("EDOSSIER_REPRESENTATIVE_AUTHORITIES"))
	if v := getenv("EDOSSIER_RECOVERY_DELAY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return c, fmt.Errorf("EDOSSIER_RECOVERY_DELAY=%q: want a positive Go duration such as 72h", v)
		}
		c.RecoveryDelay = d
	}
	if v := getenv("EDOSSIER_MAX_CLOCK_SKEW"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return c, fmt.Errorf("EDOSSIER_MAX_CLOCK_SKEW=%q: want a positive Go duration such as 5m", v)
		}
		c.MaxClockSkew = d
	}
	if c.Version == "" {
		c.Version = "dev"
	}
	if c.DossierChannel == "" {
		c.DossierChannel = "municipal"
	}
	if c.SharingChannel == "" {
		c.SharingChannel = "datashare"
	}
	return c, nil
}

// mspList splits a comma-separated list of MSP IDs.
func mspList(v string) []string {
	var out []string
	for _, a := range strings.Split(v, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}
