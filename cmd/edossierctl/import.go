package main

// edossierctl import: resumable bulk import of a manifest through the gateway's bulk
// append API (POST /v1/records/batch).
//
// Resumability rests on the ledger: every manifest line gets an idempotency key derived
// from the import's identity, the line number and the line's content, so the gateway
// gives it the same record ID on every run and a repeated batch returns the records
// that exist instead of appending them again. A checkpoint file, appended after each
// committed batch and never trusted beyond that, only lets a restarted import skip the
// lines it knows are done without sending their files again.

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/base32"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway/client"
	"github.com/edossier-city/edossier/gateway/service"
)

type importOptions struct {
	batchSize int
	parallel  int
	state     string
	importID  string
	format    string
	strict    bool
	interval  time.Duration
	attempts  int
	anchor    bool // legacy load: Merkle batches (import_anchor.go)
	cidOnly   bool // with anchor: the archive keeps the files; anchor their CIDs only
}

func newImportCmd() *cobra.Command {
	f := &clientFlags{}
	o := &importOptions{}
	cmd := &cobra.Command{
		Use:   "import MANIFEST",
		Short: "Departments: bulk-import records from a CSV or NDJSON manifest (resumable)",
		Long: `import appends one record per manifest line, many records per ledger transaction,
with several batches in flight.

The manifest is CSV with a header line naming the columns
    file,subject,type[,note,valid_until,media_type]
(in any order) or NDJSON, one JSON object per line with the same fields:
    {"file":"scans/0001.pdf","subject":"p-...","type":"birth-medical-certificate","note":"..."}
file is a path relative to the manifest's folder; subject is a subject ID (see
resolve), never an ID number or credit code: a line naming one is refused (the number
is not repeated) and the import exits 1; note is optional free text, which the gateway
keeps off-chain, encrypted (the ledger gets only its salted hash); valid_until is an
RFC 3339 time; media_type defaults to the file name's extension.

A line that is malformed, names a missing or unreadable file, or a record the gateway
refuses (unknown type, not accredited, invalid field) is reported with its line number
and skipped; with --strict the whole manifest is checked first and any bad line stops
the import before anything is sent.

The import can be stopped at any moment (Ctrl-C, a crash, kill -9) and started again
with the same manifest: it then skips the lines its checkpoint file lists as committed
(MANIFEST.import-state, or --state) and sends the others again; the ledger returns the
records that were committed before the stop instead of appending them twice, because
each line's record ID derives from the import's identity (--import-id, default the
manifest's absolute path), the line number and the line's content. Keep the manifest
where it is, or pass the same --import-id, to resume.

With --anchor (legacy loads) the lines go to the ledger as Merkle batches: one
transaction and one ledger key per batch of --batch-size lines (default 8192), the
records' compact leaves in the transaction; each record is later proved by its leaf
and inclusion proof (POST /v1/batch-records/verify). The files go to the gateway's
blob store in one request and one group commit per batch, or, with --cid-only (the
archive keeps the files), are hashed here and only their CIDs are anchored. Batch k
covers data lines k*size+1..(k+1)*size and its ID derives from --import-id, the size
and k, so a rerun (after kill -9 too) anchors every batch exactly once; a batch whose
lines changed since it was anchored is refused (conflict). Notes and valid_until need
per-record appends. Keep --batch-size the same across reruns.

The summary counts only records committed on the ledger. Exit codes: 0 every line was
imported or reported bad; 1 some batches failed (run the import again) or --strict
found bad lines; 2 bad usage.`,
		Example: `  edossierctl import --api-key-file health.key archive/manifest.csv
  edossierctl import --api-key-file health.key --parallel 8 --strict scans.ndjson
  edossierctl import --api-key-file health.key manifest.csv -o json   # summary as JSON
  edossierctl import --api-key-file health.key --anchor legacy/2009.csv   # Merkle batches
  edossierctl import --api-key-file health.key --anchor --cid-only legacy/2009.csv`,
		Args: exactArgs(1, "one manifest file"),
		RunE: action(f, func(cmd *cobra.Command, args []string) error {
			if o.anchor && !cmd.Flags().Changed("batch-size") {
				o.batchSize = DefaultAnchorBatch
			}
			if maxSize := map[bool]int{false: client.MaxBatch, true: client.MaxAnchorBatch}[o.anchor]; o.batchSize < 1 || o.batchSize > maxSize {
				return usagef("--batch-size must be within 1..%d", maxSize)
			}
			if o.cidOnly && !o.anchor {
				return usagef("--cid-only needs --anchor")
			}
			if o.parallel < 1 || o.parallel > 64 {
				return usagef("--parallel must be within 1..64")
			}
			switch o.format {
			case "auto", "csv", "ndjson":
			default:
				return usagef("--format must be auto, csv or ndjson")
			}
			c, err := f.staffClient(cmd)
			if err != nil {
				return err
			}
			sum, err := runImport(cmd.Context(), c, args[0], *o, cmd.ErrOrStderr())
			if sum != nil {
				if perr := f.emit(cmd, sum, sum.print); perr != nil && err == nil {
					err = perr
				}
			}
			return err
		}),
	}
	f.addGateway(cmd)
	f.addAPIKey(cmd)
	fl := cmd.Flags()
	fl.IntVar(&o.batchSize, "batch-size", client.MaxBatch, fmt.Sprintf("records per transaction (1..%d)", client.MaxBatch))
	fl.IntVar(&o.parallel, "parallel", 4, "batches in flight at once")
	fl.StringVar(&o.state, "state", "", "checkpoint file (default: MANIFEST.import-state, or MANIFEST.<hash of --import-id>.import-state)")
	fl.StringVar(&o.importID, "import-id", "", "identity of this import in the records' idempotency keys (default: the manifest's absolute path)")
	fl.StringVar(&o.format, "format", "auto", "manifest format: auto (by extension, else by content), csv or ndjson")
	fl.BoolVar(&o.strict, "strict", false, "check every line first and import nothing if one is bad")
	fl.DurationVar(&o.interval, "progress-interval", 10*time.Second, "how often to log progress when stderr is not a terminal")
	fl.IntVar(&o.attempts, "attempts", 8, "tries of a batch while the gateway or the ledger is unavailable")
	fl.BoolVar(&o.anchor, "anchor", false, fmt.Sprintf("legacy load: anchor Merkle batches (one transaction and one ledger key per batch, --batch-size default %d, at most %d); no notes or valid_until", DefaultAnchorBatch, client.MaxAnchorBatch))
	fl.BoolVar(&o.cidOnly, "cid-only", false, "with --anchor: the archive keeps the files; hash them here and anchor their CIDs only (nothing is uploaded)")
	return cmd
}

// importSummary is what an import did; only committed records count as imported.
type importSummary struct {
	Manifest string `json:"manifest"`
	Lines    int    `json:"lines"`
	// Imported records are on the ledger: Created by this run, or Existing (committed
	// by an earlier, interrupted run and returned by the ledger).
	Imported int `json:"imported"`
	Created  int `json:"created"`
	Existing int `json:"existing"`
	// Skipped lines were listed as committed by the checkpoint file.
	Skipped int       `json:"skipped"`
	Bad     []badLine `json:"badLines"`
	Failed  int       `json:"failed"` // records of batches that could not be committed
	// RawIDNumbers counts the bad lines whose subject was an ID number (exit 1).
	RawIDNumbers int     `json:"rawIdNumbers"`
	Seconds      float64 `json:"seconds"`
	Rate         float64 `json:"recordsPerSecond"`
	Receipts     int     `json:"transactions"`
}

type badLine struct {
	Line   int    `json:"line"`
	Reason string `json:"reason"`
}

func (s *importSummary) print(w io.Writer) {
	fmt.Fprintf(w, "imported %d records (%d new, %d already on the ledger) in %d transactions, %.1fs, %.0f records/s\n",
		s.Imported, s.Created, s.Existing, s.Receipts, s.Seconds, s.Rate)
	if s.Skipped > 0 {
		fmt.Fprintf(w, "skipped %d lines committed by an earlier run (checkpoint)\n", s.Skipped)
	}
	if len(s.Bad) > 0 {
		fmt.Fprintf(w, "bad lines: %d (not imported):\n", len(s.Bad))
		for i, b := range s.Bad {
			if i == 20 {
				fmt.Fprintf(w, "  ... %d more (see the messages above)\n", len(s.Bad)-20)
				break
			}
			fmt.Fprintf(w, "  line %d: %s\n", b.Line, b.Reason)
		}
	}
	if s.Failed > 0 {
		fmt.Fprintf(w, "failed: %d records not imported; run the same import again to retry them\n", s.Failed)
	}
}

// Manifest reading.

// manifestFields are the columns, in the order of manifestLine.fields.
var manifestFields = []string{"file", "subject", "type", "note", "valid_until", "media_type"}

// requiredFields is how many of manifestFields a line must have (file, subject, type).
const requiredFields = 3

// manifestLine is one line of the manifest: its fields, or why it could not be read.
type manifestLine struct {
	line   int
	fields [6]string
	err    error
}

// manifestReader yields the lines of a CSV or NDJSON manifest.
type manifestReader struct {
	f      *os.File
	header bool                         // CSV: the first line is the header
	next   func() (manifestLine, error) // io.EOF at the end
}

func (m *manifestReader) Close() error { return m.f.Close() }

func openManifest(path, format string) (*manifestReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(f, 256<<10)
	if format == "auto" {
		switch strings.ToLower(filepath.Ext(path)) {
		case ".csv":
			format = "csv"
		case ".ndjson", ".jsonl":
			format = "ndjson"
		default:
			format = "csv"
			if head, _ := br.Peek(64); strings.HasPrefix(strings.TrimLeft(string(head), " \t\r\n\ufeff"), "{") {
				format = "ndjson"
			}
		}
	}
	m := &manifestReader{f: f}
	if format == "ndjson" {
		m.next = ndjsonLines(br)
		return m, nil
	}
	m.header = true
	if m.next, err = csvLines(br); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

func csvLines(r io.Reader) (func() (manifestLine, error), error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("reading the CSV header: %w", err)
	}
	col := make([]int, len(header)) // column -> field index
	have := map[string]bool{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		col[i] = -1
		for j, name := range manifestFields {
			if h == name {
				col[i] = j
			}
		}
		if col[i] < 0 || have[h] {
			return nil, fmt.Errorf("CSV header: unknown or repeated column %q (columns: %s)", h, strings.Join(manifestFields, ","))
		}
		have[h] = true
	}
	for _, req := range manifestFields[:requiredFields] {
		if !have[req] {
			return nil, fmt.Errorf("CSV header: column %q missing", req)
		}
	}
	return func() (manifestLine, error) {
		rec, err := cr.Read()
		if err == io.EOF {
			return manifestLine{}, io.EOF
		}
		var pe *csv.ParseError
		if err != nil && !errors.As(err, &pe) {
			return manifestLine{}, err
		}
		line, _ := cr.FieldPos(0)
		if pe != nil {
			return manifestLine{line: pe.StartLine, err: fmt.Errorf("malformed CSV: %v", pe.Err)}, nil
		}
		l := manifestLine{line: line}
		for i, v := range rec {
			l.fields[col[i]] = strings.TrimSpace(v)
		}
		return l, nil
	}, nil
}

func ndjsonLines(r io.Reader) func() (manifestLine, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	n := 0
	return func() (manifestLine, error) {
		for sc.Scan() {
			n++
			text := strings.TrimSpace(sc.Text())
			if text == "" {
				continue
			}
			var v struct {
				File       string `json:"file"`
				Subject    string `json:"subject"`
				Type       string `json:"type"`
				Note       string `json:"note"`
				ValidUntil string `json:"valid_until"`
				MediaType  string `json:"media_type"`
			}
			dec := json.NewDecoder(strings.NewReader(text))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&v); err != nil || dec.More() {
				if err == nil {
					err = errors.New("trailing data after the object")
				}
				return manifestLine{line: n, err: fmt.Errorf("malformed JSON: %v", err)}, nil
			}
			return manifestLine{line: n, fields: [6]string{v.File, v.Subject, v.Type, v.Note, v.ValidUntil, v.MediaType}}, nil
		}
		if err := sc.Err(); err != nil {
			return manifestLine{line: n + 1, err: fmt.Errorf("unreadable line: %v", err)}, err
		}
		return manifestLine{}, io.EOF
	}
}

// countLines counts the records of a manifest for the progress display (an upper
// bound: blank lines and the header count too).
func countLines(path string) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	buf := make([]byte, 256<<10)
	n, last := 0, byte('\n')
	for {
		k, err := f.Read(buf)
		for _, c := range buf[:k] {
			if c == '\n' {
				n++
			}
		}
		if k > 0 {
			last = buf[k-1]
		}
		if err != nil {
			break
		}
	}
	if last != '\n' {
		n++
	}
	return n
}

// Entries: checked lines ready to send.

// importEntry is a manifest line turned into a record to append.
type importEntry struct {
	line int
	path string // the file, resolved against the manifest's folder
	item client.BatchItem
}

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// lineKey is the idempotency key of a manifest line.
func lineKey(identity string, l manifestLine) string {
	h := sha256.New()
	fmt.Fprintf(h, "edossier-import/v1\x00%s\x00%d", identity, l.line)
	for _, v := range l.fields {
		h.Write([]byte{0})
		h.Write([]byte(v))
	}
	return "import-" + strings.ToLower(b32.EncodeToString(h.Sum(nil)[:20]))
}

// check turns a manifest line into an entry, or says what is wrong with it: the checks
// of the chaincode that need no ledger, the record type against the registry (when
// known), and the file (a readable regular file).
func (im *importer) check(l manifestLine, key string) (importEntry, error) {
	if l.err != nil {
		return importEntry{}, l.err
	}
	file, subject, typ, note, validUntil, mediaType := l.fields[0], l.fields[1], l.fields[2], l.fields[3], l.fields[4], l.fields[5]
	for i, v := range l.fields[:requiredFields] {
		if v == "" {
			return importEntry{}, fmt.Errorf("%s is empty", manifestFields[i])
		}
	}
	if service.IsIDNumber(subject) {
		return importEntry{}, errRawIDNumber
	}
	if len(note) > wire.MaxNoteBytes {
		return importEntry{}, fmt.Errorf("note longer than %d bytes", wire.MaxNoteBytes)
	}
	req, err := wire.PlaceholderAppend("r-check", subject, typ, wire.MediaTypeOf(mediaType, mime.TypeByExtension(filepath.Ext(file))), validUntil, false)
	if err != nil {
		return importEntry{}, errors.New(wire.AsError(err).Message)
	}
	if im.types != nil && !im.types[typ] {
		return importEntry{}, fmt.Errorf("record type %q is not defined on the ledger", typ)
	}
	path := file
	if !filepath.IsAbs(path) {
		path = filepath.Join(im.dir, path)
	}
	if im.skipProbe {
		// --anchor: the workers open every file anyway (in parallel); a file they
		// cannot read makes its line bad there.
		return importEntry{line: l.line, path: path, item: client.BatchItem{
			SubjectID: subject, Type: typ, Note: note, MediaType: mediaType, ValidUntil: req.ValidUntil, IdempotencyKey: key,
		}}, nil
	}
	st, err := os.Stat(path)
	if err != nil {
		return importEntry{}, fmt.Errorf("file %s: %v", file, errors.Unwrap(err))
	}
	if !st.Mode().IsRegular() {
		return importEntry{}, fmt.Errorf("file %s is not a regular file", file)
	}
	fh, err := os.Open(path)
	if err != nil {
		return importEntry{}, fmt.Errorf("file %s is not readable: %v", file, errors.Unwrap(err))
	}
	fh.Close()
	return importEntry{line: l.line, path: path, item: client.BatchItem{
		SubjectID: subject, Type: typ, Note: note, MediaType: req.MediaType, ValidUntil: req.ValidUntil,
		IdempotencyKey: key,
	}}, nil
}

// errRawIDNumber refuses a line whose subject is an ID number or credit code. The
// message does not repeat the number (it goes to logs and summaries).
var errRawIDNumber = errors.New("subject is an ID number or credit code, not a subject ID: resolve it first (edossierctl resolve, or POST /v1/subjects/resolve) and put the subject ID in the manifest; the number is not shown here")

// Checkpoint.

// checkpoint is the local record of committed lines: a header naming the import, then
// one "<line> <idempotency key>" per committed record, appended after each batch. It
// may lag behind the ledger (it is not synced) but never runs ahead of it.
type checkpoint struct {
	path    string
	done    map[int]string
	batches map[int]string // --anchor: batch number -> batch ID ("batch <k> <id>" lines)
	f       *os.File
}

const checkpointMagic = "edossier-import-checkpoint v1"

func openCheckpoint(path, identity string, warn io.Writer) (*checkpoint, error) {
	cp := &checkpoint{path: path, done: map[int]string{}, batches: map[int]string{}}
	header := checkpointMagic + " " + identity
	if f, err := os.Open(path); err == nil {
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		ok := sc.Scan() && sc.Text() == header
		for ok && sc.Scan() {
			var line int
			var key string
			if n, _ := fmt.Sscanf(sc.Text(), "%d %s", &line, &key); n == 2 {
				cp.done[line] = key
			} else if n, _ := fmt.Sscanf(sc.Text(), "batch %d %s", &line, &key); n == 2 {
				cp.batches[line] = key
			}
		}
		f.Close()
		if !ok {
			fmt.Fprintf(warn, "edossierctl: %s belongs to another import; starting a new checkpoint (the ledger still prevents duplicates)\n", path)
			cp.done, cp.batches = map[int]string{}, map[int]string{}
			if err := os.Remove(path); err != nil {
				return nil, err
			}
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("checkpoint file: %w", err)
	}
	if st, err := f.Stat(); err == nil && st.Size() == 0 {
		if _, err := fmt.Fprintln(f, header); err != nil {
			f.Close()
			return nil, fmt.Errorf("checkpoint file: %w", err)
		}
	}
	cp.f = f
	return cp, nil
}

// add appends committed entries (one write per batch; a torn last line after a crash
// is ignored when the file is read).
func (cp *checkpoint) add(entries []importEntry) error {
	var b strings.Builder
	for _, e := range entries {
		b.WriteString(strconv.Itoa(e.line))
		b.WriteByte(' ')
		b.WriteString(e.item.IdempotencyKey)
		b.WriteByte('\n')
	}
	_, err := cp.f.WriteString(b.String())
	return err
}

// addBatch records an anchored batch (--anchor).
func (cp *checkpoint) addBatch(k int, id string) error {
	_, err := fmt.Fprintf(cp.f, "batch %d %s\n", k, id)
	return err
}

func (cp *checkpoint) Close() error { return cp.f.Close() }

// The import.

type importer struct {
	c        *client.Client
	o        importOptions
	dir      string
	identity string
	types    map[string]bool // defined record types; nil when unknown
	log      io.Writer
	prog     *progress // set by driveImport: messages from concurrent batches go through it
	// skipProbe: check does not stat and open the file (runAnchor's reader; --strict
	// still probes every file first).
	skipProbe bool
}

// batchOutcome is what became of a batch: committed entries (created or not), bad
// lines, and entries that could not be committed.
type batchOutcome struct {
	committed []importEntry
	created   []bool
	receipts  int
	bad       []badLine
	failed    int
	fatal     error // stops the import (e.g. the API key is refused)
	// batchK and batchID name the anchored batch (--anchor) for the checkpoint.
	batchK  int
	batchID string
}

func runImport(ctx context.Context, c *client.Client, manifest string, o importOptions, log io.Writer) (*importSummary, error) {
	abs, err := filepath.Abs(manifest)
	if err != nil {
		return nil, err
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	if _, err := os.Stat(abs); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	im := &importer{c: c, o: o, dir: filepath.Dir(abs), identity: o.importID, log: log}
	if im.identity == "" {
		im.identity = abs
	}
	// The registry, to refuse unknown record types before sending files.
	if reg, err := c.Registry(ctx); err == nil {
		im.types = map[string]bool{}
		for _, t := range reg.RecordTypes {
			im.types[t.Code] = true
		}
	} else {
		var p *client.Problem
		if !errors.As(err, &p) || p.Status == http.StatusUnauthorized {
			return nil, err // the gateway is unreachable or the key is refused
		}
	}
	if o.strict {
		lines, bad, err := im.checkAll(abs)
		if err != nil {
			return nil, err
		}
		if len(bad) > 0 {
			for _, b := range bad {
				fmt.Fprintf(log, "edossierctl: line %d: %s\n", b.Line, b.Reason)
			}
			return &importSummary{Manifest: abs, Lines: lines, Bad: bad}, fmt.Errorf("%d bad lines in %s; nothing imported (--strict)", len(bad), manifest)
		}
	}
	statePath := o.state
	switch {
	case statePath != "":
	case o.importID == "":
		statePath = abs + ".import-state"
	default: // another identity, another checkpoint
		h := sha256.Sum256([]byte(o.importID))
		statePath = fmt.Sprintf("%s.%x.import-state", abs, h[:4])
	}
	cp, err := openCheckpoint(statePath, im.identity, log)
	if err != nil {
		return nil, err
	}
	defer cp.Close()
	if o.anchor {
		return im.runAnchor(ctx, abs, cp)
	}
	return im.run(ctx, abs, cp)
}

// checkAll checks every line without sending anything (--strict); it returns the
// number of lines and the bad ones.
func (im *importer) checkAll(path string) (int, []badLine, error) {
	m, err := openManifest(path, im.o.format)
	if err != nil {
		return 0, nil, err
	}
	defer m.Close()
	lines, bad := 0, []badLine{}
	for {
		l, err := m.next()
		if err == io.EOF {
			return lines, bad, nil
		}
		lines++
		if _, cerr := im.check(l, ""); cerr != nil {
			bad = append(bad, badLine{l.line, cerr.Error()})
		}
		if err != nil {
			return lines, bad, err
		}
	}
}

// importRun is one pass over a manifest, shared by the per-record import (run) and the
// Merkle-batch import (runAnchor): a reader checks lines and hands jobs to workers, the
// workers send them, and the collector (drive) keeps the counts, reports bad lines and
// writes the checkpoint.
type importRun[J any] struct {
	im   *importer
	ctx  context.Context
	sum  *importSummary
	prog *progress
	jobs chan J
	mu   sync.Mutex // guards sum.Bad and sum.RawIDNumbers
}

// importSteps are what one kind of import does in importRun.
type importSteps[J any] struct {
	// line handles one line read from the manifest (after sum.Lines counts it); false
	// stops reading (the import is cancelled).
	line func(r *importRun[J], l manifestLine) bool
	// flush hands on what the reader still holds after the last line.
	flush func(r *importRun[J])
	// send sends one job until it is done or given up.
	send func(ctx context.Context, j J) batchOutcome
	// save writes what an outcome committed to the checkpoint.
	save func(out batchOutcome) error
}

// reportBad records a bad line and prints it.
func (r *importRun[J]) reportBad(b badLine) {
	r.mu.Lock()
	r.sum.Bad = append(r.sum.Bad, b)
	r.mu.Unlock()
	r.prog.message(fmt.Sprintf("line %d: %s (skipped)", b.Line, b.Reason))
}

// refuse reports a line that check refused; it is done.
func (r *importRun[J]) refuse(l manifestLine, cerr error) {
	if errors.Is(cerr, errRawIDNumber) {
		r.mu.Lock()
		r.sum.RawIDNumbers++
		r.mu.Unlock()
	}
	r.reportBad(badLine{l.line, cerr.Error()})
	r.prog.add(1)
}

// hand gives a job to the workers; false when the import is cancelled.
func (r *importRun[J]) hand(j J) bool {
	select {
	case r.jobs <- j:
		return true
	case <-r.ctx.Done():
		return false
	}
}

// driveImport runs one import of the manifest at path (checkpoint cp) with the given steps and returns
// its summary and the error that ends it (the exit status of edossierctl import).
func driveImport[J any](ctx context.Context, im *importer, path string, cp *checkpoint, steps importSteps[J]) (*importSummary, error) {
	m, err := openManifest(path, im.o.format)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	sum := &importSummary{Manifest: path, Bad: []badLine{}}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	total := countLines(path)
	if m.header {
		total--
	}
	prog := newProgress(im.log, total, im.o.interval)
	defer prog.finish()
	im.prog = prog
	start := time.Now()
	r := &importRun[J]{im: im, ctx: ctx, sum: sum, prog: prog, jobs: make(chan J, im.o.parallel)}

	outcomes := make(chan batchOutcome, im.o.parallel)
	var readErr error
	go func() {
		defer close(r.jobs)
		for {
			l, err := m.next()
			if err == io.EOF {
				break
			}
			sum.Lines++
			if !steps.line(r, l) {
				return
			}
			if err != nil {
				readErr = err
				break
			}
		}
		steps.flush(r)
	}()
	var workers sync.WaitGroup
	for range im.o.parallel {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for j := range r.jobs {
				outcomes <- steps.send(ctx, j)
			}
		}()
	}
	go func() { workers.Wait(); close(outcomes) }()

	var fatal, cpErr error
	for out := range outcomes {
		for i := range out.committed {
			if out.created[i] {
				sum.Created++
			} else {
				sum.Existing++
			}
		}
		sum.Imported += len(out.committed)
		sum.Receipts += out.receipts
		sum.Failed += out.failed
		for _, b := range out.bad {
			r.reportBad(b)
		}
		if err := steps.save(out); err != nil && cpErr == nil {
			cpErr = err
			prog.message(fmt.Sprintf("cannot write the checkpoint %s: %v (the import goes on; the ledger prevents duplicates)", cp.path, err))
		}
		prog.add(len(out.committed) + len(out.bad) + out.failed)
		if out.fatal != nil && fatal == nil {
			fatal = out.fatal
			cancel()
		}
	}
	sum.Seconds = time.Since(start).Seconds()
	if sum.Seconds > 0 {
		sum.Rate = float64(sum.Imported) / sum.Seconds
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case fatal != nil:
		return sum, fatal
	case readErr != nil:
		return sum, fmt.Errorf("reading %s stopped at line %d: %w", path, sum.Lines, readErr)
	case ctx.Err() != nil:
		return sum, ctx.Err()
	case sum.Failed > 0:
		return sum, fmt.Errorf("%d records were not imported; run the same import again to retry them", sum.Failed)
	case sum.RawIDNumbers > 0:
		return sum, fmt.Errorf("%d lines name an ID number or credit code as subject and were not imported: resolve them to subject IDs first", sum.RawIDNumbers)
	}
	return sum, nil
}

// run is the per-record import: batches of up to --batch-size checked lines, each one
// bulk append; the checkpoint lists committed lines.
func (im *importer) run(ctx context.Context, path string, cp *checkpoint) (*importSummary, error) {
	var batch []importEntry
	flush := func(r *importRun[[]importEntry]) bool {
		if len(batch) == 0 {
			return true
		}
		if !r.hand(batch) {
			return false
		}
		batch = nil
		return true
	}
	return driveImport(ctx, im, path, cp, importSteps[[]importEntry]{
		line: func(r *importRun[[]importEntry], l manifestLine) bool {
			var key string
			if l.err == nil {
				key = lineKey(im.identity, l)
			}
			if l.err == nil && cp.done[l.line] == key {
				r.sum.Skipped++ // committed by an earlier run: not checked again
				r.prog.add(1)
			} else if e, cerr := im.check(l, key); cerr != nil {
				r.refuse(l, cerr)
			} else if batch = append(batch, e); len(batch) == im.o.batchSize {
				return flush(r)
			}
			return true
		},
		flush: func(r *importRun[[]importEntry]) { flush(r) },
		send:  im.commit,
		save: func(out batchOutcome) error {
			if len(out.committed) == 0 {
				return nil
			}
			return cp.add(out.committed)
		},
	})
}

// sendBatch sends batch with try until try succeeds, retrying while the gateway or the
// ledger is unavailable (with the same idempotency keys or batch ID). A line whose file
// became unreadable is bad and the rest goes again through again; the API key refused
// stops the import; refused decides about any other refusal (done false: retry).
func (im *importer) sendBatch(ctx context.Context, batch []importEntry,
	try func() (batchOutcome, error),
	again func(rest []importEntry) batchOutcome,
	refused func(p *client.Problem, attempt int) (out batchOutcome, done bool)) batchOutcome {
	backoff := time.Second
	for attempt := 1; ; attempt++ {
		if ctx.Err() != nil {
			return batchOutcome{failed: len(batch)}
		}
		out, err := try()
		if err == nil {
			return out
		}
		var fe *client.FileError
		var p *client.Problem
		switch {
		case errors.As(err, &fe) && fe.Index >= 0 && fe.Index < len(batch):
			// The file changed since it was checked: that line is bad, the rest goes on.
			out := batchOutcome{bad: []badLine{{batch[fe.Index].line, fmt.Sprintf("file %s: %v", batch[fe.Index].path, fe.Err)}}}
			rest := append(append([]importEntry{}, batch[:fe.Index]...), batch[fe.Index+1:]...)
			if len(rest) == 0 {
				return out
			}
			return merge(out, again(rest))
		case ctx.Err() != nil:
			return batchOutcome{failed: len(batch)}
		case errors.As(err, &p) && p.Status == http.StatusUnauthorized:
			return batchOutcome{failed: len(batch), fatal: err}
		case errors.As(err, &p):
			if out, done := refused(p, attempt); done {
				return out
			}
		}
		// Unavailable, rate-limited, a transport failure, a conflict with a concurrent
		// transaction: try again later.
		if attempt >= im.o.attempts {
			im.prog.message(fmt.Sprintf("batch of lines %d..%d failed after %d attempts: %v", batch[0].line, batch[len(batch)-1].line, attempt, err))
			return batchOutcome{failed: len(batch)}
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}

// commit sends a batch until it is committed, retrying while the gateway or the ledger
// is unavailable, dropping lines whose file became unreadable, and isolating the lines
// the gateway refuses (by record type, then by halves) so that the others still go in.
func (im *importer) commit(ctx context.Context, batch []importEntry) batchOutcome {
	items := make([]client.BatchItem, len(batch))
	for i, e := range batch {
		items[i] = e.item
	}
	try := func() (batchOutcome, error) {
		res, err := im.c.AppendBatch(ctx, items, func(i int) (io.ReadCloser, error) { return os.Open(batch[i].path) })
		if err != nil {
			return batchOutcome{}, err
		}
		out := batchOutcome{committed: batch, receipts: 1, created: make([]bool, len(batch))}
		for i, r := range res.Records {
			out.created[i] = r.Created
		}
		return out, nil
	}
	refused := func(p *client.Problem, attempt int) (batchOutcome, bool) {
		if transient(p) || (p.Status == http.StatusConflict && attempt < 3) {
			return batchOutcome{}, false
		}
		return im.isolate(ctx, batch, p), true
	}
	return im.sendBatch(ctx, batch, try, func(rest []importEntry) batchOutcome { return im.commit(ctx, rest) }, refused)
}

// isolate splits a refused batch until the refused lines stand alone: by record type
// first (an accreditation refusal concerns one type), then in halves.
func (im *importer) isolate(ctx context.Context, batch []importEntry, p *client.Problem) batchOutcome {
	if len(batch) == 1 {
		return batchOutcome{bad: []badLine{{batch[0].line, fmt.Sprintf("refused by the gateway: %s: %s", p.Code, p.Detail)}}}
	}
	var types []string
	byType := map[string][]importEntry{}
	for _, e := range batch {
		if byType[e.item.Type] == nil {
			types = append(types, e.item.Type)
		}
		byType[e.item.Type] = append(byType[e.item.Type], e)
	}
	var parts [][]importEntry
	switch {
	case len(types) > 1:
		for _, t := range types {
			parts = append(parts, byType[t])
		}
	case p.Status == http.StatusForbidden:
		// One type, refused as a whole: the department may not issue it.
		var out batchOutcome
		for _, e := range batch {
			out.bad = append(out.bad, badLine{e.line, fmt.Sprintf("refused by the gateway: %s: %s", p.Code, p.Detail)})
		}
		return out
	default:
		parts = [][]importEntry{batch[:len(batch)/2], batch[len(batch)/2:]}
	}
	var out batchOutcome
	for _, part := range parts {
		out = merge(out, im.commit(ctx, part))
	}
	return out
}

func merge(a, b batchOutcome) batchOutcome {
	a.committed = append(a.committed, b.committed...)
	a.created = append(a.created, b.created...)
	a.receipts += b.receipts
	a.bad = append(a.bad, b.bad...)
	a.failed += b.failed
	if a.fatal == nil {
		a.fatal = b.fatal
	}
	if b.batchID != "" { // the anchored batch (--anchor), for the checkpoint
		a.batchK, a.batchID = b.batchK, b.batchID
	}
	return a
}

// transient says whether a refusal may go away by itself.
func transient(p *client.Problem) bool {
	switch p.Status {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout, http.StatusRequestTimeout:
		return true
	}
	return p.Code == "unavailable" || p.Code == "rate_limited"
}

// Progress.

// progress shows a bar with records/s and ETA on a terminal, else a log line every
// interval.
type progress struct {
	mu       sync.Mutex
	w        io.Writer
	bar      *progressbar.ProgressBar
	total    int
	done     int
	start    time.Time
	interval time.Duration
	last     time.Time
}

func newProgress(w io.Writer, total int, interval time.Duration) *progress {
	p := &progress{w: w, total: max(total, 0), start: time.Now(), interval: interval, last: time.Now()}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.bar = progressbar.NewOptions(p.total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription("importing"),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("records"),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionFullWidth(),
		)
	}
	return p
}

func (p *progress) add(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += n
	if p.bar != nil {
		p.bar.Add(n)
		return
	}
	if p.interval > 0 && time.Since(p.last) >= p.interval {
		p.last = time.Now()
		fmt.Fprintln(p.w, "edossierctl: "+p.line())
	}
}

func (p *progress) line() string {
	el := time.Since(p.start).Seconds()
	rate := float64(p.done) / max(el, 1e-9)
	eta := "?"
	if rate > 0 && p.total >= p.done {
		eta = (time.Duration(float64(p.total-p.done)/rate) * time.Second).Round(time.Second).String()
	}
	return fmt.Sprintf("%d/%d lines done (%.1f%%), %.0f records/s, ETA %s", p.done, p.total,
		100*float64(p.done)/float64(max(p.total, 1)), rate, eta)
}

// message prints a line above the bar.
func (p *progress) message(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		p.bar.Clear()
	}
	fmt.Fprintln(p.w, "edossierctl: "+s)
}

func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		p.bar.Finish()
		fmt.Fprintln(p.w)
	}
}
