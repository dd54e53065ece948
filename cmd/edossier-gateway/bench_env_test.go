package main

// The benchmarks' environment: one real network and one in-process gateway per
// benchmark process, raw fabric-gateway connections for the baselines, a load driver
// with latency percentiles, and the summary table.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	fabclient "github.com/hyperledger/fabric-gateway/pkg/client"
	"golang.org/x/sys/unix"

	"github.com/edossier-city/edossier/gateway/client"
	"github.com/edossier-city/edossier/network/nettest"
)

const (
	// benchBasePort: this package's benchmarks use ports 24000-24400: the network
	// 24000-24079, the in-process gateway 24300, a gateway process 24301, a gateway
	// with a stubbed ledger 24302.
	benchBasePort    = 24000
	benchGatewayPort = 24300
	benchProcessPort = 24301
	benchStubPort    = 24302
	// benchMaxOps bounds one run of a sub-benchmark (b.N); benchRunLimit its time.
	benchMaxOps   = 20_000
	benchRunLimit = 3 * time.Minute
)

// benchEnv is a running network with a gateway on it and raw Fabric connections
// through the same peer the gateway uses.
type benchEnv struct {
	n    *nettest.Net
	g    *Gateway
	url  string
	keys DemoKeys
	http *http.Client
	data string // the gateway's data folder

	// Raw fabric-gateway baselines, through the operator's peer like the gateway.
	rawHealth *fabclient.Gateway // health's clerk (appends are theirs)
	rawSocial *fabclient.Gateway // social's clerk (reads under a grant are theirs)
	rawOps    *fabclient.Gateway // the operator's platform user (verifications)

	mu      sync.Mutex
	results map[string]*runStats
	order   []string
	notes   []string // printed after the table
}

// quietTB keeps the network's progress lines out of the benchmark output unless the
// benchmark fails.
type quietTB struct {
	testing.TB
	mu  sync.Mutex
	buf bytes.Buffer
}

func (q *quietTB) Log(args ...any) {
	q.mu.Lock()
	fmt.Fprintln(&q.buf, args...)
	q.mu.Unlock()
}

func (q *quietTB) Logf(format string, args ...any) {
	q.mu.Lock()
	fmt.Fprintf(&q.buf, format+"\n", args...)
	q.mu.Unlock()
}

// benchDataDir is a fresh folder for data the benchmarks write (blob stores, files to
// import), removed at the end. It lives under $EDOSSIER_BENCH_DIR (default
// .edossier/bench in the repository), not in the system temporary folder: on the
// development machine that folder is ext4 without a journal where every test suite
// creates and deletes files all the time, and ext4 then skips every inode freed in the
// last minutes when it allocates one (recently_deleted() in the kernel): creating a file
// there cost 0.3-0.6 ms of kernel CPU instead of 25 µs (perf: 60 % of the CPU of a batch
// of small blobs). The root folder is marked as a "top directory" (chattr +T) so that
// each run's folder lands in other block groups than the files earlier runs deleted.
func benchDataDir(tb testing.TB, root string) string {
	tb.Helper()
	base := os.Getenv("EDOSSIER_BENCH_DIR")
	if base == "" {
		base = filepath.Join(root, ".edossier", "bench")
	}
	if err := os.MkdirAll(base, 0o700); err != nil {
		tb.Fatal(err)
	}
	if f, err := os.Open(base); err == nil {
		if flags, err := unix.IoctlGetInt(int(f.Fd()), unix.FS_IOC_GETFLAGS); err == nil && flags&fsTopDirFlag == 0 {
			_ = unix.IoctlSetPointerInt(int(f.Fd()), unix.FS_IOC_SETFLAGS, flags|fsTopDirFlag) // best effort
		}
		f.Close()
	}
	dir, err := os.MkdirTemp(base, "run-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// fsTopDirFlag is FS_TOPDIR_FL of linux/fs.h (chattr +T).
const fsTopDirFlag = 0x00020000

// startBenchEnv starts the network and the gateway (VerifyRate unlimited for the
// benchmarks) and connects the baselines.
func startBenchEnv(b *testing.B) *benchEnv {
	return startBenchEnvAt(b, benchBasePort, benchGatewayPort)
}

// startBenchEnvAt is startBenchEnv with a network at basePort and the gateway on
// gatewayPort (both moved by EDOSSIER_TEST_PORT_SHIFT).
func startBenchEnvAt(b *testing.B, basePort, gatewayPort int) *benchEnv {
	q := &quietTB{TB: b}
	b.Cleanup(func() {
		if b.Failed() {
			q.mu.Lock()
			os.Stderr.Write(q.buf.Bytes())
			q.mu.Unlock()
		}
	})
	n := nettest.Start(q, nettest.Options{BasePort: basePort})
	dir := benchDataDir(b, n.Root)
	cfg := defaultConfig()
	cfg.Listen = fmt.Sprintf("127.0.0.1:%d", gatewayPort+nettest.PortShift(b))
	cfg.ConnectionFile = n.ConnectionFile()
	cfg.DataDir = filepath.Join(dir, "gateway")
	cfg.KEKFile = filepath.Join(dir, "secrets", "kek.hex")
	cfg.SubjectSecret = filepath.Join(dir, "secrets", "subject.hex")
	cfg.DemoKeysFile = filepath.Join(dir, "keys.json")
	cfg.LogFormat = "text"
	cfg.LogLevel = "warn"
	cfg.VerifyRate = 1e9
	cfg.VerifyBurst = 1 << 30
	g, err := Open(cfg)
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		g.Close()
		b.Fatal(err)
	}
	g.listener = ln
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.Run(ctx) }()
	b.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			b.Errorf("gateway run: %v", err)
		}
		g.Close()
	})
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 256, 256
	e := &benchEnv{n: n, g: g, url: "http://" + cfg.Listen, data: dir, results: map[string]*runStats{},
		http: &http.Client{Transport: tr, Timeout: 5 * time.Minute}}
	if err := waitReady(e.http, e.url, 3*time.Minute, nil); err != nil {
		b.Fatal(err)
	}
	raw, err := os.ReadFile(cfg.DemoKeysFile)
	if err != nil {
		b.Fatal(err)
	}
	if err := json.Unmarshal(raw, &e.keys); err != nil {
		b.Fatal(err)
	}
	e.rawHealth = e.rawGateway(b, "health", "clerk")
	e.rawSocial = e.rawGateway(b, "social", "clerk")
	e.rawOps = e.rawGateway(b, "operator", "ops")
	return e
}

// waitReady polls /readyz until 200, the limit, or exited (a process that ended).
func waitReady(hc *http.Client, url string, limit time.Duration, exited <-chan error) error {
	deadline := time.Now().Add(limit)
	for {
		resp, err := hc.Get(url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("gateway at %s not ready after %s: %v", url, limit, err)
		}
		select {
		case err := <-exited:
			return fmt.Errorf("gateway exited before it was ready: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// rawGateway connects an organisation's user through the operator's peer (the peer the
// gateway uses), with one gRPC connection, like the gateway.
func (e *benchEnv) rawGateway(b *testing.B, org, user string) *fabclient.Gateway {
	op, err := e.n.Profile.Org("operator")
	if err != nil {
		b.Fatal(err)
	}
	o, err := e.n.Profile.Org(org)
	if err != nil {
		b.Fatal(err)
	}
	conn, err := op.DialPeer()
	if err != nil {
		b.Fatal(err)
	}
	gw, err := o.Connect(conn, user, 60*time.Second)
	if err != nil {
		conn.Close()
		b.Fatal(err)
	}
	b.Cleanup(func() { gw.Close(); conn.Close() })
	return gw
}

// client returns a REST client of the gateway with an API key ("" for public calls).
func (e *benchEnv) client(key string) *client.Client {
	return &client.Client{BaseURL: e.url, APIKey: key, HTTP: e.http}
}

// runStats is what one run of a sub-benchmark measured for one variant.
type runStats struct {
	name     string
	conc     int
	ops      int
	bytes    int64 // payload bytes moved, for MB/s
	elapsed  time.Duration
	lat      []time.Duration // sorted
	cpu      time.Duration   // CPU of the network's processes and this one
	cpuBy    cpuSplit        // the same by process group
	baseline string          // name of the row this row's rate is compared with
	raw      string          // name of the row doing the same transaction without the gateway
	target   string          // what the issue asks, for the table
	met      func(row, base, raw *runStats) bool
	note     string
}

func (s *runStats) rate() float64 { return float64(s.ops) / s.elapsed.Seconds() }
func (s *runStats) mbps() float64 { return float64(s.bytes) / 1e6 / s.elapsed.Seconds() }

func (s *runStats) cpuPerOp() time.Duration {
	if s.ops == 0 {
		return 0
	}
	return s.cpu / time.Duration(s.ops)
}

func (s *runStats) pct(p float64) time.Duration {
	if len(s.lat) == 0 {
		return 0
	}
	i := int(p*float64(len(s.lat))+0.5) - 1
	return s.lat[max(0, min(i, len(s.lat)-1))]
}

// variant is one way of doing an operation in a comparison: op gets the worker and
// the operation's index (distinct over the whole benchmark run).
type variant struct {
	name string
	op   func(ctx context.Context, worker, i int) error
}

// benchRounds: the variants of a comparison take turns this many times, so that a
// change of the machine's load (other work on the same cores) hits them alike.
const benchRounds = 4

// compare runs b.N operations of each variant with conc workers, the variants taking
// turns in rounds, and returns their stats in order. The first error fails the
// benchmark; so does a run longer than benchRunLimit.
func (e *benchEnv) compare(b *testing.B, conc int, vs ...variant) []*runStats {
	b.Helper()
	if b.N > benchMaxOps {
		b.Fatalf("b.N = %d exceeds %d operations: use a shorter -benchtime", b.N, benchMaxOps)
	}
	ctx, cancel := context.WithTimeout(context.Background(), benchRunLimit)
	defer cancel()
	out := make([]*runStats, len(vs))
	for i, v := range vs {
		out[i] = &runStats{name: v.name, conc: conc}
	}
	rounds := min(benchRounds, b.N)
	b.ResetTimer()
	for r := range rounds {
		from, to := b.N*r/rounds, b.N*(r+1)/rounds
		for i, v := range vs {
			cpu0 := e.cpuTime(b)
			elapsed, lat, err := run(ctx, conc, from, to, v.op)
			if err != nil {
				b.Fatalf("%s: %v", v.name, err)
			}
			s := out[i]
			used := e.cpuTime(b).minus(cpu0)
			s.cpuBy = s.cpuBy.plus(used)
			s.cpu += used.total()
			s.elapsed += elapsed
			s.ops += to - from
			s.lat = append(s.lat, lat...)
		}
	}
	b.StopTimer()
	for _, s := range out {
		slices.Sort(s.lat)
		unit := strings.ReplaceAll(s.name, " ", "-")
		b.ReportMetric(s.rate(), unit+"-ops/s")
		b.ReportMetric(float64(s.pct(0.50).Microseconds())/1e3, unit+"-p50-ms")
	}
	return out
}

// run executes operations from..to-1 on conc workers and returns the wall time and
// each operation's latency.
func run(ctx context.Context, conc, from, to int, op func(context.Context, int, int) error) (time.Duration, []time.Duration, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	lat := make([]time.Duration, to-from)
	var next atomic.Int64
	next.Store(int64(from))
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	for w := range min(conc, to-from) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= to || ctx.Err() != nil {
					return
				}
				t := time.Now()
				if err := op(ctx, w, i); err != nil {
					once.Do(func() { firstErr = fmt.Errorf("operation %d: %w", i, err); cancel() })
					return
				}
				lat[i-from] = time.Since(t)
			}
		}()
	}
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = fmt.Errorf("operations %d..%d did not end within %s", from, to-1, benchRunLimit)
	}
	return time.Since(start), lat, firstErr
}

// cpuGroups are the process groups CPU time is reported by: the network's processes
// by the prefix of their name, and this process (the gateway and the load generator).
var cpuGroups = []struct{ prefix, label string }{
	{"peer", "peers"}, {"cc-", "chaincode"}, {"orderer", "orderer"}, {"ca.", "CAs"}, {"self", "this process"},
}

// cpuSplit is CPU time by group (index of cpuGroups).
type cpuSplit [5]time.Duration

func (c cpuSplit) minus(o cpuSplit) (d cpuSplit) {
	for i := range c {
		d[i] = c[i] - o[i]
	}
	return d
}

func (c cpuSplit) plus(o cpuSplit) (d cpuSplit) {
	for i := range c {
		d[i] = c[i] + o[i]
	}
	return d
}

func (c cpuSplit) total() (t time.Duration) {
	for _, v := range c {
		t += v
	}
	return t
}

// perOp describes the split per operation.
func (c cpuSplit) perOp(ops int) string {
	var parts []string
	for i, g := range cpuGroups {
		if c[i] > 0 && ops > 0 {
			parts = append(parts, fmt.Sprintf("%s %s", g.label, ms(c[i]/time.Duration(ops))))
		}
	}
	return strings.Join(parts, ", ")
}

// cpuTime is the CPU time used so far by the network's processes (peers, orderer,
// chaincode servers, CAs) and by this process (the gateway and the load generator).
func (e *benchEnv) cpuTime(b *testing.B) cpuSplit {
	pids, err := e.n.PIDs()
	if err != nil {
		b.Fatal(err)
	}
	var c cpuSplit
	c[len(cpuGroups)-1] = procCPU("self")
	for name, pid := range pids {
		for i, g := range cpuGroups[:len(cpuGroups)-1] {
			if strings.HasPrefix(name, g.prefix) {
				c[i] += procCPU(strconv.Itoa(pid))
				break
			}
		}
	}
	return c
}

// procCPU reads utime + stime of /proc/<pid>/stat.
func procCPU(pid string) time.Duration {
	raw, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(raw, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(raw[i+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / clockTicks
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times (100 on Linux).
const clockTicks = 100

// keep records the last (largest) run of a row for the summary table.
func (e *benchEnv) keep(s *runStats) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.results[s.name]; !ok {
		e.order = append(e.order, s.name)
	}
	e.results[s.name] = s
}

// table prints the summary: every row with its baseline and ratio.
func (e *benchEnv) table(w io.Writer) {
	e.mu.Lock()
	defer e.mu.Unlock()
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Fprintf(w, "\ne-dossier gateway benchmarks: %d CPUs (GOMAXPROCS %d), load average at the end %s\n",
		runtime.NumCPU(), runtime.GOMAXPROCS(0), strings.Join(strings.Fields(string(load))[:3], " "))
	fmt.Fprintf(w, "%-36s %4s %6s %9s %8s %8s %8s %7s %6s %6s  %s\n", "benchmark", "conc", "ops", "rate/s", "p50", "p95", "CPU/op", "MB/s", "ratio", "vs-raw", "target")
	for _, name := range e.order {
		s := e.results[name]
		ratio, verdict := "", ""
		var base *runStats
		if s.baseline != "" {
			if base = e.results[s.baseline]; base != nil {
				ratio = fmt.Sprintf("%.2f", s.rate()/base.rate())
			}
		}
		if s.target != "" {
			verdict = s.target
			if s.met != nil {
				if s.met(s, base, e.results[s.raw]) {
					verdict += ": met"
				} else {
					verdict += ": MISSED"
				}
			}
		}
		vsRaw := ""
		if raw := e.results[s.raw]; raw != nil {
			vsRaw = fmt.Sprintf("%.2f", s.rate()/raw.rate())
		}
		mb := ""
		if s.bytes > 0 {
			mb = fmt.Sprintf("%.1f", s.mbps())
		}
		fmt.Fprintf(w, "%-36s %4d %6d %9.1f %8s %8s %8s %7s %6s %6s  %s\n", name, s.conc, s.ops, s.rate(),
			ms(s.pct(0.5)), ms(s.pct(0.95)), ms(s.cpuPerOp()), mb, ratio, vsRaw, verdict)
		if s.cpu > 0 {
			fmt.Fprintf(w, "%-36s CPU/op: %s\n", "", s.cpuBy.perOp(s.ops))
		}
		if s.note != "" {
			fmt.Fprintf(w, "%-36s %s\n", "", s.note)
		}
	}
	for _, n := range e.notes {
		fmt.Fprintln(w, n)
	}
	fmt.Fprintln(w, "rate: operations per second of wall time; CPU/op: CPU time of all network processes and this")
	fmt.Fprintln(w, "process (gateway + load generator) per operation; ratio: rate / rate of the trivial baseline")
	fmt.Fprintln(w, "(meta:Put / meta:Get); vs-raw: rate / rate of the raw row above it (the same chaincode transaction")
	fmt.Fprintln(w, "sent directly with fabric-gateway: the baseline the gateway's targets are judged against).")
}

func ms(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	if d < time.Millisecond {
		return fmt.Sprintf("%.1fµs", float64(d.Nanoseconds())/1e3)
	}
	return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1e3)
}
