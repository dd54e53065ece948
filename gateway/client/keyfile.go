package client

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/edossier-city/edossier/chaincode/wire"
)

// A subject key file holds a citizen's or enterprise's ECDSA P-256 private key as a
// PKCS#8 "PRIVATE KEY" PEM block, optionally preceded by explanatory text (RFC 7468
// allows text before the block) that names the subject:
//
//	subject-id: p-3k2...
//	-----BEGIN PRIVATE KEY-----
//	...
//	-----END PRIVATE KEY-----
//
// OpenSSL and other PEM readers ignore the leading line.

// subjectLinePrefix starts the line that names the subject in a key file.
const subjectLinePrefix = "subject-id:"

// GenerateSubjectKey returns a new ECDSA P-256 key.
func GenerateSubjectKey() (*ecdsa.PrivateKey, error) {
	return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
}

// EncodeSubjectKey returns the key file content for key, naming subjectID if not "".
func EncodeSubjectKey(key *ecdsa.PrivateKey, subjectID string) ([]byte, error) {
	if subjectID != "" {
		if err := wire.ValidateID("subject", subjectID); err != nil {
			return nil, err
		}
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if subjectID != "" {
		fmt.Fprintf(&buf, "%s %s\n", subjectLinePrefix, subjectID)
	}
	if err := pem.Encode(&buf, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ParseSubjectKey reads a key file: the ECDSA P-256 private key (PKCS#8 "PRIVATE KEY"
// or SEC 1 "EC PRIVATE KEY") and the subject ID named before the block ("" if none).
func ParseSubjectKey(data []byte) (*ecdsa.PrivateKey, string, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, "", errors.New("no PEM block found (want a PRIVATE KEY)")
	}
	var key *ecdsa.PrivateKey
	switch block.Type {
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, "", fmt.Errorf("private key does not parse: %v", err)
		}
		ec, ok := k.(*ecdsa.PrivateKey)
		if !ok {
			return nil, "", errors.New("private key is not an ECDSA key")
		}
		key = ec
	case "EC PRIVATE KEY":
		k, err := x509.ParseECPrivateKey(block.Bytes)
		if err != nil {
			return nil, "", fmt.Errorf("private key does not parse: %v", err)
		}
		key = k
	default:
		return nil, "", fmt.Errorf("PEM block is %q, want PRIVATE KEY", block.Type)
	}
	if key.Curve != elliptic.P256() {
		return nil, "", errors.New("private key must be on curve P-256")
	}
	subject := ""
	head, _, _ := bytes.Cut(data, []byte("-----BEGIN"))
	sc := bufio.NewScanner(bytes.NewReader(head))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), subjectLinePrefix); ok {
			subject = strings.TrimSpace(v)
		}
	}
	if subject != "" {
		if err := wire.ValidateID("subject", subject); err != nil {
			return nil, "", fmt.Errorf("key file names an invalid subject: %v", err)
		}
	}
	return key, subject, nil
}

// PublicKeyPEM returns the PKIX "PUBLIC KEY" PEM of pub (what the operator binds) and
// its key ID (hex SHA-256 of the DER, as the ledger shows it).
func PublicKeyPEM(pub *ecdsa.PublicKey) (pemText, keyID string, err error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", "", err
	}
	_, canon, id, err := wire.ParseSubjectPublicKey(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})))
	if err != nil {
		return "", "", err
	}
	return canon, id, nil
}
