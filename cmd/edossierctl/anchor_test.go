package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	fabclient "github.com/hyperledger/fabric-gateway/pkg/client"
	"google.golang.org/grpc/status"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
	"github.com/edossier-city/edossier/gateway/client"
	"github.com/edossier-city/edossier/gateway/proof"
	"github.com/edossier-city/edossier/network/nettest"
)

// anchorBasePort is the network of the batch-anchoring test (ports 25000-25090).
const anchorBasePort = 25000

// legacyLine is one line of a generated legacy manifest.
type legacyLine struct {
	file, subject, typ string
	content            []byte
	bad                bool
}

// writeLegacy writes n files of size bytes and a manifest; bad lists data-line ordinals
// (1-based) that name a missing file.
func writeLegacy(t *testing.T, dir string, n, size int, subjects []string, bad map[int]bool) (string, []legacyLine) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "scans"), 0o700); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("file,subject,type,media_type\n")
	lines := make([]legacyLine, n)
	for i := range lines {
		l := legacyLine{file: fmt.Sprintf("scans/%06d.pdf", i), subject: subjects[i%len(subjects)], typ: "vaccination-record"}
		if bad[i+1] {
			l.file, l.bad = "scans/missing.pdf", true
		} else {
			l.content = bytes.Repeat([]byte{byte(i)}, size)
			copy(l.content, fmt.Sprintf("%%PDF-1.7 legacy record %d of %s\n", i, dir))
			if err := os.WriteFile(filepath.Join(dir, l.file), l.content, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		lines[i] = l
		fmt.Fprintf(&b, "%s,%s,%s,application/pdf\n", l.file, l.subject, l.typ)
	}
	path := filepath.Join(dir, "manifest.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, lines
}

// expectedLeaves rebuilds the leaves of batch k of an import from the manifest alone.
func expectedLeaves(t *testing.T, lines []legacyLine, id string, size, k int) []wire.BatchLeaf {
	var out []wire.BatchLeaf
	for _, l := range lines[k*size : min((k+1)*size, len(lines))] {
		if l.bad {
			continue
		}
		c, n, err := wire.CIDOf(bytes.NewReader(l.content))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, wire.BatchLeaf{RecordID: fmt.Sprintf("%s.%d", id, len(out)), SubjectID: l.subject, Type: l.typ,
			CID: c.String(), Size: n, MediaType: "application/pdf"})
	}
	return out
}

func proofOf(t *testing.T, a *wire.BatchAnchor, leaves []wire.BatchLeaf, i int) wire.BatchProof {
	t.Helper()
	tree, err := wire.NewBatchTree(wire.BatchContext{Channel: "municipal", Chaincode: wire.DossierContract, BatchID: a.BatchID, Issuer: a.Issuer}, leaves)
	if err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(tree.Root()); got != a.Root || a.Size != uint64(len(leaves)) {
		t.Fatalf("batch %s: anchored root %s size %d, the manifest gives %s size %d", a.BatchID, a.Root, a.Size, got, len(leaves))
	}
	p, err := tree.InclusionProof(uint64(i))
	if err != nil {
		t.Fatal(err)
	}
	return wire.BatchProof{BatchID: a.BatchID, Index: uint64(i), Leaf: leaves[i], Proof: wire.HexPath(p)}
}

func problemCode(err error) string {
	var p *client.Problem
	if errors.As(err, &p) {
		return fmt.Sprintf("%d %s", p.Status, p.Code)
	}
	return fmt.Sprint(err)
}

func batchLines(t *testing.T, path string) int {
	b, _ := os.ReadFile(path)
	return strings.Count(string(b), "\nbatch ")
}

// TestImportAnchor, against a real network and gateway: a legacy import in Merkle
// batches of 1,000 (files through the gateway's bulk blob path) is killed with SIGKILL
// and resumed, and every manifest line ends up in exactly one anchored batch; a batch of
// 8,192 is anchored CID-only; records are verified by leaf and proof, revoked,
// superseded and read under a grant (access logged); forged leaves, replays into
// another batch, truncated proofs and a department not accredited for the type are
// refused with stable codes.
func TestImportAnchor(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Fabric network")
	}
	e := startCLIEnv(t, anchorBasePort)
	t.Setenv(envGateway, e.url)
	ctx := context.Background()
	health := &client.Client{BaseURL: e.url, APIKey: e.keys.Departments["health"]}
	civil := &client.Client{BaseURL: e.url, APIKey: e.keys.Departments["civil"]}
	public := &client.Client{BaseURL: e.url}
	subjects := make([]string, 8)
	for i := range subjects {
		id, err := health.Resolve(ctx, "person", personID(700+i))
		if err != nil {
			t.Fatal(err)
		}
		subjects[i] = id
	}

	// 1. 9,000 lines in batches of 1,000, two bad lines; SIGKILL, then resume.
	const n, size = 9000, 1000
	bad := map[int]bool{1500: true, 7001: true}
	dir := filepath.Join(e.dir, "legacy")
	manifest, lines := writeLegacy(t, dir, n, 1024, subjects, bad)
	state := manifest + ".import-state"
	args := []string{"import", "--gateway", e.url, e.as("health"), "--anchor", "--batch-size", fmt.Sprint(size), "--parallel", "2",
		"--progress-interval", "1s", manifest}
	killedAt := e.killImportMidway(t, args, func() int { return batchLines(t, state) }, 2, "batches", 4*time.Minute)
	if killedAt >= n/size {
		t.Fatalf("the import finished before the kill")
	}
	sum, r := e.importJSON(t, args)
	t.Logf("resumed: %+v", sum)
	// Skipped counts the lines of the checkpointed batches' ranges (a bad line there
	// was reported by the first run).
	if sum.Lines != n || sum.Skipped < killedAt*size || sum.Skipped+sum.Imported+len(sum.Bad) != n || sum.Failed != 0 {
		t.Fatalf("resumed run: %+v (killed after %d batches)\n%s", sum, killedAt, r)
	}
	for _, bl := range sum.Bad {
		if !bad[bl.Line-1] {
			t.Fatalf("bad line %+v is not one of %v", bl, bad)
		}
	}
	// Every batch is anchored once, with exactly the manifest's lines of its range: its
	// root and size are those rebuilt from the manifest alone.
	anchors := make([]*wire.BatchAnchor, n/size)
	leaves := make([][]wire.BatchLeaf, n/size)
	for k := range anchors {
		id := anchorBatchID(manifest, size, k)
		a, err := public.GetBatch(ctx, id)
		if err != nil {
			t.Fatalf("batch %d (%s): %v", k, id, err)
		}
		leaves[k] = expectedLeaves(t, lines, id, size, k)
		proofOf(t, a, leaves[k], 0) // checks root and size
		anchors[k] = a
	}
	if _, err := public.GetBatch(ctx, anchorBatchID(manifest, size, n/size)); !strings.HasPrefix(problemCode(err), "404 not_found") {
		t.Fatalf("a batch past the manifest: %v", err)
	}
	// Without the checkpoint the rerun anchors nothing twice: every batch is returned.
	if err := os.Remove(state); err != nil {
		t.Fatal(err)
	}
	sum, r = e.importJSON(t, args)
	if sum.Imported != n-len(bad) || sum.Existing != n-len(bad) || sum.Created != 0 {
		t.Fatalf("rerun without checkpoint: %+v\n%s", sum, r)
	}

	// 2. A batch of 8,192, CID-only (the archive keeps the files).
	dir8 := filepath.Join(e.dir, "legacy8192")
	manifest8, lines8 := writeLegacy(t, dir8, 8192, 64, subjects, nil)
	r = e.ok(t, "import", "--gateway", e.url, e.as("health"), "--anchor", "--cid-only", "-o", "json", manifest8)
	sum = importSummary{}
	if err := json.Unmarshal([]byte(r.stdout), &sum); err != nil || sum.Imported != 8192 || sum.Receipts != 1 {
		t.Fatalf("8192 CID-only: %+v %v\n%s", sum, err, r)
	}
	a8, err := public.GetBatch(ctx, anchorBatchID(manifest8, DefaultAnchorBatch, 0))
	if err != nil {
		t.Fatal(err)
	}
	l8 := expectedLeaves(t, lines8, a8.BatchID, DefaultAnchorBatch, 0)
	br, err := public.VerifyBatchRecord(ctx, proofOf(t, a8, l8, 8191))
	if err != nil || br.Record.Status != wire.StatusActive || br.Record.CID != l8[8191].CID || br.Record.Issuer != a8.Issuer {
		t.Fatalf("verify in the 8192 batch: %+v %v", br, err)
	}

	// 3. Verify by leaf and proof; refusals with stable codes.
	a0, l0 := anchors[0], leaves[0]
	p := proofOf(t, a0, l0, 123)
	br, err = public.VerifyBatchRecord(ctx, p)
	if err != nil || br.Record.Status != wire.StatusActive || br.Record.RecordID != l0[123].RecordID || br.Record.TxID != a0.TxID || br.BatchID != a0.BatchID {
		t.Fatalf("verify: %+v %v", br, err)
	}
	forged := p
	forged.Leaf.SubjectID = subjects[(123+1)%len(subjects)]
	replay := p
	replay.BatchID = anchors[1].BatchID
	truncated := p
	truncated.Proof = p.Proof[:len(p.Proof)-1]
	for name, q := range map[string]wire.BatchProof{"forged leaf": forged, "replayed into another batch": replay, "truncated proof": truncated} {
		if _, err := public.VerifyBatchRecord(ctx, q); problemCode(err) != "422 bad_proof" {
			t.Errorf("%s: %v, want 422 bad_proof", name, problemCode(err))
		}
	}
	// A department not accredited for the type: refused before anything is stored.
	if _, err := civil.AnchorBatch(ctx, client.AnchorInput{BatchID: "b-civil-1", Records: []client.AnchorItem{
		{SubjectID: subjects[0], Type: "vaccination-record", CID: l0[0].CID, Size: l0[0].Size}}}, nil); problemCode(err) != "403 forbidden" {
		t.Errorf("civil anchoring vaccination records: %v", problemCode(err))
	}
	// The chaincode refuses it too, sent past the gateway with fabric-gateway.
	enc, err := wire.EncodeBatch(&wire.Batch{BatchID: "b-civil-2", Leaves: l0[:3]})
	if err != nil {
		t.Fatal(err)
	}
	civilCC := e.n.Gateway(t, "civil", "clerk").GetNetwork("municipal").GetContractWithName("dossier", "dossier")
	if _, err := civilCC.SubmitTransaction("AnchorBatch", string(enc)); chaincodeCode(err) != wire.CodeForbidden {
		t.Errorf("AnchorBatch by civil through fabric-gateway: %v, want forbidden", err)
	}
	// Empty and oversized batches: 400 invalid, nothing stored.
	for name, n := range map[string]int{"empty": 0, "oversized": wire.MaxAnchorBatch + 1} {
		recs := make([]client.AnchorItem, n)
		for i := range recs {
			recs[i] = client.AnchorItem{SubjectID: subjects[0], Type: "vaccination-record", CID: l0[0].CID, Size: 1}
		}
		head, _ := json.Marshal(client.AnchorInput{BatchID: "b-" + name, Records: recs})
		var body bytes.Buffer
		body.WriteString("--x\r\nContent-Disposition: form-data; name=\"batch\"\r\nContent-Type: application/json\r\n\r\n")
		body.Write(head)
		body.WriteString("\r\n--x--\r\n")
		req, _ := health.NewRequest(ctx, "POST", "/v1/batches", &body, "multipart/form-data; boundary=x")
		if _, err := health.Do(req); problemCode(err) != "400 invalid" {
			t.Errorf("%s batch: %v, want 400 invalid", name, problemCode(err))
		}
	}
	// Duplicate batch ID with other records.
	if _, err := health.AnchorBatch(ctx, client.AnchorInput{BatchID: a0.BatchID, Records: []client.AnchorItem{
		{SubjectID: subjects[0], Type: "vaccination-record", CID: l0[0].CID, Size: l0[0].Size}}}, nil); problemCode(err) != "409 conflict" {
		t.Errorf("duplicate batch ID: %v", problemCode(err))
	}

	// 4. Revoke one, supersede another.
	if _, err := civil.RevokeBatchRecord(ctx, p, "issued-in-error"); problemCode(err) != "403 forbidden" {
		t.Errorf("civil revoking health's batch record: %v", problemCode(err))
	}
	rv, err := health.RevokeBatchRecord(ctx, p, "issued-in-error")
	if err != nil || rv.Record.Status != wire.StatusRevoked {
		t.Fatalf("revoke: %+v %v", rv, err)
	}
	if br, err = public.VerifyBatchRecord(ctx, p); err != nil || br.Record.Status != wire.StatusRevoked || br.Record.Reason != "issued-in-error" {
		t.Fatalf("after revoke: %+v %v", br, err)
	}
	p2 := proofOf(t, a0, l0, 200)
	newFile := []byte("%PDF-1.7 corrected vaccination record\n")
	sr, err := health.SupersedeBatchRecord(ctx, p2, client.RecordMeta{SubjectID: l0[200].SubjectID, Type: "vaccination-record"},
		client.FilePart{Body: bytes.NewReader(newFile), Size: int64(len(newFile))})
	if err != nil || sr.Superseded.Record.Status != wire.StatusSuperseded || sr.Record.Supersedes != l0[200].RecordID {
		t.Fatalf("supersede: %+v %v", sr, err)
	}
	if br, err = public.VerifyBatchRecord(ctx, p2); err != nil || br.Record.Status != wire.StatusSuperseded || br.Record.SupersededBy != sr.Record.RecordID {
		t.Fatalf("after supersede: %+v %v", br, err)
	}

	// Trust: a revocation that the issuer's peer did not endorse is invalidated by the
	// batch key's endorsement policy, even when the other organisations endorse it.
	var others []string
	for _, o := range e.n.Spec().Organizations {
		if o.MSPID != a0.Issuer {
			others = append(others, o.MSPID)
		}
	}
	p3 := proofOf(t, a0, l0, 300)
	p3doc, _ := json.Marshal(p3)
	var st *fabclient.Status
	for attempt := 1; ; attempt++ {
		prop, perr := e.n.Gateway(t, "health", "clerk").GetNetwork("municipal").GetContractWithName("dossier", "dossier").
			NewProposal("RevokeBatchRecord", fabclient.WithArguments(string(p3doc), "issued-in-error"), fabclient.WithEndorsingOrganizations(others...))
		if perr != nil {
			t.Fatal(perr)
		}
		// A peer that has not yet committed the supersede above answers differently
		// ("ProposalResponsePayloads do not match"): ask again once it has.
		if st, err = submitAndWait(ctx, prop); err == nil || !strings.Contains(err.Error(), "do not match") || attempt == 20 {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if err == nil || !strings.Contains(err.Error(), "ENDORSEMENT_POLICY_FAILURE") {
		t.Fatalf("revocation endorsed by %v without the issuer: %v (status %+v), want ENDORSEMENT_POLICY_FAILURE", others, err, st)
	}
	if br, err = public.VerifyBatchRecord(ctx, p3); err != nil || br.Record.Status != wire.StatusActive {
		t.Fatalf("after the refused revocation: %+v %v", br, err)
	}

	roots := writeRoots(t, e.n)
	// 4b. Batch records found by CID and by file (the event-fed index holds their
	// leaves), from the index and from the ledger (the index finds the leaf, the
	// chaincode confirms it and gives the status); their proof bundles checked offline.
	type want struct {
		leaf   int
		status string
		ok     bool
	}
	for _, w := range []want{{123, "revoked", false}, {200, "superseded", false}, {8, "verified", true}} {
		for _, src := range []string{"index", "ledger"} {
			v, err := public.VerifyCIDFrom(ctx, l0[w.leaf].CID, src)
			if err != nil || v.Source != src || !v.BatchRecordsSearched || len(v.Records) != 1 || v.Status != w.status || v.Verified != w.ok {
				t.Fatalf("verify leaf %d by CID from %s: %+v %v", w.leaf, src, v, err)
			}
			r := v.Records[0]
			if r.RecordID != l0[w.leaf].RecordID || r.Batch == nil || r.Batch.BatchID != a0.BatchID || r.Batch.Index != uint64(w.leaf) ||
				r.Batch.Root != a0.Root || r.Receipt.TxID != a0.TxID || r.Receipt.Block == 0 || r.Issuer != a0.Issuer || r.IssuerName == "" ||
				r.TypeName == "" || r.Proof == "" {
				t.Fatalf("verify leaf %d from %s: record %+v", w.leaf, src, r)
			}
			if w.status == "revoked" && (r.Reason != "issued-in-error" || r.ReasonName == "") {
				t.Fatalf("revoked batch record from %s: %+v", src, r)
			}
			if w.status == "superseded" && r.SupersededBy != sr.Record.RecordID {
				t.Fatalf("superseded batch record from %s: %+v", src, r)
			}
		}
		// By file with the CLI: exit 0 verified, 3 not.
		file := filepath.Join(dir, lines[w.leaf].file)
		var v struct {
			Status  string `json:"status"`
			Records []struct {
				Batch *struct {
					BatchID string `json:"batchId"`
				} `json:"batch"`
			} `json:"records"`
		}
		r := e.ctl(t, "verify", file, "-o", "json")
		if err := json.Unmarshal([]byte(r.stdout), &v); err != nil || v.Status != w.status || len(v.Records) != 1 || v.Records[0].Batch == nil ||
			v.Records[0].Batch.BatchID != a0.BatchID || (w.ok != (r.code == 0)) || (!w.ok && r.code != 3) {
			t.Fatalf("verify leaf %d by file: %v\n%s", w.leaf, err, r)
		}
		// Its proof bundle: valid offline; exit 0 only for an active record.
		bundle := filepath.Join(e.dir, fmt.Sprintf("leaf-%d.proof.json", w.leaf))
		e.ok(t, "proof", l0[w.leaf].RecordID, e.as("health"), "--out", bundle)
		var rep proof.Report
		r = e.ctl(t, "verify", "--proof", bundle, "--roots", roots, "-o", "json")
		if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || rep.Batch == nil || rep.Batch.BatchID != a0.BatchID ||
			rep.Batch.Index != uint64(w.leaf) || rep.Record.RecordID != l0[w.leaf].RecordID || rep.Record.CID != l0[w.leaf].CID ||
			(w.ok && r.code != 0) || (!w.ok && r.code != 3) {
			t.Fatalf("offline check of leaf %d's bundle: %v\n%s", w.leaf, err, r)
		}
		if wantTxs := map[bool]int{true: 1, false: 2}[w.ok]; len(rep.Endorsers) != wantTxs {
			t.Fatalf("leaf %d's bundle proves %d transactions, want %d", w.leaf, len(rep.Endorsers), wantTxs)
		}
	}
	// A record of the CID-only batch of 8,192, by CID from the index.
	if v, err := public.VerifyCIDFrom(ctx, l8[4095].CID, "index"); err != nil || !v.Verified || len(v.Records) != 1 || v.Records[0].Batch.Index != 4095 {
		t.Fatalf("verify in the 8192 batch by CID: %+v %v", v, err)
	}
	// Corrupted bundles are refused offline (exit 1, proof_refused): a proof hash, the
	// leaf, the leaf replayed under another batch, a truncated proof.
	raw, err := os.ReadFile(filepath.Join(e.dir, "leaf-123.proof.json"))
	if err != nil {
		t.Fatal(err)
	}
	corrupt := map[string]func(b *gateway.ProofBundle){
		"a proof hash": func(b *gateway.ProofBundle) {
			h := []byte(b.Batch.Proof.Proof[0])
			h[0] ^= 1
			b.Batch.Proof.Proof[0] = string(h)
		},
		"the leaf's subject": func(b *gateway.ProofBundle) { b.Batch.Proof.Leaf.SubjectID = subjects[0] },
		"the leaf replayed into batch 1": func(b *gateway.ProofBundle) {
			q := proofOf(t, anchors[1], leaves[1], 123)
			b.Batch.Proof = q
			b.RecordID = q.Leaf.RecordID
		},
		"a truncated proof": func(b *gateway.ProofBundle) { b.Batch.Proof.Proof = b.Batch.Proof.Proof[1:] },
	}
	for name, mutate := range corrupt {
		var b gateway.ProofBundle
		if err := json.Unmarshal(raw, &b); err != nil {
			t.Fatal(err)
		}
		mutate(&b)
		f := filepath.Join(e.dir, "corrupt.proof.json")
		if err := os.WriteFile(f, must(json.Marshal(b)), 0o600); err != nil {
			t.Fatal(err)
		}
		if r := e.ctl(t, "verify", "--proof", f, "--roots", roots); r.code != 1 || !strings.Contains(r.stderr, "proof_refused") {
			t.Errorf("bundle with %s corrupted: want exit 1 proof_refused\n%s", name, r)
		}
	}
	// Ownership checks count batch records: the subject's leaf is proved to the
	// chaincode (in the dossier, logged); another subject's dossier: not in it.
	for _, c := range []struct {
		person int
		in     bool
	}{{700, true}, {701, false}} {
		v, err := health.VerifyFile(ctx, client.FilePart{Body: bytes.NewReader(lines[8].content), Size: int64(len(lines[8].content))}, "person", personID(c.person))
		if err != nil || v.InDossier == nil || *v.InDossier != c.in || v.Verified != c.in || v.CheckReceipt == nil || !v.BatchRecordsSearched ||
			(c.in && (len(v.Records) != 1 || v.Records[0].Batch == nil || v.Records[0].RecordID != l0[8].RecordID)) || (!c.in && v.Status != "not_in_dossier") {
			t.Fatalf("ownership check of a batch record against person %d: %+v %v", c.person, v, err)
		}
	}
	// A record ID that no record has: 404; a batch that does not hold it: 404.
	if _, err := health.RecordProofIn(ctx, l0[8].RecordID, anchors[1].BatchID); problemCode(err) != "404 not_found" {
		t.Errorf("proof of a record in a batch that lacks it: %v", problemCode(err))
	}
	// A record ID in two batches (a batch may name its records' IDs): the proof needs
	// the batch named.
	dupID := l0[8].RecordID
	dupCID, dupSize, _ := wire.CIDOf(strings.NewReader("a document whose batch reuses a record ID"))
	if _, err := health.AnchorBatch(ctx, client.AnchorInput{BatchID: "b-dup-id", Records: []client.AnchorItem{
		{RecordID: dupID, SubjectID: subjects[0], Type: "vaccination-record", CID: dupCID.String(), Size: dupSize}}}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := health.RecordProofIn(ctx, dupID, ""); problemCode(err) != "409 conflict" {
		t.Errorf("proof of a record ID in two batches, none named: %v, want 409 conflict", problemCode(err))
	}
	for _, bid := range []string{"b-dup-id", a0.BatchID} {
		if b, err := health.RecordProofIn(ctx, dupID, bid); err != nil || b.Batch == nil || b.Batch.Proof.BatchID != bid {
			t.Fatalf("proof of %s in %s: %v", dupID, bid, err)
		}
	}

	// 5. Read a batch record under a grant; the access is logged.
	kdir := t.TempDir()
	i := 8 // line 9: subject 0, in batch 0
	subject := l0[i].SubjectID
	keyPath := filepath.Join(kdir, "citizen.key")
	e.ok(t, "keygen", "--out", keyPath, "--subject", subject)
	reqPath := filepath.Join(kdir, "bind.json")
	e.ok(t, "key", "request", "--key", keyPath, "--out", reqPath)
	e.ok(t, "key", "submit", e.as("police"), "--request", reqPath)
	var grant struct {
		Grant wire.GrantState `json:"grant"`
	}
	e.okJSON(t, &grant, "grant", "--key", keyPath, "--grantee", "CivilAffairsMSP", "--types", "vaccination-record",
		"--purpose", "household-registration", "--days", "30")
	pi := proofOf(t, a0, l0, i)
	body, tx, err := civil.ReadBatchContent(ctx, pi, grant.Grant.GrantID, "household-registration")
	if err != nil {
		t.Fatalf("read under grant: %v", err)
	}
	got, _ := io.ReadAll(body)
	body.Close()
	if !bytes.Equal(got, lines[i].content) || tx == "" {
		t.Fatalf("read %d bytes (tx %q), want the file", len(got), tx)
	}
	var log wire.AccessPage
	e.okJSON(t, &log, "access-log", "--key", keyPath)
	if len(log.Entries) == 0 || log.Entries[0].RecordID != l0[i].RecordID || log.Entries[0].TxID != tx || log.Entries[0].Org != "CivilAffairsMSP" {
		t.Fatalf("access log: %+v", log.Entries)
	}
	// The same log from the gateway's index, which says its freshness.
	var ilog struct {
		wire.AccessPage
		Source       string  `json:"source"`
		FreshToBlock *uint64 `json:"freshToBlock"`
	}
	e.okJSON(t, &ilog, "access-log", "--key", keyPath, "--source", "index")
	if ilog.Source != "index" || ilog.FreshToBlock == nil || fmt.Sprint(ilog.Entries) != fmt.Sprint(log.Entries) {
		t.Fatalf("access log from the index: %+v\nledger: %+v", ilog, log.Entries)
	}
	e.fails(t, 2, "--source", "access-log", "--key", keyPath, "--source", "cache")
	// Outside the grant's subject: out of scope; a forged leaf: bad_proof.
	other := proofOf(t, a0, l0, i+1)
	if _, _, err := civil.ReadBatchContent(ctx, other, grant.Grant.GrantID, "household-registration"); problemCode(err) != "403 out_of_scope" {
		t.Errorf("other subject under the grant: %v", problemCode(err))
	}
	pf := pi
	pf.Leaf.Size++
	if _, _, err := civil.ReadBatchContent(ctx, pf, grant.Grant.GrantID, "household-registration"); problemCode(err) != "422 bad_proof" {
		t.Errorf("forged leaf under the grant: %v", problemCode(err))
	}
}

// writeRoots writes the channel organisations' MSP root certificates as <MSP ID>.pem
// (what a verifier keeps for verify --proof).
func writeRoots(t *testing.T, n *nettest.Net) string {
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

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// submitAndWait endorses, submits and waits; an invalidated transaction is an error
// naming its validation code.
func submitAndWait(ctx context.Context, p *fabclient.Proposal) (*fabclient.Status, error) {
	tx, err := p.EndorseWithContext(ctx)
	if err != nil {
		return nil, err
	}
	commit, err := tx.SubmitWithContext(ctx)
	if err != nil {
		return nil, err
	}
	st, err := commit.StatusWithContext(ctx)
	if err != nil {
		return nil, err
	}
	if !st.Successful {
		return st, fmt.Errorf("transaction %s invalid: %s", st.TransactionID, st.Code)
	}
	return st, nil
}

// chaincodeCode is the wire code of a fabric-gateway error (the chaincode's answer is
// in the gRPC status details).
func chaincodeCode(err error) wire.Code {
	if err == nil {
		return ""
	}
	if st, ok := status.FromError(err); ok {
		for _, d := range st.Details() {
			if m, ok := d.(interface{ GetMessage() string }); ok {
				if we, ok := wire.ParseError(m.GetMessage()); ok {
					return we.Code
				}
			}
		}
	}
	return wire.AsError(err).Code
}
