package index

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/hyperledger/fabric-protos-go-apiv2/common"

	"github.com/edossier-city/edossier/chaincode/wire"
	"github.com/edossier-city/edossier/network/nettest"
)

// pgBasePort is this package's PostgreSQL port in main's numbering.
const pgBasePort = 25890

// reopen opens a second handle on a store's database (a second gateway sharing it).
var reopen sync.Map // *Store -> func(t *testing.T) *Store

func TestStoreSQLite(t *testing.T) {
	runSuite(t, func(t *testing.T) *Store {
		path := filepath.Join(t.TempDir(), "index.db")
		var opener func(t *testing.T) *Store
		opener = func(t *testing.T) *Store {
			s, err := OpenSQLite(t.Context(), path, DefaultNamespaces)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			reopen.Store(s, opener)
			return s
		}
		return opener(t)
	})
}

func TestStorePostgres(t *testing.T) {
	dsn := nettest.Postgres(t, pgBasePort)
	n := 0
	runSuite(t, func(t *testing.T) *Store {
		// One database per store: the suite compares two stores.
		n++
		admin, err := OpenPostgres(t.Context(), dsn, DefaultNamespaces)
		if err != nil {
			t.Fatal(err)
		}
		name := fmt.Sprintf("index_%d", n)
		if _, err := admin.db.ExecContext(t.Context(), "DROP DATABASE IF EXISTS "+name); err != nil {
			t.Fatal(err)
		}
		if _, err := admin.db.ExecContext(t.Context(), "CREATE DATABASE "+name); err != nil {
			t.Fatal(err)
		}
		admin.Close()
		var opener func(t *testing.T) *Store
		opener = func(t *testing.T) *Store {
			own := strings.Replace(dsn, "/postgres?", "/"+name+"?", 1)
			s, err := OpenPostgres(t.Context(), own, DefaultNamespaces)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			reopen.Store(s, opener)
			return s
		}
		return opener(t)
	})
}

const (
	subjA = "p-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	subjB = "p-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	cid1  = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
	cid2  = "bafkreibm6jg3ux5qumhcn2b3flc3tyu6dmlb4xa7u5bf44yegnrjhc4yeq"
)

func rec(id, subject, cid, status, txID string) wire.Record {
	return wire.Record{RecordID: id, SubjectID: subject, Type: "birth-certificate", CID: cid, Size: 3, MediaType: "text/plain",
		Issuer: "HealthMSP", IssuedAt: "2026-12-01T10:00:00Z", Status: status, TxID: txID}
}

func recordWrite(r wire.Record) kv { return kv{"dossier", ckey("record", r.RecordID), mustJSON(r)} }

// fixture is a small history of both channels: appends (one in an invalid transaction,
// one in a configuration block), a revocation, a grant and an access entry.
func fixture() (municipal, datashare *chain) {
	m := &chain{channel: "municipal"}
	m.add(testTx{id: "cfg", config: true})
	r1 := rec("r-1", subjA, cid1, wire.StatusActive, "t1")
	r2 := rec("r-2", subjB, cid1, wire.StatusActive, "t2")
	r3 := rec("r-3", subjA, cid2, wire.StatusActive, "t3")
	m.add(testTx{id: "t1", writes: []kv{recordWrite(r1), {"dossier", ckey("cid~record", cid1, "r-1"), []byte{0}}}},
		testTx{id: "t2", writes: []kv{recordWrite(r2)}})
	m.add(testTx{id: "t3bad", invalid: true, writes: []kv{recordWrite(rec("r-9", subjA, cid2, wire.StatusActive, "t3bad"))}},
		testTx{id: "t3", writes: []kv{recordWrite(r3), {"other", ckey("record", "r-x"), []byte("not json")}}})
	r1.Status, r1.Reason, r1.StatusTxID = wire.StatusRevoked, "issued-in-error", "t4"
	m.add(testTx{id: "t4", writes: []kv{recordWrite(r1)}})

	addBatchBlocks(m)

	d := &chain{channel: "datashare"}
	d.add(testTx{id: "cfg", config: true})
	g := wire.GrantState{GrantID: "g-1", SubjectID: subjA, Grantee: "CivilAffairsMSP", Status: wire.GrantActive, CreatedTx: "u1"}
	d.add(testTx{id: "u1", writes: []kv{{"sharing", ckey("grant", "g-1"), mustJSON(g)}, {"sharing", ckey("subject~grant", subjA, "g-1"), []byte{0}}}})
	e := wire.AccessEntry{EntryID: "u2", Kind: wire.AccessFile, SubjectID: subjA, RecordID: "r-3", GrantID: "g-1", Org: "CivilAffairsMSP", TxID: "u2"}
	d.add(testTx{id: "u2", writes: []kv{{"sharing", ckey("access", subjA, "9223372036854775000", "u2"), mustJSON(e)}}})
	g.Status, g.RevokedTx = wire.GrantRevoked, "u3"
	d.add(testTx{id: "u3", writes: []kv{{"sharing", ckey("grant", "g-1"), mustJSON(g)}}})
	return m, d
}

// testBatch is the batch of the fixture: three leaves (two of cid1), anchored by
// HealthMSP on channel municipal.
func testBatch(id string) *wire.Batch {
	leaf := func(i int, subject, cid string) wire.BatchLeaf {
		return wire.BatchLeaf{RecordID: fmt.Sprintf("%s.%d", id, i), SubjectID: subject, Type: "birth-certificate", CID: cid, Size: 3, MediaType: "text/plain"}
	}
	return &wire.Batch{BatchID: id, Leaves: []wire.BatchLeaf{leaf(0, subjA, cid1), leaf(1, subjB, cid2), leaf(2, subjB, cid1)}}
}

// anchorTx is the AnchorBatch transaction txID of batch b by HealthMSP (with the
// anchor's root computed from leaves, which may differ from b's).
func anchorTx(txID string, b *wire.Batch, leaves []wire.BatchLeaf) (testTx, wire.BatchAnchor) {
	root, err := wire.BatchRoot(wire.BatchContext{Channel: "municipal", Chaincode: wire.DossierContract, BatchID: b.BatchID, Issuer: "HealthMSP"}, leaves)
	if err != nil {
		panic(err)
	}
	a := wire.BatchAnchor{BatchID: b.BatchID, Root: hex.EncodeToString(root), Size: uint64(len(leaves)), Issuer: "HealthMSP", AnchoredAt: "2026-12-01T12:00:00Z", TxID: txID}
	return testTx{id: txID, args: [][]byte{[]byte("dossier:AnchorBatch"), must(wire.EncodeBatch(b))},
		writes: []kv{{"dossier", ckey("batch", b.BatchID), mustJSON(a)}}}, a
}

// addBatchBlocks adds to the municipal fixture: block 4, the anchoring of bt-1 (and,
// invalid, of bt-2; and a repeated anchoring of bt-1, valid, writing nothing); block
// 5, the revocation of bt-1's record 1 (its status key and the batch key rewritten
// unchanged).
func addBatchBlocks(m *chain) {
	b1 := testBatch("bt-1")
	tx1, a1 := anchorTx("b1", b1, b1.Leaves)
	b2 := testBatch("bt-2")
	tx2, _ := anchorTx("b2bad", b2, b2.Leaves)
	tx2.invalid = true
	m.add(tx1, tx2, testTx{id: "b1again", args: tx1.args})
	st := wire.BatchRecordStatus{BatchID: "bt-1", Index: 1, RecordID: "bt-1.1", Status: wire.StatusRevoked, Reason: "issued-in-error",
		StatusChangedAt: "2026-12-01T13:00:00Z", StatusTxID: "b3"}
	m.add(testTx{id: "b3", args: [][]byte{[]byte("dossier:RevokeBatchRecord"), []byte("{}"), []byte("issued-in-error")},
		writes: []kv{{"dossier", ckey("batch", "bt-1"), mustJSON(a1)}, {"dossier", ckey("bstatus", "bt-1", "1"), mustJSON(st)}}})
}

func applyAll(t *testing.T, s *Store, c *chain) {
	t.Helper()
	for _, raw := range c.blocks {
		b, err := ParseBlock(c.channel, raw, map[string]bool{s.ns.Of(c.channel): true})
		if err != nil {
			t.Fatal(err)
		}
		applied, err := s.Apply(t.Context(), b)
		if err != nil || !applied {
			t.Fatalf("apply %s block %d: applied %v, %v", c.channel, b.Number, applied, err)
		}
	}
}

func dump(t *testing.T, s *Store) string {
	t.Helper()
	var buf bytes.Buffer
	if err := s.Dump(t.Context(), &buf); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// runSuite is the one test suite every Store implementation passes.
func runSuite(t *testing.T, open func(t *testing.T) *Store) {
	t.Run("lookups", func(t *testing.T) {
		s := open(t)
		m, d := fixture()
		applyAll(t, s, m)
		applyAll(t, s, d)
		ctx := t.Context()
		recs, h, err := s.RecordsByCID(ctx, cid1)
		if err != nil {
			t.Fatal(err)
		}
		if h != (Heights{Municipal: 6, Datashare: 4}) {
			t.Fatalf("heights %+v", h)
		}
		if len(recs) != 2 || recs[0].RecordID != "r-1" || recs[0].Status != wire.StatusRevoked || recs[0].Block != 1 || recs[0].StatusBlock != 3 ||
			recs[1].RecordID != "r-2" || recs[1].Status != wire.StatusActive {
			t.Fatalf("by CID: %+v", recs)
		}
		recs, _, err = s.RecordsByCID(ctx, cid2)
		if err != nil || len(recs) != 1 || recs[0].RecordID != "r-3" || recs[0].Block != 2 {
			t.Fatalf("by CID 2 (the invalid transaction's record must not count): %+v %v", recs, err)
		}
		recs, _, err = s.RecordsBySubject(ctx, subjA, "", 10)
		if err != nil || len(recs) != 2 || recs[0].RecordID != "r-1" || recs[1].RecordID != "r-3" {
			t.Fatalf("by subject: %+v %v", recs, err)
		}
		recs, _, err = s.RecordsBySubject(ctx, subjA, "r-1", 10)
		if err != nil || len(recs) != 1 || recs[0].RecordID != "r-3" {
			t.Fatalf("by subject, second page: %+v %v", recs, err)
		}
		r, _, err := s.Record(ctx, "r-9")
		if err != nil || r != nil {
			t.Fatalf("record of an invalid transaction: %+v %v", r, err)
		}
		gs, _, err := s.GrantsBySubject(ctx, subjA)
		if err != nil || len(gs) != 1 || gs[0].Status != wire.GrantRevoked {
			t.Fatalf("grants: %+v %v", gs, err)
		}
		es, _, err := s.AccessLog(ctx, subjA, 10)
		if err != nil || len(es) != 1 || es[0].RecordID != "r-3" {
			t.Fatalf("access log: %+v %v", es, err)
		}
		if es, _, _ := s.AccessLog(ctx, subjB, 10); len(es) != 0 {
			t.Fatalf("another subject's access log: %+v", es)
		}
		// Pages.
		if gs, _, err := s.GrantsPage(ctx, subjA, "", 1); err != nil || len(gs) != 1 || gs[0].GrantID != "g-1" {
			t.Fatalf("grants page: %+v %v", gs, err)
		}
		if gs, _, err := s.GrantsPage(ctx, subjA, "g-1", 1); err != nil || len(gs) != 0 {
			t.Fatalf("grants after the last: %+v %v", gs, err)
		}
		es, keys, _, err := s.AccessLogPage(ctx, subjA, "", 5)
		if err != nil || len(es) != 1 || len(keys) != 1 || es[0].EntryID != "u2" {
			t.Fatalf("access page: %+v %v %v", es, keys, err)
		}
		if es, _, _, err := s.AccessLogPage(ctx, subjA, keys[0], 5); err != nil || len(es) != 0 {
			t.Fatalf("access after the last: %+v %v", es, err)
		}
	})

	// An older index: no schema mark (before version 1), or version 2, whose leaves
	// were JSON in a column "leaf" that version 3 does not have.
	for name, older := range map[string][]string{
		"no schema mark": {`DELETE FROM meta`},
		"version 2": {`DROP TABLE batch_leaves`,
			`CREATE TABLE batch_leaves (batch_id TEXT NOT NULL, leaf_index BIGINT NOT NULL, record_id TEXT NOT NULL, cid TEXT NOT NULL, leaf TEXT NOT NULL, block BIGINT NOT NULL, PRIMARY KEY (batch_id, leaf_index))`,
			`UPDATE meta SET value = '2' WHERE name = 'schema'`},
	} {
		t.Run("an index built by an older version ("+name+", blocks applied) is recreated at open, to be rebuilt", func(t *testing.T) {
			s := open(t)
			m, _ := fixture()
			applyAll(t, s, &chain{channel: "municipal", blocks: m.blocks[:2]})
			for _, q := range older {
				if _, err := s.db.ExecContext(t.Context(), q); err != nil {
					t.Fatal(err)
				}
			}
			o, _ := reopen.Load(s)
			s2 := o.(func(t *testing.T) *Store)(t)
			if !s2.WasReset {
				t.Fatal("an old index was not reset")
			}
			if h, _ := s2.Heights(t.Context()); h != (Heights{}) {
				t.Fatalf("heights after the reset: %+v", h)
			}
			if d := dump(t, s2); d != "" {
				t.Fatalf("rows left after the reset:\n%s", d)
			}
			// It then rebuilds like a new one (the batches' leaves included), and a
			// current index is not reset again.
			applyAll(t, s2, m)
			if a, l, err := s2.BatchLeaves(t.Context(), "bt-1"); err != nil || a == nil || len(l) != 3 {
				t.Fatalf("batch leaves after the rebuild: %+v %+v %v", a, l, err)
			}
			if s3 := o.(func(t *testing.T) *Store)(t); s3.WasReset {
				t.Fatal("a current index was reset")
			}
		})
	}

	t.Run("batch leaves and the status of batch records", func(t *testing.T) {
		s := open(t)
		m, _ := fixture()
		applyAll(t, s, m)
		ctx := t.Context()
		brs, h, err := s.BatchRecordsByCID(ctx, cid1)
		if err != nil || h.Municipal != 6 {
			t.Fatalf("by CID: %v, heights %+v", err, h)
		}
		if len(brs) != 2 || brs[0].Index != 0 || brs[1].Index != 2 || brs[0].BatchID != "bt-1" || brs[0].Block != 4 ||
			brs[0].Record.RecordID != "bt-1.0" || brs[0].Record.SubjectID != subjA || brs[0].Record.Issuer != "HealthMSP" ||
			brs[0].Record.TxID != "b1" || brs[0].Record.Status != wire.StatusActive || brs[0].Record.IssuedAt != "2026-12-01T12:00:00Z" ||
			brs[1].Record.SubjectID != subjB || brs[1].Record.Status != wire.StatusActive {
			t.Fatalf("batch records of cid1: %+v", brs)
		}
		// One query for both kinds, as the verification path asks.
		for _, c := range []string{cid1, cid2} {
			recs, _, _ := s.RecordsByCID(ctx, c)
			want, _, _ := s.BatchRecordsByCID(ctx, c)
			gotRecs, gotBatch, h2, err := s.AllByCID(ctx, c)
			if err != nil || h2 != h || fmt.Sprint(gotRecs) != fmt.Sprint(recs) || fmt.Sprint(gotBatch) != fmt.Sprint(want) || len(gotBatch) == 0 {
				t.Fatalf("AllByCID(%s): %+v %+v %v\nwant %+v %+v", c, gotRecs, gotBatch, err, recs, want)
			}
		}
		brs, _, err = s.BatchRecordsByCID(ctx, cid2)
		if err != nil || len(brs) != 1 || brs[0].Record.Status != wire.StatusRevoked || brs[0].Record.Reason != "issued-in-error" ||
			brs[0].Record.StatusTxID != "b3" || brs[0].StatusBlock != 5 || brs[0].Block != 4 {
			t.Fatalf("the revoked batch record: %+v %v", brs, err)
		}
		if brs, _, err := s.BatchRecordsByID(ctx, "bt-1.1"); err != nil || len(brs) != 1 || brs[0].Index != 1 {
			t.Fatalf("by record ID: %+v %v", brs, err)
		}
		a, leaves, err := s.BatchLeaves(ctx, "bt-1")
		want := testBatch("bt-1")
		if err != nil || a == nil || a.TxID != "b1" || a.Size != 3 || fmt.Sprint(leaves) != fmt.Sprint(want.Leaves) {
			t.Fatalf("leaves of bt-1: %+v %+v %v", a, leaves, err)
		}
		// The proof the index's leaves give leads to the anchored root.
		tree, err := wire.NewBatchTree(wire.BatchContext{Channel: "municipal", Chaincode: wire.DossierContract, BatchID: "bt-1", Issuer: a.Issuer}, leaves)
		if err != nil {
			t.Fatal(err)
		}
		path, _ := tree.InclusionProof(1)
		if err := wire.VerifyBatchLeaf(wire.BatchContext{Channel: "municipal", Chaincode: wire.DossierContract, BatchID: "bt-1", Issuer: "HealthMSP"}, 1, a.Size, &leaves[1], path, a.RootBytes()); err != nil {
			t.Fatal(err)
		}
		// The invalid transaction's batch is not indexed.
		if a, l, err := s.BatchLeaves(ctx, "bt-2"); err != nil || a != nil || l != nil {
			t.Fatalf("batch of an invalid transaction: %+v %+v %v", a, l, err)
		}
	})

	t.Run("a block applied twice is skipped, a gap or a foreign block refused, nothing changes", func(t *testing.T) {
		s := open(t)
		m, _ := fixture()
		applyAll(t, s, &chain{channel: "municipal", blocks: m.blocks[:2]})
		before := dump(t, s)
		ctx := t.Context()
		again, _ := ParseBlock("municipal", m.blocks[1], nil)
		if applied, err := s.Apply(ctx, again); err != nil || applied {
			t.Fatalf("applying block 1 again: applied %v, %v", applied, err)
		}
		gap, _ := ParseBlock("municipal", m.blocks[3], nil)
		if _, err := s.Apply(ctx, gap); !errors.Is(err, ErrGap) {
			t.Fatalf("block 3 before block 2: %v, want ErrGap", err)
		}
		other := &chain{channel: "municipal"}
		for i := 0; i < 3; i++ {
			other.add(testTx{id: "x" + string(rune('0'+i))})
		}
		foreign, _ := ParseBlock("municipal", other.blocks[2], nil)
		if _, err := s.Apply(ctx, foreign); !errors.Is(err, ErrGap) {
			t.Fatalf("a block of another chain: %v, want ErrGap", err)
		}
		if after := dump(t, s); after != before {
			t.Fatalf("refused blocks changed the index:\n%s\nwas\n%s", after, before)
		}
	})

	t.Run("a block that fails half-way leaves nothing", func(t *testing.T) {
		s := open(t)
		c := &chain{channel: "municipal"}
		c.add(testTx{id: "t0"})
		applyAll(t, s, c)
		before := dump(t, s)
		bad := c.add(testTx{id: "t1", writes: []kv{recordWrite(rec("r-1", subjA, cid1, wire.StatusActive, "t1")),
			{"dossier", ckey("record", "r-2"), []byte("{broken")}}})
		b, _ := ParseBlock("municipal", bad, nil)
		if _, err := s.Apply(t.Context(), b); err == nil {
			t.Fatal("a block with an undecodable record applied")
		}
		if after := dump(t, s); after != before {
			t.Fatalf("a failed block left rows:\n%s", after)
		}
		if n, _ := s.Next(t.Context(), "municipal"); n != 1 {
			t.Fatalf("checkpoint moved to %d", n)
		}
		// An anchor whose argument's leaves do not make its root (one leaf altered),
		// or that lacks its leaves, fails its block whole.
		c.blocks = c.blocks[:1]
		bt := testBatch("bt-x")
		altered := append([]wire.BatchLeaf{}, bt.Leaves...)
		altered[2].CID = cid2
		forged, _ := anchorTx("tx", bt, altered)
		noArgs, _ := anchorTx("tx", bt, bt.Leaves)
		noArgs.args = nil
		for name, tx := range map[string]testTx{"altered leaf": forged, "no arguments": noArgs} {
			b, _ := ParseBlock("municipal", makeBlock("municipal", 1, HeaderHash(c.blocks[0].Header), recordTx(), tx), nil)
			if _, err := s.Apply(t.Context(), b); err == nil {
				t.Fatalf("%s: applied", name)
			}
			if after := dump(t, s); after != before {
				t.Fatalf("%s: a failed block left rows:\n%s", name, after)
			}
		}
	})

	t.Run("two stores fed the same blocks dump the same, whatever the order of the channels", func(t *testing.T) {
		a, b := open(t), open(t)
		m, d := fixture()
		applyAll(t, a, m)
		applyAll(t, a, d)
		applyAll(t, b, d)
		applyAll(t, b, m)
		if da, db := dump(t, a), dump(t, b); da != db {
			t.Fatalf("dumps differ:\n%s\n---\n%s", da, db)
		}
	})

	t.Run("two gateways following into one database: every block once", func(t *testing.T) {
		a := open(t)
		o, _ := reopen.Load(a)
		b := o.(func(t *testing.T) *Store)(t)
		m, d := fixture()
		var wg sync.WaitGroup
		errs := make(chan error, 2)
		for _, s := range []*Store{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				f := NewFollower(s, &fakeSource{chains: map[string]*chain{"municipal": m, "datashare": d}})
				f.Retry = 0
				errs <- f.CatchUp(t.Context())
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		ref := open(t)
		applyAll(t, ref, m)
		applyAll(t, ref, d)
		if got, want := dump(t, a), dump(t, ref); got != want {
			t.Fatalf("shared index differs from the reference:\n%s\n---\n%s", got, want)
		}
		if h, _ := b.Heights(t.Context()); h != (Heights{Municipal: 6, Datashare: 4}) {
			t.Fatalf("second gateway's heights %+v", h)
		}
	})

	t.Run("follower: resumes at its checkpoint after a stop, no gap, no duplicate", func(t *testing.T) {
		s := open(t)
		m, d := fixture()
		src := &fakeSource{chains: map[string]*chain{"municipal": m, "datashare": d}, cut: 2}
		f := NewFollower(s, src)
		f.Retry = 0
		if err := f.CatchUp(t.Context()); err != nil {
			t.Fatal(err)
		}
		if src.starts["municipal"][0] != 0 || len(src.starts["municipal"]) < 2 || src.starts["municipal"][1] != 2 {
			t.Fatalf("stream starts %v: want 0 then the checkpoint 2", src.starts)
		}
		ref := open(t)
		applyAll(t, ref, m)
		applyAll(t, ref, d)
		if got, want := dump(t, s), dump(t, ref); got != want {
			t.Fatalf("followed index differs from the reference:\n%s\n---\n%s", got, want)
		}
		lag, _, err := f.Lag(t.Context())
		if err != nil || lag != (Lag{}) {
			t.Fatalf("lag %+v %v", lag, err)
		}
	})
}

func recordTx() testTx {
	return testTx{id: "t1", writes: []kv{recordWrite(rec("r-1", subjA, cid1, wire.StatusActive, "t1"))}}
}

// fakeSource serves chains as block streams; each stream ends after cut blocks (0:
// never), like a peer connection that drops.
type fakeSource struct {
	chains map[string]*chain
	cut    int
	mu     sync.Mutex
	starts map[string][]uint64
}

func (f *fakeSource) Blocks(ctx context.Context, channel string, start uint64) (<-chan *common.Block, error) {
	f.mu.Lock()
	if f.starts == nil {
		f.starts = map[string][]uint64{}
	}
	f.starts[channel] = append(f.starts[channel], start)
	f.mu.Unlock()
	out := make(chan *common.Block)
	c := f.chains[channel]
	go func() {
		defer close(out)
		sent := 0
		for i := start; i < uint64(len(c.blocks)); i++ {
			if f.cut > 0 && sent == f.cut {
				return
			}
			select {
			case out <- c.blocks[i]:
				sent++
			case <-ctx.Done():
				return
			}
		}
		<-ctx.Done()
	}()
	return out, nil
}

func (f *fakeSource) Height(ctx context.Context, channel string) (uint64, error) {
	return uint64(len(f.chains[channel].blocks)), nil
}
