package ca

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"
)

func testCert(t *testing.T, key *ecdsa.PrivateKey) []byte {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "u"},
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func TestPKCS8PEM(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	certPEM := testCert(t, key)

	sec1, _ := x509.MarshalECPrivateKey(key)
	p8, _ := x509.MarshalPKCS8PrivateKey(key)
	for name, in := range map[string][]byte{
		"EC PRIVATE KEY": pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1}),
		"PRIVATE KEY":    pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8}),
	} {
		out, err := pkcs8PEM(in, certPEM)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !strings.HasPrefix(string(out), "-----BEGIN PRIVATE KEY-----\n") {
			t.Fatalf("%s: output %q", name, out)
		}
		b, _ := pem.Decode(out)
		k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
		if err != nil || !k.(*ecdsa.PrivateKey).Equal(key) {
			t.Fatalf("%s: round trip: %v", name, err)
		}
	}

	otherP8, _ := x509.MarshalPKCS8PrivateKey(other)
	if _, err := pkcs8PEM(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: otherP8}), certPEM); err == nil {
		t.Fatal("a key of another certificate was accepted")
	}
	if _, err := pkcs8PEM([]byte("garbage"), certPEM); err == nil {
		t.Fatal("garbage accepted")
	}
	if _, err := pkcs8PEM(pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: p8}), certPEM); err == nil {
		t.Fatal("encrypted key accepted")
	}
}
