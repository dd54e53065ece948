package main

// edossierctl import --anchor: legacy loads as Merkle batches (POST /v1/batches, one
// AnchorBatch transaction and one ledger key per batch).
//
// Exactly once rests on the batch ID: batch k of an import covers the manifest's data
// lines k*size+1 .. (k+1)*size, whatever became of them, and its ID derives from the
// import's identity, the batch size and k only. A rerun builds the same batches; the
// ledger returns a batch that is already anchored with the same records instead of
// anchoring it twice, and refuses (conflict) a batch whose lines changed since the run
// that anchored it, so no line is ever anchored in two batches. The checkpoint lists
// anchored batches ("batch <k> <id>"); it is never trusted beyond that.

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway/client"
)

// DefaultAnchorBatch is --batch-size's default with --anchor.
const DefaultAnchorBatch = 8192

// anchorBatchID is the ID of batch k of an import.
func anchorBatchID(identity string, size, k int) string {
	h := sha256.Sum256(fmt.Appendf(nil, "edossier-import-batch/v1\x00%s\x00%d\x00%d", identity, size, k))
	return "b-" + strings.ToLower(b32.EncodeToString(h[:15]))
}

// anchorJob is one batch: its number, ID, the good lines and the count of all lines of
// its range.
type anchorJob struct {
	k       int
	id      string
	entries []importEntry
	lines   int
}

func (im *importer) runAnchor(ctx context.Context, path string, cp *checkpoint) (*importSummary, error) {
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
	size := im.o.batchSize
	im.skipProbe = true

	jobs := make(chan anchorJob, im.o.parallel)
	outcomes := make(chan batchOutcome, im.o.parallel)
	var readErr error
	var badMu sync.Mutex
	reportBad := func(b badLine) {
		badMu.Lock()
		sum.Bad = append(sum.Bad, b)
		badMu.Unlock()
		prog.message(fmt.Sprintf("line %d: %s (skipped)", b.Line, b.Reason))
	}
	go func() {
		defer close(jobs)
		job := anchorJob{k: 0, id: anchorBatchID(im.identity, size, 0)}
		skip := cp.batches[0] == job.id
		emit := func() bool {
			defer func() {
				job = anchorJob{k: job.k + 1, id: anchorBatchID(im.identity, size, job.k+1)}
				skip = cp.batches[job.k] == job.id
			}()
			if job.lines == 0 {
				return true
			}
			if skip {
				sum.Skipped += job.lines
				prog.add(job.lines)
				return true
			}
			if len(job.entries) == 0 {
				return true
			}
			select {
			case jobs <- job:
				return true
			case <-ctx.Done():
				return false
			}
		}
		for {
			l, err := m.next()
			if err == io.EOF {
				break
			}
			sum.Lines++
			job.lines++
			if !skip {
				if e, cerr := im.check(l, ""); cerr != nil {
					if errors.Is(cerr, errRawIDNumber) {
						badMu.Lock()
						sum.RawIDNumbers++
						badMu.Unlock()
					}
					reportBad(badLine{l.line, cerr.Error()})
					prog.add(1)
				} else if e.item.Note != "" || e.item.ValidUntil != "" {
					reportBad(badLine{l.line, "note and valid_until need per-record appends (import this line without --anchor)"})
					prog.add(1)
				} else {
					job.entries = append(job.entries, e)
				}
			}
			if job.lines == size && !emit() {
				return
			}
			if err != nil {
				readErr = err
				break
			}
		}
		emit()
	}()
	var workers sync.WaitGroup
	for range im.o.parallel {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for j := range jobs {
				outcomes <- im.anchor(ctx, j)
			}
		}()
	}
	go func() { workers.Wait(); close(outcomes) }()

	var fatal error
	for out := range outcomes {
		for _, c := range out.created {
			if c {
				sum.Created++
			} else {
				sum.Existing++
			}
		}
		sum.Imported += len(out.committed)
		sum.Receipts += out.receipts
		sum.Failed += out.failed
		for _, b := range out.bad {
			reportBad(b)
		}
		if out.batchID != "" {
			if err := cp.addBatch(out.batchK, out.batchID); err != nil {
				prog.message(fmt.Sprintf("cannot write the checkpoint %s: %v (the import goes on; the ledger prevents duplicates)", cp.path, err))
			}
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
	badMu.Lock()
	defer badMu.Unlock()
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

// anchor sends one batch until it is anchored, retrying while the gateway or the ledger
// is unavailable. A refused batch fails as a whole (its lines are reported); a line
// whose file cannot be read is bad and left out.
func (im *importer) anchor(ctx context.Context, j anchorJob) batchOutcome {
	var out batchOutcome
	entries := j.entries
	items := make([]client.AnchorItem, 0, len(entries))
	kept := entries[:0:0]
	for _, e := range entries {
		it := client.AnchorItem{SubjectID: e.item.SubjectID, Type: e.item.Type, MediaType: e.item.MediaType}
		if im.o.cidOnly {
			f, err := os.Open(e.path)
			if err == nil {
				c, n, herr := wire.CIDOf(f)
				f.Close()
				if err = herr; err == nil {
					it.CID, it.Size = c.String(), n
				}
			}
			if err != nil {
				out.bad = append(out.bad, badLine{e.line, fmt.Sprintf("file %s: %v", e.path, err)})
				continue
			}
		}
		items = append(items, it)
		kept = append(kept, e)
	}
	if len(items) == 0 {
		return out
	}
	var open func(int) (io.ReadCloser, error)
	if !im.o.cidOnly {
		open = func(i int) (io.ReadCloser, error) { return os.Open(kept[i].path) }
	}
	lines := fmt.Sprintf("lines %d..%d", kept[0].line, kept[len(kept)-1].line)
	backoff := time.Second
	for attempt := 1; ; attempt++ {
		if ctx.Err() != nil {
			out.failed = len(kept)
			return out
		}
		res, err := im.c.AnchorBatch(ctx, client.AnchorInput{BatchID: j.id, Records: items}, open)
		if err == nil {
			out.committed, out.receipts = kept, 1
			created := res.Batch.TxID == res.Receipt.TxID
			out.created = make([]bool, len(kept))
			for i := range out.created {
				out.created[i] = created
			}
			out.batchK, out.batchID = j.k, j.id
			return out
		}
		var fe *client.FileError
		var p *client.Problem
		switch {
		case errors.As(err, &fe) && fe.Index >= 0 && fe.Index < len(kept):
			// The file changed since it was checked: that line is bad, the rest goes on.
			out.bad = append(out.bad, badLine{kept[fe.Index].line, fmt.Sprintf("file %s: %v", kept[fe.Index].path, fe.Err)})
			rest := append(append([]importEntry{}, kept[:fe.Index]...), kept[fe.Index+1:]...)
			j.entries = rest
			return merge(out, im.anchor(ctx, j))
		case ctx.Err() != nil:
			out.failed = len(kept)
			return out
		case errors.As(err, &p) && p.Status == http.StatusUnauthorized:
			out.failed, out.fatal = len(kept), err
			return out
		case errors.As(err, &p) && p.Status == http.StatusConflict && p.Code == "conflict" && attempt >= 3:
			im.prog.message(fmt.Sprintf("batch %s (%s) is anchored already with other records: the lines changed since the run that anchored it (%s)", j.id, lines, p.Detail))
			out.failed = len(kept)
			return out
		case errors.As(err, &p) && !transient(p) && p.Status != http.StatusConflict:
			for _, e := range kept {
				out.bad = append(out.bad, badLine{e.line, fmt.Sprintf("batch refused by the gateway: %s: %s", p.Code, p.Detail)})
			}
			return out
		}
		if attempt >= im.o.attempts {
			im.prog.message(fmt.Sprintf("batch of %s failed after %d attempts: %v", lines, attempt, err))
			out.failed = len(kept)
			return out
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 30*time.Second)
	}
}
