package main

// The event-fed index and the proof builder: wiring (gateway/index, gateway/proof).

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/gateway"
	"github.com/edossier-city/edossier/gateway/fabric"
	"github.com/edossier-city/edossier/gateway/index"
	"github.com/edossier-city/edossier/gateway/proof"
	"github.com/edossier-city/edossier/gateway/service"
)

// ledgerBlocks gives the index and the proof builder the platform identity's view
// of the channels' blocks.
type ledgerBlocks struct {
	c        *fabric.Client
	platform gateway.Actor
}

func (l ledgerBlocks) Blocks(ctx context.Context, channel string, start uint64) (<-chan *common.Block, error) {
	return l.c.BlockEvents(ctx, l.platform, channel, start)
}

func (l ledgerBlocks) Height(ctx context.Context, channel string) (uint64, error) {
	return l.c.Height(ctx, l.platform, channel)
}

func (l ledgerBlocks) BlockByTxID(ctx context.Context, channel, txID string) (*common.Block, error) {
	return l.c.BlockByTxID(ctx, l.platform, channel, txID)
}

// serviceIndex adapts the index store to service.Index. It answers with this
// gateway's own writes included: when the index does not yet hold the last block in
// which this gateway saw one of its transactions commit, it waits for the follower (a
// few milliseconds), up to ownWritesWait; then it reports the index behind and the
// service asks the chaincode.
//
// Until the follower has caught up once with the heights the channels had when the
// gateway started (a new or restored index), the index does not answer at all: a
// partly built index would call recent records unknown.
type serviceIndex struct {
	s     *index.Store
	l     *fabric.Client
	ready *atomic.Bool
}

const ownWritesWait = 2 * time.Second

// fresh runs a lookup until the index holds this gateway's last commit on channel
// municipal (see serviceIndex).
func (x serviceIndex) fresh(ctx context.Context, lookup func() (index.Heights, error)) (index.Heights, error) {
	return x.freshOn(ctx, false, lookup)
}

// freshOn is fresh for channel municipal, or datashare.
func (x serviceIndex) freshOn(ctx context.Context, datashare bool, lookup func() (index.Heights, error)) (index.Heights, error) {
	if x.ready != nil && !x.ready.Load() {
		return index.Heights{}, errors.New("the index is catching up with the ledger")
	}
	h, err := lookup()
	if err != nil || x.l == nil {
		return h, err
	}
	channel, height := x.l.MunicipalChannel(), func(h index.Heights) uint64 { return h.Municipal }
	if datashare {
		channel, height = x.l.DatashareChannel(), func(h index.Heights) uint64 { return h.Datashare }
	}
	own := x.l.LastCommitted(channel)
	deadline := time.Now().Add(ownWritesWait)
	for height(h) <= own {
		if time.Now().After(deadline) {
			return h, fmt.Errorf("the index holds %d blocks, this gateway committed in block %d", h.Municipal, own)
		}
		select {
		case <-ctx.Done():
			return h, ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
		if h, err = lookup(); err != nil {
			return h, err
		}
	}
	return h, nil
}

func batchRows(brs []index.BatchRecord) []service.IndexedRecord {
	out := make([]service.IndexedRecord, len(brs))
	for i, r := range brs {
		out[i] = service.IndexedRecord{Record: r.Record, Block: r.Block, Batch: &service.BatchPosition{BatchID: r.BatchID, Index: r.Index, Root: r.Root}}
	}
	return out
}

func (x serviceIndex) RecordsByCID(ctx context.Context, cid string) ([]service.IndexedRecord, service.IndexHeights, error) {
	var rows []index.Record
	var brs []index.BatchRecord
	h, err := x.fresh(ctx, func() (h index.Heights, err error) {
		rows, brs, h, err = x.s.AllByCID(ctx, cid)
		return h, err
	})
	if err != nil {
		return nil, service.IndexHeights{}, err
	}
	out := make([]service.IndexedRecord, len(rows), len(rows)+len(brs))
	for i, r := range rows {
		out[i] = service.IndexedRecord{Record: r.Record, Block: r.Block}
	}
	out = append(out, batchRows(brs)...)
	return out, service.IndexHeights{Municipal: h.Municipal, Datashare: h.Datashare}, nil
}

func (x serviceIndex) BatchRecordsByID(ctx context.Context, recordID string) ([]service.IndexedRecord, service.IndexHeights, error) {
	var brs []index.BatchRecord
	h, err := x.fresh(ctx, func() (h index.Heights, err error) {
		brs, h, err = x.s.BatchRecordsByID(ctx, recordID)
		return h, err
	})
	if err != nil {
		return nil, service.IndexHeights{}, err
	}
	return batchRows(brs), service.IndexHeights{Municipal: h.Municipal, Datashare: h.Datashare}, nil
}

func (x serviceIndex) GrantsBySubject(ctx context.Context, subjectID, after string, limit int) ([]wire.GrantState, service.IndexHeights, error) {
	var gs []wire.GrantState
	h, err := x.freshOn(ctx, true, func() (h index.Heights, err error) {
		gs, h, err = x.s.GrantsPage(ctx, subjectID, after, limit)
		return h, err
	})
	return gs, service.IndexHeights{Municipal: h.Municipal, Datashare: h.Datashare}, err
}

func (x serviceIndex) AccessLog(ctx context.Context, subjectID, after string, limit int) ([]wire.AccessEntry, []string, service.IndexHeights, error) {
	var es []wire.AccessEntry
	var keys []string
	h, err := x.freshOn(ctx, true, func() (h index.Heights, err error) {
		es, keys, h, err = x.s.AccessLogPage(ctx, subjectID, after, limit)
		return h, err
	})
	return es, keys, service.IndexHeights{Municipal: h.Municipal, Datashare: h.Datashare}, err
}

func (x serviceIndex) BatchLeaves(ctx context.Context, batchID string) (*wire.BatchAnchor, []wire.BatchLeaf, error) {
	return x.s.BatchLeaves(ctx, batchID)
}

// prover builds bundles of records of channel municipal.
type prover struct{ b *proof.Builder }

func (p prover) Build(ctx context.Context, rec wire.Record) (*gateway.ProofBundle, error) {
	return p.b.Build(ctx, rec)
}

func (p prover) BuildBatch(ctx context.Context, br wire.BatchRecord, bp wire.BatchProof) (*gateway.ProofBundle, error) {
	return p.b.BuildBatch(ctx, br, bp)
}

func indexNamespaces(l *fabric.Client) index.Namespaces {
	ns := index.DefaultNamespaces
	ns.MunicipalChannel, ns.DatashareChannel = l.MunicipalChannel(), l.DatashareChannel()
	return ns
}

// openIndex opens the configured index store (nil when index is off).
func openIndex(ctx context.Context, cfg Config, ns index.Namespaces) (*index.Store, error) {
	switch cfg.Index {
	case "off":
		return nil, nil
	case "postgres":
		return index.OpenPostgres(ctx, cfg.IndexDSN, ns)
	default:
		path := cfg.IndexFile
		if path == "" {
			path = filepath.Join(cfg.DataDir, "index.db")
		}
		return index.OpenSQLite(ctx, path, ns)
	}
}

// indexParts is what the gateway keeps of the index.
type indexParts struct {
	store    *index.Store
	follower *index.Follower
	ns       index.Namespaces
	ready    atomic.Bool // caught up once since start
}

// observeSubjectKeys calls fn with every subject key the followed blocks write. Call
// it before follow.
func (p *indexParts) observeSubjectKeys(fn func(subjectID, keyID string, active bool)) {
	p.follower.OnApplied = func(b *index.Block) {
		for _, c := range p.ns.SubjectKeyChanges(b) {
			fn(c.SubjectID, c.KeyID, c.Active)
		}
	}
}

// follow catches up with the channels' heights, marks the index ready, then follows
// until ctx ends.
func (p *indexParts) follow(ctx context.Context) {
	for ctx.Err() == nil {
		if err := p.follower.CatchUp(ctx); err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
	p.ready.Store(true)
	p.follower.Run(ctx)
}

// wireIndex opens the index (unless off), makes verification read it, enables proofs,
// and returns the /readyz status function.
func wireIndex(cfg Config, l *fabric.Client, platform gateway.Actor, svc *service.Service) (*indexParts, func(ctx context.Context) (any, bool), error) {
	blocks := ledgerBlocks{c: l, platform: platform}
	svc.UseProver(prover{&proof.Builder{Blocks: blocks, Channel: l.MunicipalChannel(), Chaincode: index.DefaultNamespaces.Dossier}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ns := indexNamespaces(l)
	store, err := openIndex(ctx, cfg, ns)
	if err != nil || store == nil {
		return nil, nil, err
	}
	parts := &indexParts{store: store, follower: index.NewFollower(store, blocks), ns: ns}
	svc.UseIndex(serviceIndex{s: store, l: l, ready: &parts.ready})
	status := func(ctx context.Context) (any, bool) {
		lag, h, err := parts.follower.Lag(ctx)
		st := map[string]any{"kind": cfg.Index, "caughtUp": parts.ready.Load(), "heights": map[string]uint64{l.MunicipalChannel(): h.Municipal, l.DatashareChannel(): h.Datashare},
			"streams": parts.follower.Status()}
		if err != nil {
			st["error"] = err.Error()
			return st, cfg.IndexMaxLag == 0
		}
		st["lag"] = map[string]uint64{l.MunicipalChannel(): lag.Municipal, l.DatashareChannel(): lag.Datashare}
		worst := max(lag.Municipal, lag.Datashare)
		return st, cfg.IndexMaxLag == 0 || worst <= uint64(cfg.IndexMaxLag)
	}
	return parts, status, nil
}

// rebuildIndex recreates the index from the ledger alone (`edossier-gateway
// rebuild-index`): into an empty index (the configured one: remove the old file or
// database first, or point indexFile / indexDsn elsewhere), every block of both
// channels up to their current heights. It prints the heights and the SHA-256 of the
// index's dump, which an index built by anyone else from the same ledger matches.
func rebuildIndex(ctx context.Context, cfg Config, out io.Writer) error {
	if cfg.Index == "off" {
		return fmt.Errorf("index is off")
	}
	g, err := Open(cfg)
	if err != nil {
		return err
	}
	defer g.Close()
	if g.index == nil {
		return fmt.Errorf("no index configured")
	}
	h, err := g.index.store.Heights(ctx)
	if err != nil {
		return err
	}
	if h != (index.Heights{}) {
		return fmt.Errorf("the index already holds blocks (%d, %d): rebuild into an empty one (remove it: it is a cache)", h.Municipal, h.Datashare)
	}
	start := time.Now()
	if err := g.index.follower.CatchUp(ctx); err != nil {
		return err
	}
	if h, err = g.index.store.Heights(ctx); err != nil {
		return err
	}
	digest, err := indexDigest(ctx, g.index.store)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "index rebuilt in %s: %s %d blocks, %s %d blocks, dump sha256 %s\n", time.Since(start).Round(time.Millisecond),
		g.ledger.MunicipalChannel(), h.Municipal, g.ledger.DatashareChannel(), h.Datashare, digest)
	return nil
}

func indexDigest(ctx context.Context, s *index.Store) (string, error) {
	var buf bytes.Buffer
	if err := s.Dump(ctx, &buf); err != nil {
		return "", err
	}
	sum := sha256.Sum256(buf.Bytes())
	return hex.EncodeToString(sum[:]), nil
}
