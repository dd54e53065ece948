package network

import (
	"fmt"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Port layout, relative to Spec.BasePort:
//
//	orderer j (0..6):     base + 5j + {0 listen, 1 admin, 2 operations}
//	organisation i:       base + 40 + 10i + {0 CA, 1 CA operations, 2 peer,
//	                      3 peer chaincode listener, 4 peer operations,
//	                      5.. one chaincode server per chaincode}
const (
	ordererBlock  = 5
	orgOffset     = 40
	orgBlock      = 10
	maxChaincodes = orgBlock - 5
)

func portSpan(s *Spec) int { return orgOffset + orgBlock*len(s.Organizations) }

// OrdererPorts are the ports of one orderer.
type OrdererPorts struct{ Listen, Admin, Operations int }

// OrgPorts are the ports of one organisation's CA, peer and chaincode servers.
type OrgPorts struct {
	CA, CAOperations, Peer, PeerChaincode, PeerOperations int
	Chaincode                                             map[string]int // by chaincode name
}

// OrdererPorts returns the ports of orderer j.
func (s *Spec) OrdererPorts(j int) OrdererPorts {
	b := s.BasePort + ordererBlock*j
	return OrdererPorts{Listen: b, Admin: b + 1, Operations: b + 2}
}

// OrgPorts returns the ports of the organisation at index i.
func (s *Spec) OrgPorts(i int) OrgPorts {
	b := s.BasePort + orgOffset + orgBlock*i
	p := OrgPorts{CA: b, CAOperations: b + 1, Peer: b + 2, PeerChaincode: b + 3, PeerOperations: b + 4, Chaincode: map[string]int{}}
	for k, cc := range s.Chaincodes {
		p.Chaincode[cc.Name] = b + 5 + k
	}
	return p
}

// AllPorts lists every port the network listens on, by owner.
func (s *Spec) AllPorts() map[int]string {
	m := map[int]string{}
	for j := 0; j < s.Ordering.Orderers; j++ {
		p := s.OrdererPorts(j)
		n := OrdererName(j)
		m[p.Listen], m[p.Admin], m[p.Operations] = n, n+" admin", n+" operations"
	}
	for i, o := range s.Organizations {
		p := s.OrgPorts(i)
		m[p.CA], m[p.CAOperations] = "ca."+o.Name, "ca."+o.Name+" operations"
		m[p.Peer], m[p.PeerChaincode], m[p.PeerOperations] = PeerName(o), PeerName(o)+" chaincode", PeerName(o)+" operations"
		for cc, port := range p.Chaincode {
			m[port] = ChaincodeServerName(cc, o)
		}
	}
	return m
}

func (s *Spec) checkPorts() error {
	if len(s.Chaincodes) > maxChaincodes {
		return fmt.Errorf("chaincodes: %d chaincodes would clash with the next organization's ports (at most %d)", len(s.Chaincodes), maxChaincodes)
	}
	if s.Ordering.Orderers*ordererBlock > orgOffset {
		return fmt.Errorf("ordering.orderers: %d orderers would clash with the organizations' ports", s.Ordering.Orderers)
	}
	lo, hi := EphemeralPortRange()
	all := s.AllPorts()
	first := 0
	for p := range all {
		if p >= lo && p <= hi && (first == 0 || p < first) {
			first = p
		}
	}
	if first != 0 {
		return fmt.Errorf("basePort %d: port %d (%s) lies in the kernel's ephemeral port range %d-%d (%s), where any outgoing connection may take it while the process is down; choose a basePort so that ports %d..%d lie outside it",
			s.BasePort, first, all[first], lo, hi, ephemeralRangeFile, s.BasePort, s.BasePort+portSpan(s)-1)
	}
	return nil
}

// ephemeralRangeFile is where Linux keeps the local port range of outgoing connections.
var ephemeralRangeFile = "/proc/sys/net/ipv4/ip_local_port_range"

// EphemeralPortRange returns the kernel's range of local ports for outgoing
// connections (Linux's default 32768-60999 if it cannot be read).
func EphemeralPortRange() (lo, hi int) {
	lo, hi = 32768, 60999
	b, err := os.ReadFile(ephemeralRangeFile)
	if err != nil {
		return lo, hi
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return lo, hi
	}
	a, err1 := strconv.Atoi(f[0])
	z, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil || a < 1 || z > 65535 || a > z {
		return lo, hi
	}
	return a, z
}

// PortsInUse reports the network's ports that something already listens on.
func (s *Spec) PortsInUse() []string {
	var busy []string
	all := s.AllPorts()
	ports := make([]int, 0, len(all))
	for p := range all {
		ports = append(ports, p)
	}
	sort.Ints(ports)
	for _, p := range ports {
		host, netns := s.placeOf(all[p])
		if netns == "" && portOpen(host, p) {
			busy = append(busy, fmt.Sprintf("%d (%s)", p, all[p]))
		}
	}
	return busy
}

// placeOf is the host address and network namespace of a port's owner (an AllPorts
// value such as "peer0.civil operations" or "orderer1 admin").
func (s *Spec) placeOf(owner string) (host, netns string) {
	proc, _, _ := strings.Cut(owner, " ")
	o := s.Operator()
	if !strings.HasPrefix(proc, "orderer") {
		if i := strings.LastIndexByte(proc, '.'); i >= 0 {
			if org, ok := s.Org(proc[i+1:]); ok {
				o = org
			}
		}
	}
	return s.HostOf(o), o.Netns
}

func portOpen(host string, port int) bool {
	c, err := net.DialTimeout("tcp", net.JoinHostPort(host, strconv.Itoa(port)), 200*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// Names of nodes, used in host names, paths, logs and process tables.

// OrdererName is the name of orderer j.
func OrdererName(j int) string { return fmt.Sprintf("orderer%d", j) }

// PeerName is the name of an organisation's peer.
func PeerName(o OrgSpec) string { return "peer0." + o.Name }

// ChaincodeServerName is the name of an organisation's chaincode server for a chaincode.
func ChaincodeServerName(cc string, o OrgSpec) string { return "cc-" + cc + "." + o.Name }

// portBindable reports whether this host can listen on host:port now, as the
// process that owns the port will try to (with SO_REUSEADDR, as Go and Fabric listen:
// a connection in TIME_WAIT does not count, a live client socket on the port does).
func portBindable(host string, port int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// procRoot is where the kernel's process and socket tables are read (tests change it).
var procRoot = "/proc"

// PortHolder names the process that holds a local TCP port, as /proc tells it
// ("pid 4242 (curl)"), or says that only a closed connection in TIME_WAIT holds it
// (a client socket that closed first keeps its port for 60s); "" when /proc does not
// tell (another user's process).
func PortHolder(port int) string {
	inodes := map[string]bool{}
	timeWait := false
	for _, table := range []string{"net/tcp", "net/tcp6"} {
		b, err := os.ReadFile(procRoot + "/" + table)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) < 10 {
				continue
			}
			local := f[1]
			i := strings.LastIndexByte(local, ':')
			if i < 0 {
				continue
			}
			p, err := strconv.ParseUint(local[i+1:], 16, 16)
			if err != nil || int(p) != port {
				continue
			}
			if f[3] == "06" { // TIME_WAIT: no process holds it any more
				timeWait = true
				continue
			}
			if f[9] == "0" {
				continue
			}
			inodes["socket:["+f[9]+"]"] = true
		}
	}
	if len(inodes) == 0 {
		if timeWait {
			return "a closed connection in TIME_WAIT (the kernel frees it within 60s)"
		}
		return ""
	}
	entries, err := os.ReadDir(procRoot)
	if err != nil {
		return ""
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		fdDir := fmt.Sprintf("%s/%d/fd", procRoot, pid)
		fds, err := os.ReadDir(fdDir)
		if err != nil {
			continue
		}
		for _, fd := range fds {
			if link, err := os.Readlink(fdDir + "/" + fd.Name()); err == nil && inodes[link] {
				comm, _ := os.ReadFile(fmt.Sprintf("%s/%d/comm", procRoot, pid))
				return fmt.Sprintf("pid %d (%s)", pid, strings.TrimSpace(string(comm)))
			}
		}
	}
	return ""
}
