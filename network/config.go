package network

import (
	"embed"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"

	"gopkg.in/yaml.v3"
)

//go:embed builder/ccaas/bin/*
var builderFS embed.FS

func (n *Network) configDir() string  { return filepath.Join(n.home, "config") }
func (n *Network) builderDir() string { return filepath.Join(n.home, "builders", "ccaas") }

// renderConfig writes the CCaaS external builder and the peer's core.yaml (the pinned
// Fabric version's sample configuration with the two settings a Docker-less peer needs:
// no Docker endpoint and the external builder). Everything node-specific goes through
// environment variables.
func (n *Network) renderConfig() error {
	err := fs.WalkDir(builderFS, "builder/ccaas/bin", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := builderFS.ReadFile(path)
		if err != nil {
			return err
		}
		dst := filepath.Join(n.builderDir(), "bin", d.Name())
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o755)
	})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(n.configDir(), 0o755); err != nil {
		return err
	}
	core, err := os.ReadFile(filepath.Join(n.tools, "config", "core.yaml"))
	if err != nil {
		return fmt.Errorf("sample core.yaml of the pinned Fabric version: %w (run make tools)", err)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(core, &doc); err != nil {
		return err
	}
	if err := setYAML(&doc, []string{"vm", "endpoint"}, scalar("")); err != nil {
		return err
	}
	builders := &yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{{
		Kind: yaml.MappingNode, Content: []*yaml.Node{
			scalar("name"), scalar("ccaas"),
			scalar("path"), scalar(n.builderDir()),
		}}}}
	if err := setYAML(&doc, []string{"chaincode", "externalBuilders"}, builders); err != nil {
		return err
	}
	out, err := yaml.Marshal(&doc)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(n.configDir(), "core.yaml"), out, 0o644); err != nil {
		return err
	}
	return copyFile(filepath.Join(n.tools, "config", "orderer.yaml"), filepath.Join(n.configDir(), "orderer.yaml"), 0o644)
}

// logFormat is Fabric's default log format without terminal colours (logs go to files).
const logFormat = "FABRIC_LOGGING_FORMAT=%{time:2006-01-02 15:04:05.000 MST} %{id:04x} %{level:.4s} [%{module}] %{shortfunc} -> %{message}"

func scalar(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v} }

// setYAML replaces the value at a key path of a YAML document.
func setYAML(doc *yaml.Node, path []string, v *yaml.Node) error {
	node := doc
	if node.Kind == yaml.DocumentNode {
		node = node.Content[0]
	}
	for depth, key := range path {
		found := false
		for i := 0; i+1 < len(node.Content); i += 2 {
			if node.Content[i].Value == key {
				if depth == len(path)-1 {
					node.Content[i+1] = v
					return nil
				}
				node = node.Content[i+1]
				found = true
				break
			}
		}
		if !found {
			return fmt.Errorf("core.yaml: no key %v", path[:depth+1])
		}
	}
	return nil
}

// Org definitions and profiles for configtxgen.

type policy struct {
	Type string `yaml:"Type"`
	Rule string `yaml:"Rule"`
}

type anchor struct {
	Host string `yaml:"Host"`
	Port int    `yaml:"Port"`
}

type orgDef struct {
	Name             string            `yaml:"Name"`
	ID               string            `yaml:"ID"`
	MSPDir           string            `yaml:"MSPDir"`
	Policies         map[string]policy `yaml:"Policies"`
	OrdererEndpoints []string          `yaml:"OrdererEndpoints,omitempty"`
	AnchorPeers      []anchor          `yaml:"AnchorPeers,omitempty"`
}

type consenter struct {
	Host          string `yaml:"Host"`
	Port          int    `yaml:"Port"`
	ClientTLSCert string `yaml:"ClientTLSCert"`
	ServerTLSCert string `yaml:"ServerTLSCert"`
}

func (n *Network) orgDefinition(o OrgSpec, orderer bool) orgDef {
	m := o.MSPID
	d := orgDef{
		Name: m, ID: m, MSPDir: n.orgMSP(o),
		Policies: map[string]policy{
			"Readers":     {"Signature", fmt.Sprintf("OR('%[1]s.admin','%[1]s.peer','%[1]s.client','%[1]s.orderer')", m)},
			"Writers":     {"Signature", fmt.Sprintf("OR('%[1]s.admin','%[1]s.client','%[1]s.orderer')", m)},
			"Admins":      {"Signature", fmt.Sprintf("OR('%s.admin')", m)},
			"Endorsement": {"Signature", fmt.Sprintf("OR('%s.peer')", m)},
		},
	}
	if orderer {
		for j := 0; j < n.spec.Ordering.Orderers; j++ {
			d.OrdererEndpoints = append(d.OrdererEndpoints, net.JoinHostPort(n.spec.OrdererHost(), itoa(n.spec.OrdererPorts(j).Listen)))
		}
	} else {
		d.AnchorPeers = []anchor{{Host: n.spec.HostOf(o), Port: n.spec.OrgPorts(n.orgIndex(o)).Peer}}
	}
	return d
}

func implicit(rule string) policy { return policy{"ImplicitMeta", rule} }

// renderConfigtx writes configtx.yaml with one profile per channel.
func (n *Network) renderConfigtx() error {
	op := n.spec.Operator()
	var consenters []consenter
	for j := 0; j < n.spec.Ordering.Orderers; j++ {
		crt := filepath.Join(n.nodeTLS(op, OrdererName(j)), "server.crt")
		consenters = append(consenters, consenter{n.spec.OrdererHost(), n.spec.OrdererPorts(j).Listen, crt, crt})
	}
	var appOrgs []orgDef
	for _, o := range n.spec.Active() {
		appOrgs = append(appOrgs, n.orgDefinition(o, false))
	}
	profiles := map[string]any{}
	for _, c := range n.spec.Channels {
		profiles[c.Name] = map[string]any{
			"Policies": map[string]policy{
				"Readers": implicit("ANY Readers"), "Writers": implicit("ANY Writers"), "Admins": implicit("MAJORITY Admins"),
			},
			"Capabilities": map[string]bool{"V2_0": true},
			"Orderer": map[string]any{
				"OrdererType":  "etcdraft",
				"BatchTimeout": c.BatchTimeout.String(),
				"BatchSize": map[string]any{
					"MaxMessageCount": c.MaxMessageCount, "AbsoluteMaxBytes": c.AbsoluteMaxBytes, "PreferredMaxBytes": c.PreferredMaxBytes,
				},
				"EtcdRaft": map[string]any{
					"Consenters": consenters,
					"Options": map[string]any{
						"TickInterval": n.spec.Ordering.TickInterval.String(), "ElectionTick": 10, "HeartbeatTick": 1,
						"MaxInflightBlocks": 5, "SnapshotIntervalSize": "16 MB",
					},
				},
				"Organizations": []orgDef{n.orgDefinition(op, true)},
				"Policies": map[string]policy{
					"Readers": implicit("ANY Readers"), "Writers": implicit("ANY Writers"), "Admins": implicit("MAJORITY Admins"),
					"BlockValidation": implicit("ANY Writers"),
				},
				"Capabilities": map[string]bool{"V2_0": true},
			},
			"Application": map[string]any{
				"Organizations": appOrgs,
				"Policies": map[string]policy{
					"Readers": implicit("ANY Readers"), "Writers": implicit("ANY Writers"), "Admins": implicit("MAJORITY Admins"),
					"LifecycleEndorsement": implicit("MAJORITY Endorsement"), "Endorsement": implicit("MAJORITY Endorsement"),
				},
				"Capabilities": map[string]bool{"V2_5": true},
			},
		}
	}
	// Organizations lets `configtxgen -printOrg` print an organisation's definition for a
	// channel configuration update (reconfig.go).
	out, err := yaml.Marshal(map[string]any{"Profiles": profiles, "Organizations": appOrgs})
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(n.configDir(), "configtx.yaml"), out, 0o644)
}

// ordererEnv configures orderer j through ORDERER_* variables.
func (n *Network) ordererEnv(j int) []string {
	op := n.spec.Operator()
	name := OrdererName(j)
	tls := n.nodeTLS(op, name)
	p := n.spec.OrdererPorts(j)
	data := filepath.Join(n.home, "data", name)
	crt, key, ca := filepath.Join(tls, "server.crt"), filepath.Join(tls, "server.key"), filepath.Join(tls, "ca.crt")
	return []string{
		"FABRIC_CFG_PATH=" + n.configDir(),
		"FABRIC_LOGGING_SPEC=info",
		logFormat,
		"ORDERER_GENERAL_LISTENADDRESS=" + n.spec.OrdererHost(),
		"ORDERER_GENERAL_LISTENPORT=" + itoa(p.Listen),
		"ORDERER_GENERAL_LOCALMSPID=" + op.MSPID,
		"ORDERER_GENERAL_LOCALMSPDIR=" + n.nodeMSP(op, name),
		"ORDERER_GENERAL_BOOTSTRAPMETHOD=none",
		"ORDERER_GENERAL_KEEPALIVE_SERVERMININTERVAL=4s", // the peers' delivery keepalive (peerEnv)
		// A follower forwards each transaction to the Raft leader and waits this long for
		// the stream to it. Right after the leader dies the follower still names it, and
		// with Fabric's 7 s default every transaction sent to a follower then fails only
		// after 7 s (the peer's gateway tries the next orderer after that): a write
		// stalled 7-13 s per leader kill (TestRaftLeaderKilledFiveTimes). Streams to a
		// live orderer open in milliseconds on the city's network; 3 s leaves room for a
		// loaded machine.
		"ORDERER_GENERAL_CLUSTER_RPCTIMEOUT=3s",
		"ORDERER_GENERAL_TLS_ENABLED=true",
		"ORDERER_GENERAL_TLS_CERTIFICATE=" + crt,
		"ORDERER_GENERAL_TLS_PRIVATEKEY=" + key,
		"ORDERER_GENERAL_TLS_ROOTCAS=[" + ca + "]",
		"ORDERER_GENERAL_CLUSTER_CLIENTCERTIFICATE=" + crt,
		"ORDERER_GENERAL_CLUSTER_CLIENTPRIVATEKEY=" + key,
		"ORDERER_GENERAL_CLUSTER_ROOTCAS=[" + ca + "]",
		"ORDERER_CHANNELPARTICIPATION_ENABLED=true",
		"ORDERER_ADMIN_LISTENADDRESS=" + net.JoinHostPort(n.spec.OrdererHost(), itoa(p.Admin)),
		"ORDERER_ADMIN_TLS_ENABLED=true",
		"ORDERER_ADMIN_TLS_CERTIFICATE=" + crt,
		"ORDERER_ADMIN_TLS_PRIVATEKEY=" + key,
		"ORDERER_ADMIN_TLS_ROOTCAS=[" + ca + "]",
		"ORDERER_ADMIN_TLS_CLIENTAUTHREQUIRED=true",
		"ORDERER_ADMIN_TLS_CLIENTROOTCAS=[" + ca + "]",
		"ORDERER_OPERATIONS_LISTENADDRESS=" + net.JoinHostPort(n.spec.OrdererHost(), itoa(p.Operations)),
		"ORDERER_METRICS_PROVIDER=prometheus",
		"ORDERER_FILELEDGER_LOCATION=" + filepath.Join(data, "ledger"),
		"ORDERER_CONSENSUS_WALDIR=" + filepath.Join(data, "etcdraft", "wal"),
		"ORDERER_CONSENSUS_SNAPDIR=" + filepath.Join(data, "etcdraft", "snapshot"),
	}
}

// peerEnv configures an organisation's peer through CORE_* variables.
func (n *Network) peerEnv(o OrgSpec) []string {
	p := n.spec.OrgPorts(n.orgIndex(o))
	tls := n.nodeTLS(o, "peer0")
	host := n.spec.HostOf(o)
	addr := net.JoinHostPort(host, itoa(p.Peer))
	data := filepath.Join(n.home, "data", PeerName(o))
	return []string{
		"FABRIC_CFG_PATH=" + n.configDir(),
		"FABRIC_LOGGING_SPEC=gossip,msp,comm.grpc.server=warning:info",
		logFormat,
		"CORE_PEER_ID=" + PeerName(o),
		"CORE_PEER_ADDRESS=" + addr,
		"CORE_PEER_LISTENADDRESS=" + addr,
		"CORE_PEER_CHAINCODEADDRESS=" + net.JoinHostPort(host, itoa(p.PeerChaincode)),
		"CORE_PEER_CHAINCODELISTENADDRESS=" + net.JoinHostPort(host, itoa(p.PeerChaincode)),
		"CORE_PEER_GOSSIP_BOOTSTRAP=" + addr,
		"CORE_PEER_GOSSIP_EXTERNALENDPOINT=" + addr,
		"CORE_PEER_LOCALMSPID=" + o.MSPID,
		"CORE_PEER_MSPCONFIGPATH=" + n.nodeMSP(o, "peer0"),
		"CORE_PEER_TLS_ENABLED=true",
		"CORE_PEER_TLS_CERT_FILE=" + filepath.Join(tls, "server.crt"),
		"CORE_PEER_TLS_KEY_FILE=" + filepath.Join(tls, "server.key"),
		"CORE_PEER_TLS_ROOTCERT_FILE=" + filepath.Join(tls, "ca.crt"),
		"CORE_PEER_FILESYSTEMPATH=" + data,
		"CORE_LEDGER_SNAPSHOTS_ROOTDIR=" + filepath.Join(data, "snapshots"),
		"CORE_OPERATIONS_LISTENADDRESS=" + net.JoinHostPort(host, itoa(p.PeerOperations)),
		"CORE_METRICS_PROVIDER=prometheus",
		"CORE_CHAINCODE_EXECUTETIMEOUT=30s",
		// A peer takes blocks from one orderer at a time. If that orderer hangs (frozen,
		// partitioned) with the connection open, gRPC keepalive finds out within 10 s
		// and the peer switches orderer; the default (60 s + 20 s) stalls every commit
		// status for that long. The orderers accept pings this often (ordererEnv).
		"CORE_PEER_KEEPALIVE_DELIVERYCLIENT_INTERVAL=5s",
		"CORE_PEER_KEEPALIVE_DELIVERYCLIENT_TIMEOUT=5s",
	}
}

// adminEnv configures the peer CLI to act as the organisation's admin on its peer.
func (n *Network) adminEnv(o OrgSpec) []string {
	p := n.spec.OrgPorts(n.orgIndex(o))
	return []string{
		"FABRIC_CFG_PATH=" + n.configDir(),
		"FABRIC_LOGGING_SPEC=warning",
		"CORE_PEER_LOCALMSPID=" + o.MSPID,
		"CORE_PEER_MSPCONFIGPATH=" + n.userMSP(o, "admin"),
		"CORE_PEER_ADDRESS=" + net.JoinHostPort(n.spec.HostOf(o), itoa(p.Peer)),
		"CORE_PEER_TLS_ENABLED=true",
		"CORE_PEER_TLS_ROOTCERT_FILE=" + n.caCert(o),
	}
}
