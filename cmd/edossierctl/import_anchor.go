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
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

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
	size := im.o.batchSize
	im.skipProbe = true
	type R = importRun[anchorJob]
	job := anchorJob{k: 0, id: anchorBatchID(im.identity, size, 0)}
	skip := cp.batches[0] == job.id
	emit := func(r *R) bool {
		defer func() {
			job = anchorJob{k: job.k + 1, id: anchorBatchID(im.identity, size, job.k+1)}
			skip = cp.batches[job.k] == job.id
		}()
		switch {
		case job.lines == 0:
			return true
		case skip:
			r.sum.Skipped += job.lines
			r.prog.add(job.lines)
			return true
		case len(job.entries) == 0:
			return true
		}
		return r.hand(job)
	}
	return driveImport(ctx, im, path, cp, importSteps[anchorJob]{
		line: func(r *R, l manifestLine) bool {
			job.lines++
			if !skip {
				if e, cerr := im.check(l, ""); cerr != nil {
					r.refuse(l, cerr)
				} else if e.item.Note != "" || e.item.ValidUntil != "" {
					r.reportBad(badLine{l.line, "note and valid_until need per-record appends (import this line without --anchor)"})
					r.prog.add(1)
				} else {
					job.entries = append(job.entries, e)
				}
			}
			if job.lines == size {
				return emit(r)
			}
			return true
		},
		flush: func(r *R) { emit(r) },
		send:  im.anchor,
		save: func(out batchOutcome) error {
			if out.batchID == "" {
				return nil
			}
			return cp.addBatch(out.batchK, out.batchID)
		},
	})
}

// anchor sends one batch until it is anchored, retrying while the gateway or the ledger
// is unavailable. A refused batch fails as a whole (its lines are reported); a line
// whose file cannot be read is bad and left out.
func (im *importer) anchor(ctx context.Context, j anchorJob) batchOutcome {
	var out batchOutcome
	items := make([]client.AnchorItem, 0, len(j.entries))
	kept := j.entries[:0:0]
	for _, e := range j.entries {
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
	try := func() (batchOutcome, error) {
		res, err := im.c.AnchorBatchReceipt(ctx, client.AnchorInput{BatchID: j.id, Records: items}, open)
		if err != nil {
			return batchOutcome{}, err
		}
		created := res.Batch.TxID == res.Receipt.TxID
		out := batchOutcome{committed: kept, receipts: 1, created: make([]bool, len(kept)), batchK: j.k, batchID: j.id}
		for i := range out.created {
			out.created[i] = created
		}
		return out, nil
	}
	again := func(rest []importEntry) batchOutcome {
		j.entries = rest
		return im.anchor(ctx, j)
	}
	refused := func(p *client.Problem, attempt int) (batchOutcome, bool) {
		switch {
		case p.Status == http.StatusConflict && p.Code == "conflict" && attempt >= 3:
			im.prog.message(fmt.Sprintf("batch %s (lines %d..%d) is anchored already with other records: the lines changed since the run that anchored it (%s)", j.id, kept[0].line, kept[len(kept)-1].line, p.Detail))
			return batchOutcome{failed: len(kept)}, true
		case !transient(p) && p.Status != http.StatusConflict:
			var bad batchOutcome
			for _, e := range kept {
				bad.bad = append(bad.bad, badLine{e.line, fmt.Sprintf("batch refused by the gateway: %s: %s", p.Code, p.Detail)})
			}
			return bad, true
		}
		return batchOutcome{}, false
	}
	return merge(out, im.sendBatch(ctx, kept, try, again, refused))
}
