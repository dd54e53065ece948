package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
	"github.com/edossier-city/edossier/gateway/client"
	"github.com/edossier-city/edossier/gateway/index"
	"github.com/edossier-city/edossier/gateway/proof"
	"github.com/edossier-city/edossier/internal/syncbuf"
	"github.com/edossier-city/edossier/network/nettest"
)

// indexBasePort: TestIndexKillRebuildAndProofs uses ports 25500-25589.
const indexBasePort = 25500

// gatewayProc is a gateway run as its own process (so that it can be SIGKILLed).
type gatewayProc struct {
	cmd  *exec.Cmd
	url  string
	logs *syncbuf.Buffer
}

func startGatewayProc(t *testing.T, bin string, args ...string) *gatewayProc {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	p := &gatewayProc{url: "http://" + addr, logs: &syncbuf.Buffer{}}
	p.cmd = exec.Command(bin, append([]string{"-listen", addr, "-logFormat", "text", "-logLevel", "warn", "-verifyRate", "100000", "-verifyBurst", "100000"}, args...)...)
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.cmd.Process.Kill(); p.cmd.Wait() })
	if err := waitReady(http.DefaultClient, p.url, 2*time.Minute, nil); err != nil {
		t.Fatalf("%v\n%s", err, p.logs.String())
	}
	return p
}

// readyIndex is the index part of /readyz.
type readyIndex struct {
	Index struct {
		Heights map[string]uint64 `json:"heights"`
		Lag     map[string]uint64 `json:"lag"`
	} `json:"index"`
}

func readyz(t *testing.T, url string) (int, readyIndex) {
	t.Helper()
	resp, err := http.Get(url + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r readyIndex
	json.NewDecoder(resp.Body).Decode(&r)
	return resp.StatusCode, r
}

// rootsDir writes the channel organisations' MSP root certificates as <MSP ID>.pem.
func rootsDir(t *testing.T, n *nettest.Net) string {
	t.Helper()
	dir := t.TempDir()
	for _, o := range n.Profile.Organizations {
		b, err := os.ReadFile(filepath.Join(n.Home(), "orgs", o.Name, "msp", "cacerts", "ca.pem"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, o.MSPID+".pem"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func randomSubject() string {
	b := make([]byte, 32)
	rand.Read(b)
	return "p-" + strings.ToLower(b32enc(b))[:32]
}

func b32enc(b []byte) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz234567"
	var out []byte
	for _, c := range b {
		out = append(out, alphabet[c%32])
	}
	return string(out)
}

// TestIndexKillRebuildAndProofs: the gateway follows both channels into its index
// while a department appends straight to Fabric; the gateway is SIGKILLed twice while
// following, restarted, and its index catches up with no gap and no duplicate; a
// rebuild from the ledger alone equals the live index; verification by CID reads the
// index and says the block it is fresh to; proof bundles of an active and a revoked
// record pass the offline verifier (edossierctl verify --proof), and a bundle with a
// flipped byte or checked against another organisation's root is refused. Every
// seventh write of the department is a batch anchored straight to Fabric: the index
// holds every leaf (from the transactions' arguments) and the status of a batch
// record revoked through the gateway, and the rebuild equals the live index with them.
// The subject's access log and grants from the index equal the chaincode's.
func TestIndexKillRebuildAndProofs(t *testing.T) {
	n := nettest.Start(t, nettest.Options{BasePort: indexBasePort})
	bin := filepath.Join(t.TempDir(), "edossier-gateway")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	ctl, err := nettest.Binary(n.Root, "edossierctl")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "gateway")
	keysFile := filepath.Join(dir, "keys.json")
	common := []string{"-connectionFile", n.ConnectionFile(), "-dataDir", dataDir,
		"-kekFile", filepath.Join(dir, "secrets", "kek.hex"), "-subjectSecretFile", filepath.Join(dir, "secrets", "subject.hex")}
	gw := startGatewayProc(t, bin, append(common, "-demoKeysFile", keysFile)...)
	var keys DemoKeys
	if b, err := os.ReadFile(keysFile); err != nil || json.Unmarshal(b, &keys) != nil {
		t.Fatalf("demo keys: %v", err)
	}
	ctx := t.Context()

	// A department writes straight to Fabric, independent of the gateway.
	raw := n.Gateway(t, "health", "clerk")
	dossier := raw.GetNetwork("municipal").GetContractWithName("dossier", "dossier")
	var written sync.Map // record ID -> CID
	var appended atomic.Int64
	appendRaw := func(i int) error {
		body := []byte(fmt.Sprintf("raw document %d %d", i, time.Now().UnixNano()))
		c, _, err := wire.CIDOf(bytes.NewReader(body))
		if err != nil {
			return err
		}
		req := wire.AppendRequest{RecordID: fmt.Sprintf("r-idx-%05d", i), SubjectID: randomSubject(), Type: "birth-medical-certificate",
			CID: c.String(), Size: int64(len(body)), MediaType: "text/plain"}
		arg, _ := json.Marshal(req)
		if _, err := dossier.SubmitTransaction("AppendRecord", string(arg)); err != nil {
			return err
		}
		written.Store(req.RecordID, req.CID)
		appended.Add(1)
		return nil
	}
	// Every seventh write is a batch of 16 records anchored straight to Fabric (its
	// leaves travel in the transaction's argument only).
	var batches sync.Map // batch ID -> []wire.BatchLeaf
	anchorRaw := func(i int) error {
		b := &wire.Batch{BatchID: fmt.Sprintf("bt-idx-%05d", i)}
		for j := 0; j < 16; j++ {
			body := []byte(fmt.Sprintf("batch document %d/%d %d", i, j, time.Now().UnixNano()))
			c, _, err := wire.CIDOf(bytes.NewReader(body))
			if err != nil {
				return err
			}
			b.Leaves = append(b.Leaves, wire.BatchLeaf{RecordID: fmt.Sprintf("%s.%d", b.BatchID, j), SubjectID: randomSubject(),
				Type: "birth-medical-certificate", CID: c.String(), Size: int64(len(body)), MediaType: "text/plain"})
		}
		enc, err := wire.EncodeBatch(b)
		if err != nil {
			return err
		}
		if _, err := dossier.SubmitTransaction("AnchorBatch", string(enc)); err != nil {
			return err
		}
		batches.Store(b.BatchID, b.Leaves)
		return nil
	}
	wctx, stopWriter := context.WithCancel(ctx)
	writerDone := make(chan error, 1)
	go func() {
		for i := 0; ; i++ {
			if wctx.Err() != nil {
				writerDone <- nil
				return
			}
			write := appendRaw
			if i%7 == 6 {
				write = anchorRaw
			}
			if err := write(i); err != nil && wctx.Err() == nil {
				writerDone <- err
				return
			}
		}
	}()

	// Kill the gateway twice while it follows the writer's blocks.
	for round := 0; round < 2; round++ {
		time.Sleep(1500 * time.Millisecond)
		before := appended.Load()
		if err := gw.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		gw.cmd.Wait()
		time.Sleep(700 * time.Millisecond) // blocks commit while no gateway follows
		gw = startGatewayProc(t, bin, common...)
		t.Logf("round %d: killed after %d appends, restarted", round, before)
	}
	time.Sleep(time.Second)
	stopWriter()
	if err := <-writerDone; err != nil {
		t.Fatalf("writer: %v", err)
	}

	// Through the gateway: a record to revoke, an ownership check (an access entry on
	// the data-sharing channel).
	health := &client.Client{BaseURL: gw.url, APIKey: keys.Departments["health"]}
	subject, err := health.Resolve(ctx, "person", personID(77))
	if err != nil {
		t.Fatal(err)
	}
	doc := []byte("certificate kept by a bank")
	kept, err := health.AppendRecord(ctx, subject, client.RecordMeta{Type: "birth-medical-certificate", MediaType: "text/plain"},
		client.FilePart{Body: bytes.NewReader(doc), Size: int64(len(doc))})
	if err != nil {
		t.Fatal(err)
	}
	gone, err := health.AppendRecord(ctx, subject, client.RecordMeta{Type: "birth-medical-certificate", MediaType: "text/plain"},
		client.FilePart{Body: strings.NewReader("issued in error"), Size: 15})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := health.RevokeRecord(ctx, gone.Record.RecordID, "issued-in-error"); err != nil {
		t.Fatal(err)
	}
	if _, err := health.VerifyFile(ctx, client.FilePart{Body: bytes.NewReader(doc), Size: int64(len(doc))}, "person", personID(77)); err != nil {
		t.Fatal(err)
	}
	// A batch record revoked through the gateway (its sparse status key).
	var revokedLeaf wire.BatchLeaf
	var revokedBatch string
	batches.Range(func(k, v any) bool {
		revokedBatch, revokedLeaf = k.(string), v.([]wire.BatchLeaf)[5]
		a, err := health.GetBatch(ctx, revokedBatch)
		if err != nil {
			t.Fatal(err)
		}
		tree, err := wire.NewBatchTree(wire.BatchContext{Channel: "municipal", Chaincode: wire.DossierContract, BatchID: a.BatchID, Issuer: a.Issuer}, v.([]wire.BatchLeaf))
		if err != nil {
			t.Fatal(err)
		}
		path, _ := tree.InclusionProof(5)
		if _, err := health.RevokeBatchRecord(ctx, wire.BatchProof{BatchID: a.BatchID, Index: 5, Leaf: revokedLeaf, Proof: wire.HexPath(path)}, "issued-in-error"); err != nil {
			t.Fatal(err)
		}
		return false
	})
	if revokedBatch == "" {
		t.Fatal("the writer anchored no batch")
	}

	// The index catches up with both channels.
	heights := map[string]uint64{}
	for _, ch := range []string{"municipal", "datashare"} {
		h, err := nettest.Height(raw, ch)
		if err != nil {
			t.Fatal(err)
		}
		heights[ch] = h
	}
	deadline := time.Now().Add(time.Minute)
	for {
		code, r := readyz(t, gw.url)
		if code == 200 && r.Index.Heights["municipal"] >= heights["municipal"] && r.Index.Heights["datashare"] >= heights["datashare"] && r.Index.Lag["municipal"] == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("index did not catch up with %v: %d %+v\n%s", heights, code, r, gw.logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("%d records appended straight to Fabric; ledger heights %v", appended.Load(), heights)

	// Verification by CID reads the index and names its freshness; the switch asks
	// the chaincode; both agree.
	anon := &client.Client{BaseURL: gw.url}
	n0 := 0
	written.Range(func(k, v any) bool {
		n0++
		if n0 > 20 {
			return false
		}
		var fromIndex, fromLedger struct {
			Verified     bool    `json:"verified"`
			Source       string  `json:"source"`
			FreshToBlock *uint64 `json:"freshToBlock"`
			Records      []struct {
				RecordID string `json:"recordId"`
			} `json:"records"`
		}
		if err := anon.DoJSON(ctx, http.MethodGet, "/v1/verify/"+v.(string), nil, &fromIndex); err != nil {
			t.Fatal(err)
		}
		if err := anon.DoJSON(ctx, http.MethodGet, "/v1/verify/"+v.(string)+"?source=ledger", nil, &fromLedger); err != nil {
			t.Fatal(err)
		}
		if !fromIndex.Verified || fromIndex.Source != "index" || fromIndex.FreshToBlock == nil || *fromIndex.FreshToBlock+1 < heights["municipal"] ||
			len(fromIndex.Records) != 1 || fromIndex.Records[0].RecordID != k.(string) || fromLedger.Source != "ledger" || !fromLedger.Verified {
			t.Fatalf("verify %s: index %+v, ledger %+v", k, fromIndex, fromLedger)
		}
		return true
	})

	// No gap, no duplicate: every block of each channel once, and every record the
	// writer got acknowledged is in the index.
	live, err := index.OpenSQLite(ctx, filepath.Join(dataDir, "index.db"), index.DefaultNamespaces)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	var liveDump bytes.Buffer
	if err := live.Dump(ctx, &liveDump); err != nil {
		t.Fatal(err)
	}
	seen := map[string]uint64{}
	records := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(liveDump.Bytes()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		switch f[0] {
		case "block":
			var num uint64
			fmt.Sscan(f[2], &num)
			if num != seen[f[1]] {
				t.Fatalf("%s: block %d where %d was expected (gap or duplicate)", f[1], num, seen[f[1]])
			}
			seen[f[1]]++
		case "record":
			records[f[1]] = true
		}
	}
	if seen["municipal"] < heights["municipal"] || seen["datashare"] < heights["datashare"] {
		t.Fatalf("index blocks %v, ledger heights %v", seen, heights)
	}
	missing := 0
	written.Range(func(k, _ any) bool {
		if !records[k.(string)] {
			missing++
		}
		return true
	})
	if missing > 0 {
		t.Fatalf("%d acknowledged records missing from the index", missing)
	}
	// Every acknowledged batch is in the index with all its leaves, the revoked
	// record with its status; verification by CID finds batch records in the index.
	nb := 0
	batches.Range(func(k, v any) bool {
		nb++
		a, leaves, err := live.BatchLeaves(ctx, k.(string))
		if err != nil || a == nil || len(leaves) != 16 || leaves[3] != v.([]wire.BatchLeaf)[3] {
			t.Fatalf("batch %s in the index: %+v, %d leaves, %v", k, a, len(leaves), err)
		}
		return true
	})
	if !bytes.Contains(liveDump.Bytes(), []byte("bstatus\t"+revokedBatch+"\t5\t")) {
		t.Fatalf("the revoked batch record's status is not in the index")
	}
	for cid, st := range map[string]string{revokedLeaf.CID: "revoked"} {
		var v struct {
			Status  string `json:"status"`
			Source  string `json:"source"`
			Records []struct {
				RecordID string `json:"recordId"`
			} `json:"records"`
		}
		if err := anon.DoJSON(ctx, http.MethodGet, "/v1/verify/"+cid+"?source=index", nil, &v); err != nil || v.Status != st || v.Source != "index" ||
			len(v.Records) != 1 || v.Records[0].RecordID != revokedLeaf.RecordID {
			t.Fatalf("verify the revoked batch record from the index: %+v %v", v, err)
		}
	}
	t.Logf("%d batches anchored straight to Fabric, all in the index", nb)

	// The subject's access log and grants from the index equal the chaincode's answer
	// (the operator reads them), and say the block they are fresh to.
	op := &client.Client{BaseURL: gw.url, APIKey: keys.Operator}
	for _, route := range []string{"access-log", "grants"} {
		var fromLedger, fromIndex map[string]any
		path := "/v1/dossiers/" + subject + "/" + route
		if err := op.DoJSON(ctx, http.MethodGet, path, nil, &fromLedger); err != nil {
			t.Fatal(err)
		}
		if err := op.DoJSON(ctx, http.MethodGet, path+"?source=index", nil, &fromIndex); err != nil {
			t.Fatal(err)
		}
		fresh, _ := fromIndex["freshToBlock"].(float64)
		if fromIndex["source"] != "index" || uint64(fresh)+1 < heights["datashare"] {
			t.Fatalf("%s from the index: %+v", route, fromIndex)
		}
		items := map[string]string{"access-log": "entries", "grants": "grants"}[route]
		a, _ := json.Marshal(fromLedger[items])
		b, _ := json.Marshal(fromIndex[items])
		if !bytes.Equal(a, b) || (route == "access-log" && len(fromIndex[items].([]any)) != 1) {
			t.Fatalf("%s: ledger %s, index %s", route, a, b)
		}
		var p *client.Problem
		if err := op.DoJSON(ctx, http.MethodGet, path+"?source=cache", nil, &fromIndex); !errors.As(err, &p) || p.Status != http.StatusBadRequest || p.Code != "invalid" {
			t.Fatalf("%s?source=cache: %v", route, err)
		}
	}

	// Rebuild from the ledger alone into a fresh file: equal to the live index.
	rebuilt := filepath.Join(dir, "rebuilt.db")
	out, err := exec.Command(bin, append([]string{"rebuild-index", "-indexFile", rebuilt}, common...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("rebuild-index: %v\n%s", err, out)
	}
	t.Logf("%s", bytes.TrimSpace(out))
	rb, err := index.OpenSQLite(ctx, rebuilt, index.DefaultNamespaces)
	if err != nil {
		t.Fatal(err)
	}
	defer rb.Close()
	var rebuiltDump bytes.Buffer
	if err := rb.Dump(ctx, &rebuiltDump); err != nil {
		t.Fatal(err)
	}
	liveDump.Reset()
	live.Dump(ctx, &liveDump)
	if !bytes.Equal(liveDump.Bytes(), rebuiltDump.Bytes()) {
		t.Fatalf("rebuilt index differs from the live one (%d vs %d bytes)", rebuiltDump.Len(), liveDump.Len())
	}
	if out, err := exec.Command(bin, append([]string{"rebuild-index", "-indexFile", rebuilt}, common...)...).CombinedOutput(); err == nil {
		t.Fatalf("rebuild into a non-empty index succeeded: %s", out)
	}

	// Proofs: fetched through the gateway and the CLI, checked offline.
	roots := rootsDir(t, n)
	for _, c := range []struct {
		id     string
		exit   int
		status string
	}{{kept.Record.RecordID, 0, wire.StatusActive}, {gone.Record.RecordID, 3, wire.StatusRevoked}} {
		file := filepath.Join(dir, c.id+".proof.json")
		cmd := exec.Command(ctl, "proof", c.id, "--out", file, "--gateway", gw.url, "--api-key", keys.Departments["health"])
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("edossierctl proof: %v\n%s", err, out)
		}
		cmd = exec.Command(ctl, "verify", "--proof", file, "--roots", roots, "-o", "json")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, _ := cmd.Output()
		if code := cmd.ProcessState.ExitCode(); code != c.exit {
			t.Fatalf("verify --proof %s: exit %d, want %d\n%s\n%s", c.id, code, c.exit, out, stderr.String())
		}
		var rep proof.Report
		if err := json.Unmarshal(out, &rep); err != nil || rep.Record.Status != c.status || len(rep.Endorsers[0]) < 3 || len(rep.Orderers[0]) == 0 || len(rep.Endorsers) != len(b0(t, file).Transactions) {
			t.Fatalf("report %s: %+v %v", out, rep, err)
		}
		var b gateway.ProofBundle
		raw, _ := os.ReadFile(file)
		json.Unmarshal(raw, &b)
		if c.status == wire.StatusRevoked && len(b.Transactions) != 2 {
			t.Fatalf("a revoked record's bundle has %d transactions", len(b.Transactions))
		}
		// A flipped byte in the block header, the signatures, the envelope, the record.
		for i, mutate := range []func(b *gateway.ProofBundle){
			func(b *gateway.ProofBundle) { b.Transactions[0].Header[len(b.Transactions[0].Header)-1] ^= 1 },
			func(b *gateway.ProofBundle) { b.Transactions[0].Signatures[len(b.Transactions[0].Signatures)-1] ^= 1 },
			func(b *gateway.ProofBundle) { d := b.Transactions[0].Data[b.Transactions[0].TxIndex]; d[len(d)/2] ^= 1 },
			func(b *gateway.ProofBundle) { b.RecordValue[len(b.RecordValue)-3] ^= 1 },
		} {
			var bad gateway.ProofBundle
			json.Unmarshal(raw, &bad)
			mutate(&bad)
			if _, err := proof.Verify(&bad, mustRoots(t, roots)); err == nil {
				t.Fatalf("corruption %d of %s accepted", i, c.id)
			}
		}
		badFile := filepath.Join(dir, "bad.json")
		os.WriteFile(badFile, raw[:len(raw)/2], 0o644)
		cmd = exec.Command(ctl, "verify", "--proof", badFile, "--roots", roots)
		if out, _ := cmd.CombinedOutput(); cmd.ProcessState.ExitCode() != 1 || !strings.Contains(string(out), "proof_refused") {
			t.Fatalf("truncated proof: exit %d\n%s", cmd.ProcessState.ExitCode(), out)
		}
	}
	// The orderer's signature checked against another organisation's root.
	swapped := t.TempDir()
	for _, o := range n.Profile.Organizations {
		src := o.MSPID
		if o.MSPID == "OperatorMSP" {
			src = "CivilAffairsMSP"
		}
		b, _ := os.ReadFile(filepath.Join(roots, src+".pem"))
		os.WriteFile(filepath.Join(swapped, o.MSPID+".pem"), b, 0o644)
	}
	cmd := exec.Command(ctl, "verify", "--proof", filepath.Join(dir, kept.Record.RecordID+".proof.json"), "--roots", swapped)
	if out, _ := cmd.CombinedOutput(); cmd.ProcessState.ExitCode() != 1 || !strings.Contains(string(out), "proof_refused") {
		t.Fatalf("proof against a swapped root: exit %d\n%s", cmd.ProcessState.ExitCode(), out)
	}
	// Anonymous callers get no proof.
	var p *client.Problem
	if _, err := anon.RecordProof(ctx, kept.Record.RecordID); !errors.As(err, &p) || p.Status != http.StatusUnauthorized {
		t.Fatalf("anonymous proof: %v", err)
	}
}

func b0(t *testing.T, file string) *gateway.ProofBundle {
	t.Helper()
	var b gateway.ProofBundle
	raw, err := os.ReadFile(file)
	if err != nil || json.Unmarshal(raw, &b) != nil {
		t.Fatalf("bundle %s: %v", file, err)
	}
	return &b
}

func mustRoots(t *testing.T, dir string) proof.Roots {
	t.Helper()
	r, err := proof.LoadRoots(dir)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
