package integration

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hyperledger/fabric-gateway/pkg/client"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/network/nettest"
)

// portBench is the base port of the benchmark's network.
const portBench = 21200

var (
	benchInflight      = flag.Int("inflight", 32, "BenchmarkAppend: transactions in flight for baseline-put and append-single")
	benchInflightBatch = flag.Int("inflight-batch", 8, "BenchmarkAppend: transactions in flight for the batch appends")
)

// Bounds of one benchmark run: its wall time and the records it may prepare.
const (
	benchRunLimit   = 5 * time.Minute
	benchMaxRecords = 3_000_000
	benchType       = "bench-record"
)

// call is one prepared transaction.
type call struct {
	fn   string
	args []string
}

// runStats is what one run of a sub-benchmark measured.
type runStats struct {
	inflight     int
	txs, records int
	elapsed      time.Duration
	p50, p99     time.Duration
	cpu          map[string]float64 // CPU seconds by process group
	busy         float64            // machine CPU seconds (all cores) not idle
}

func (s runStats) txPerSec() float64  { return float64(s.txs) / s.elapsed.Seconds() }
func (s runStats) recPerSec() float64 { return float64(s.records) / s.elapsed.Seconds() }

// BenchmarkAppend measures on one real network, in the same run:
//
//   - baseline-put: meta:Put of one key with a value as large as an append
//     request (the raw Fabric cost of one endorsed, ordered, validated and
//     committed write through fabric-gateway);
//   - append-single: dossier:AppendRecord, one record per transaction;
//   - append-batch-100, append-batch-500: dossier:AppendRecords.
//
// Every transaction is submitted by health's clerk through health's peer and
// waited for until committed (VALID); at most -inflight (default 32)
// transactions are in flight for the baseline and single appends, and
// -inflight-batch (default 8, i.e. 800 or 4000 records) for the batches, so
// that a batch's latency stays well inside the gateway's 30 s endorse
// timeout. It reports tx/s and records/s per sub-benchmark and prints a
// summary table at the end: ratio to the baseline, CPU per transaction and
// per record (which, unlike tx/s, does not depend on other load on the
// machine), latency, and CPU by process group.
func BenchmarkAppend(b *testing.B) {
	for _, v := range []int{*benchInflight, *benchInflightBatch} {
		if v < 1 || v > 1024 {
			b.Fatalf("-inflight / -inflight-batch %d out of range 1..1024", v)
		}
	}
	logs := &quietTB{TB: b}
	b.Cleanup(func() {
		if b.Failed() {
			fmt.Fprint(os.Stderr, logs.String())
		}
	})
	n := nettest.Start(logs, nettest.Options{BasePort: portBench})
	op := newActor(b, n, "operator", "ops", mspOperator)
	health := newActor(b, n, "health", "clerk", mspHealth)
	peers := map[string]*client.Gateway{}
	for _, o := range n.Profile.Organizations {
		peers[o.Name] = n.Gateway(b, o.Name, "admin")
	}
	setup := []call{
		{"RegisterDepartment", []string{mspHealth, "Health Commission", "health"}},
		{"DefineRecordType", []string{benchType, "Benchmark record"}},
		{"Accredit", []string{mspHealth, benchType}},
	}
	for _, c := range setup {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		_, _, err := submitTx(ctx, op.dossier, c.fn, c.args...)
		cancel()
		if err != nil {
			b.Fatalf("setup %s: %v", c.fn, err)
		}
	}
	waitSameHeight(b, peers, chMunicipal)
	pids, err := n.PIDs()
	if err != nil {
		b.Fatal(err)
	}

	var seq atomic.Int64 // distinguishes the runs of the sub-benchmarks (N=1, then larger N)
	valueSize := len(mustJSON(b, benchRequest(b, 0, 0, 0)))
	results := map[string]runStats{}
	var order []string
	bench := func(name string, perTx, inflight int, contract *client.Contract, mk func(t testing.TB, run, i int) call) {
		b.Run(name, func(b *testing.B) {
			if b.N*perTx > benchMaxRecords {
				b.Fatalf("b.N = %d would prepare %d records (limit %d): use a shorter -benchtime", b.N, b.N*perTx, benchMaxRecords)
			}
			run := int(seq.Add(1))
			calls := make([]call, b.N)
			for i := range calls {
				calls[i] = mk(b, run, i)
			}
			st := drive(b, contract, calls, inflight, pids)
			st.inflight, st.records = inflight, b.N*perTx
			b.ReportMetric(st.txPerSec(), "tx/s")
			b.ReportMetric(st.recPerSec(), "records/s")
			if _, ok := results[name]; !ok {
				order = append(order, name)
			}
			results[name] = st // the last (largest) run counts
		})
	}
	bench("baseline-put", 1, *benchInflight, health.meta, func(t testing.TB, run, i int) call {
		v := fmt.Sprintf("%d-%d-", run, i)
		return call{"Put", []string{fmt.Sprintf("bench-%d-%d", run, i), v + strings.Repeat("x", valueSize-len(v))}}
	})
	bench("append-single", 1, *benchInflight, health.dossier, func(t testing.TB, run, i int) call {
		return call{"AppendRecord", []string{mustJSON(t, benchRequest(t, run, i, 0))}}
	})
	for _, size := range []int{100, 500} {
		bench(fmt.Sprintf("append-batch-%d", size), size, *benchInflightBatch, health.dossier, func(t testing.TB, run, i int) call {
			batch := wire.AppendBatch{Records: make([]wire.AppendRequest, size)}
			for j := range batch.Records {
				batch.Records[j] = benchRequest(t, run, i, j)
				batch.Records[j].RecordID = fmt.Sprintf("b%d-%d-%d-%d", size, run, i, j)
			}
			return call{"AppendRecords", []string{mustJSON(t, batch)}}
		})
	}
	if !b.Failed() {
		printSummary(os.Stdout, len(n.Profile.Organizations), order, results)
	}
}

// benchRequest is record j of transaction i of a run: a unique record ID and
// file, 1000 subjects.
func benchRequest(t testing.TB, run, i, j int) wire.AppendRequest {
	id := fmt.Sprintf("r-%d-%d-%d", run, i, j)
	f := newFile(t, "benchmark document "+id)
	return request(id, pseudonym(fmt.Sprintf("bench-%04d", (i*7+j)%1000)), benchType, f, "Benchmark record "+id)
}

// drive submits the calls with at most inflight transactions in flight
// (inflight workers taking the next call) and waits for every commit.
func drive(b *testing.B, c *client.Contract, calls []call, inflight int, pids map[string]int) runStats {
	ctx, cancel := context.WithTimeout(context.Background(), benchRunLimit)
	defer cancel()
	var (
		next     atomic.Int64
		failed   atomic.Bool
		errOnce  sync.Once
		firstErr error
		wg       sync.WaitGroup
	)
	lat := make([]time.Duration, len(calls))
	cpu0, busy0 := cpuSeconds(pids)
	b.ResetTimer()
	start := time.Now()
	for w := 0; w < min(inflight, len(calls)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !failed.Load() {
				i := int(next.Add(1) - 1)
				if i >= len(calls) {
					return
				}
				t0 := time.Now()
				_, _, err := submitTx(ctx, c, calls[i].fn, calls[i].args...)
				lat[i] = time.Since(t0)
				if err != nil {
					errOnce.Do(func() { firstErr = fmt.Errorf("transaction %d of %d (%s): %w", i+1, len(calls), calls[i].fn, err) })
					failed.Store(true)
					cancel()
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	cpu1, busy1 := cpuSeconds(pids)
	if firstErr != nil {
		if ctx.Err() == context.DeadlineExceeded {
			b.Fatalf("run of %d transactions exceeded %s: %v", len(calls), benchRunLimit, firstErr)
		}
		b.Fatal(firstErr)
	}
	slices.Sort(lat)
	st := runStats{txs: len(calls), elapsed: elapsed, p50: lat[len(lat)/2], p99: lat[len(lat)*99/100], cpu: map[string]float64{}, busy: busy1 - busy0}
	for g, v := range cpu1 {
		st.cpu[g] = max(0, v-cpu0[g])
	}
	return st
}

// waitSameHeight waits until every peer has the highest height of the
// channel among them.
func waitSameHeight(t testing.TB, peers map[string]*client.Gateway, channel string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var hs []uint64
		for name, gw := range peers {
			h, err := nettest.Height(gw, channel)
			if err != nil {
				t.Fatalf("height of %s at %s: %v", channel, name, err)
			}
			hs = append(hs, h)
		}
		if slices.Min(hs) == slices.Max(hs) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("peers do not agree on the height of %s: %v", channel, hs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Process groups for the CPU accounting.
var cpuGroups = []string{"peers", "orderers", "chaincode", "CAs", "client"}

func cpuGroup(name string) string {
	switch {
	case strings.HasPrefix(name, "peer"):
		return "peers"
	case strings.HasPrefix(name, "orderer"):
		return "orderers"
	case strings.HasPrefix(name, "cc-"):
		return "chaincode"
	case strings.HasPrefix(name, "ca."):
		return "CAs"
	}
	return "other"
}

// clockTicks is USER_HZ, the unit of /proc CPU times (100 on Linux).
const clockTicks = 100

// cpuSeconds returns the CPU time (user + system) of the network's processes
// by group, of this process ("client": fabric-gateway, signing, JSON), and
// the machine's non-idle CPU time, all in seconds.
func cpuSeconds(pids map[string]int) (map[string]float64, float64) {
	out := map[string]float64{}
	for name, pid := range pids {
		out[cpuGroup(name)] += procCPU(strconv.Itoa(pid))
	}
	out["client"] = procCPU("self")
	busy := 0.0
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		line, _, _ := bytes.Cut(b, []byte("\n"))
		f := strings.Fields(string(line)) // cpu user nice system idle iowait irq softirq steal ...
		for i := 1; i < len(f) && i <= 8; i++ {
			if i == 4 || i == 5 {
				continue // idle, iowait
			}
			v, _ := strconv.ParseFloat(f[i], 64)
			busy += v / clockTicks
		}
	}
	return out, busy
}

// procCPU reads utime + stime of /proc/<pid>/stat in seconds (0 if gone).
func procCPU(pid string) float64 {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:])) // f[0] is field 3 (state)
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64) // field 14 utime
	s, _ := strconv.ParseFloat(f[12], 64) // field 15 stime
	return (u + s) / clockTicks
}

// accounted is the CPU time of the network's processes and of this one.
func (s runStats) accounted() float64 {
	sum := 0.0
	for _, g := range cpuGroups {
		sum += s.cpu[g]
	}
	return sum
}

// cpuPerTx and cpuPerRecord are accounted CPU milliseconds per transaction
// and per record: unlike tx/s they do not depend on what else the machine
// runs at the same time.
func (s runStats) cpuPerTx() float64     { return 1000 * s.accounted() / float64(s.txs) }
func (s runStats) cpuPerRecord() float64 { return 1000 * s.accounted() / float64(s.records) }

// estRecPerSec estimates records/s with every CPU of the machine given to
// the network and this client (the runs are CPU bound).
func (s runStats) estRecPerSec() float64 {
	return float64(runtime.NumCPU()) * 1000 / s.cpuPerRecord()
}

// printSummary writes the table of the last run of every sub-benchmark.
func printSummary(w *os.File, orgs int, order []string, res map[string]runStats) {
	base, haveBase := res["baseline-put"]
	var sb strings.Builder
	fmt.Fprintf(&sb, "\nBenchmarkAppend summary: %d organisations, %d CPUs; every transaction submitted through health's gateway and committed VALID\n", orgs, runtime.NumCPU())
	fmt.Fprintf(&sb, "%-16s %4s %6s %7s %6s %7s %9s %6s %8s %8s %10s %8s %8s   %s\n", "name", "infl", "txs", "records", "time", "tx/s", "records/s",
		"vs", "CPU ms", "CPU ms", "est. rec/s", "p50", "p99", "CPU cores: peers orderers chaincode CAs client | others")
	fmt.Fprintf(&sb, "%-16s %4s %6s %7s %6s %7s %9s %6s %8s %8s %10s %8s %8s\n", "", "", "", "", "", "", "", "base", "per tx", "per rec", "(all CPUs)", "latency", "latency")
	for _, name := range order {
		s := res[name]
		ratio := "-"
		if haveBase {
			ratio = fmt.Sprintf("%.2f", s.txPerSec()/base.txPerSec())
		}
		var cpu []string
		for _, g := range cpuGroups {
			cpu = append(cpu, fmt.Sprintf("%.2f", s.cpu[g]/s.elapsed.Seconds()))
		}
		fmt.Fprintf(&sb, "%-16s %4d %6d %7d %5.1fs %7.1f %9.1f %6s %8.2f %8.2f %10.0f %8s %8s   %s | %.2f\n", name, s.inflight, s.txs, s.records,
			s.elapsed.Seconds(), s.txPerSec(), s.recPerSec(), ratio, s.cpuPerTx(), s.cpuPerRecord(), s.estRecPerSec(),
			s.p50.Round(time.Millisecond), s.p99.Round(time.Millisecond), strings.Join(cpu, " "), max(0, s.busy-s.accounted())/s.elapsed.Seconds())
	}
	fmt.Fprintf(&sb, "(vs base: tx/s over the baseline's; CPU ms: CPU of the network's processes and of this client; est. rec/s: records/s if they had every CPU;\n")
	fmt.Fprintf(&sb, " others: CPU taken by processes outside this benchmark during the run)\n")
	if single, ok := res["append-single"]; ok && haveBase {
		r := single.txPerSec() / base.txPerSec()
		rc := base.cpuPerTx() / single.cpuPerTx()
		fmt.Fprintf(&sb, "target: append-single at >= 80%% of the baseline's tx/s: measured %.0f%% -> %s; by CPU per transaction %.0f%% -> %s\n",
			100*r, verdict(r >= 0.8), 100*rc, verdict(rc >= 0.8))
	}
	for _, name := range []string{"append-batch-100", "append-batch-500"} {
		if s, ok := res[name]; ok {
			fmt.Fprintf(&sb, "target: %s at >= 5000 records/s: measured %.0f -> %s; estimated with all CPUs %.0f -> %s\n",
				name, s.recPerSec(), verdict(s.recPerSec() >= 5000), s.estRecPerSec(), verdict(s.estRecPerSec() >= 5000))
		}
	}
	fmt.Fprint(w, sb.String())
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

// quietTB keeps the network's progress lines out of the benchmark output
// (they are printed if the benchmark fails).
type quietTB struct {
	testing.TB
	mu  sync.Mutex
	buf strings.Builder
}

func (q *quietTB) Log(args ...any) {
	q.mu.Lock()
	defer q.mu.Unlock()
	fmt.Fprintln(&q.buf, args...)
}

func (q *quietTB) Logf(format string, args ...any) {
	q.mu.Lock()
	defer q.mu.Unlock()
	fmt.Fprintf(&q.buf, format+"\n", args...)
}

func (q *quietTB) String() string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.buf.String()
}
