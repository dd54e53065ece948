package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/edossier-city/edossier/gateway"
)

// syncWorkers bounds the fsyncs a batch commit runs at once. Concurrent
// fsyncs overlap their device writes (and share journal commits on ext4 or
// xfs with a journal), which is what makes a batch cheaper than as many
// Puts: on the development machine, 500 files of 2 KiB took about 200 ms of
// file and directory fsyncs one by one and about 40 ms with 32 at once.
const syncWorkers = 32

// Batch stores several blobs with one durability pass instead of one per blob,
// for bulk appends: Put encrypts each stream into its own temporary file
// without syncing it; Commit then fsyncs all the temporary files
// (concurrently), links each one to its final name, and fsyncs every shard
// directory involved (concurrently). When Commit returns nil every blob of
// the batch is durable under its final name, exactly as after as many
// Store.Put calls. A Batch is used by one goroutine; Commit or Abort ends it
// (Abort removes what it staged).
type Batch struct {
	s     *Store
	buf   []byte
	items []staged
	done  bool
}

// NewBatch starts an empty batch (a *Batch).
func (s *Store) NewBatch() gateway.BlobBatch { return s.newBatch() }

func (s *Store) newBatch() *Batch { return &Batch{s: s, buf: newBuffer()} }

// Put encrypts r into a temporary file of the batch and returns its CID and
// size (Created is only known after Commit). Errors and limits are those of
// Store.Put; a failed Put leaves the batch's other blobs staged.
func (b *Batch) Put(ctx context.Context, r io.Reader) (gateway.BlobInfo, error) {
	if b.done {
		return gateway.BlobInfo{}, b.s.codeErr(errors.New("blob: batch already committed or aborted"))
	}
	st, err := b.s.stage(ctx, r, b.buf, false)
	if err != nil {
		return gateway.BlobInfo{}, b.s.codeErr(err)
	}
	b.items = append(b.items, st)
	return gateway.BlobInfo{CID: st.cid, Size: st.size}, nil
}

// Len returns the number of staged blobs.
func (b *Batch) Len() int { return len(b.items) }

// Commit makes every staged blob durable under its final name and returns
// their Info in Put order, Created telling whether this batch installed the
// content. On error the batch is aborted; blobs already linked stay (they are
// valid, like those of a transaction that failed) and are reported in the
// returned slice with Created set, so that the caller can drop them.
func (b *Batch) Commit(ctx context.Context) ([]gateway.CommittedBlob, error) {
	out, err := b.commit(ctx)
	return out, b.s.codeErr(err)
}

func (b *Batch) commit(ctx context.Context) ([]gateway.CommittedBlob, error) {
	if b.done {
		return nil, errors.New("blob: batch already committed or aborted")
	}
	defer b.Abort()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// 1. Data and header of every temporary file on disk.
	if err := parallel(len(b.items), func(i int) error { return syncFile(b.items[i].tmp) }); err != nil {
		return nil, fmt.Errorf("blob: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// 2. Final names.
	out := make([]gateway.CommittedBlob, len(b.items))
	dirs := map[string]bool{}
	for i := range b.items {
		st := &b.items[i]
		created, dir, err := b.s.install(st)
		if err != nil {
			return out[:i], err
		}
		out[i] = gateway.CommittedBlob{BlobInfo: gateway.BlobInfo{CID: st.cid, Size: st.size}, Created: created}
		dirs[dir] = true
	}
	// 3. The directory entries.
	list := make([]string, 0, len(dirs))
	for d := range dirs {
		list = append(list, d)
	}
	if err := parallel(len(list), func(i int) error { return syncDir(list[i]) }); err != nil {
		return out, fmt.Errorf("blob: %w", err)
	}
	return out, nil
}

// Abort removes the batch's temporary files (the blobs a successful Commit
// installed keep their final names). It may be called more than once.
func (b *Batch) Abort() {
	b.done = true
	for i := range b.items {
		b.items[i].discard()
	}
	b.items = nil
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// parallel runs fn(0..n-1) on up to syncWorkers goroutines and returns the
// first error.
func parallel(n int, fn func(i int) error) error {
	workers := min(n, syncWorkers)
	if workers <= 1 {
		for i := range n {
			if err := fn(i); err != nil {
				return err
			}
		}
		return nil
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		next  = make(chan int)
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return first
}
