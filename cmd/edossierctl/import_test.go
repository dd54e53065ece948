package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway/client"
	"github.com/edossier-city/edossier/gateway/service"
)

// importBasePort is the network of the import test (ports 24600-24800 are its).
const importBasePort = 24600

// Unit tests against a fake gateway (no network).

// fakeBatchGateway answers the registry and bulk appends like the gateway: a record per
// idempotency key, created once; it can refuse a record type (403) and be unavailable
// for the first calls (503).
type fakeBatchGateway struct {
	mu          sync.Mutex
	records     map[string]string // idempotency key -> note
	calls       int
	unavailable int    // answer 503 to this many calls first
	forbidden   string // record type refused with 403
	invalid     string // note refused with 400
}

func (g *fakeBatchGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	problem := func(status int, code, detail string) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]any{"status": status, "code": code, "title": http.StatusText(status), "detail": detail})
	}
	if r.URL.Path == "/v1/admin/registry" {
		json.NewEncoder(w).Encode(service.Registry{RecordTypes: []wire.RecordType{{Code: "scan"}, {Code: "other"}, {Code: "refused"}}})
		return
	}
	g.mu.Lock()
	g.calls++
	down := g.calls <= g.unavailable
	g.mu.Unlock()
	_, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	mr := multipart.NewReader(r.Body, params["boundary"])
	p, err := mr.NextPart()
	if err != nil {
		problem(400, "invalid", "no manifest")
		return
	}
	var m struct{ Records []service.BatchItem }
	if err := json.NewDecoder(p).Decode(&m); err != nil {
		problem(400, "invalid", err.Error())
		return
	}
	for range m.Records {
		p, err := mr.NextPart()
		if err != nil {
			problem(400, "invalid", "file part missing")
			return
		}
		io.Copy(io.Discard, p)
	}
	if down {
		problem(503, "unavailable", "the ledger is unavailable")
		return
	}
	for i, it := range m.Records {
		if it.Type == g.forbidden {
			problem(403, "forbidden", "HealthMSP is not accredited to issue "+it.Type+" records")
			return
		}
		if it.Note == g.invalid {
			problem(400, "invalid", fmt.Sprintf("records[%d]: bad note", i))
			return
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	res := service.BatchResult{Count: len(m.Records)}
	for _, it := range m.Records {
		_, had := g.records[it.IdempotencyKey]
		g.records[it.IdempotencyKey] = it.Note
		res.Records = append(res.Records, service.BatchRecord{File: it.File, RecordID: "r-" + it.IdempotencyKey, Created: !had})
		if !had {
			res.Created++
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(201)
	json.NewEncoder(w).Encode(res)
}

// writeManifest writes n small files and a CSV manifest naming them, plus extra lines.
func writeManifest(t *testing.T, dir string, n int, extra ...string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("file,subject,type,note\n")
	if err := os.MkdirAll(filepath.Join(dir, "files"), 0o700); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		name := fmt.Sprintf("files/%05d.pdf", i)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(fmt.Sprintf("%%PDF-1.7 scan %d of %s", i, dir)), 0o600); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s,%s,scan,Scan %d\n", name, fakeSubject(i%7), i)
	}
	for _, l := range extra {
		b.WriteString(l + "\n")
	}
	path := filepath.Join(dir, "manifest.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// fakeSubject is a valid subject ID (pseudonym form) for the fake gateway's tests.
func fakeSubject(i int) string {
	return "p-" + strings.Map(func(r rune) rune { return 'a' + (r - '0') }, fmt.Sprintf("%032d", i))
}

// TestImportRefusesRawIDNumbers: a manifest line naming an ID number or credit code as
// its subject is refused locally (nothing about it is sent), with a message that does
// not repeat the number, and the import exits 1; the other lines are imported.
func TestImportRefusesRawIDNumbers(t *testing.T) {
	const rawID, rawCredit = "110101202611201235", "91350100M000100Y43"
	dir := t.TempDir()
	manifest := writeManifest(t, dir, 3,
		"files/00001.pdf,"+rawID+",scan,Birth certificate",            // line 5
		"files/00002.pdf,"+strings.ToLower(rawCredit)+",scan,Licence", // line 6
	)
	g := &fakeBatchGateway{records: map[string]string{}}
	srv := httptest.NewServer(g)
	defer srv.Close()
	sum, r := runImportJSON(t, srv.URL, manifest)
	if r.code != 1 {
		t.Fatalf("want exit 1:\n%s", r)
	}
	if sum.Imported != 3 || sum.RawIDNumbers != 2 || len(sum.Bad) != 2 || sum.Bad[0].Line != 5 || sum.Bad[1].Line != 6 {
		t.Fatalf("summary %+v\n%s", sum, r)
	}
	for _, b := range sum.Bad {
		if !strings.Contains(b.Reason, "ID number or credit code") || !strings.Contains(b.Reason, "resolve") {
			t.Fatalf("bad line reason %q", b.Reason)
		}
	}
	for _, out := range []string{r.stdout, r.stderr} {
		if strings.Contains(out, rawID) || strings.Contains(strings.ToUpper(out), rawCredit) {
			t.Fatalf("the output repeats the number:\n%s", r)
		}
	}
	if !strings.Contains(r.stderr, "resolve them to subject IDs first") {
		t.Fatalf("no final error:\n%s", r)
	}
	// --strict: nothing is sent.
	g.calls = 0
	_, r = runImportJSON(t, srv.URL, "--strict", "--state", filepath.Join(dir, "strict.state"), manifest)
	if r.code != 1 || g.calls != 0 || strings.Contains(r.stderr, rawID) {
		t.Fatalf("strict: calls %d\n%s", g.calls, r)
	}
}

func runImportJSON(t *testing.T, url string, args ...string) (importSummary, result) {
	t.Helper()
	var out, errOut bytes.Buffer
	full := append([]string{"import", "--gateway", url, "--api-key", "k", "-o", "json", "--progress-interval", "0"}, args...)
	code := runWith(context.Background(), full, &out, &errOut)
	r := result{args: full, code: code, stdout: out.String(), stderr: errOut.String()}
	var sum importSummary
	if out.Len() > 0 {
		if err := json.Unmarshal(out.Bytes(), &sum); err != nil {
			t.Fatalf("decoding the summary: %v\n%s", err, r)
		}
	}
	return sum, r
}

func TestImportAgainstFakeGateway(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "adir"), 0o700); err != nil {
		t.Fatal(err)
	}
	manifest := writeManifest(t, dir, 23,
		"files/missing.pdf,p-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab,scan,Missing file", // line 25
		"files/00001.pdf,p-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab,no-such-type,Bad",    // line 26: unknown type
		"adir,p-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab,scan,A folder",                  // line 27: not a file
		"files/00002.pdf,p-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab,scan",                // line 28: a field short
		"files/00003.pdf,p-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab,refused,Refused",     // line 29: 403 for its type
		"files/00004.pdf,p-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab,scan,Rejected",       // line 30: 400 for itself
		`"files/00005.pdf","p-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab","scan","A note`,  // line 31: unterminated quote
	)
	wantBad := map[int]string{25: "missing.pdf", 26: "not defined", 27: "not a regular file", 28: "malformed CSV",
		29: "not accredited", 30: "bad note", 31: "malformed CSV"}
	g := &fakeBatchGateway{records: map[string]string{}, unavailable: 2, forbidden: "refused", invalid: "Rejected"}
	srv := httptest.NewServer(g)
	defer srv.Close()

	sum, r := runImportJSON(t, srv.URL, "--batch-size", "4", "--parallel", "3", manifest)
	if r.code != 0 {
		t.Fatalf("want exit 0:\n%s", r)
	}
	if sum.Imported != 23 || sum.Created != 23 || sum.Existing != 0 || sum.Skipped != 0 || sum.Failed != 0 || len(sum.Bad) != len(wantBad) {
		t.Fatalf("summary %+v\n%s", sum, r)
	}
	for _, b := range sum.Bad {
		if !strings.Contains(b.Reason, wantBad[b.Line]) {
			t.Errorf("line %d: reason %q, want it to mention %q", b.Line, b.Reason, wantBad[b.Line])
		}
		if !strings.Contains(r.stderr, fmt.Sprintf("line %d: ", b.Line)) {
			t.Errorf("line %d not reported on stderr:\n%s", b.Line, r.stderr)
		}
	}
	if len(g.records) != 23 {
		t.Fatalf("gateway holds %d records, want 23", len(g.records))
	}

	// A second run skips every committed line through the checkpoint, without looking
	// at its file again.
	first := filepath.Join(dir, "files/00000.pdf")
	saved, _ := os.ReadFile(first)
	os.Remove(first)
	sum, r = runImportJSON(t, srv.URL, manifest)
	if r.code != 0 || sum.Skipped != 23 || sum.Imported != 0 || len(sum.Bad) != len(wantBad) {
		t.Fatalf("second run: %+v\n%s", sum, r)
	}
	os.WriteFile(first, saved, 0o600)
	// Without the checkpoint the ledger answers: every record exists, none is added.
	if err := os.Remove(manifest + ".import-state"); err != nil {
		t.Fatal(err)
	}
	sum, r = runImportJSON(t, srv.URL, manifest)
	if r.code != 0 || sum.Imported != 23 || sum.Existing != 23 || sum.Created != 0 || len(g.records) != 23 {
		t.Fatalf("run without checkpoint: %+v, gateway %d records\n%s", sum, len(g.records), r)
	}
	// Another import identity is another set of records.
	sum, r = runImportJSON(t, srv.URL, "--import-id", "archive-2", "--state", filepath.Join(dir, "other.state"), manifest)
	if r.code != 0 || sum.Created != 23 || len(g.records) != 46 {
		t.Fatalf("other identity: %+v, gateway %d records\n%s", sum, len(g.records), r)
	}

	// --strict checks everything first and sends nothing.
	calls := g.calls
	sum, r = runImportJSON(t, srv.URL, "--strict", "--import-id", "strict", manifest)
	if r.code != 1 || g.calls != calls || len(sum.Bad) != 5 { // 29 and 30 are only refused by the gateway
		t.Fatalf("strict: %+v, %d calls\n%s", sum, g.calls-calls, r)
	}

	// A gateway that stays unavailable: the batches fail, nothing is counted imported.
	g.unavailable = 1 << 30
	sum, r = runImportJSON(t, srv.URL, "--import-id", "down", "--attempts", "2", "--batch-size", "10", manifest)
	if r.code != 1 || sum.Imported != 0 || sum.Failed != 25 || strings.Contains(r.stderr, "another import") {
		t.Fatalf("gateway down: %+v\n%s", sum, r)
	}
}

func TestManifestParsing(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	read := func(path string) []manifestLine {
		m, err := openManifest(path, "auto")
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		var out []manifestLine
		for {
			l, err := m.next()
			if err == io.EOF {
				return out
			}
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, l)
		}
	}
	// CSV: columns in any order, quoted fields over two lines keep line numbers right.
	lines := read(write("a.csv", "note,type,file,subject,valid_until\n\"Two\nlines\",t,f1,s,\nOne,t,f2,s,2030-01-01T00:00:00Z\n"))
	if len(lines) != 2 || lines[0].line != 2 || lines[1].line != 4 || lines[0].fields != [6]string{"f1", "s", "t", "Two\nlines", "", ""} ||
		lines[1].fields[4] != "2030-01-01T00:00:00Z" {
		t.Fatalf("csv lines %+v", lines)
	}
	for _, bad := range []string{"file,subject\n", "file,subject,type,title\n", "file,subject,type,note,colour\n", "file,file,subject,type,note\n"} {
		if _, err := openManifest(write("bad.csv", bad), "csv"); err == nil {
			t.Errorf("header %q accepted", bad)
		}
	}
	// NDJSON, recognised by content; blank lines are skipped, line numbers kept.
	lines = read(write("m.txt", `{"file":"f1","subject":"s","type":"t","note":"a"}`+"\n\n"+`{"file":"f2","colour":"red"}`+"\n"+`{"file":`+"\n"))
	if len(lines) != 3 || lines[0].line != 1 || lines[0].err != nil || lines[1].line != 3 || lines[1].err == nil || lines[2].line != 4 || lines[2].err == nil {
		t.Fatalf("ndjson lines %+v", lines)
	}
	// Keys: stable, and different for another line number, content or identity.
	l := manifestLine{line: 7, fields: [6]string{"f", "s", "t", "title"}}
	k := lineKey("id", l)
	other := l
	other.line = 8
	changed := l
	changed.fields[3] = "title!"
	if k != lineKey("id", l) || k == lineKey("id", other) || k == lineKey("id", changed) || k == lineKey("id2", l) || len(k) > service.MaxIdempotencyKeyLen {
		t.Fatal("idempotency keys must be stable per identity, line and content")
	}
	// The checkpoint ignores a torn last line and another import's file.
	state := write("s.state", checkpointMagic+" id\n3 key3\n4 key4\n5 ke")
	cp, err := openCheckpoint(state, "id", io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(cp.done) != 3 || cp.done[3] != "key3" || cp.done[5] != "ke" { // "ke" never matches a real key
		t.Fatalf("checkpoint %v", cp.done)
	}
	cp.Close()
	cp, err = openCheckpoint(state, "another", io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(cp.done) != 0 {
		t.Fatalf("checkpoint of another import used: %v", cp.done)
	}
	cp.Close()
}

// TestImportResumesAfterSIGKILL imports a few thousand small files through a real
// gateway and network, kills the importer with SIGKILL mid-way, starts it again with
// the same manifest, and shows through the API that the ledger holds every manifest
// record exactly once; bad lines are reported with their line numbers.
func TestImportResumesAfterSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Fabric network")
	}
	e := startCLIEnv(t, importBasePort)
	ctx := context.Background()
	health := &client.Client{BaseURL: e.url, APIKey: e.keys.Departments["health"]}
	const files, subjects = 3000, 12
	subjectIDs := make([]string, subjects)
	for i := range subjectIDs {
		id, err := health.Resolve(ctx, "person", personID(600+i))
		if err != nil {
			t.Fatal(err)
		}
		subjectIDs[i] = id
	}
	dir := filepath.Join(e.dir, "archive")
	if err := os.MkdirAll(filepath.Join(dir, "scans"), 0o700); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("file,subject,type,note,valid_until\n")
	cidLine := map[string]int{} // CID of each good line's file -> its line
	line := 1
	for i := range files {
		name := fmt.Sprintf("scans/%05d.pdf", i)
		content := []byte(fmt.Sprintf("%%PDF-1.7 vaccination record %d of the archive %s\n", i, dir))
		if err := os.WriteFile(filepath.Join(dir, name), content, 0o600); err != nil {
			t.Fatal(err)
		}
		c, _, err := wire.CIDOf(bytes.NewReader(content))
		if err != nil {
			t.Fatal(err)
		}
		line++
		cidLine[c.String()] = line
		fmt.Fprintf(&b, "%s,%s,vaccination-record,Vaccination record %d,\n", name, subjectIDs[i%subjects], i)
		if i == 1000 { // bad lines in the middle
			b.WriteString("scans/missing.pdf," + subjectIDs[0] + ",vaccination-record,Missing file,\n")
			b.WriteString("scans/00001.pdf," + subjectIDs[0] + ",no-such-type,Unknown type,\n")
			b.WriteString("scans/00002.pdf," + subjectIDs[0] + ",vaccination-record,Bad expiry,yesterday\n")
			line += 3
		}
	}
	badLines := []int{1003, 1004, 1005}
	manifest := filepath.Join(dir, "manifest.csv")
	if err := os.WriteFile(manifest, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	state := manifest + ".import-state"
	args := []string{"import", "--gateway", e.url, e.as("health"), "--batch-size", "50", "--parallel", "4",
		"--progress-interval", "1s", manifest}

	// First run: killed with SIGKILL once some batches are committed.
	killedAt := e.killImportMidway(t, args, func() int { return checkpointed(t, state) }, 600, "records", 3*time.Minute)
	if killedAt >= files {
		t.Fatalf("the import finished before the kill (%d records)", killedAt)
	}

	// Second run: the same command completes the import.
	sum, r := e.importJSON(t, args)
	t.Logf("resumed: %+v", sum)
	if sum.Skipped < killedAt || sum.Skipped+sum.Imported != files || sum.Failed != 0 || sum.Lines != files+len(badLines) {
		t.Fatalf("resumed run: %+v (killed at %d)\n%s", sum, killedAt, r)
	}
	if len(sum.Bad) != len(badLines) {
		t.Fatalf("bad lines %+v, want lines %v", sum.Bad, badLines)
	}
	for i, bl := range sum.Bad {
		if bl.Line != badLines[i] || !strings.Contains(r.stderr, fmt.Sprintf("line %d: ", bl.Line)) {
			t.Fatalf("bad line %d: %+v, want line %d reported on stderr\n%s", i, bl, badLines[i], r.stderr)
		}
	}

	// The ledger holds each manifest record exactly once.
	seen := map[string]int{}
	for _, s := range subjectIDs {
		page := client.PageOptions{PageSize: wire.MaxPageSize}
		for n := 0; ; n++ {
			if n > 100 {
				t.Fatal("too many pages")
			}
			p, err := health.ListDossier(ctx, s, "vaccination-record", page)
			if err != nil {
				t.Fatal(err)
			}
			for _, rec := range p.Records {
				seen[rec.CID]++
			}
			if page.Bookmark = p.Bookmark; p.Bookmark == "" || len(p.Records) == 0 {
				break
			}
		}
	}
	dups, missing := 0, 0
	for c, l := range cidLine {
		switch seen[c] {
		case 1:
		case 0:
			missing++
			t.Errorf("line %d: no record on the ledger", l)
		default:
			dups++
			t.Errorf("line %d: %d records on the ledger", l, seen[c])
		}
		if missing+dups > 10 {
			t.FailNow()
		}
	}
	if len(seen) != len(cidLine) {
		t.Fatalf("the dossiers hold %d distinct files, the manifest %d", len(seen), len(cidLine))
	}
	// FindByCID agrees for a sample.
	public := &client.Client{BaseURL: e.url}
	n := 0
	for c := range cidLine {
		if n++; n > 20 {
			break
		}
		v, err := public.VerifyCID(ctx, c)
		if err != nil || !v.Verified || len(v.Records) != 1 {
			t.Fatalf("verify %s: %+v, %v", c, v, err)
		}
	}

	// The ledger is the truth: without the checkpoint every line is sent again and the
	// ledger returns the existing records.
	if err := os.Remove(state); err != nil {
		t.Fatal(err)
	}
	sum, r = e.importJSON(t, args)
	if sum.Imported != files || sum.Existing != files || sum.Created != 0 {
		t.Fatalf("run without checkpoint: %+v\n%s", sum, r)
	}

	// --strict refuses a manifest with a bad line before sending anything.
	strictDir := filepath.Join(e.dir, "strict")
	os.MkdirAll(strictDir, 0o700)
	if err := os.WriteFile(filepath.Join(strictDir, "a.pdf"), []byte("strict import file"), 0o600); err != nil {
		t.Fatal(err)
	}
	strict := filepath.Join(strictDir, "m.csv")
	os.WriteFile(strict, []byte("file,subject,type,note\na.pdf,"+subjectIDs[0]+",marriage-record,Strict\nb.pdf,"+subjectIDs[0]+",vaccination-record,Missing\n"), 0o600)
	e.fails(t, 1, "line 3: ", "import", "--gateway", e.url, e.as("health"), "--strict", strict)
	v, err := public.VerifyFile(ctx, client.FilePart{Body: strings.NewReader("strict import file"), Size: -1}, "", "")
	if err != nil || v.Status != "not_found" {
		t.Fatalf("strict import sent a record: %+v %v", v, err)
	}
}

// checkpointed counts the records a checkpoint file lists.
func checkpointed(t *testing.T, path string) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	n := -1 // the header
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		n++
	}
	return max(n, 0)
}

// TestMergeKeepsAnchoredBatch: an outcome merged from a retried batch (a line whose
// file became unreadable, the rest sent again) still names the anchored batch, so the
// checkpoint records it.
func TestMergeKeepsAnchoredBatch(t *testing.T) {
	first := batchOutcome{bad: []badLine{{Line: 7, Reason: "file gone"}}}
	rest := batchOutcome{committed: []importEntry{{line: 8}}, created: []bool{true}, receipts: 1, batchK: 3, batchID: "b-x"}
	got := merge(first, rest)
	if got.batchK != 3 || got.batchID != "b-x" || len(got.bad) != 1 || len(got.committed) != 1 || got.receipts != 1 {
		t.Fatalf("merged: %+v", got)
	}
	if got := merge(rest, batchOutcome{failed: 1}); got.batchID != "b-x" || got.failed != 1 {
		t.Fatalf("merged the other way: %+v", got)
	}
}
