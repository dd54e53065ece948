package service

import (
	"context"
	"io"
	"sync"
	"time"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
)

// commitAndSubmit has a write endorsed, makes the request's staged files durable once
// the chaincode accepted it, and submits it. A refused endorsement leaves the files
// staged (the caller's finish removes them); a transaction that fails after the files
// became durable schedules the removal of the blobs it created.
func commitAndSubmit[T any](ctx context.Context, files *requestFiles, endorse func() (gateway.Pending[T], error)) (*T, gateway.Receipt, error) {
	pend, err := endorse()
	if err != nil {
		return nil, gateway.Receipt{}, err
	}
	if err := files.commit(ctx); err != nil {
		return nil, gateway.Receipt{}, err
	}
	v, receipt, err := pend.Submit(ctx)
	if err != nil {
		files.drop()
		return nil, receipt, err
	}
	return v, receipt, nil
}

// requestFiles holds the files of one write request (one append, one supersede or one
// bulk append): staged in a BlobBatch until the transaction is endorsed, then committed
// (durable) and counted in flight until the request ends, so that the removal of a
// failed transaction's blob never takes a file another request is about to reference.
type requestFiles struct {
	s       *Service
	batch   BlobBatch
	staged  []BlobInfo      // in Put order
	stored  []CommittedBlob // what Commit put in place
	held    bool            // the staged CIDs are counted in flight
	settled bool            // committed: finish leaves the blobs in place
}

func (s *Service) newRequestFiles() *requestFiles {
	return &requestFiles{s: s, batch: s.blobs.NewBatch()}
}

func (f *requestFiles) put(ctx context.Context, r io.Reader) (BlobInfo, error) {
	if r == nil {
		return BlobInfo{}, gateway.Errorf(gateway.CodeInvalid, "missing file")
	}
	info, err := f.batch.Put(ctx, r)
	if err == nil {
		f.staged = append(f.staged, info)
	}
	return info, err
}

// stage stages the file of an append or supersede and its note, and puts their CIDs
// and the file's size into req.
func (f *requestFiles) stage(ctx context.Context, p gateway.Principal, req *wire.AppendRequest, in AppendInput) error {
	info, err := f.put(ctx, in.File)
	if err != nil {
		return err
	}
	req.CID, req.Size = info.CID, info.Size
	req.NoteCID, err = f.putNote(ctx, p, req.RecordID, in.Meta.Note, in.IdempotencyKey != "")
	return err
}

// commit makes the staged files durable (once: later calls do nothing). Their CIDs count
// as in flight from before the commit, so that the delayed removal of a failed
// transaction's blob with the same content either ran before (the commit then puts the
// content back) or sees this request and keeps the blob.
func (f *requestFiles) commit(ctx context.Context) error {
	if f.settled {
		return nil
	}
	if !f.held {
		for _, b := range f.staged {
			f.s.inflight.acquire(b.CID)
		}
		f.held = true
	}
	done, err := f.batch.Commit(ctx)
	f.stored = done
	if err != nil {
		return err
	}
	f.settled = true
	return nil
}

// finish ends the request's hold on its files. Files staged and never committed (the
// transaction was refused or not tried) are removed; committed blobs stop counting as
// in flight (drop, called when their transaction failed, has scheduled the removal of
// those this request created).
func (f *requestFiles) finish() {
	if !f.settled {
		f.batch.Abort()
		f.drop()
	}
	f.release()
}

// drop schedules the removal of the blobs this request created.
func (f *requestFiles) drop() {
	for _, b := range f.stored {
		if b.Created {
			f.s.dropBlob(b.CID)
		}
	}
}

// release ends the in-flight count of the staged blobs.
func (f *requestFiles) release() {
	if !f.held {
		return
	}
	f.held = false
	for _, b := range f.staged {
		f.s.inflight.release(b.CID)
	}
}

// maxDropAttempts bounds how often the removal of a failed write's blob is put off
// (content in use by another request, ledger unreachable): 30 grace periods, an hour
// with the default grace.
const maxDropAttempts = 30

// dropBlobLater removes cid after the orphan grace if no record references it. While a
// request holds the same content (a retry of the write, another upload of the same
// file) or the ledger cannot be asked, the decision is put off by another grace period
// instead of dropped: a retry that fails in turn did not create the blob (Created
// false) and schedules nothing, so dropping here left the blob behind for good.
func (s *Service) dropBlobLater(cid string, attempt int) {
	time.AfterFunc(s.cfg.OrphanGrace, func() {
		retry := func() {
			if attempt < maxDropAttempts {
				s.dropBlobLater(cid, attempt+1)
			}
		}
		if !s.inflight.startCheck(cid) {
			retry()
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		recs, err := s.ledger.FindByCID(ctx, s.cfg.Platform, cid)
		unreferenced := err == nil && len(recs) == 0
		busy := s.inflight.finishCheck(cid, unreferenced, func() { _ = s.blobs.Delete(cid) })
		if busy || err != nil {
			retry()
		}
	})
}

// dropBlob schedules the removal of a blob that this request added for a transaction
// that did not commit. The removal happens after a grace period, and only if no request
// in flight uses the same content and no record on the ledger references it: a
// concurrent append of the same file must never lose its blob. The ledger is asked
// without holding the in-flight lock (a slow ledger must not stall every commit); a
// request that takes the content in the meantime cancels the removal. Blobs whose
// removal was scheduled when the gateway stopped stay as harmless orphans (encrypted,
// unreferenced).
func (s *Service) dropBlob(cid string) { s.dropBlobLater(cid, 1) }

// inflight counts requests between staging a blob and the end of their transaction,
// and watches the content whose removal is being decided.
type inflight struct {
	mu       sync.Mutex
	n        map[string]int
	checking map[string]bool // CID -> a request took it during the check
}

func (f *inflight) acquire(cid string) {
	f.mu.Lock()
	f.n[cid]++
	if _, ok := f.checking[cid]; ok {
		f.checking[cid] = true
	}
	f.mu.Unlock()
}

func (f *inflight) release(cid string) {
	f.mu.Lock()
	if f.n[cid]--; f.n[cid] <= 0 {
		delete(f.n, cid)
	}
	f.mu.Unlock()
}

// startCheck begins deciding whether cid can go: false if a request uses it or another
// check of it is under way.
func (f *inflight) startCheck(cid string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, busy := f.checking[cid]; busy || f.n[cid] > 0 {
		return false
	}
	f.checking[cid] = false
	return true
}

// finishCheck ends the check of cid and runs remove (under the lock) if the content is
// unreferenced and no request took it since startCheck; it reports whether a request
// took it or holds it (then the decision is put off, see dropBlobLater).
func (f *inflight) finishCheck(cid string, unreferenced bool, remove func()) (busy bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	taken := f.checking[cid]
	delete(f.checking, cid)
	if taken || f.n[cid] > 0 {
		return true
	}
	if unreferenced {
		remove()
	}
	return false
}
