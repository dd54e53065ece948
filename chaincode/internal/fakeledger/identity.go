package fakeledger

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/hyperledger/fabric-chaincode-go/v2/pkg/cid"
	"github.com/hyperledger/fabric-chaincode-go/v2/shim"
	"github.com/hyperledger/fabric-protos-go-apiv2/msp"
	"google.golang.org/protobuf/proto"
)

// Identity is a transaction creator: an MSP ID and an X.509 certificate
// issued by a per-identity test CA.
type Identity struct {
	MSPID   string
	Cert    *x509.Certificate
	CertPEM []byte
	creator []byte
}

// NewIdentity creates an identity with certificate subject CN=cn, O=mspID,
// issued by "CN=ca.<mspID>".
func NewIdentity(mspID, cn string) *Identity {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	userKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	notBefore := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "ca." + mspID, Organization: []string{mspID}},
		NotBefore:             notBefore,
		NotAfter:              notBefore.AddDate(30, 0, 0),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		panic(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: cn, Organization: []string{mspID}, OrganizationalUnit: []string{"client"}},
		NotBefore:    notBefore,
		NotAfter:     notBefore.AddDate(30, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &userKey.PublicKey, caKey)
	if err != nil {
		panic(err)
	}
	cert, _ := x509.ParseCertificate(der)
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	creator, err := proto.Marshal(&msp.SerializedIdentity{Mspid: mspID, IdBytes: certPEM})
	if err != nil {
		panic(err)
	}
	return &Identity{MSPID: mspID, Cert: cert, CertPEM: certPEM, creator: creator}
}

// Creator returns the serialized identity (SignatureHeader.Creator).
func (id *Identity) Creator() []byte { return id.creator }

// ClientIdentity is a hand-set cid.ClientIdentity for direct contract calls.
type ClientIdentity struct {
	MSP  string
	Cert *x509.Certificate
	// Fail makes every method return an error.
	Fail bool
}

var errFail = errors.New("identity unavailable")

// GetID returns base64("x509::<subject>::<issuer>") like pkg/cid.
func (c *ClientIdentity) GetID() (string, error) {
	if c.Fail || c.Cert == nil {
		return "", errFail
	}
	id := fmt.Sprintf("x509::%s::%s", c.Cert.Subject.String(), c.Cert.Issuer.String())
	return base64.StdEncoding.EncodeToString([]byte(id)), nil
}

// GetMSPID returns MSP.
func (c *ClientIdentity) GetMSPID() (string, error) {
	if c.Fail {
		return "", errFail
	}
	return c.MSP, nil
}

// GetAttributeValue reports no attributes.
func (c *ClientIdentity) GetAttributeValue(string) (string, bool, error) {
	if c.Fail {
		return "", false, errFail
	}
	return "", false, nil
}

// AssertAttributeValue always fails.
func (c *ClientIdentity) AssertAttributeValue(string, string) error { return errFail }

// GetX509Certificate returns Cert.
func (c *ClientIdentity) GetX509Certificate() (*x509.Certificate, error) {
	if c.Fail {
		return nil, errFail
	}
	return c.Cert, nil
}

// Context is a hand-written contractapi.TransactionContextInterface.
type Context struct {
	Stub     shim.ChaincodeStubInterface
	Identity cid.ClientIdentity
}

// GetStub returns Stub.
func (c *Context) GetStub() shim.ChaincodeStubInterface { return c.Stub }

// GetClientIdentity returns Identity.
func (c *Context) GetClientIdentity() cid.ClientIdentity { return c.Identity }
