package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	fabclient "github.com/hyperledger/fabric-gateway/pkg/client"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/network"
)

// anchorBench is the batch-anchoring part of `make bench-import`, on the network and in
// the run of importBench: `edossierctl import --anchor` of `records` files of 1 KiB
// (files through the gateway's bulk blob path) and `--anchor --cid-only` of the same
// manifest, beside the per-record path (`edossierctl import` of a sample of the same
// shape, and importBench's rows) and a raw AnchorBatch of 8,192 generated leaves per
// transaction sent with fabric-gateway (the ledger's own rate). For each it measures the
// ledger bytes added per record: the growth of one peer's municipal block files.
func (e *benchEnv) anchorBench(b *testing.B, ctl, keyFile string, subjects []string, records, inflight int) {
	dir := filepath.Join(e.data, "import-anchor")
	t0 := time.Now()
	manifest := writeAnchorManifest(b, dir, records, subjects)
	sample := filepath.Join(dir, "sample.csv")
	sampleLines := min(records/10, 10_000)
	if err := os.WriteFile(sample, headLines(b, manifest, sampleLines), 0o600); err != nil {
		b.Fatal(err)
	}
	b.Logf("wrote %d files of %d bytes for the anchor import in %s", records, importFile, time.Since(t0).Round(time.Millisecond))
	chain := e.chainDir(b)

	type mode struct {
		name, path string
		lines      int
		args       []string
	}
	modes := []mode{
		{"per-record edossierctl import (sample)", sample, sampleLines, []string{"--batch-size", strconv.Itoa(importBatch), "--import-id", "anchor-bench-per-record"}},
		{"edossierctl import --anchor (files to the blob store)", manifest, records, []string{"--anchor", "--import-id", "anchor-bench-stored"}},
		{"edossierctl import --anchor --cid-only", manifest, records, []string{"--anchor", "--cid-only", "--import-id", "anchor-bench-cid"}},
	}
	var perRecordBytes float64
	var baseName string
	for i, m := range modes {
		args := append([]string{"import", "--gateway", e.url, "--api-key-file", keyFile, "--parallel", strconv.Itoa(inflight),
			"--progress-interval", "5s", "--state", m.path + "." + strconv.Itoa(i) + ".state", "-o", "json"}, m.args...)
		args = append(args, m.path)
		ctx, cancel := context.WithTimeout(context.Background(), importLimit)
		cmd := exec.CommandContext(ctx, ctl, args...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		size0 := dirSize(b, chain)
		cpu0 := e.cpuTime(b)
		start := time.Now()
		err := cmd.Run()
		elapsed := time.Since(start)
		used := e.cpuTime(b).minus(cpu0)
		cancel()
		if err != nil {
			b.Fatalf("%s: %v\n%s", m.name, err, stderr.String())
		}
		var sum struct {
			Imported, Created, Failed, Transactions int
		}
		if err := json.Unmarshal(stdout.Bytes(), &sum); err != nil {
			b.Fatalf("%s summary: %v\n%s", m.name, err, stdout.String())
		}
		if sum.Imported != m.lines || sum.Created != m.lines || sum.Failed != 0 {
			b.Fatalf("%s: summary %+v, want %d records created\n%s", m.name, sum, m.lines, stderr.String())
		}
		time.Sleep(2 * time.Second) // the last block reaches the peer's file
		grown := dirSize(b, chain) - size0
		per := float64(grown) / float64(m.lines)
		importer := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		s := &runStats{name: "anchor: " + m.name, conc: inflight, ops: m.lines, elapsed: elapsed, cpu: used.total() + importer,
			cpuBy: used, bytes: int64(m.lines) * importFile}
		s.note = fmt.Sprintf("%d records in %d transactions; ledger +%d bytes = %.1f bytes per record (one peer's municipal block files); importer CPU %s per record",
			m.lines, sum.Transactions, grown, per, ms(importer/time.Duration(m.lines)))
		if i == 0 {
			perRecordBytes, baseName = per, s.name
		} else {
			s.baseline = baseName
			s.target = ">= 10000 records/s"
			s.met = func(r, _, _ *runStats) bool { return r.rate() >= 10_000 }
			verdict := "met"
			if per >= 64 {
				verdict = "MISSED"
			}
			s.note += fmt.Sprintf(" (per-record path: %.1f, ratio %.3f); target < 64 bytes per record: %s", perRecordBytes, per/perRecordBytes, verdict)
		}
		e.keep(s)
	}
	e.rawAnchor(b, subjects, chain, inflight)
	e.anchorCapacity(b, ctl, manifest, records, inflight)
}

// anchorCapacity runs the two anchored imports of anchorBench against a gateway whose
// ledger commits instantly (stubGateway: real HTTP, multipart, blob store): the rate the
// importer and the gateway allow without Fabric, beside the network rows of the same run.
// The stub decodes each batch (as the chaincode does), so it errs on the slow side.
func (e *benchEnv) anchorCapacity(b *testing.B, ctl, manifest string, records, inflight int) {
	for i, m := range []struct {
		name string
		args []string
	}{{"--anchor --cid-only", []string{"--cid-only"}}, {"--anchor (files to the blob store)", nil}} {
		data := filepath.Join(e.data, fmt.Sprintf("anchor-capacity-%d", i))
		url, keyFile, stop := stubGateway(b, data, true)
		args := append([]string{"import", "--gateway", url, "--api-key-file", keyFile, "--anchor", "--parallel", strconv.Itoa(inflight),
			"--import-id", data, "--state", filepath.Join(data, "state"), "-o", "json"}, m.args...)
		ctx, cancel := context.WithTimeout(context.Background(), importLimit)
		cmd := exec.CommandContext(ctx, ctl, append(args, manifest)...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		self0 := procCPU("self")
		t0 := time.Now()
		err := cmd.Run()
		elapsed := time.Since(t0)
		self := procCPU("self") - self0
		cancel()
		stop()
		if err != nil {
			b.Fatalf("anchored import into the stubbed gateway: %v\n%s", err, stderr.String())
		}
		var sum struct{ Imported, Created, Failed int }
		if err := json.Unmarshal(stdout.Bytes(), &sum); err != nil || sum.Imported != records || sum.Created != records || sum.Failed != 0 {
			b.Fatalf("anchored import into the stubbed gateway: summary %+v (%v), want %d records created\n%s", sum, err, records, stderr.String())
		}
		importer := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
		s := &runStats{name: "anchor, ledger stubbed: import " + m.name, conc: inflight, ops: records, elapsed: elapsed,
			cpu: self + importer, bytes: int64(records) * importFile}
		s.cpuBy[len(cpuGroups)-1] = self
		s.note = fmt.Sprintf("the gateway (this process) %.1f µs and the importer %.1f µs of CPU per record; no ledger",
			float64(self.Nanoseconds())/1e3/float64(records), float64(importer.Nanoseconds())/1e3/float64(records))
		e.keep(s)
	}
}

// rawAnchor sends AnchorBatch transactions of wire.MaxAnchorBatch/2 generated leaves
// straight through fabric-gateway: what the ledger itself does per record.
func (e *benchEnv) rawAnchor(b *testing.B, subjects []string, chain string, inflight int) {
	const leavesPer, txs = 8192, 8
	contract := e.rawHealth.GetNetwork("municipal").GetContractWithName("dossier", "dossier")
	var seq atomic.Uint64
	args := make([]string, txs)
	for t := range args {
		leaves := make([]wire.BatchLeaf, leavesPer)
		for i := range leaves {
			k := seq.Add(1)
			d := make([]byte, 32)
			rand.Read(d)
			leaves[i] = wire.BatchLeaf{RecordID: fmt.Sprintf("raw.%d", i), SubjectID: subjects[int(k)%len(subjects)], Type: benchType,
				CID: wire.CIDFromSHA256(d).String(), Size: importFile, MediaType: "application/octet-stream"}
		}
		id := make([]byte, 8)
		rand.Read(id)
		enc, err := wire.EncodeBatch(&wire.Batch{BatchID: fmt.Sprintf("b-raw-%x", id), Leaves: leaves})
		if err != nil {
			b.Fatal(err)
		}
		args[t] = string(enc)
	}
	size0 := dirSize(b, chain)
	cpu0 := e.cpuTime(b)
	ctx, cancel := context.WithTimeout(context.Background(), importLimit)
	defer cancel()
	elapsed, lat, err := run(ctx, inflight, 0, txs, func(ctx context.Context, _, i int) error {
		return submitAnchor(ctx, contract, args[i])
	})
	if err != nil {
		b.Fatalf("raw AnchorBatch: %v", err)
	}
	used := e.cpuTime(b).minus(cpu0)
	slices.Sort(lat)
	time.Sleep(2 * time.Second)
	grown := dirSize(b, chain) - size0
	s := &runStats{name: fmt.Sprintf("anchor: raw AnchorBatch x%d", leavesPer), conc: inflight, ops: txs * leavesPer, elapsed: elapsed,
		lat: lat, cpu: used.total(), cpuBy: used}
	s.note = fmt.Sprintf("%d transactions of %d leaves, argument %d bytes (%.1f per leaf); ledger +%d bytes = %.1f bytes per record; latency per transaction",
		txs, leavesPer, len(args[0]), float64(len(args[0]))/leavesPer, grown, float64(grown)/float64(txs*leavesPer))
	e.keep(s)
}

func submitAnchor(ctx context.Context, contract *fabclient.Contract, arg string) error {
	p, err := contract.NewProposal("AnchorBatch", fabclient.WithBytesArguments([]byte(arg)))
	if err != nil {
		return err
	}
	tx, err := p.EndorseWithContext(ctx)
	if err != nil {
		return err
	}
	commit, err := tx.SubmitWithContext(ctx)
	if err != nil {
		return err
	}
	st, err := commit.StatusWithContext(ctx)
	if err != nil {
		return err
	}
	if !st.Successful {
		return fmt.Errorf("transaction %s invalid: %s", st.TransactionID, st.Code)
	}
	return nil
}

// chainDir is one peer's block-file folder of channel municipal.
func (e *benchEnv) chainDir(b *testing.B) string {
	for _, o := range e.n.Spec().Organizations {
		d := filepath.Join(e.n.Home(), "data", network.PeerName(o), "ledgersData", "chains", "chains", "municipal")
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			return d
		}
	}
	b.Fatal("no peer block files for channel municipal")
	return ""
}

func dirSize(b *testing.B, dir string) int64 {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// writeAnchorManifest writes n unique files of importFile bytes and a manifest without
// notes (a legacy archive: file, subject, type, media type).
func writeAnchorManifest(b *testing.B, dir string, n int, subjects []string) string {
	filler := make([]byte, importFile)
	rand.Read(filler)
	var m bytes.Buffer
	m.WriteString("file,subject,type,media_type\n")
	for i := range n {
		if i%100 == 0 {
			if err := os.MkdirAll(filepath.Join(dir, "files", strconv.Itoa(i/100)), 0o700); err != nil {
				b.Fatal(err)
			}
		}
		name := fmt.Sprintf("files/%d/%06d.bin", i/100, i)
		copy(filler, fmt.Sprintf("anchor%08d", i))
		if err := os.WriteFile(filepath.Join(dir, name), filler, 0o600); err != nil {
			b.Fatal(err)
		}
		fmt.Fprintf(&m, "%s,%s,%s,application/octet-stream\n", name, subjects[i%len(subjects)], benchType)
	}
	path := filepath.Join(dir, "manifest.csv")
	if err := os.WriteFile(path, m.Bytes(), 0o600); err != nil {
		b.Fatal(err)
	}
	return path
}

// headLines returns the header and the first n data lines of a manifest.
func headLines(b *testing.B, path string, n int) []byte {
	raw, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	lines := bytes.SplitAfterN(raw, []byte("\n"), n+2)
	return bytes.Join(lines[:min(n+1, len(lines))], nil)
}
