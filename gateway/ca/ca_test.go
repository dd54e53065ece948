package ca_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"

	"github.com/edossier-city/edossier/gateway"
	"github.com/edossier-city/edossier/gateway/ca"
	"github.com/edossier-city/edossier/gateway/identity"
	"github.com/edossier-city/edossier/network/connfile"
	"github.com/edossier-city/edossier/network/nettest"
)

// memStorer is a wallet without Has: the Enroller cannot tell what it holds.
type memStorer struct {
	mu sync.Mutex
	m  map[string][2][]byte
}

func (s *memStorer) Store(org, user string, certPEM, keyPEM []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string][2][]byte{}
	}
	s.m[org+"/"+user] = [2][]byte{certPEM, keyPEM}
	return nil
}

func wantCode(t *testing.T, err error, want gateway.Code) {
	t.Helper()
	var ge *gateway.Error
	if !errors.As(err, &ge) {
		t.Fatalf("error %v (%T): want a *gateway.Error with code %s", err, err, want)
	}
	if ge.Code != want {
		t.Fatalf("error %v: code %s, want %s", err, ge.Code, want)
	}
}

// TestEnrollUser runs against a real network: the enrolled identity must be accepted
// by the peers.
func TestEnrollUser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Fabric network")
	}
	n := nettest.Start(t, nettest.Options{BasePort: 22600})
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()

	walletDir := t.TempDir()
	wallet := identity.NewWallet(n.Profile, walletDir)
	workDir := filepath.Join(t.TempDir(), "ca-state")
	e, err := ca.New(n.Profile, wallet, workDir)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if fi, err := os.Stat(workDir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("workDir: %v, %v; want mode 0700", fi.Mode(), err)
	}

	civil, err := n.Profile.Org("civil")
	if err != nil {
		t.Fatal(err)
	}

	// A new user.
	mspID, err := e.EnrollUser(ctx, "civil", "alice")
	if err != nil {
		t.Fatalf("EnrollUser: %v", err)
	}
	if mspID != "CivilAffairsMSP" {
		t.Fatalf("mspID %q", mspID)
	}
	certPEM := readFile(t, filepath.Join(walletDir, "civil", "alice", "cert.pem"))
	keyPath := filepath.Join(walletDir, "civil", "alice", "key.pem")
	keyPEM := readFile(t, keyPath)
	cert := checkIdentity(t, certPEM, keyPEM, "alice", civil.CA.TLSCert)
	if fi, err := os.Stat(keyPath); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, %v", fi.Mode(), err)
	}
	// The SDK keeps no copy of the user's key.
	filepath.WalkDir(workDir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && sameKey(t, readFile(t, path), cert) {
			t.Errorf("the SDK state still holds alice's key: %s", path)
		}
		return nil
	})

	// Sequential enrolments leave no goroutines (and so no connections) behind.
	time.Sleep(100 * time.Millisecond)
	before := runtime.NumGoroutine()
	for i := range 8 {
		if _, err := e.EnrollUser(ctx, "civil", fmt.Sprintf("seq%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(100 * time.Millisecond)
	if after := runtime.NumGoroutine(); after > before+4 {
		t.Errorf("goroutines: %d before 8 enrolments, %d after", before, after)
	}

	// The network accepts the identity.
	id, sign, err := wallet.Identity("CivilAffairsMSP", "alice")
	if err != nil {
		t.Fatal(err)
	}
	if id.MspID() != "CivilAffairsMSP" {
		t.Fatalf("wallet identity MSP %q", id.MspID())
	}
	conn, err := civil.DialPeer()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	gw, err := client.Connect(id, client.WithSign(sign), client.WithClientConnection(conn),
		client.WithEvaluateTimeout(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	v, err := gw.GetNetwork("municipal").GetContractWithName("dossier", "meta").Evaluate("Version")
	if err != nil {
		t.Fatalf("meta:Version as the enrolled user: %v", err)
	}
	t.Logf("meta:Version as civil/alice: %s", v)

	// Idempotent: the wallet has it, by name or MSP ID; no new certificate.
	for _, org := range []string{"civil", "CivilAffairsMSP"} {
		if mspID, err := e.EnrollUser(ctx, org, "alice"); err != nil || mspID != "CivilAffairsMSP" {
			t.Fatalf("again via %s: %q, %v", org, mspID, err)
		}
	}
	if again := readFile(t, filepath.Join(walletDir, "civil", "alice", "cert.pem")); string(again) != string(certPEM) {
		t.Fatal("enrolling again replaced the certificate")
	}
	// Users of the connection file are in the wallet too.
	if _, err := e.EnrollUser(ctx, "civil", "clerk"); err != nil {
		t.Fatalf("clerk (in the connection file): %v", err)
	}

	// Bad input.
	for _, u := range []string{"", "../x", strings.Repeat("a", 65), "a/b", ".hidden", "a b"} {
		_, err := e.EnrollUser(ctx, "civil", u)
		wantCode(t, err, gateway.CodeInvalid)
	}
	if _, err := e.EnrollUser(ctx, "civil", strings.Repeat("b", 64)); err != nil {
		t.Fatalf("64-character name: %v", err)
	}
	_, err = e.EnrollUser(ctx, "nosuchorg", "bob")
	wantCode(t, err, gateway.CodeNotFound)

	// Several users of several organisations at once.
	orgs := []string{"civil", "health", "civil", "health", "operator", "HealthMSP", "civil"}
	errs := make([]error, len(orgs))
	var wg sync.WaitGroup
	for i, org := range orgs {
		wg.Go(func() { _, errs[i] = e.EnrollUser(ctx, org, fmt.Sprintf("par%d", i)) })
	}
	wg.Wait()
	for i, org := range orgs {
		if errs[i] != nil {
			t.Fatalf("concurrent enrolment %s/par%d: %v", org, i, errs[i])
		}
		o, _ := n.Profile.Org(org)
		user := fmt.Sprintf("par%d", i)
		checkIdentity(t, readFile(t, filepath.Join(walletDir, o.Name, user, "cert.pem")),
			readFile(t, filepath.Join(walletDir, o.Name, user, "key.pem")), user, o.CA.TLSCert)
	}

	// A second gateway (fresh wallet without those users): the CA refuses the duplicates.
	other := &memStorer{}
	e2, err := ca.New(n.Profile, other, filepath.Join(t.TempDir(), "ca-state"))
	if err != nil {
		t.Fatal(err)
	}
	defer e2.Close()
	for _, u := range []string{"alice", "clerk", "admin", "peer0"} {
		_, err := e2.EnrollUser(ctx, "civil", u)
		wantCode(t, err, gateway.CodeConflict)
	}
	if _, err := e2.EnrollUser(ctx, "health", "alice"); err != nil {
		t.Fatalf("alice in another organisation: %v", err)
	}
	if len(other.m) != 1 {
		t.Fatalf("second wallet holds %d identities, want 1", len(other.m))
	}

	// An ended context reports unavailable.
	done, cancelDone := context.WithCancel(ctx)
	cancelDone()
	_, err = e.EnrollUser(done, "civil", "late")
	wantCode(t, err, gateway.CodeUnavailable)
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkIdentity checks an enrolled client identity: CN, OU=client, issued by the
// organisation's CA, PKCS#8 key matching the certificate.
func checkIdentity(t *testing.T, certPEM, keyPEM []byte, user, caCertPath string) *x509.Certificate {
	t.Helper()
	b, _ := pem.Decode(certPEM)
	if b == nil || b.Type != "CERTIFICATE" {
		t.Fatalf("certificate PEM: %q", certPEM)
	}
	cert, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if cert.Subject.CommonName != user {
		t.Errorf("CN %q, want %q", cert.Subject.CommonName, user)
	}
	if !slices.Contains(cert.Subject.OrganizationalUnit, "client") {
		t.Errorf("OU %q, want client", cert.Subject.OrganizationalUnit)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(readFile(t, caCertPath))
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Errorf("certificate not issued by the organisation's CA: %v", err)
	}
	if !strings.HasPrefix(string(keyPEM), "-----BEGIN PRIVATE KEY-----") {
		t.Errorf("key is not PEM PKCS#8: %.40q", keyPEM)
	}
	if !sameKey(t, keyPEM, cert) {
		t.Error("the private key does not match the certificate")
	}
	return cert
}

func sameKey(t *testing.T, keyPEM []byte, cert *x509.Certificate) bool {
	t.Helper()
	b, _ := pem.Decode(keyPEM)
	if b == nil {
		return false
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return false
	}
	s, ok := k.(crypto.Signer)
	return ok && s.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(cert.PublicKey)
}

// fakeProfile is a connection profile whose CA listens nowhere.
func fakeProfile(t *testing.T) *connfile.Profile {
	t.Helper()
	dir := t.TempDir()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ca.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	certPath, secretPath := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "secret")
	os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(secretPath, []byte("s3cret\n"), 0o600)

	// A port nothing listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return &connfile.Profile{Organizations: []connfile.Organization{
		{Name: "civil", MSPID: "CivilAffairsMSP", CA: connfile.CA{Name: "ca-civil", URL: "https://" + addr,
			TLSCert: certPath, RegistrarID: "admin", RegistrarSecretFile: secretPath}},
		{Name: "noca", MSPID: "NoCAMSP"},
	}}
}

// TestEnrollUserOffline covers what needs no running CA.
func TestEnrollUserOffline(t *testing.T) {
	p := fakeProfile(t)
	w := &memStorer{}
	e, err := ca.New(p, w, filepath.Join(t.TempDir(), "state"))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := t.Context()

	for _, u := range []string{"", "../x", strings.Repeat("a", 65), "-x", "x\n"} {
		_, err := e.EnrollUser(ctx, "civil", u)
		wantCode(t, err, gateway.CodeInvalid)
	}
	_, err = e.EnrollUser(ctx, "nosuch", "bob")
	wantCode(t, err, gateway.CodeNotFound)
	_, err = e.EnrollUser(ctx, "NoCAMSP", "bob")
	wantCode(t, err, gateway.CodeInternal)
	_, err = e.EnrollUser(ctx, "CivilAffairsMSP", "bob")
	wantCode(t, err, gateway.CodeUnavailable)
	if len(w.m) != 0 {
		t.Fatal("stored an identity without a CA")
	}

	// Bad configuration fails early.
	bad := *p
	bad.Organizations = slices.Clone(p.Organizations)
	bad.Organizations[0].CA.RegistrarSecretFile = filepath.Join(t.TempDir(), "missing")
	if _, err := ca.New(&bad, w, t.TempDir()); err == nil {
		t.Fatal("New with a missing registrar secret: no error")
	}
}

func TestClose(t *testing.T) {
	dir := t.TempDir()
	e, err := ca.New(fakeProfile(t), &memStorer{}, dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "sdk")); err != nil {
		t.Fatal(err)
	}
	e.Close()
	e.Close()
	if _, err := os.Stat(filepath.Join(dir, "sdk")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("SDK state after Close: %v", err)
	}
	_, err = e.EnrollUser(t.Context(), "civil", "bob")
	wantCode(t, err, gateway.CodeUnavailable)
}
