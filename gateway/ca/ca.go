// Package ca is the gateway's Fabric CA adapter: it registers and enrolls department
// users with their organisation's Fabric CA and stores the resulting identities in the
// gateway's wallet. It uses fabric-sdk-go v1.0.0's CA client, configured in memory from
// the connection file; the SDK keeps its state in a private folder.
//
// It holds one github.com/hyperledger/fabric-sdk-go/pkg/msp CA client per organisation
// rather than using pkg/client/msp: the latter builds a new CA client, and with it a new
// http.Transport, on every call, and since neither side closes idle connections (Fabric
// CA serves without an idle timeout) every call leaked its keep-alive connections and
// their goroutines.
package ca

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	sdkmsp "github.com/hyperledger/fabric-sdk-go/pkg/common/providers/msp"
	"github.com/hyperledger/fabric-sdk-go/pkg/core/config"
	"github.com/hyperledger/fabric-sdk-go/pkg/fabsdk"
	"github.com/hyperledger/fabric-sdk-go/pkg/msp"
	mspapi "github.com/hyperledger/fabric-sdk-go/pkg/msp/api"

	"github.com/edossier-city/edossier/gateway"
	"github.com/edossier-city/edossier/gateway/ca/internal/protoconflict"
	"github.com/edossier-city/edossier/network/connfile"
)

// By the time this runs, the fabric-protos-go packages the SDK needs have registered
// beside fabric-protos-go-apiv2 (see package protoconflict).
func init() { protoconflict.Done() }

// Storer keeps enrolled identities: a PEM certificate and a PEM PKCS#8 private key.
// gateway/identity.Wallet implements it. If the Storer also has
// Has(org, user string) bool, enrolling a user it already holds is a no-op.
type Storer interface {
	Store(org, user string, certPEM, keyPEM []byte) error
}

type haser interface {
	Has(org, user string) bool
}

type userDeleter interface {
	Delete(sdkmsp.IdentityIdentifier) error
}

// userName is what the wallet accepts as a user name (and so what may be enrolled).
var userName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Enroller registers and enrolls users with the organisations' Fabric CAs.
// It is safe for concurrent use; calls for one organisation run one at a time.
type Enroller struct {
	wallet Storer
	dir    string // the SDK's state (credential store, keystore), removed by Close
	sdk    *fabsdk.FabricSDK
	users  userDeleter // the SDK's credential store (nil if it cannot delete)
	orgs   []*orgCA

	closed    atomic.Bool
	closeOnce sync.Once
}

// closeWait bounds how long Close waits for calls in flight (the SDK's HTTP client has
// no timeout of its own).
const closeWait = 30 * time.Second

// orgCA is one organisation and its CA client.
type orgCA struct {
	name, mspID string
	caName      string
	caURL       string
	registrarID string
	tlsRoots    *x509.CertPool
	client      *msp.CAClientImpl      // nil: the organisation has no CA in the profile
	ids         sdkmsp.IdentityManager // the SDK's identities of the organisation

	// sem serialises calls for the organisation and guards pending.
	sem chan struct{}
	// pending holds what a call got from the CA but could not finish: the secret of a
	// user registered but not enrolled, or the credentials of a user enrolled but not
	// stored. Kept in memory only, so that a retry completes instead of hitting
	// "already registered".
	pending map[string]*pendingUser
}

type pendingUser struct {
	secret          string
	certPEM, keyPEM []byte
}

// New returns an Enroller for the organisations of profile. workDir is a private
// folder for the SDK's state, created with mode 0700 if missing; the state itself goes
// to workDir/sdk (mode 0700), which New starts afresh (the SDK only caches the
// registrars' enrolments there and the keys of enrolments in flight) and Close removes.
// The registrar secrets are read now.
func New(profile *connfile.Profile, wallet Storer, workDir string) (_ *Enroller, err error) {
	if profile == nil || wallet == nil || workDir == "" {
		return nil, errors.New("ca: profile, wallet and workDir are required")
	}
	if err := os.MkdirAll(workDir, 0o700); err != nil {
		return nil, fmt.Errorf("ca: %w", err)
	}
	dir := filepath.Join(workDir, "sdk")
	if err := os.RemoveAll(dir); err != nil {
		return nil, fmt.Errorf("ca: clearing old SDK state: %w", err)
	}
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, fmt.Errorf("ca: %w", err)
	}

	e := &Enroller{wallet: wallet, dir: dir}
	defer func() {
		if err != nil {
			e.Close()
		}
	}()
	var cfgOrgs []sdkOrg
	for i, o := range profile.Organizations {
		oc := &orgCA{name: o.Name, mspID: o.MSPID, sem: make(chan struct{}, 1), pending: map[string]*pendingUser{}}
		e.orgs = append(e.orgs, oc)
		if o.CA.URL == "" {
			continue
		}
		c := o.CA
		if c.TLSCert == "" || c.RegistrarID == "" || c.RegistrarSecretFile == "" {
			return nil, fmt.Errorf("ca: organization %s: the CA needs a TLS certificate, a registrar ID and a registrar secret file", o.Name)
		}
		pemBytes, err := os.ReadFile(c.TLSCert)
		if err != nil {
			return nil, fmt.Errorf("ca: organization %s: CA TLS certificate: %w", o.Name, err)
		}
		oc.tlsRoots = x509.NewCertPool()
		if !oc.tlsRoots.AppendCertsFromPEM(pemBytes) {
			return nil, fmt.Errorf("ca: organization %s: no certificate in %s", o.Name, c.TLSCert)
		}
		secret, err := os.ReadFile(c.RegistrarSecretFile)
		if err != nil {
			return nil, fmt.Errorf("ca: organization %s: registrar secret: %w", o.Name, err)
		}
		oc.caName, oc.caURL, oc.registrarID = c.Name, strings.TrimRight(c.URL, "/"), c.RegistrarID
		cfgOrgs = append(cfgOrgs, sdkOrg{
			index: i, mspID: o.MSPID, caName: c.Name, caURL: oc.caURL, tlsCertPath: c.TLSCert,
			registrarID: c.RegistrarID, registrarSecret: strings.TrimSpace(string(secret)),
		})
	}
	if len(cfgOrgs) == 0 {
		return e, nil // nothing to enroll with; EnrollUser reports it per call
	}

	raw, err := sdkConfig(dir, cfgOrgs)
	if err != nil {
		return nil, fmt.Errorf("ca: SDK configuration: %w", err)
	}
	sdk, err := fabsdk.New(config.FromRaw(raw, "json"), fabsdk.WithLoggerPkg(quietLogger{}))
	if err != nil {
		return nil, fmt.Errorf("ca: fabric-sdk-go: %w", err)
	}
	e.sdk = sdk
	sctx, err := sdk.Context()()
	if err != nil {
		return nil, fmt.Errorf("ca: fabric-sdk-go: %w", err)
	}
	e.users, _ = sctx.UserStore().(userDeleter)
	for _, c := range cfgOrgs {
		client, err := msp.NewCAClient(orgKey(c.index), sctx, msp.WithCAInstance(caKey(c.index)))
		if err != nil {
			return nil, fmt.Errorf("ca: organization %s: %w", profile.Organizations[c.index].Name, err)
		}
		ids, ok := sctx.IdentityManager(orgKey(c.index))
		if !ok {
			return nil, fmt.Errorf("ca: organization %s: no SDK identity manager", profile.Organizations[c.index].Name)
		}
		e.orgs[c.index].client, e.orgs[c.index].ids = client, ids
	}
	return e, nil
}

// Close releases the SDK and removes its state. Calls still running get up to 30 s to
// finish; later calls fail with unavailable.
func (e *Enroller) Close() {
	e.closeOnce.Do(func() {
		e.closed.Store(true)
		deadline := time.After(closeWait)
	wait:
		for _, o := range e.orgs {
			select {
			case o.sem <- struct{}{}: // the organisation's call in flight has finished
			case <-deadline:
				break wait
			}
		}
		if e.sdk != nil {
			e.sdk.Close()
		}
		os.RemoveAll(e.dir)
	})
}

func (e *Enroller) org(nameOrMSP string) *orgCA {
	for _, o := range e.orgs {
		if o.name == nameOrMSP || o.mspID == nameOrMSP {
			return o
		}
	}
	return nil
}

// EnrollUser registers user (type client, a random secret) with the organisation's
// Fabric CA through the organisation's registrar, enrolls it and stores the certificate
// and private key in the wallet. org is the organisation's name or MSP ID. Enrolling a
// user the wallet already holds returns nil. Errors (*gateway.Error):
//   - invalid: user is not a valid name (1-64 of A-Z a-z 0-9 . _ -, not starting with . _ -)
//   - not_found: no such organisation
//   - conflict: the CA already has the user and the wallet does not
//   - unavailable: the CA did not answer, or ctx ended first (the call then completes
//     in the background, so a retry finds the user in the wallet)
//   - internal: anything else
func (e *Enroller) EnrollUser(ctx context.Context, org, user string) (mspID string, err error) {
	if !userName.MatchString(user) {
		return "", gateway.Errorf(gateway.CodeInvalid, "invalid user name %q: 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit", user)
	}
	o := e.org(org)
	if o == nil {
		return "", gateway.Errorf(gateway.CodeNotFound, "no organization %q", org)
	}
	if o.client == nil {
		return "", gateway.Errorf(gateway.CodeInternal, "organization %s has no Fabric CA in the connection file", o.name)
	}
	if e.closed.Load() {
		return "", gateway.Errorf(gateway.CodeUnavailable, "the CA enroller is closed")
	}
	if err := ctx.Err(); err != nil {
		return "", gateway.Wrap(gateway.CodeUnavailable, err, "enrolment of %s/%s not started", o.name, user)
	}

	select {
	case o.sem <- struct{}{}:
	case <-ctx.Done():
		return "", gateway.Wrap(gateway.CodeUnavailable, ctx.Err(), "enrolment of %s/%s: another enrolment for the organization is still running", o.name, user)
	}
	done := make(chan error, 1)
	go func() {
		defer func() { <-o.sem }()
		done <- e.enroll(o, user)
	}()
	select {
	case err := <-done:
		if err != nil {
			return "", err
		}
		return o.mspID, nil
	case <-ctx.Done():
		return "", gateway.Wrap(gateway.CodeUnavailable, ctx.Err(), "enrolment of %s/%s did not finish in time; it goes on in the background", o.name, user)
	}
}

// enroll does the work of EnrollUser while holding the organisation's semaphore.
func (e *Enroller) enroll(o *orgCA, user string) error {
	if h, ok := e.wallet.(haser); ok && h.Has(o.name, user) {
		delete(o.pending, user)
		return nil
	}
	p := o.pending[user]
	if p == nil {
		if user == o.registrarID {
			return gateway.Errorf(gateway.CodeConflict, "user %s already exists in %s", user, o.name)
		}
		secret, err := randomSecret()
		if err != nil {
			return gateway.Wrap(gateway.CodeInternal, err, "enrolment secret")
		}
		_, err = o.client.Register(&mspapi.RegistrationRequest{
			Name: user, Type: "client", Secret: secret, CAName: o.caName,
		})
		if err != nil {
			// fabric-sdk-go flattens the CA's error codes into text, so ask the CA
			// whether the identity exists rather than parse the message.
			if _, gerr := o.client.GetIdentity(user, o.caName); gerr == nil {
				return gateway.Wrap(gateway.CodeConflict, err, "user %s already exists in %s", user, o.name)
			}
			return o.caError(err, "registration of %s with the %s CA failed", user, o.name)
		}
		p = &pendingUser{secret: secret}
		o.pending[user] = p
	}
	if p.certPEM == nil {
		certPEM, keyPEM, err := e.enrollOnce(o, user, p.secret)
		if err != nil {
			return err
		}
		p.secret, p.certPEM, p.keyPEM = "", certPEM, keyPEM
	}
	if err := e.wallet.Store(o.name, user, p.certPEM, p.keyPEM); err != nil {
		return gateway.Wrap(gateway.CodeInternal, err, "storing the identity of %s/%s", o.name, user)
	}
	delete(o.pending, user)
	return nil
}

// enrollOnce enrolls a registered user and takes its certificate and private key out
// of the SDK's stores, leaving no copy there.
func (e *Enroller) enrollOnce(o *orgCA, user, secret string) (certPEM, keyPEM []byte, err error) {
	err = o.client.Enroll(&mspapi.EnrollmentRequest{Name: user, Secret: secret, CAName: o.caName, Type: "x509"})
	if err != nil {
		return nil, nil, o.caError(err, "enrolment of %s with the %s CA failed", user, o.name)
	}
	si, err := o.ids.GetSigningIdentity(user)
	if err != nil {
		return nil, nil, gateway.Wrap(gateway.CodeInternal, err, "enrolled identity of %s/%s", o.name, user)
	}
	certPEM = si.EnrollmentCertificate()
	keyPath := keyFile(keystoreDir(e.dir), si.PrivateKey().SKI())
	raw, err := readKey(keyPath)
	if err != nil {
		return nil, nil, gateway.Wrap(gateway.CodeInternal, err, "private key of %s/%s", o.name, user)
	}
	keyPEM, err = pkcs8PEM(raw, certPEM)
	if err != nil {
		return nil, nil, gateway.Wrap(gateway.CodeInternal, err, "private key of %s/%s", o.name, user)
	}
	// The identity now lives in memory until the wallet has it; drop the SDK's copies.
	os.Remove(keyPath)
	if e.users != nil {
		e.users.Delete(sdkmsp.IdentityIdentifier{ID: user, MSPID: o.mspID})
	}
	return certPEM, keyPEM, nil
}

// caError classifies a failed CA call: unavailable if the CA does not answer its
// /cainfo endpoint now, internal otherwise (the SDK gives no typed errors).
func (o *orgCA) caError(err error, format string, a ...any) error {
	if !o.reachable() {
		return gateway.Wrap(gateway.CodeUnavailable, err, "the Fabric CA of %s is unreachable", o.name)
	}
	return gateway.Wrap(gateway.CodeInternal, err, format, a...)
}

func (o *orgCA) reachable() bool {
	c := &http.Client{
		Timeout:   5 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: o.tlsRoots}},
	}
	defer c.CloseIdleConnections()
	resp, err := c.Get(o.caURL + "/cainfo")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode < 500
}

func randomSecret() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}
