package network

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

func (n *Network) blockPath(channel string) string {
	return filepath.Join(n.home, "channels", channel+".block")
}

// createGenesisBlocks renders configtx.yaml and writes one genesis block per channel.
func (n *Network) createGenesisBlocks() error {
	if err := n.renderConfigtx(); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(n.home, "channels"), 0o755); err != nil {
		return err
	}
	for _, c := range n.spec.Channels {
		if _, err := n.run(n.bin("configtxgen"), []string{"-configPath", n.configDir(), "-profile", c.Name,
			"-channelID", c.Name, "-outputBlock", n.blockPath(c.Name)}, []string{"FABRIC_LOGGING_SPEC=warning"}); err != nil {
			return err
		}
	}
	return nil
}

// waitHTTP polls an operations endpoint until it answers 200.
func (n *Network) waitHTTP(ctx context.Context, proc, url string, limit time.Duration) error {
	c := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(limit)
	for {
		resp, err := c.Get(url)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
			err = fmt.Errorf("status %d: %s", resp.StatusCode, bytes.TrimSpace(body))
		}
		if perr := n.procFailed(proc); perr != nil {
			return perr
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not healthy at %s after %s: %v", proc, url, limit, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// adminClient is an HTTPS client for the orderer admin API, authenticated with the
// operator admin's TLS client certificate.
func (n *Network) adminClient() (*http.Client, error) {
	op := n.spec.Operator()
	dir := filepath.Join(n.orgDir(op), "users", "admin", "tls")
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, "server.crt"), filepath.Join(dir, "server.key"))
	if err != nil {
		return nil, err
	}
	pem, err := os.ReadFile(n.caCert(op))
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}},
	}}, nil
}

// joinOrderer joins orderer j to a channel through the channel participation API
// (what osnadmin does), unless it is a member already.
func (n *Network) joinOrderer(j int, channel string) error {
	return n.joinOrdererBlock(j, channel, n.blockPath(channel))
}

// joinOrdererBlock joins orderer j to a channel with the given config block: the
// genesis block at set-up, the channel's latest config block for an orderer added
// later (it then pulls the earlier blocks from the other orderers).
func (n *Network) joinOrdererBlock(j int, channel, blockFile string) error {
	c, err := n.adminClient()
	if err != nil {
		return err
	}
	base := fmt.Sprintf("https://%s/participation/v1/channels", net.JoinHostPort(n.spec.OrdererHost(), itoa(n.spec.OrdererPorts(j).Admin)))
	if resp, err := c.Get(base + "/" + channel); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			return nil
		}
	}
	block, err := os.ReadFile(blockFile)
	if err != nil {
		return err
	}
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	part, err := w.CreateFormFile("config-block", channel+".block")
	if err != nil {
		return err
	}
	part.Write(block)
	w.Close()
	resp, err := c.Post(base, w.FormDataContentType(), &body)
	if err != nil {
		return fmt.Errorf("join %s to %s: %w", OrdererName(j), channel, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("join %s to %s: status %d: %s", OrdererName(j), channel, resp.StatusCode, bytes.TrimSpace(msg))
	}
	return nil
}

// joinPeer joins an organisation's peer to a channel with the genesis block.
func (n *Network) joinPeer(o OrgSpec, channel string) error {
	out, err := n.run(n.bin("peer"), []string{"channel", "join", "-b", n.blockPath(channel)}, n.adminEnv(o))
	if err != nil && strings.Contains(out, "already exists") {
		return nil
	}
	return err
}

// RaftLeaders returns, per channel, the index of the orderer that reports itself Raft
// leader in its Prometheus metrics.
func (n *Network) RaftLeaders() map[string]int {
	c := &http.Client{Timeout: time.Second}
	leaders := map[string]int{}
	for j := 0; j < n.spec.Ordering.Orderers; j++ {
		resp, err := c.Get(fmt.Sprintf("http://%s/metrics", net.JoinHostPort(n.spec.OrdererHost(), itoa(n.spec.OrdererPorts(j).Operations))))
		if err != nil {
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, line := range strings.Split(string(body), "\n") {
			if !strings.HasPrefix(line, "consensus_etcdraft_is_leader{") || !strings.HasSuffix(line, " 1") {
				continue
			}
			if i := strings.Index(line, `channel="`); i >= 0 {
				rest := line[i+len(`channel="`):]
				if k := strings.IndexByte(rest, '"'); k >= 0 {
					leaders[rest[:k]] = j
				}
			}
		}
	}
	return leaders
}

// waitRaftLeaders waits until every channel has a Raft leader, so that the first
// transaction after (re)start is not refused.
func (n *Network) waitRaftLeaders(ctx context.Context) error {
	deadline := time.Now().Add(90 * time.Second)
	for {
		leaders := n.RaftLeaders()
		var missing []string
		for _, ch := range n.spec.Channels {
			if _, ok := leaders[ch.Name]; !ok {
				missing = append(missing, ch.Name)
			}
		}
		if len(missing) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no Raft leader for channel(s) %s after 90s", strings.Join(missing, ", "))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
