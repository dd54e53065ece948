package index

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"
)

// Source delivers a channel's blocks in order from a start block (the peer's block
// events; gateway/fabric) and tells the channel's height. The block channel closes
// when the stream ends (an error, the context); the follower then reconnects from its
// checkpoint.
type Source interface {
	Blocks(ctx context.Context, channel string, start uint64) (<-chan *common.Block, error)
	Height(ctx context.Context, channel string) (uint64, error)
}

// Follower keeps a Store up to date with both channels.
type Follower struct {
	store *Store
	src   Source
	// Retry is the wait before reconnecting a stream that ended (default 1 s).
	Retry time.Duration
	// OnApplied, if set before the follower runs, is called after each block is
	// applied (in block order per channel; it must not block).
	OnApplied func(*Block)

	mu     sync.Mutex
	status map[string]FollowStatus
}

// FollowStatus is the state of one channel's stream.
type FollowStatus struct {
	Channel string `json:"channel"`
	// Applied is the index height of the channel (blocks applied).
	Applied uint64 `json:"applied"`
	// LastBlockAt is when the last block was applied; LastError the last failure.
	LastBlockAt time.Time `json:"lastBlockAt,omitzero"`
	LastError   string    `json:"lastError,omitempty"`
}

// NewFollower returns a follower of src into store.
func NewFollower(store *Store, src Source) *Follower {
	return &Follower{store: store, src: src, Retry: time.Second, status: map[string]FollowStatus{}}
}

func (f *Follower) channels() []string {
	return []string{f.store.ns.MunicipalChannel, f.store.ns.DatashareChannel}
}

// Run follows both channels until ctx ends. Stream failures are retried; they are
// visible in Status.
func (f *Follower) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, ch := range f.channels() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				err := f.follow(ctx, ch, 0)
				if err != nil && ctx.Err() == nil {
					f.setErr(ch, err)
				}
				select {
				case <-ctx.Done():
				case <-time.After(f.Retry):
				}
			}
		}()
	}
	wg.Wait()
}

// Status reports each channel's stream.
func (f *Follower) Status() []FollowStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []FollowStatus
	for _, ch := range f.channels() {
		st := f.status[ch]
		st.Channel = ch
		out = append(out, st)
	}
	return out
}

func (f *Follower) setErr(ch string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := f.status[ch]
	st.LastError = err.Error()
	f.status[ch] = st
}

func (f *Follower) applied(ch string, height uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st := f.status[ch]
	st.Applied, st.LastBlockAt, st.LastError = height, time.Now(), ""
	f.status[ch] = st
}

var errStreamEnded = errors.New("block stream ended")

// follow applies blocks of one channel from its checkpoint; with until > 0 it returns
// once the index holds blocks below until.
func (f *Follower) follow(ctx context.Context, channel string, until uint64) error {
	next, err := f.store.Next(ctx, channel)
	if err != nil {
		return err
	}
	if until > 0 && next >= until {
		return nil
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	blocks, err := f.src.Blocks(sctx, channel, next)
	if err != nil {
		return fmt.Errorf("%s: block events: %w", channel, err)
	}
	ns := map[string]bool{f.store.ns.Of(channel): true}
	for raw := range blocks {
		b, err := ParseBlock(channel, raw, ns)
		if err != nil {
			return fmt.Errorf("%s: %w", channel, err)
		}
		if _, err := f.store.Apply(ctx, b); err != nil {
			return err
		}
		f.applied(channel, b.Number+1)
		if f.OnApplied != nil {
			f.OnApplied(b)
		}
		if until > 0 && b.Number+1 >= until {
			return nil
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return fmt.Errorf("%s: %w", channel, errStreamEnded)
}

// CatchUp applies every block each channel had when it was called, then returns.
func (f *Follower) CatchUp(ctx context.Context) error {
	for _, ch := range f.channels() {
		h, err := f.src.Height(ctx, ch)
		if err != nil {
			return fmt.Errorf("%s: height: %w", ch, err)
		}
		for {
			err := f.follow(ctx, ch, h)
			if err == nil {
				break
			}
			if !errors.Is(err, errStreamEnded) {
				return err
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(f.Retry):
			}
		}
	}
	return nil
}

// Lag is how many blocks of each channel the ledger has that the index lacks.
type Lag struct {
	Municipal, Datashare uint64
}

// Lag compares the index with the ledger's heights.
func (f *Follower) Lag(ctx context.Context) (Lag, Heights, error) {
	h, err := f.store.Heights(ctx)
	if err != nil {
		return Lag{}, h, err
	}
	mh, err := f.src.Height(ctx, f.store.ns.MunicipalChannel)
	if err != nil {
		return Lag{}, h, err
	}
	dh, err := f.src.Height(ctx, f.store.ns.DatashareChannel)
	if err != nil {
		return Lag{}, h, err
	}
	sub := func(a, b uint64) uint64 {
		if a > b {
			return a - b
		}
		return 0
	}
	return Lag{Municipal: sub(mh, h.Municipal), Datashare: sub(dh, h.Datashare)}, h, nil
}
