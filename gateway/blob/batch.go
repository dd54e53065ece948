package blob

import (
	"bytes"
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

// GroupCommitMin is the number of files of their own (packed files do not count) from
// which Commit, on Linux, makes the batch durable with two syncfs(2) calls on the
// store's file system (one after staging, one after the renames) instead of one fsync
// per file and per shard directory: a group commit whose cost does not grow with the
// number of files (8,192 files above 16 KiB spread over up to 256 shard directories).
// syncfs also flushes other dirty data of that file system (a peer's ledger on the same
// disk), so it only pays for many files; a pack is one file and gets its own fsync.
const GroupCommitMin = 256

// Batch stores several blobs with one durability pass instead of one per blob,
// for bulk appends. Put reads each stream: a file of at most smallFile bytes (most
// documents of a legacy archive) is kept in memory; a larger one is encrypted into its
// own temporary file without syncing it. Commit seals the small files into the entries
// of one pack when there are at least packMin of them (see "Packed blobs" in pack.go;
// fewer are staged as files of their own), then writes the pack, makes the pack and
// all the temporary files durable (fsyncs, concurrently), links each one to its final
// name, syncs every directory involved (concurrently), and indexes the pack's entries;
// from GroupCommitMin blobs on, two syncfs calls replace those fsyncs (see
// GroupCommitMin). When Commit returns nil every blob of the batch is durable and
// readable by its CID, exactly as after as many Store.Put calls. A Batch is used by one
// goroutine; Commit or Abort ends it (Abort removes what it staged).
type Batch struct {
	s      *Store
	buf    []byte
	items  []staged    // files of their own
	packed []packEntry // entries of the batch's pack
	order  []int       // Put order: i >= 0 is items[i], i < 0 is packed[-i-1]
	held   int64       // plaintext bytes of packed
	done   bool
}

// maxPackBytes bounds the small files a Batch holds in memory for its pack (a batch of
// 16,384 files of 16 KiB would hold 256 MiB); the small files after that are staged as
// files of their own.
const maxPackBytes = 32 << 20

// NewBatch starts an empty batch (a *Batch).
func (s *Store) NewBatch() gateway.BlobBatch { return s.newBatch() }

func (s *Store) newBatch() *Batch { return &Batch{s: s, buf: newBuffer()} }

// Put encrypts r into the batch and returns its CID and size (Created is only known
// after Commit). Errors and limits are those of Store.Put; a failed Put leaves the
// batch's other blobs staged.
func (b *Batch) Put(ctx context.Context, r io.Reader) (gateway.BlobInfo, error) {
	if b.done {
		return gateway.BlobInfo{}, b.s.codeErr(errors.New("blob: batch already committed or aborted"))
	}
	if err := ctx.Err(); err != nil {
		return gateway.BlobInfo{}, b.s.codeErr(err)
	}
	head := b.buf[bufSize:]
	n, err := io.ReadFull(r, head)
	switch {
	case (err == io.EOF || err == io.ErrUnexpectedEOF) && !b.s.filesOnly && b.held+int64(n) <= maxPackBytes:
		// The whole file is in head: an entry of the pack.
		if int64(n) > b.s.maxSize {
			return gateway.BlobInfo{}, b.s.codeErr(ErrTooLarge)
		}
		e := newPackEntry(head[:n])
		b.held += int64(n)
		b.packed = append(b.packed, e)
		b.order = append(b.order, -len(b.packed))
		return gateway.BlobInfo{CID: e.cid, Size: e.size}, nil
	case err != nil && err != io.EOF && err != io.ErrUnexpectedEOF:
		return gateway.BlobInfo{}, b.s.codeErr(err)
	}
	// A larger file: a file of its own, starting with what was read.
	st, err := b.s.stage(ctx, io.MultiReader(bytes.NewReader(bytes.Clone(head[:n])), r), b.buf, false)
	if err != nil {
		return gateway.BlobInfo{}, b.s.codeErr(err)
	}
	b.items = append(b.items, st)
	b.order = append(b.order, len(b.items)-1)
	return gateway.BlobInfo{CID: st.cid, Size: st.size}, nil
}

// Len returns the number of staged blobs.
func (b *Batch) Len() int { return len(b.order) }

// Commit makes every staged blob durable and returns their Info in Put order, Created
// telling whether this batch installed the content. On error the batch is aborted;
// blobs already in place stay (they are valid, like those of a transaction that
// failed) and are reported in the returned slice with Created set, so that the caller
// can drop them.
func (b *Batch) Commit(ctx context.Context) ([]gateway.CommittedBlob, error) {
	out, err := b.commit(ctx)
	return out, b.s.codeErr(err)
}

func (b *Batch) commit(ctx context.Context) (_ []gateway.CommittedBlob, err error) {
	if b.done {
		return nil, errors.New("blob: batch already committed or aborted")
	}
	defer b.Abort()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// The group commit pays for many files of their own; a pack is one file, which
	// its own fsync makes durable without flushing everything else on the file system.
	group := haveSyncFS && len(b.items) >= GroupCommitMin
	// 0. A few small files (a daily append's file and note) get files of their own;
	// from packMin on they are sealed into entries of one pack. Which of those are
	// new content, and the pack that holds them.
	if err := b.sealOrStage(ctx); err != nil {
		return nil, err
	}
	plan, err := b.s.planPack(ctx, b.packed)
	if err != nil {
		return nil, err
	}
	var pack stagedPack
	if len(plan.write) > 0 {
		if pack, err = b.s.stagePack(plan.write, !group); err != nil {
			return nil, err
		}
		defer func() {
			if pack.tmp != "" {
				os.Remove(pack.tmp)
			}
		}()
		if err := b.s.markPending(ctx, pack.id); err != nil {
			return nil, err
		}
		defer func() {
			if err != nil {
				b.s.dropPending(pack.id) // unless its rows are committed
			}
		}()
	}
	// 1. Data and header of every temporary file on disk.
	if group {
		if err := syncFS(b.s.tmpDir); err != nil {
			return nil, fmt.Errorf("blob: %w", err)
		}
	} else if err := parallel(len(b.items), func(i int) error { return syncFile(b.items[i].tmp) }); err != nil {
		return nil, fmt.Errorf("blob: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// 2. Final names.
	files := make([]gateway.CommittedBlob, len(b.items))
	var done []gateway.CommittedBlob // in place so far, for an error
	dirs := map[string]bool{}
	for i := range b.items {
		st := &b.items[i]
		created, dir, err := b.s.install(st)
		if err != nil {
			return done, err
		}
		files[i] = gateway.CommittedBlob{BlobInfo: gateway.BlobInfo{CID: st.cid, Size: st.size}, Created: created}
		done = append(done, files[i])
		dirs[dir] = true
	}
	if len(plan.write) > 0 {
		dir, err := b.s.installPack(&pack)
		if err != nil {
			return done, err
		}
		dirs[dir] = true
	}
	// 3. The directory entries.
	if group {
		if err := syncFS(b.s.blobsDir); err != nil {
			return done, fmt.Errorf("blob: %w", err)
		}
	} else {
		list := make([]string, 0, len(dirs))
		for d := range dirs {
			list = append(list, d)
		}
		if err := parallel(len(list), func(i int) error { return syncDir(list[i]) }); err != nil {
			return done, fmt.Errorf("blob: %w", err)
		}
	}
	// 4. The pack's entries in the index.
	if len(plan.write) > 0 {
		if err := b.s.indexNewPack(ctx, pack, &plan); err != nil {
			return done, err
		}
	}
	out := make([]gateway.CommittedBlob, len(b.order))
	for k, i := range b.order {
		if i >= 0 {
			out[k] = files[i]
			continue
		}
		e := &b.packed[-i-1]
		out[k] = gateway.CommittedBlob{BlobInfo: gateway.BlobInfo{CID: e.cid, Size: e.size}, Created: plan.created[-i-1]}
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
	b.items, b.packed, b.order = nil, nil, nil
}

// sealOrStage stages the batch's small files as files of their own when there are
// fewer than packMin, and otherwise seals each into its pack entry.
func (b *Batch) sealOrStage(ctx context.Context) error {
	if len(b.packed) >= packMin {
		for i := range b.packed {
			if err := b.s.sealPacked(&b.packed[i]); err != nil {
				return err
			}
		}
		return nil
	}
	at := make([]int, len(b.packed))
	for i := range b.packed {
		st, err := b.s.stage(ctx, bytes.NewReader(b.packed[i].plain), b.buf, false)
		if err != nil {
			return err
		}
		b.items = append(b.items, st)
		at[i] = len(b.items) - 1
	}
	for k, i := range b.order {
		if i < 0 {
			b.order[k] = at[-i-1]
		}
	}
	b.packed = nil
	return nil
}

// packPlan is what a commit does with its pack entries: write holds the content to
// pack (each digest once, none an intact blob file has), created says per entry whether
// this batch stores it.
type packPlan struct {
	write   []*packEntry
	writeAt []int // index in the batch's entries of each of write
	created []bool
}

// planPack dedupes a batch's pack entries within the batch and against intact blob
// files. Packed copies are found when the pack is indexed (indexNewPack).
func (s *Store) planPack(_ context.Context, entries []packEntry) (packPlan, error) {
	p := packPlan{created: make([]bool, len(entries))}
	seen := make(map[string]bool, len(entries))
	for i := range entries {
		e := &entries[i]
		if seen[string(e.digest)] {
			continue // stored by an earlier entry of this batch
		}
		seen[string(e.digest)] = true
		_, path := s.pathOf(e.cid, e.digest)
		if _, err := s.stat(e.cid, path); err == nil {
			continue // an intact blob file has this content
		}
		p.write = append(p.write, e)
		p.writeAt = append(p.writeAt, i)
		p.created[i] = true
	}
	return p, nil
}

// indexNewPack indexes an installed pack. If that fails the pack is removed (no row
// names it). An entry whose content the index holds already stays in the index's copy
// (and counts as not created) unless that copy cannot be read; the pack's own entry is
// then erased.
func (s *Store) indexNewPack(ctx context.Context, pack stagedPack, p *packPlan) error {
	_, path, err := s.packPath(pack.id)
	if err != nil {
		return err
	}
	taken, err := s.packs.indexPack(ctx, pack, p.write)
	if err != nil {
		return err // the pack is still marked pending: Commit's error removes it
	}
	var lost []int
	for _, j := range taken {
		e := p.write[j]
		old, ok, err := s.packs.lookup(e.digest)
		if err != nil {
			return err
		}
		var mine bool
		if ok {
			mine, err = s.claim(e.digest, old, pack.id, pack.offs[j])
		} else {
			mine, err = s.packs.insert(e.digest, pack.id, pack.offs[j], e.size) // deleted meanwhile
		}
		if err != nil {
			return err
		}
		if !mine {
			lost = append(lost, j)
		}
	}
	if len(lost) == 0 {
		return nil
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("blob: %w", err)
	}
	defer f.Close()
	for _, j := range lost {
		if err := eraseKeyAt(f, pack.offs[j], p.write[j].digest); err != nil {
			return fmt.Errorf("blob: erase: %w", err)
		}
		p.created[p.writeAt[j]] = false
	}
	return nil
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
