package network

import (
	"strings"
	"testing"
)

func TestParseRaftMetrics(t *testing.T) {
	text := `# HELP consensus_etcdraft_is_leader The leadership status of the current node: 1 if it is the leader else 0.
# TYPE consensus_etcdraft_is_leader gauge
consensus_etcdraft_is_leader{channel="municipal"} 1
consensus_etcdraft_is_leader{channel="datashare"} 0
consensus_etcdraft_active_nodes{channel="municipal"} 0
consensus_etcdraft_active_nodes{channel="datashare"} 3
consensus_etcdraft_cluster_size{channel="municipal"} 3
consensus_etcdraft_cluster_size{channel="datashare"} 3
consensus_etcdraft_committed_block_number{channel="municipal"} 41
`
	m := parseRaftMetrics(strings.NewReader(text))
	if got := m["municipal"]; !got.MetricsOK || !got.Leader || got.Cluster != 3 {
		t.Errorf("municipal = %+v", got)
	}
	if got := m["datashare"]; got.Leader || got.Active != 3 || got.Cluster != 3 {
		t.Errorf("datashare = %+v", got)
	}
}

// TestJudgeOrderers: an orderer that is up but not following (behind the others'
// height, no leader, too few active Raft nodes, not answering, not active) is named
// with the reason; a following one is not.
func TestJudgeOrderers(t *testing.T) {
	names := []string{"orderer0", "orderer1", "orderer2"}
	channels := []string{"municipal"}
	ok := func(h uint64, leader bool) ordererSample {
		return ordererSample{Height: h, HeightOK: true, Status: "active", MetricsOK: true, Leader: leader, Active: 3, Cluster: 3}
	}
	one := func(a, b, c ordererSample) ordererSamples {
		return ordererSamples{"orderer0": {"municipal": a}, "orderer1": {"municipal": b}, "orderer2": {"municipal": c}}
	}
	leaderActive := ok(0, true)
	leaderActive.Active = 0 // the pinned leader does not set its own active_nodes
	withH := func(s ordererSample, h uint64) ordererSample { s.Height = h; return s }
	stalled := ok(410, false)
	stalled.Active = 1
	cases := []struct {
		name          string
		first, second ordererSamples
		want          map[string]string // orderer -> part of its problem
	}{
		{"all following", one(ok(700, false), ok(700, false), withH(leaderActive, 701)),
			one(ok(702, false), ok(701, false), withH(leaderActive, 702)), nil},
		{"behind and frozen", one(ok(708, false), stalled, withH(leaderActive, 708)),
			one(ok(708, false), stalled, withH(leaderActive, 708)),
			map[string]string{"orderer1": "not following: height 410, behind orderer0 at 708"}},
		{"behind but catching up", one(ok(708, false), ok(300, false), withH(leaderActive, 708)),
			one(ok(708, false), ok(350, false), withH(leaderActive, 708)),
			map[string]string{"orderer1": "catching up: height 350, behind orderer0 at 708"}},
		{"sees too few nodes", one(ok(5, false), ok(5, false), withH(leaderActive, 5)),
			one(ok(5, false), withH(stalled, 5), withH(leaderActive, 5)),
			map[string]string{"orderer1": "sees 1 of 3 Raft nodes active"}},
		{"no leader", one(ok(5, false), ok(5, false), ok(5, false)), one(ok(5, false), ok(5, false), ok(5, false)),
			map[string]string{"orderer0": "no Raft leader", "orderer1": "no Raft leader", "orderer2": "no Raft leader"}},
		{"stopped process does not answer", one(ok(5, false), ok(5, false), withH(leaderActive, 5)),
			one(ok(5, false), ordererSample{}, withH(leaderActive, 5)),
			map[string]string{"orderer1": "does not answer"}},
		{"onboarding", one(ok(5, false), ok(5, false), withH(leaderActive, 5)),
			one(ok(5, false), func() ordererSample { s := ok(5, false); s.Status = "onboarding"; return s }(), withH(leaderActive, 5)),
			map[string]string{"orderer1": `channel status "onboarding"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := judgeOrderers(names, channels, c.first, c.second)
			for _, o := range names {
				want, bad := c.want[o]
				if !bad {
					if got[o] != "" {
						t.Errorf("%s judged unhealthy: %s", o, got[o])
					}
					continue
				}
				if !strings.Contains(got[o], want) {
					t.Errorf("%s: problem %q, want one with %q", o, got[o], want)
				}
			}
		})
	}
	// One orderer, one sample: a lone leader is healthy.
	lone := ordererSamples{"orderer0": {"municipal": leaderActive}}
	if got := judgeOrderers([]string{"orderer0"}, channels, nil, lone); len(got) != 0 {
		t.Errorf("lone leader judged unhealthy: %v", got)
	}
}
