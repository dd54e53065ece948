package network

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"
)

// Paths of an organisation's material inside the home folder.

func (n *Network) orgDir(o OrgSpec) string   { return filepath.Join(n.home, "orgs", o.Name) }
func (n *Network) caHome(o OrgSpec) string   { return filepath.Join(n.orgDir(o), "ca") }
func (n *Network) caCert(o OrgSpec) string   { return filepath.Join(n.caHome(o), "ca-cert.pem") }
func (n *Network) orgMSP(o OrgSpec) string   { return filepath.Join(n.orgDir(o), "msp") }
func (n *Network) caSecret(o OrgSpec) string { return filepath.Join(n.caHome(o), "bootstrap-secret") }
func (n *Network) registrar(o OrgSpec) string {
	return filepath.Join(n.orgDir(o), "users", "registrar", "msp")
}
func (n *Network) userMSP(o OrgSpec, u string) string {
	return filepath.Join(n.orgDir(o), "users", u, "msp")
}
func (n *Network) nodeDir(o OrgSpec, node string) string {
	return filepath.Join(n.orgDir(o), "nodes", node)
}
func (n *Network) nodeMSP(o OrgSpec, node string) string {
	return filepath.Join(n.nodeDir(o, node), "msp")
}
func (n *Network) nodeTLS(o OrgSpec, node string) string {
	return filepath.Join(n.nodeDir(o, node), "tls")
}

func (n *Network) bin(name string) string { return filepath.Join(n.tools, "bin", name) }

func (n *Network) caURL(o OrgSpec) string {
	return "https://" + net.JoinHostPort(n.spec.HostOf(o), itoa(n.spec.OrgPorts(n.orgIndex(o)).CA))
}

func (n *Network) orgIndex(o OrgSpec) int {
	for i, x := range n.spec.Organizations {
		if x.Name == o.Name {
			return i
		}
	}
	panic("network: unknown organization " + o.Name)
}

func randomSecret() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// startCA starts the organisation's Fabric CA server (initialising it on first start
// with a random bootstrap secret kept in a 0600 file).
func (n *Network) startCA(o OrgSpec) error {
	if err := os.MkdirAll(n.caHome(o), 0o700); err != nil {
		return err
	}
	secret, err := os.ReadFile(n.caSecret(o))
	if errors.Is(err, os.ErrNotExist) {
		secret = []byte(randomSecret())
		err = os.WriteFile(n.caSecret(o), secret, 0o600)
	}
	if err != nil {
		return err
	}
	p := n.spec.OrgPorts(n.orgIndex(o))
	args := []string{"start",
		"-b", "admin:" + strings.TrimSpace(string(secret)),
		"--home", n.caHome(o),
		"--address", n.spec.HostOf(o), "--port", itoa(p.CA),
		"--ca.name", "ca-" + o.Name,
		"--csr.cn", "ca." + o.Name,
		"--csr.hosts", n.tlsHosts(o, "ca."+o.Name),
		"--tls.enabled",
	}
	env := []string{
		"FABRIC_CA_SERVER_OPERATIONS_LISTENADDRESS=" + net.JoinHostPort(n.spec.HostOf(o), itoa(p.CAOperations)),
		"FABRIC_CA_SERVER_METRICS_PROVIDER=prometheus",
	}
	_, err = n.startProc("ca."+o.Name, "ca", n.bin("fabric-ca-server"), args, env)
	return err
}

// waitCA polls the CA's /cainfo over TLS until it answers.
func (n *Network) waitCA(ctx context.Context, o OrgSpec) error {
	deadline := time.Now().Add(60 * time.Second)
	url := n.caURL(o) + "/cainfo"
	for {
		if pem, err := os.ReadFile(n.caCert(o)); err == nil {
			pool := x509.NewCertPool()
			pool.AppendCertsFromPEM(pem)
			c := &http.Client{Timeout: time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
			resp, err := c.Get(url)
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					return nil
				}
			}
		}
		if err := n.procFailed("ca." + o.Name); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("ca.%s did not answer on %s within 60s", o.Name, url)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// procFailed reports an error if a process we started has exited.
func (n *Network) procFailed(name string) error {
	p, ok := n.proc(name)
	if ok && !n.alive(p) {
		return fmt.Errorf("%s exited; see %s", name, p.Log)
	}
	return nil
}

type enrollee struct {
	id, typ string
	msp     string // where the enrollment MSP goes
	tls     string // where TLS material goes ("" = none)
	host    string
}

// enrollOrg registers and enrolls every identity of an organisation from its CA:
// node identities (peer, orderers) with TLS certificates, the org admin, client users.
func (n *Network) enrollOrg(ctx context.Context, o OrgSpec) error {
	secret, err := os.ReadFile(n.caSecret(o))
	if err != nil {
		return err
	}
	host := strings.TrimPrefix(n.caURL(o), "https://")
	tlsArgs := []string{"--tls.certfiles", n.caCert(o)}
	clientHome := []string{"FABRIC_CA_CLIENT_HOME=" + filepath.Join(n.orgDir(o), "ca-client")}
	if _, err := n.run(n.bin("fabric-ca-client"), append([]string{"enroll", "-u",
		"https://admin:" + strings.TrimSpace(string(secret)) + "@" + host, "-M", n.registrar(o)}, tlsArgs...), clientHome); err != nil {
		return err
	}
	ids := []enrollee{{id: "peer0", typ: "peer", msp: n.nodeMSP(o, "peer0"), tls: n.nodeTLS(o, "peer0"), host: PeerName(o)}}
	if o.Role == RoleOperator {
		for j := 0; j < n.spec.Ordering.Orderers; j++ {
			ids = append(ids, n.ordererEnrollee(j))
		}
	}
	// The admin also gets a TLS client certificate (the orderer admin API requires mutual TLS).
	ids = append(ids, enrollee{id: "admin-" + o.Name, typ: "admin", msp: n.userMSP(o, "admin"), tls: filepath.Join(n.orgDir(o), "users", "admin", "tls")})
	for _, u := range o.Users {
		ids = append(ids, enrollee{id: u, typ: "client", msp: n.userMSP(o, u)})
	}
	if err := n.enrollIdentities(ctx, o, ids); err != nil {
		return err
	}
	return n.writeOrgMSP(o)
}

// ordererEnrollee is orderer j's node identity, with its TLS certificate.
func (n *Network) ordererEnrollee(j int) enrollee {
	op, name := n.spec.Operator(), OrdererName(j)
	return enrollee{id: name, typ: "orderer", msp: n.nodeMSP(op, name), tls: n.nodeTLS(op, name), host: name}
}

// enrollIdentities registers ids with o's CA (the registrar is enrolled already) and
// enrolls each, with a TLS certificate where it has a TLS folder. An identity that a
// run interrupted after its registration gets a new secret instead.
func (n *Network) enrollIdentities(ctx context.Context, o OrgSpec, ids []enrollee) error {
	host := strings.TrimPrefix(n.caURL(o), "https://")
	tlsArgs := []string{"--tls.certfiles", n.caCert(o)}
	clientHome := []string{"FABRIC_CA_CLIENT_HOME=" + filepath.Join(n.orgDir(o), "ca-client")}
	secrets := map[string]string{}
	for _, e := range ids {
		s := randomSecret()
		secrets[e.id] = s
		out, err := n.run(n.bin("fabric-ca-client"), append([]string{"register", "-u", "https://" + host,
			"-M", n.registrar(o), "--id.name", e.id, "--id.secret", s, "--id.type", e.typ}, tlsArgs...), clientHome)
		if err != nil && strings.Contains(out, "already registered") {
			_, err = n.run(n.bin("fabric-ca-client"), append([]string{"identity", "modify", e.id, "-u", "https://" + host,
				"-M", n.registrar(o), "--secret", s}, tlsArgs...), clientHome)
		}
		if err != nil {
			return err
		}
	}
	g, _ := errgroup.WithContext(ctx)
	g.SetLimit(3)
	for _, e := range ids {
		g.Go(func() error {
			// Leftovers of an interrupted enrolment would leave two keys.
			for _, d := range []string{e.msp, e.tls, e.tls + "-enroll"} {
				if d != "" && d != "-enroll" {
					if err := os.RemoveAll(d); err != nil {
						return err
					}
				}
			}
			url := "https://" + e.id + ":" + secrets[e.id] + "@" + host
			if _, err := n.run(n.bin("fabric-ca-client"), append([]string{"enroll", "-u", url, "-M", e.msp,
				"--csr.cn", e.id}, tlsArgs...), clientHome); err != nil {
				return err
			}
			if err := n.finishMSP(o, e.msp); err != nil {
				return err
			}
			if e.tls == "" {
				return nil
			}
			hosts := n.tlsHosts(o, e.host)
			raw := e.tls + "-enroll"
			if _, err := n.run(n.bin("fabric-ca-client"), append([]string{"enroll", "-u", url, "-M", raw,
				"--enrollment.profile", "tls", "--csr.cn", e.id, "--csr.hosts", hosts}, tlsArgs...), clientHome); err != nil {
				return err
			}
			return n.finishTLS(o, raw, e.tls)
		})
	}
	return g.Wait()
}

const nodeOUConfig = `NodeOUs:
  Enable: true
  ClientOUIdentifier:
    Certificate: cacerts/%[1]s
    OrganizationalUnitIdentifier: client
  PeerOUIdentifier:
    Certificate: cacerts/%[1]s
    OrganizationalUnitIdentifier: peer
  AdminOUIdentifier:
    Certificate: cacerts/%[1]s
    OrganizationalUnitIdentifier: admin
  OrdererOUIdentifier:
    Certificate: cacerts/%[1]s
    OrganizationalUnitIdentifier: orderer
`

// finishMSP normalises an enrolled MSP folder: the CA certificate as cacerts/ca.pem,
// the key as keystore/key.pem, NodeOUs enabled.
func (n *Network) finishMSP(o OrgSpec, msp string) error {
	cas, _ := filepath.Glob(filepath.Join(msp, "cacerts", "*"))
	for _, c := range cas {
		if err := os.Remove(c); err != nil {
			return err
		}
	}
	if err := copyFile(n.caCert(o), filepath.Join(msp, "cacerts", "ca.pem"), 0o644); err != nil {
		return err
	}
	keys, _ := filepath.Glob(filepath.Join(msp, "keystore", "*_sk"))
	if len(keys) != 1 {
		return fmt.Errorf("%s: expected one private key, found %d", msp, len(keys))
	}
	if err := os.Rename(keys[0], filepath.Join(msp, "keystore", "key.pem")); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(msp, "config.yaml"), []byte(fmt.Sprintf(nodeOUConfig, "ca.pem")), 0o644)
}

// finishTLS lays out TLS material as server.crt, server.key and ca.crt.
func (n *Network) finishTLS(o OrgSpec, raw, dst string) error {
	if err := os.MkdirAll(dst, 0o700); err != nil {
		return err
	}
	keys, _ := filepath.Glob(filepath.Join(raw, "keystore", "*_sk"))
	if len(keys) != 1 {
		return fmt.Errorf("%s: expected one TLS key, found %d", raw, len(keys))
	}
	if err := copyFile(keys[0], filepath.Join(dst, "server.key"), 0o600); err != nil {
		return err
	}
	if err := copyFile(filepath.Join(raw, "signcerts", "cert.pem"), filepath.Join(dst, "server.crt"), 0o644); err != nil {
		return err
	}
	if err := copyFile(n.caCert(o), filepath.Join(dst, "ca.crt"), 0o644); err != nil {
		return err
	}
	return os.RemoveAll(raw)
}

// writeOrgMSP writes the organisation MSP that goes into channel configuration.
func (n *Network) writeOrgMSP(o OrgSpec) error {
	msp := n.orgMSP(o)
	for _, d := range []string{"cacerts", "tlscacerts"} {
		if err := copyFile(n.caCert(o), filepath.Join(msp, d, "ca.pem"), 0o644); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(msp, "config.yaml"), []byte(fmt.Sprintf(nodeOUConfig, "ca.pem")), 0o644)
}

func copyFile(src, dst string, mode os.FileMode) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, b, mode)
}

// tlsHosts are the names a TLS certificate of organisation o carries: loopback (the
// single-host network and tools on the same machine), the organisation's host address
// and the node's name.
func (n *Network) tlsHosts(o OrgSpec, name string) string {
	hosts := []string{"127.0.0.1", "localhost"}
	if h := n.spec.HostOf(o); h != "127.0.0.1" {
		hosts = append(hosts, h)
	}
	if name != "" {
		hosts = append(hosts, name)
	}
	return strings.Join(hosts, ",")
}
