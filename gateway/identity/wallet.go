// Package identity holds who may act through the gateway: the wallet of Fabric
// identities (from the connection file and enrolled at run time) and the API keys that
// map callers to those identities.
package identity

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sync"

	fabid "github.com/hyperledger/fabric-gateway/pkg/identity"

	"github.com/edossier-city/edossier/network/connfile"
)

// Wallet resolves (organisation, user) to a Fabric identity and signer. Identities come
// from the connection file and from the wallet folder, where users enrolled at run time
// are stored as <dir>/<org>/<user>/{cert.pem,key.pem} (key 0600).
type Wallet struct {
	profile *connfile.Profile
	dir     string

	mu    sync.Mutex
	cache map[string]walletEntry
}

type walletEntry struct {
	id   *fabid.X509Identity
	sign fabid.Sign
}

var namePart = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// NewWallet returns a wallet over a connection profile and a folder.
func NewWallet(p *connfile.Profile, dir string) *Wallet {
	return &Wallet{profile: p, dir: dir, cache: map[string]walletEntry{}}
}

// Identity implements fabric.Signer.
func (w *Wallet) Identity(org, user string) (*fabid.X509Identity, fabid.Sign, error) {
	key := org + "/" + user
	w.mu.Lock()
	e, ok := w.cache[key]
	w.mu.Unlock()
	if ok {
		return e.id, e.sign, nil
	}
	o, err := w.profile.Org(org)
	if err != nil {
		return nil, nil, err
	}
	var certPath, keyPath string
	if u, err := o.User(user); err == nil {
		certPath, keyPath = u.Cert, u.Key
	} else {
		if !namePart.MatchString(user) {
			return nil, nil, fmt.Errorf("wallet: invalid user name %q", user)
		}
		certPath, keyPath = w.paths(o.Name, user)
	}
	id, sign, err := load(o.MSPID, certPath, keyPath)
	if err != nil {
		return nil, nil, fmt.Errorf("wallet: %s/%s: %w", org, user, err)
	}
	w.mu.Lock()
	w.cache[key] = walletEntry{id, sign}
	w.mu.Unlock()
	return id, sign, nil
}

// Has reports whether the wallet holds an identity.
func (w *Wallet) Has(org, user string) bool {
	_, _, err := w.Identity(org, user)
	return err == nil
}

func (w *Wallet) paths(org, user string) (string, string) {
	d := filepath.Join(w.dir, org, user)
	return filepath.Join(d, "cert.pem"), filepath.Join(d, "key.pem")
}

// Store saves an enrolled identity (PEM certificate and PKCS#8 private key).
func (w *Wallet) Store(org, user string, certPEM, keyPEM []byte) error {
	o, err := w.profile.Org(org)
	if err != nil {
		return err
	}
	if !namePart.MatchString(user) {
		return fmt.Errorf("wallet: invalid user name %q", user)
	}
	certPath, keyPath := w.paths(o.Name, user)
	if err := os.MkdirAll(filepath.Dir(certPath), 0o700); err != nil {
		return err
	}
	if err := writeFileAtomic(keyPath, keyPEM, 0o600); err != nil {
		return err
	}
	if err := writeFileAtomic(certPath, certPEM, 0o644); err != nil {
		return err
	}
	w.mu.Lock()
	delete(w.cache, org+"/"+user)
	delete(w.cache, o.Name+"/"+user)
	delete(w.cache, o.MSPID+"/"+user)
	w.mu.Unlock()
	return nil
}

func load(mspID, certPath, keyPath string) (*fabid.X509Identity, fabid.Sign, error) {
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return nil, nil, err
	}
	cert, err := fabid.CertificateFromPEM(certPEM)
	if err != nil {
		return nil, nil, err
	}
	id, err := fabid.NewX509Identity(mspID, cert)
	if err != nil {
		return nil, nil, err
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, nil, err
	}
	key, err := fabid.PrivateKeyFromPEM(keyPEM)
	if err != nil {
		return nil, nil, err
	}
	sign, err := fabid.NewPrivateKeySign(key)
	if err != nil {
		return nil, nil, err
	}
	return id, sign, nil
}

func writeFileAtomic(path string, b []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
