package network

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"
)

// Chaincode as a service: each organisation runs its own chaincode server per chaincode
// (the edossier-chaincode binary); its package holds only connection.json and
// metadata.json, so the package ID does not pin the code. The running code version is
// reported by the chaincode's meta:Version function.

func (n *Network) packagePath(cc ChaincodeSpec, o OrgSpec) string {
	return filepath.Join(n.home, "chaincode", cc.Name, o.Name+".tar.gz")
}

func (n *Network) ccLabel(cc ChaincodeSpec) string { return cc.Name + "_" + cc.Version }

// buildPackage writes a deterministic CCaaS package for an organisation's chaincode
// server and returns its package ID (label:sha256 of the package).
func (n *Network) buildPackage(cc ChaincodeSpec, o OrgSpec) (string, error) {
	ca, err := os.ReadFile(n.caCert(o))
	if err != nil {
		return "", err
	}
	conn, _ := json.MarshalIndent(map[string]any{
		"address":              net.JoinHostPort(n.spec.HostOf(o), itoa(n.spec.OrgPorts(n.orgIndex(o)).Chaincode[cc.Name])),
		"dial_timeout":         "10s",
		"tls_required":         true,
		"client_auth_required": false,
		"root_cert":            string(ca),
	}, "", "  ")
	code, err := tarGz(map[string][]byte{"connection.json": conn})
	if err != nil {
		return "", err
	}
	meta, _ := json.Marshal(map[string]string{"type": "ccaas", "label": n.ccLabel(cc)})
	pkg, err := tarGz(map[string][]byte{"metadata.json": meta, "code.tar.gz": code})
	if err != nil {
		return "", err
	}
	path := n.packagePath(cc, o)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(path, pkg, 0o644); err != nil {
		return "", err
	}
	sum := sha256.Sum256(pkg)
	return n.ccLabel(cc) + ":" + hex.EncodeToString(sum[:]), nil
}

// tarGz builds a gzip'd tar with fixed metadata so the same input gives the same bytes.
func tarGz(files map[string][]byte) ([]byte, error) {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, name := range []string{"metadata.json", "code.tar.gz", "connection.json"} {
		b, ok := files[name]
		if !ok {
			continue
		}
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(b)), ModTime: time.Unix(0, 0), Format: tar.FormatPAX}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(b); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// startChaincodeServer starts an organisation's chaincode server for one chaincode.
func (n *Network) startChaincodeServer(cc ChaincodeSpec, o OrgSpec, packageID string) error {
	tls := n.nodeTLS(o, "peer0")
	env := []string{
		"CHAINCODE_ID=" + packageID,
		"CHAINCODE_SERVER_ADDRESS=" + net.JoinHostPort(n.spec.HostOf(o), itoa(n.spec.OrgPorts(n.orgIndex(o)).Chaincode[cc.Name])),
		"CHAINCODE_CONTRACT=" + cc.Contract,
		"CHAINCODE_VERSION=" + cc.Version,
		"CHAINCODE_TLS_CERT=" + filepath.Join(tls, "server.crt"),
		"CHAINCODE_TLS_KEY=" + filepath.Join(tls, "server.key"),
		"EDOSSIER_OPERATOR_MSP=" + n.spec.Operator().MSPID,
		"EDOSSIER_DOSSIER_CHANNEL=" + n.channelOf("dossier"),
		"EDOSSIER_SHARING_CHANNEL=" + n.channelOf("sharing"),
		"EDOSSIER_IDENTITY_AUTHORITIES=" + strings.Join(n.spec.IdentityAuthorities(), ","),
		"EDOSSIER_REPRESENTATIVE_AUTHORITIES=" + strings.Join(n.spec.RepresentativeAuthorities(), ","),
		"EDOSSIER_RECOVERY_DELAY=" + n.spec.Sharing.RecoveryDelay.String(),
	}
	_, err := n.startProc(ChaincodeServerName(cc.Name, o), "chaincode", n.ccBin, nil, env)
	return err
}

// channelOf returns the channel a contract is deployed on ("" if none).
func (n *Network) channelOf(contract string) string {
	for _, cc := range n.spec.Chaincodes {
		if cc.Contract == contract {
			return cc.Channel
		}
	}
	return ""
}

func (n *Network) waitTCP(ctx context.Context, proc, host string, port int) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", net.JoinHostPort(host, itoa(port)), 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		if perr := n.procFailed(proc); perr != nil {
			return perr
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s does not listen on port %d after 30s", proc, port)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (n *Network) ordererArgs() []string {
	op := n.spec.Operator()
	return []string{"-o", net.JoinHostPort(n.spec.OrdererHost(), itoa(n.spec.OrdererPorts(0).Listen)), "--tls", "--cafile", n.caCert(op)}
}

// deployChaincodes installs every package on its organisation's peer, approves the
// definitions for every organisation and commits them, all steps in parallel where
// Fabric allows. Chaincodes already committed are left as they are.
func (n *Network) deployChaincodes(ctx context.Context) error {
	var pending []ChaincodeSpec
	for _, cc := range n.spec.Chaincodes {
		_, err := n.run(n.bin("peer"), []string{"lifecycle", "chaincode", "querycommitted", "--channelID", cc.Channel, "--name", cc.Name},
			n.adminEnv(n.spec.Operator()))
		if err != nil {
			pending = append(pending, cc)
		}
	}
	if len(pending) == 0 {
		return nil
	}
	g, _ := errgroup.WithContext(ctx)
	for _, o := range n.spec.Active() {
		g.Go(func() error {
			for _, cc := range pending {
				out, err := n.run(n.bin("peer"), []string{"lifecycle", "chaincode", "install", n.packagePath(cc, o)}, n.adminEnv(o))
				if err != nil && !strings.Contains(out, "already successfully installed") {
					return err
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	g, _ = errgroup.WithContext(ctx)
	for _, cc := range pending {
		for _, o := range n.spec.Active() {
			g.Go(func() error { return n.approve(cc, o) })
		}
	}
	if err := g.Wait(); err != nil {
		return err
	}
	g, _ = errgroup.WithContext(ctx)
	for _, cc := range pending {
		g.Go(func() error {
			args := append([]string{"lifecycle", "chaincode", "commit", "--channelID", cc.Channel, "--name", cc.Name,
				"--version", cc.Version, "--sequence", "1"}, n.ordererArgs()...)
			if cc.EndorsementPolicy != "" {
				args = append(args, "--signature-policy", cc.EndorsementPolicy)
			}
			for _, o := range n.spec.Active() {
				args = append(args, "--peerAddresses", net.JoinHostPort(n.spec.HostOf(o), itoa(n.spec.OrgPorts(n.orgIndex(o)).Peer)), "--tlsRootCertFiles", n.caCert(o))
			}
			_, err := n.run(n.bin("peer"), args, n.adminEnv(n.spec.Operator()))
			return err
		})
	}
	return g.Wait()
}

// approve approves chaincode definition cc (sequence 1) for organisation o; approving
// an unchanged definition again is not an error.
func (n *Network) approve(cc ChaincodeSpec, o OrgSpec) error {
	args := append([]string{"lifecycle", "chaincode", "approveformyorg", "--channelID", cc.Channel, "--name", cc.Name,
		"--version", cc.Version, "--package-id", n.state.PackageIDs[cc.Name][o.Name], "--sequence", "1"}, n.ordererArgs()...)
	if cc.EndorsementPolicy != "" {
		args = append(args, "--signature-policy", cc.EndorsementPolicy)
	}
	out, err := n.run(n.bin("peer"), args, n.adminEnv(o))
	if err != nil && strings.Contains(out, "unchanged content") {
		return nil
	}
	return err
}
