package network

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// An orderer whose process runs may still not follow its Raft cluster: the pinned
// orderer can wedge at start-up (hyperledger/fabric#4199: the process stays up, its
// channel height freezes, consensus_etcdraft_active_nodes drops), or it may be
// stopped (SIGSTOP) or partitioned. Status asks every running orderer, through its
// operations endpoint (Raft metrics) and its channel participation API (status and
// height per channel), and reports such an orderer as unhealthy.

// ordererSample is what one orderer says about one channel.
type ordererSample struct {
	Height    uint64
	HeightOK  bool   // the channel participation API answered
	Status    string // participation status: active, onboarding, inactive, failed
	MetricsOK bool   // the operations endpoint answered
	Leader    bool   // consensus_etcdraft_is_leader
	Active    int    // consensus_etcdraft_active_nodes (as the leader last told it)
	Cluster   int    // consensus_etcdraft_cluster_size
}

// ordererSamples are samples by orderer name, then by channel.
type ordererSamples map[string]map[string]ordererSample

// catchingUp marks an orderer behind the others whose height grows: unhealthy for
// now, but not to be restarted.
const catchingUp = "catching up"

// judgeOrderers names what is wrong with each orderer (none: healthy). first and
// second are two samples taken a moment apart (first may be nil with one orderer):
// an orderer is not following a channel if, in the second sample, it has not
// reached the height another orderer had in the first one.
func judgeOrderers(names, channels []string, first, second ordererSamples) map[string]string {
	problems := map[string][]string{}
	for _, ch := range channels {
		leader, anyMetrics := false, false
		for _, o := range names {
			s := second[o][ch]
			if s.MetricsOK {
				anyMetrics = true
				leader = leader || s.Leader
			}
		}
		var maxFirst uint64
		maxFirstBy := ""
		for _, o := range names {
			if s, ok := first[o][ch]; ok && s.HeightOK && s.Height > maxFirst {
				maxFirst, maxFirstBy = s.Height, o
			}
		}
		for _, o := range names {
			s := second[o][ch]
			add := func(format string, a ...any) {
				problems[o] = append(problems[o], ch+": "+fmt.Sprintf(format, a...))
			}
			if !s.MetricsOK {
				add("the operations endpoint does not answer")
			}
			if !s.HeightOK {
				add("the channel participation API does not answer")
				continue
			}
			if s.Status != "active" {
				add("channel status %q", s.Status)
			}
			if maxFirstBy != "" && maxFirstBy != o && s.Height < maxFirst {
				if f, ok := first[o][ch]; ok && f.HeightOK && s.Height > f.Height {
					add("%s: height %d, behind %s at %d", catchingUp, s.Height, maxFirstBy, maxFirst)
				} else {
					add("not following: height %d, behind %s at %d", s.Height, maxFirstBy, maxFirst)
				}
			}
			if anyMetrics && !leader {
				add("no Raft leader")
			}
			if s.MetricsOK && !s.Leader && s.Cluster > 1 && s.Active < s.Cluster/2+1 {
				add("sees %d of %d Raft nodes active", s.Active, s.Cluster)
			}
		}
	}
	out := map[string]string{}
	for o, p := range problems {
		out[o] = strings.Join(p, "; ")
	}
	return out
}

// parseRaftMetrics reads the Raft gauges of a Prometheus text exposition, by channel.
func parseRaftMetrics(r io.Reader) map[string]ordererSample {
	m := map[string]ordererSample{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		var field string
		switch {
		case strings.HasPrefix(line, "consensus_etcdraft_is_leader{"):
			field = "leader"
		case strings.HasPrefix(line, "consensus_etcdraft_active_nodes{"):
			field = "active"
		case strings.HasPrefix(line, "consensus_etcdraft_cluster_size{"):
			field = "cluster"
		default:
			continue
		}
		i := strings.Index(line, `channel="`)
		sp := strings.LastIndexByte(line, ' ')
		if i < 0 || sp < 0 {
			continue
		}
		rest := line[i+len(`channel="`):]
		k := strings.IndexByte(rest, '"')
		if k < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[sp+1:], 64)
		if err != nil || math.IsNaN(v) {
			continue
		}
		ch := rest[:k]
		s := m[ch]
		s.MetricsOK = true
		switch field {
		case "leader":
			s.Leader = v == 1
		case "active":
			s.Active = int(v)
		case "cluster":
			s.Cluster = int(v)
		}
		m[ch] = s
	}
	return m
}

// sampleOrderers asks every running orderer about every channel.
func (n *Network) sampleOrderers(names []string) ordererSamples {
	out := ordererSamples{}
	admin, adminErr := n.adminClient()
	if admin != nil {
		admin.Timeout = 2 * time.Second
	}
	plain := &http.Client{Timeout: 2 * time.Second}
	for _, name := range names {
		j, err := strconv.Atoi(strings.TrimPrefix(name, "orderer"))
		if err != nil {
			continue
		}
		ports := n.spec.OrdererPorts(j)
		samples := map[string]ordererSample{}
		metrics := map[string]ordererSample{}
		if resp, err := plain.Get(fmt.Sprintf("http://%s/metrics", net.JoinHostPort(n.spec.OrdererHost(), itoa(ports.Operations)))); err == nil {
			if resp.StatusCode == http.StatusOK {
				metrics = parseRaftMetrics(resp.Body)
			}
			resp.Body.Close()
		}
		for _, c := range n.spec.Channels {
			s := metrics[c.Name]
			if adminErr == nil {
				resp, err := admin.Get(fmt.Sprintf("https://%s/participation/v1/channels/%s", net.JoinHostPort(n.spec.OrdererHost(), itoa(ports.Admin)), c.Name))
				if err == nil {
					var info struct {
						Status string `json:"status"`
						Height uint64 `json:"height"`
					}
					if resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(&info) == nil {
						s.HeightOK, s.Status, s.Height = true, info.Status, info.Height
					}
					resp.Body.Close()
				}
			}
			samples[c.Name] = s
		}
		out[name] = samples
	}
	return out
}

// ordererProblems returns, for the running orderers named, what keeps each from
// following its cluster.
func (n *Network) ordererProblems(running []string) map[string]string {
	if len(running) == 0 {
		return nil
	}
	sort.Strings(running)
	var channels []string
	for _, c := range n.spec.Channels {
		channels = append(channels, c.Name)
	}
	var first ordererSamples
	if n.spec.Ordering.Orderers > 1 {
		first = n.sampleOrderers(running)
		time.Sleep(time.Second)
	}
	return judgeOrderers(running, channels, first, n.sampleOrderers(running))
}

// followWait bounds how long Up waits for the orderers to follow their clusters
// before it restarts those that do not.
var followWait = 30 * time.Second

// waitOrderersFollow waits until every orderer follows its Raft cluster on every
// channel. An orderer that does not within followWait (the pinned orderer's start-up
// deadlock, hyperledger/fabric#4199, wedges about half the restarts of a killed
// orderer in a cluster) is killed and started again, at most twice; then Up fails
// naming it and why.
func (n *Network) waitOrderersFollow(ctx context.Context) error {
	var names []string
	for j := 0; j < n.liveOrderers(); j++ {
		names = append(names, OrdererName(j))
	}
	for attempt := 0; ; attempt++ {
		var problems map[string]string
		for deadline := time.Now().Add(followWait); ; {
			problems = n.ordererProblems(append([]string(nil), names...))
			if len(problems) == 0 {
				return nil
			}
			if time.Now().After(deadline) {
				break
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(500 * time.Millisecond):
			}
		}
		var stuck []string
		restart := map[string]bool{}
		for _, name := range names {
			if p, ok := problems[name]; ok {
				stuck = append(stuck, name+": "+p)
				restart[name] = !strings.Contains(p, catchingUp)
			}
		}
		if attempt == 2 || len(problems) == len(names) {
			return fmt.Errorf("orderers not following their Raft clusters after %s: %s", followWait, strings.Join(stuck, "; "))
		}
		for _, name := range names {
			if !restart[name] {
				continue
			}
			p, ok := n.proc(name)
			if !ok {
				continue
			}
			n.say("        %s does not follow (%s); restarting it", name, problems[name])
			if err := n.stopProc(p, 5*time.Second); err != nil {
				return n.wrapLog(name, err)
			}
			j, _ := strconv.Atoi(strings.TrimPrefix(name, "orderer"))
			if _, err := n.startProc(name, "orderer", n.bin("orderer"), nil, n.ordererEnv(j)); err != nil {
				return n.wrapLog(name, err)
			}
			url := fmt.Sprintf("http://%s/healthz", net.JoinHostPort(n.spec.OrdererHost(), itoa(n.spec.OrdererPorts(j).Operations)))
			if err := n.waitHTTP(ctx, name, url, 60*time.Second); err != nil {
				return n.wrapLog(name, err)
			}
		}
	}
}
