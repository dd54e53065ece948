package network_test

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"
	"github.com/hyperledger/fabric-protos-go-apiv2/peer"

	"github.com/edossier-city/edossier/network"
	"github.com/edossier-city/edossier/network/nettest"
)

// portRaftKills is the base port of TestRaftLeaderKilledFiveTimes (20800-20889).
const portRaftKills = 20800

// TestRaftLeaderKilledFiveTimes SIGKILLs the Raft leader of a 3-orderer cluster five
// times while a writer runs, restarting it each time with `up` only. After each
// restart every orderer follows and every peer reaches the same height within 30 s,
// no restarted orderer wedges (the pinned orderer's start-up deadlock,
// hyperledger/fabric#4199, which network/tools/patches fixes: before the patch `up`
// had to kill and restart a wedged orderer in about half of the restarts), and at least
// 99% of the writes commit within 10 s of being sent.
func TestRaftLeaderKilledFiveTimes(t *testing.T) {
	n := nettest.Start(t, nettest.Options{BasePort: portRaftKills, Orderers: 3})
	gw := n.Gateway(t, "civil", "clerk")
	contract := gw.GetNetwork("municipal").GetContractWithName("dossier", "meta")
	// A Raft log of more than one MiB: a restarted orderer then replays it in several
	// batches, and a batch that starts with the cluster's ConfChange entries is where
	// the pinned orderer deadlocked (hyperledger/fabric#4199).
	fill := strings.Repeat("x", 4096)
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 30; i++ {
				_ = writeOnce(contract, fmt.Sprintf("fill-%02d-%02d", w, i), fill)
			}
		}()
	}
	wg.Wait()
	submitPut(t, gw, "municipal", "dossier", "warm-up", "1")

	type write struct {
		sent    time.Time
		latency time.Duration
		trace   string
	}
	var (
		mu     sync.Mutex
		writes []write
		failed error
	)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		const maxWrites = 5000 // bounded in count; and in time by stop
		for i := 0; i < maxWrites; i++ {
			select {
			case <-stop:
				return
			default:
			}
			sent := time.Now()
			trace, err := writeTraced(contract, fmt.Sprintf("w%05d", i), "v")
			if err != nil {
				mu.Lock()
				failed = fmt.Errorf("write %d: %w", i, err)
				mu.Unlock()
				return
			}
			mu.Lock()
			writes = append(writes, write{sent, time.Since(sent), trace})
			mu.Unlock()
		}
	}()

	peers := map[string]*client.Gateway{}
	for _, o := range n.Spec().Active() {
		peers[o.Name] = n.Gateway(t, o.Name, "admin")
	}
	var progress bytes.Buffer
	for round := 1; round <= 5; round++ {
		time.Sleep(2 * time.Second) // writes before the kill
		leader, ok := n.RaftLeaders()["municipal"]
		if !ok {
			t.Fatalf("round %d: no Raft leader on municipal", round)
		}
		victim := network.OrdererName(leader)
		if err := n.Kill(victim); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Second) // writes while it is down
		progress.Reset()
		restartStart := time.Now()
		if err := upWithProgress(t, n, &progress); err != nil {
			t.Fatalf("round %d: up after killing %s: %v", round, victim, err)
		}
		if strings.Contains(progress.String(), "does not follow") {
			t.Errorf("round %d: restarted %s wedged and up had to restart it again:\n%s", round, victim, progress.String())
		}
		// Every orderer follows and every peer has the same height within 30 s.
		deadline := restartStart.Add(30 * time.Second)
		for {
			st, err := n.Status()
			heights := peerHeights(peers)
			if err == nil && st.Ready && allEqual(heights) {
				t.Logf("round %d: killed leader %s; all orderers follow and all peers at %d after %s",
					round, victim, heights[0], time.Since(restartStart).Round(100*time.Millisecond))
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("round %d: 30 s after restarting %s: ready %v, peer heights %v", round, victim, err == nil && st.Ready, heights)
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	close(stop)
	<-done
	mu.Lock()
	defer mu.Unlock()
	if failed != nil {
		t.Fatal(failed)
	}
	if len(writes) < 50 {
		t.Fatalf("only %d writes committed", len(writes))
	}
	lat := make([]time.Duration, len(writes))
	within := 0
	for i, w := range writes {
		lat[i] = w.latency
		if w.latency <= 10*time.Second {
			within++
		}
	}
	worst := writes[0]
	for _, w := range writes {
		if w.latency > worst.latency {
			worst = w
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	share := float64(within) / float64(len(writes))
	t.Logf("%d writes: %.2f%% committed within 10 s; p50 %s, p99 %s, worst %s (sent %s: %s)",
		len(writes), 100*share, lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)-1],
		worst.sent.Format("15:04:05.000"), worst.trace)
	if share < 0.99 {
		t.Errorf("only %.2f%% of writes committed within 10 s of being sent (want at least 99%%)", 100*share)
	}
}

// writeOnce writes key through meta:Put the way a careful client does while orderers
// die: it endorses once, submits, and if no commit status arrives within 5 s (the
// orderer that took the transaction died before ordering it) submits the same signed
// transaction again; a duplicate transaction ID means an earlier submission committed.
// Bounded by 2 minutes.
func writeOnce(contract *client.Contract, key, value string) error {
	_, err := writeTraced(contract, key, value)
	return err
}

// writeTraced is writeOnce that also says what each attempt took ("endorse 12ms,
// submit 3.0s: <error>, ..."), for the report of the slowest write. Submitting is
// bounded by 5 s: the peer's gateway tries the orderers one after another, and one
// that cannot reach its leader answers after the orderers' cluster RPC timeout.
func writeTraced(contract *client.Contract, key, value string) (string, error) {
	var trace []string
	step := func(what string, start time.Time, err error) {
		s := fmt.Sprintf("%s %s", what, time.Since(start).Round(time.Millisecond))
		if err != nil {
			s += ": " + err.Error()
		}
		trace = append(trace, s)
	}
	deadline := time.Now().Add(2 * time.Minute)
	var tx *client.Transaction
	for {
		p, err := contract.NewProposal("Put", client.WithArguments(key, value))
		if err != nil {
			return strings.Join(trace, ", "), err
		}
		start := time.Now()
		tx, err = p.Endorse()
		step("endorse", start, err)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			return strings.Join(trace, ", "), err
		}
		time.Sleep(100 * time.Millisecond)
	}
	for {
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		commit, err := tx.SubmitWithContext(ctx)
		cancel()
		step("submit", start, err)
		if err == nil {
			start = time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			var st *client.Status
			st, err = commit.StatusWithContext(ctx)
			cancel()
			step("status", start, err)
			if err == nil {
				if st.Successful || st.Code == peer.TxValidationCode_DUPLICATE_TXID {
					return strings.Join(trace, ", "), nil
				}
				return strings.Join(trace, ", "), fmt.Errorf("transaction %s invalid: %s", st.TransactionID, st.Code)
			}
		}
		if time.Now().After(deadline) {
			return strings.Join(trace, ", "), err
		}
		time.Sleep(100 * time.Millisecond) // the ordering service elects a new leader
	}
}

// upWithProgress runs Up on n's network with its progress lines captured (and logged).
func upWithProgress(t *testing.T, n *nettest.Net, progress *bytes.Buffer) error {
	t.Helper()
	ccBin, err := nettest.Binary(n.Root, "edossier-chaincode")
	if err != nil {
		return err
	}
	nw, err := network.New(network.Options{Spec: n.Spec(), Home: n.Home(), ToolsDir: nettest.ToolsDir(n.Root),
		ChaincodeBin: ccBin, Progress: progress})
	if err != nil {
		return err
	}
	err = nw.Up(t.Context())
	t.Logf("up:\n%s", progress.String())
	return err
}

// peerHeights returns every peer's height of municipal (0 where it does not answer).
func peerHeights(peers map[string]*client.Gateway) []uint64 {
	names := make([]string, 0, len(peers))
	for name := range peers {
		names = append(names, name)
	}
	sort.Strings(names)
	var hs []uint64
	for _, name := range names {
		h, _ := nettest.Height(peers[name], "municipal")
		hs = append(hs, h)
	}
	return hs
}

func allEqual(hs []uint64) bool {
	for _, h := range hs {
		if h != hs[0] {
			return false
		}
	}
	return len(hs) > 0
}
