// Package connfile is the connection file that `edossierctl network up` writes and that
// the gateway, the CLI and the tests read: endpoints, TLS roots, MSP IDs and the paths of
// the client identities. Nobody hard-codes paths into a running network.
package connfile

import (
	"crypto/x509"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-gateway/pkg/identity"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

// Profile describes a running network.
type Profile struct {
	Name          string         `json:"name"`
	Channels      []Channel      `json:"channels"`
	Organizations []Organization `json:"organizations"`
	Orderers      []Node         `json:"orderers"`
}

// Channel lists a channel and the chaincodes deployed on it.
type Channel struct {
	Name       string      `json:"name"`
	Chaincodes []Chaincode `json:"chaincodes"`
}

// Chaincode is a deployed chaincode.
type Chaincode struct {
	Name     string `json:"name"`
	Version  string `json:"version"`
	Sequence int64  `json:"sequence"`
}

// Organization is one member organisation with its peer, CA and enrolled users.
type Organization struct {
	Name  string `json:"name"`
	MSPID string `json:"mspId"`
	Role  string `json:"role"`
	Title string `json:"title,omitempty"`
	// IdentityAuthority marks the organisation that attests subject keys.
	IdentityAuthority bool   `json:"identityAuthority,omitempty"`
	Peer              Node   `json:"peer"`
	CA                CA     `json:"ca"`
	Users             []User `json:"users"`
}

// Node is a gRPC endpoint with the TLS root certificate that verifies it.
type Node struct {
	Name        string `json:"name"`
	Endpoint    string `json:"endpoint"`
	TLSRootCert string `json:"tlsRootCert"`
}

// CA is an organisation's Fabric CA and the registrar identity that may register users.
type CA struct {
	Name                string `json:"name"`
	URL                 string `json:"url"`
	TLSCert             string `json:"tlsCert"`
	RegistrarID         string `json:"registrarId"`
	RegistrarSecretFile string `json:"registrarSecretFile"`
}

// User is an enrolled identity: its MSP folder, certificate and private key.
type User struct {
	Name   string `json:"name"`
	Role   string `json:"role"` // admin or client
	MSPDir string `json:"mspDir"`
	Cert   string `json:"cert"`
	Key    string `json:"key"`
}

// Load reads a connection file. Relative paths in it are resolved against its folder.
func Load(path string) (*Profile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("connection file: %w", err)
	}
	var p Profile
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("connection file %s: %w", path, err)
	}
	base := filepath.Dir(path)
	abs := func(s *string) {
		if *s != "" && !filepath.IsAbs(*s) {
			*s = filepath.Join(base, *s)
		}
	}
	for i := range p.Organizations {
		o := &p.Organizations[i]
		abs(&o.Peer.TLSRootCert)
		abs(&o.CA.TLSCert)
		abs(&o.CA.RegistrarSecretFile)
		for j := range o.Users {
			abs(&o.Users[j].MSPDir)
			abs(&o.Users[j].Cert)
			abs(&o.Users[j].Key)
		}
	}
	for i := range p.Orderers {
		abs(&p.Orderers[i].TLSRootCert)
	}
	return &p, nil
}

// Save writes the profile as indented JSON.
func (p *Profile) Save(path string) error {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Org returns the organisation with the given name or MSP ID.
func (p *Profile) Org(nameOrMSP string) (*Organization, error) {
	for i := range p.Organizations {
		o := &p.Organizations[i]
		if o.Name == nameOrMSP || o.MSPID == nameOrMSP {
			return o, nil
		}
	}
	return nil, fmt.Errorf("connection file: no organization %q", nameOrMSP)
}

// Operator returns the operator organisation.
func (p *Profile) Operator() (*Organization, error) {
	for i := range p.Organizations {
		if p.Organizations[i].Role == "operator" {
			return &p.Organizations[i], nil
		}
	}
	return nil, fmt.Errorf("connection file: no operator organization")
}

// User returns the organisation's user with the given name.
func (o *Organization) User(name string) (*User, error) {
	for i := range o.Users {
		if o.Users[i].Name == name {
			return &o.Users[i], nil
		}
	}
	return nil, fmt.Errorf("connection file: organization %s has no user %q", o.Name, name)
}

// DialPeer opens a TLS gRPC connection to the organisation's peer.
func (o *Organization) DialPeer() (*grpc.ClientConn, error) {
	pem, err := os.ReadFile(o.Peer.TLSRootCert)
	if err != nil {
		return nil, fmt.Errorf("peer TLS root: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("peer TLS root %s: no certificate", o.Peer.TLSRootCert)
	}
	return grpc.NewClient(o.Peer.Endpoint, grpc.WithTransportCredentials(credentials.NewClientTLSFromCert(pool, "")))
}

// Identity loads a user's X.509 identity and signer for fabric-gateway.
func (o *Organization) Identity(user string) (*identity.X509Identity, identity.Sign, error) {
	u, err := o.User(user)
	if err != nil {
		return nil, nil, err
	}
	certPEM, err := os.ReadFile(u.Cert)
	if err != nil {
		return nil, nil, err
	}
	cert, err := identity.CertificateFromPEM(certPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("user %s certificate: %w", user, err)
	}
	id, err := identity.NewX509Identity(o.MSPID, cert)
	if err != nil {
		return nil, nil, err
	}
	keyPEM, err := os.ReadFile(u.Key)
	if err != nil {
		return nil, nil, err
	}
	key, err := identity.PrivateKeyFromPEM(keyPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("user %s key: %w", user, err)
	}
	sign, err := identity.NewPrivateKeySign(key)
	if err != nil {
		return nil, nil, err
	}
	return id, sign, nil
}

// Connect returns a fabric-gateway connection for the organisation's user over conn,
// with the given timeouts applied to every phase.
func (o *Organization) Connect(conn *grpc.ClientConn, user string, timeout time.Duration) (*client.Gateway, error) {
	id, sign, err := o.Identity(user)
	if err != nil {
		return nil, err
	}
	return client.Connect(id,
		client.WithSign(sign),
		client.WithClientConnection(conn),
		client.WithEvaluateTimeout(timeout),
		client.WithEndorseTimeout(timeout),
		client.WithSubmitTimeout(timeout),
		client.WithCommitStatusTimeout(2*timeout),
	)
}
