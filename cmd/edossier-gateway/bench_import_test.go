package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	fabclient "github.com/hyperledger/fabric-gateway/pkg/client"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
	"github.com/edossier-city/edossier/gateway/api"
	"github.com/edossier-city/edossier/gateway/blob"
	"github.com/edossier-city/edossier/gateway/client"
	"github.com/edossier-city/edossier/gateway/identity"
	"github.com/edossier-city/edossier/gateway/service"
	"github.com/edossier-city/edossier/network/nettest"
)

const (
	importFile     = 1 << 10 // bytes per imported file
	importSubjects = 100
	importBatch    = client.MaxBatch
	importLimit    = 5 * time.Minute // bound of the import itself
)

// importBench imports `records` files of 1 KiB with `edossierctl import` (a separate
// process, --batch-size 500, --parallel inflight) through this gateway, with the raw
// baseline in the same run: dossier:AppendRecords of 500 records per transaction sent
// directly with fabric-gateway, `inflight` transactions at once. The two take turns
// (raw, half the manifest, raw, the other half, raw) so that the ledger's growth and
// the machine's other load weigh on both alike. It also measures the transaction size
// per record (the largest batch under Fabric's limits) and the import into a gateway
// whose ledger commits instantly (what our code allows).
func (e *benchEnv) importBench(b *testing.B, health *client.Client, records, inflight int) {
	ctx := context.Background()
	subjects := make([]string, importSubjects)
	for i := range subjects {
		id, err := health.Resolve(ctx, "person", personID(700+i))
		if err != nil {
			b.Fatal(err)
		}
		subjects[i] = id
	}
	dir := filepath.Join(e.data, "import")
	start := time.Now()
	manifest := writeImportManifest(b, dir, records, subjects)
	b.Logf("wrote %d files of %d bytes and the manifest in %s", records, importFile, time.Since(start).Round(time.Millisecond))
	ctl, err := nettest.Binary(e.n.Root, "edossierctl")
	if err != nil {
		b.Fatal(err)
	}
	keyFile := filepath.Join(dir, "health.key")
	if err := os.WriteFile(keyFile, []byte(e.keys.Departments["health"]+"\n"), 0o600); err != nil {
		b.Fatal(err)
	}

	if os.Getenv("EDOSSIER_BENCH_ANCHOR_ONLY") == "1" {
		e.anchorBench(b, ctl, keyFile, subjects, records, inflight)
		return
	}
	contract := e.rawHealth.GetNetwork("municipal").GetContractWithName("dossier", "dossier")
	rawRecords := 2 * inflight * importBatch // two transactions per slot per round
	var seq atomic.Uint64
	base := &runStats{name: fmt.Sprintf("import: raw AppendRecords x%d", importBatch), conc: inflight}
	var rates []string
	raw := func() {
		cpu0 := e.cpuTime(b)
		cctx, cancel := context.WithTimeout(ctx, importLimit)
		defer cancel()
		elapsed, lat, err := run(cctx, inflight, 0, rawRecords/importBatch, func(ctx context.Context, _, _ int) error {
			_, err := submitBatch(ctx, contract, rawBatch(subjects, importBatch, &seq, withNote))
			return err
		})
		if err != nil {
			b.Fatalf("raw AppendRecords: %v", err)
		}
		used := e.cpuTime(b).minus(cpu0)
		base.ops += rawRecords
		base.elapsed += elapsed
		base.cpu += used.total()
		base.cpuBy = base.cpuBy.plus(used)
		base.lat = append(base.lat, lat...)
		rates = append(rates, fmt.Sprintf("%.0f", float64(rawRecords)/elapsed.Seconds()))
	}

	// The import, as a user runs it, in two parts. Bounded: at the limit the importer
	// is killed and the records its checkpoint lists count (the ledger may hold a few
	// more).
	imp := &runStats{name: fmt.Sprintf("import: edossierctl import %dk x 1KiB", records/1000), conc: inflight,
		baseline: base.name, target: ">= 5000 records/s"}
	imp.met = func(r, _, _ *runStats) bool { return r.rate() >= 5000 }
	var importer time.Duration
	stopped := ""
	ictx, cancel := context.WithTimeout(ctx, importLimit)
	defer cancel()
	raw()
	for _, part := range splitManifest(b, manifest, 2) {
		cmd := exec.CommandContext(ictx, ctl, "import", "--gateway", e.url, "--api-key-file", keyFile,
			"--batch-size", strconv.Itoa(importBatch), "--parallel", strconv.Itoa(inflight), "--progress-interval", "5s", "-o", "json", part.path)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		cpu0 := e.cpuTime(b)
		t0 := time.Now()
		err := cmd.Run()
		imp.elapsed += time.Since(t0)
		used := e.cpuTime(b).minus(cpu0)
		imp.cpuBy = imp.cpuBy.plus(used)
		imp.cpu += used.total()
		var sum struct {
			Imported int `json:"imported"`
			Created  int `json:"created"`
			Failed   int `json:"failed"`
		}
		switch {
		case ictx.Err() != nil:
			sum.Imported = countCheckpoint(part.path + ".import-state")
			stopped = fmt.Sprintf("STOPPED at the %s bound; ", importLimit)
		case err != nil:
			b.Fatalf("edossierctl import: %v\n%s", err, stderr.String())
		default:
			if err := json.Unmarshal(stdout.Bytes(), &sum); err != nil {
				b.Fatalf("import summary: %v\n%s", err, stdout.String())
			}
			if sum.Imported != part.lines || sum.Created != part.lines || sum.Failed != 0 {
				b.Fatalf("import summary %+v, want %d records created\n%s", sum, part.lines, stderr.String())
			}
		}
		imp.ops += sum.Imported
		importer += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		if stopped != "" {
			break
		}
		raw()
	}
	slices.Sort(base.lat)
	base.note = fmt.Sprintf("records/s of the %d rounds (before, between and after the parts of the import): %s; latency is per transaction of %d records",
		len(rates), strings.Join(rates, ", "), importBatch)
	e.keep(base)
	imp.cpu += importer
	imp.bytes = int64(imp.ops) * importFile
	imp.note = fmt.Sprintf("%s%d records in %s; the importer process used %s of CPU (%s per record, not in the split above)",
		stopped, imp.ops, imp.elapsed.Round(time.Millisecond), importer.Round(time.Millisecond), ms(importer/time.Duration(max(imp.ops, 1))))
	e.keep(imp)

	e.batchLimits(b, contract, subjects)
	e.importCapacity(b, ctl, dir, min(records, 20_000), inflight)
	e.anchorBench(b, ctl, keyFile, subjects, records, inflight)
}

// manifestPart is one part of a split manifest.
type manifestPart struct {
	path  string
	lines int
}

// splitManifest writes the records of a CSV manifest into n manifests beside it.
func splitManifest(b *testing.B, path string, n int) []manifestPart {
	raw, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	header, body, _ := bytes.Cut(raw, []byte("\n"))
	lines := bytes.SplitAfter(body, []byte("\n"))
	if len(lines) > 0 && len(lines[len(lines)-1]) == 0 {
		lines = lines[:len(lines)-1]
	}
	var parts []manifestPart
	for i := range n {
		chunk := lines[len(lines)*i/n : len(lines)*(i+1)/n]
		p := strings.TrimSuffix(path, ".csv") + fmt.Sprintf("-part%d.csv", i+1)
		content := append(append(bytes.Clone(header), '\n'), bytes.Join(chunk, nil)...)
		if err := os.WriteFile(p, content, 0o600); err != nil {
			b.Fatal(err)
		}
		parts = append(parts, manifestPart{p, len(chunk)})
	}
	return parts
}

// countCheckpoint counts the records an import's checkpoint file lists.
func countCheckpoint(path string) int {
	raw, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	return max(bytes.Count(raw, []byte("\n"))-1, 0) // minus the header
}

// writeImportManifest writes n unique files of importFile bytes (100 per folder) and a
// CSV manifest naming them.
func writeImportManifest(b *testing.B, dir string, n int, subjects []string) string {
	filler := make([]byte, importFile)
	rand.Read(filler)
	var m bytes.Buffer
	m.WriteString("file,subject,type,note\n")
	for i := range n {
		if i%100 == 0 {
			if err := os.MkdirAll(filepath.Join(dir, "files", strconv.Itoa(i/100)), 0o700); err != nil {
				b.Fatal(err)
			}
		}
		name := fmt.Sprintf("files/%d/%06d.bin", i/100, i)
		copy(filler, fmt.Sprintf("%08d", i))
		if err := os.WriteFile(filepath.Join(dir, name), filler, 0o600); err != nil {
			b.Fatal(err)
		}
		fmt.Fprintf(&m, "%s,%s,%s,Archive record %d\n", name, subjects[i%len(subjects)], benchType, i)
	}
	path := filepath.Join(dir, "manifest.csv")
	if err := os.WriteFile(path, m.Bytes(), 0o600); err != nil {
		b.Fatal(err)
	}
	return path
}

// Record shapes for the size measurements: a record carries no free text, only an
// optional note CID, so a record with a note is the largest the chaincode accepts.
var (
	noNote = func(uint64) string { return "" }
	// withNote: a note CID per record (the CID of a salted note document).
	withNote = func(i uint64) string {
		c, _, _ := wire.CIDOf(strings.NewReader(fmt.Sprintf(`{"salt":"%d","text":"Archive record %d"}`, i, i)))
		return c.String()
	}
)

// rawBatch builds an AppendRecords argument of n records like the gateway's (a record
// ID from an idempotency key, a CID, 1 KiB).
func rawBatch(subjects []string, n int, seq *atomic.Uint64, note func(uint64) string) string {
	batch := wire.AppendBatch{Records: make([]wire.AppendRequest, n)}
	for i := range batch.Records {
		k := seq.Add(1)
		sum := sha256.Sum256([]byte(fmt.Sprintf("raw-%d-%d", time.Now().UnixNano(), k)))
		c, _, _ := wire.CIDOf(bytes.NewReader(sum[:]))
		batch.Records[i] = wire.AppendRequest{RecordID: fmt.Sprintf("r-raw%x", sum[:13]), SubjectID: subjects[int(k)%len(subjects)],
			Type: benchType, CID: c.String(), Size: importFile, MediaType: "application/octet-stream", NoteCID: note(k)}
	}
	raw, err := json.Marshal(batch)
	if err != nil {
		panic(err)
	}
	return string(raw)
}

// submitBatch endorses, submits and waits for an AppendRecords transaction; it returns
// the size of the transaction envelope.
func submitBatch(ctx context.Context, contract *fabclient.Contract, arg string) (int, error) {
	p, err := contract.NewProposal("AppendRecords", fabclient.WithArguments(arg))
	if err != nil {
		return 0, err
	}
	tx, err := p.EndorseWithContext(ctx)
	if err != nil {
		return 0, err
	}
	env, err := tx.Bytes()
	if err != nil {
		return 0, err
	}
	commit, err := tx.SubmitWithContext(ctx)
	if err != nil {
		return len(env), err
	}
	st, err := commit.StatusWithContext(ctx)
	if err != nil {
		return len(env), err
	}
	if !st.Successful {
		return len(env), fmt.Errorf("transaction %s invalid: %s", st.TransactionID, st.Code)
	}
	return len(env), nil
}

// batchLimits measures the envelope of AppendRecords transactions of 50 and 250
// records of three shapes, fits size = fixed + n * perRecord, and works out the
// largest batch under each limit: the chaincode's MaxBatch and MaxBatchBytes (the
// argument), the channel's AbsoluteMaxBytes (10 MB), and the 4 MiB gRPC message limit
// on the client side, where the endorsed transaction comes back from the peer (the
// gateway dials with grpc-go's default MaxCallRecvMsgSize). The last is tried: a batch
// just above it must fail with ResourceExhausted.
func (e *benchEnv) batchLimits(b *testing.B, contract *fabclient.Contract, subjects []string) {
	const absoluteMaxBytes, grpcMax = 10_000_000, 4 << 20 // network.yaml (10 MB); grpc-go default
	var seq atomic.Uint64
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var lines []string
	var worst float64
	var worstFixed float64
	for _, shape := range []struct {
		name string
		note func(uint64) string
	}{{"typical (this import, with notes)", withNote}, {"no note", noNote}, {"with a note CID", withNote}} {
		var size [2]int
		var arg [2]int
		for i, n := range []int{50, 250} {
			a := rawBatch(subjects, n, &seq, shape.note)
			s, err := submitBatch(ctx, contract, a)
			if err != nil {
				b.Fatalf("%s batch of %d: %v", shape.name, n, err)
			}
			size[i], arg[i] = s, len(a)
		}
		per := float64(size[1]-size[0]) / 200
		fixed := float64(size[0]) - 50*per
		argPer := float64(arg[1]-arg[0]) / 200
		limit := func(max float64, per, fixed float64) int { return int((max - fixed) / per) }
		largest := min(wire.MaxBatch, limit(wire.MaxBatchBytes, argPer, float64(arg[0])-50*argPer),
			limit(absoluteMaxBytes, per, fixed), limit(grpcMax, per, fixed))
		lines = append(lines, fmt.Sprintf("%s: %.0f bytes per record in the transaction (+%.0f), argument %.0f per record; largest batch %d (MaxBatch %d, MaxBatchBytes %d, AbsoluteMaxBytes %d, gRPC 4 MiB %d)",
			shape.name, per, fixed, argPer, largest, wire.MaxBatch,
			limit(wire.MaxBatchBytes, argPer, float64(arg[0])-50*argPer), limit(absoluteMaxBytes, per, fixed), limit(grpcMax, per, fixed)))
		worst, worstFixed = per, fixed
	}
	// The gRPC limit is real: a batch of the largest records just above it fails.
	over := int((grpcMax-worstFixed)/worst) + 20
	if over <= wire.MaxBatch {
		_, err := submitBatch(ctx, contract, rawBatch(subjects, over, &seq, withNote))
		var ee *fabclient.EndorseError
		switch {
		case err == nil:
			lines = append(lines, fmt.Sprintf("a batch of %d such records above the 4 MiB estimate committed: the limit is elsewhere", over))
		case errors.As(err, &ee) && status.Code(err) == codes.ResourceExhausted:
			lines = append(lines, fmt.Sprintf("confirmed: a batch of %d such records fails at endorsement with ResourceExhausted (%v)", over, firstLine(err)))
		default:
			lines = append(lines, fmt.Sprintf("a batch of %d such records failed: %v", over, firstLine(err)))
		}
	}
	e.mu.Lock()
	e.notes = append(e.notes, lines...)
	e.mu.Unlock()
}

func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

// stubLedger commits instantly: what is left of an import's cost is the gateway's
// (HTTP, multipart, blob store) and the importer's. Any other call panics.
type stubLedger struct{ service.Ledger }

func (stubLedger) ListAccreditations(context.Context, gateway.Actor, string) ([]wire.Accreditation, error) {
	return []wire.Accreditation{{MSPID: "HealthMSP", RecordType: benchType, Active: true}}, nil
}
func (stubLedger) Registry(context.Context, gateway.Actor) (*service.Registry, error) {
	return &service.Registry{RecordTypes: []wire.RecordType{{Code: benchType}}}, nil
}
func (stubLedger) ListDepartments(context.Context, gateway.Actor) ([]wire.Department, error) {
	return []wire.Department{}, nil
}
func (stubLedger) ListRecordTypes(context.Context, gateway.Actor) ([]wire.RecordType, error) {
	return []wire.RecordType{{Code: benchType}}, nil
}
func (stubLedger) EndorseAppendRecords(_ context.Context, _ gateway.Actor, b wire.AppendBatch) (gateway.Pending[wire.BatchResult], error) {
	return stubPending[wire.BatchResult]{&wire.BatchResult{TxID: "stub", Issuer: "HealthMSP", IssuedAt: wire.FormatTime(time.Now()),
		Count: len(b.Records), Created: len(b.Records), Existing: []string{}}}, nil
}

func (stubLedger) EndorseAnchorBatch(_ context.Context, _ gateway.Actor, enc []byte) (gateway.Pending[wire.BatchAnchor], error) {
	batch, err := wire.DecodeBatch(enc)
	if err != nil {
		return nil, err
	}
	return stubPending[wire.BatchAnchor]{&wire.BatchAnchor{BatchID: batch.BatchID, Size: uint64(len(batch.Leaves)), Issuer: "HealthMSP",
		AnchoredAt: wire.FormatTime(time.Now()), TxID: "stub"}}, nil
}
func (stubLedger) MunicipalChannel() string { return "municipal" }

// stubPending commits instantly.
type stubPending[T any] struct{ v *T }

func (p stubPending[T]) Result() *T   { return p.v }
func (p stubPending[T]) TxID() string { return "stub" }
func (p stubPending[T]) Submit(context.Context) (*T, gateway.Receipt, error) {
	return p.v, gateway.Receipt{Channel: "municipal", TxID: "stub", Block: 1}, nil
}

// perFileBlobs hides the blob store's batch durability: every file is stored with its
// own Put (file and directory fsynced one by one), as before batches existed.
type perFileBlobs struct {
	service.Blobs
	s *blob.Store
}

func (p perFileBlobs) NewBatch() service.BlobBatch { return &perFileBatch{s: p.s} }

type perFileBatch struct {
	s    *blob.Store
	done []service.CommittedBlob
}

func (b *perFileBatch) Put(ctx context.Context, r io.Reader) (service.BlobInfo, error) {
	info, err := b.s.Put(ctx, r)
	if err != nil {
		return service.BlobInfo{}, err
	}
	bi := service.BlobInfo{CID: info.CID, Size: info.Size}
	b.done = append(b.done, service.CommittedBlob{BlobInfo: bi, Created: info.Created})
	return bi, nil
}
func (b *perFileBatch) Commit(context.Context) ([]service.CommittedBlob, error) { return b.done, nil }
func (b *perFileBatch) Abort()                                                  {}

// importCapacity imports the first `records` lines of the manifest into a gateway whose
// ledger commits instantly, with the blob store's batches and without them: the rate
// our code allows, and what batch durability changed.
func (e *benchEnv) importCapacity(b *testing.B, ctl, dir string, records, inflight int) {
	raw, err := os.ReadFile(filepath.Join(dir, "manifest.csv"))
	if err != nil {
		b.Fatal(err)
	}
	lines := bytes.SplitAfterN(raw, []byte("\n"), records+2)
	manifest := filepath.Join(dir, "manifest-capacity.csv")
	if err := os.WriteFile(manifest, bytes.Join(lines[:records+1], nil), 0o600); err != nil {
		b.Fatal(err)
	}
	for i, v := range []struct {
		name  string
		batch bool
	}{{"one fsync pass per batch", true}, {"fsyncs per file", false}} {
		data := filepath.Join(dir, fmt.Sprintf("capacity-%d", i))
		url, keyFile, stop := stubGateway(b, data, v.batch)
		ctx, cancel := context.WithTimeout(context.Background(), importLimit)
		cmd := exec.CommandContext(ctx, ctl, "import", "--gateway", url, "--api-key-file", keyFile,
			"--batch-size", strconv.Itoa(importBatch), "--parallel", strconv.Itoa(inflight), "--import-id", data,
			"--state", filepath.Join(data, "state"), "-o", "json", manifest)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		self0 := procCPU("self")
		t0 := time.Now()
		err = cmd.Run()
		elapsed := time.Since(t0)
		self := procCPU("self") - self0
		cancel()
		stop()
		if err != nil {
			b.Fatalf("import into the stubbed gateway: %v\n%s", err, stderr.String())
		}
		importer := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		s := &runStats{name: "import, ledger stubbed: " + v.name, conc: inflight, ops: records, elapsed: elapsed,
			cpu: self + importer, bytes: int64(records) * importFile}
		s.cpuBy[len(cpuGroups)-1] = self
		s.note = fmt.Sprintf("the gateway (this process) %s and the importer %s of CPU per record; no ledger", ms(self/time.Duration(records)),
			ms(importer/time.Duration(records)))
		if i == 1 {
			s.baseline = "import, ledger stubbed: one fsync pass per batch"
		}
		e.keep(s)
	}
}

// stubGateway serves the gateway's API (real HTTP, multipart, blob store in data) over a
// ledger that commits instantly, on benchStubPort; batch false stores every file with
// its own fsyncs. It returns the URL, a health department API key file and a stop
// function.
func stubGateway(b *testing.B, data string, batch bool) (url, keyFile string, stop func()) {
	kek := make([]byte, 32)
	rand.Read(kek)
	store, err := blob.Open(blob.Options{Dir: filepath.Join(data, "blobs"), KEK: kek, MaxSize: 1 << 20})
	if err != nil {
		b.Fatal(err)
	}
	var blobs service.Blobs = store
	if !batch {
		blobs = perFileBlobs{blobs, store}
	}
	keys, err := identity.OpenKeyStore(filepath.Join(data, "keys.json"))
	if err != nil {
		b.Fatal(err)
	}
	key, _, err := keys.Create(gateway.RoleDepartment, "health", "HealthMSP", "clerk", "capacity")
	if err != nil {
		b.Fatal(err)
	}
	srv, err := api.New(api.Options{Service: service.New(stubLedger{}, blobs, nil, service.Config{}), Keys: keys, MaxUpload: benchHuge})
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", benchStubPort))
	if err != nil {
		b.Fatal(err)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	keyFile = filepath.Join(data, "key")
	if err := os.WriteFile(keyFile, []byte(key), 0o600); err != nil {
		b.Fatal(err)
	}
	return "http://" + ln.Addr().String(), keyFile, func() { hs.Close() }
}
