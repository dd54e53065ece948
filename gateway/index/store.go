// Package index is the gateway's event-fed index: a read model of both channels'
// state, built from the blocks the peer delivers (state writes of valid transactions),
// kept in SQLite (embedded, the default) or PostgreSQL (several gateways). It is a
// cache: anyone can rebuild it from the ledger alone (Rebuild) and compare (Dump).
//
// Every block is applied in one database transaction together with the channel's
// checkpoint (next block, last block hash), so a crash at any moment leaves the index
// at a block boundary: the next start resumes at the checkpoint and never skips or
// applies a block twice (a block that does not follow the checkpoint is refused).
//
// The index holds what the ledger's state holds (pseudonymous records, grants, access
// entries as the chaincode wrote them) and nothing else: no personal data is added.
package index

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/edossier-city/edossier/chaincode/wire"
)

// ErrGap is returned by Apply for a block that is not the channel's next block.
var ErrGap = errors.New("index: block does not follow the checkpoint")

// Namespaces names the chaincodes whose state the index reads, per channel.
type Namespaces struct {
	MunicipalChannel, DatashareChannel string
	Dossier, Sharing                   string
}

// DefaultNamespaces are the names of the default network.
var DefaultNamespaces = Namespaces{MunicipalChannel: "municipal", DatashareChannel: "datashare", Dossier: "dossier", Sharing: "sharing"}

// Of returns the chaincode whose writes the index reads on channel ("" for none).
func (n Namespaces) Of(channel string) string {
	switch channel {
	case n.MunicipalChannel:
		return n.Dossier
	case n.DatashareChannel:
		return n.Sharing
	}
	return ""
}

type dialect int

const (
	dialectSQLite dialect = iota
	dialectPostgres
)

// Store is the index database. It is safe for concurrent use.
type Store struct {
	db *sql.DB // readers
	w  *sql.DB // the follower's writes (db itself on PostgreSQL)
	d  dialect
	ns Namespaces

	mu sync.Mutex // serialises Apply within this process

	// applied caches each channel's height as this process last saw it in the
	// database (at open, after each block): a lower bound of the database's, which is
	// all an answer's "complete up to" needs, without a query per lookup.
	municipal, datashare atomic.Uint64

	byCID, batchByCID, allByCID *sql.Stmt // the hot lookups, prepared once
	insertLeaves                *sql.Stmt // the INSERT of leafRows leaves, prepared once

	// WasReset is set when the index, built by an older gateway version, was recreated
	// at open to be rebuilt from the ledger.
	WasReset bool
}

// Record is a record as the index holds it.
type Record struct {
	wire.Record
	// Block is the block of the transaction that appended the record; StatusBlock the
	// block of the last transaction that wrote it (its status is as of then).
	Block, StatusBlock uint64
}

// Heights is how many blocks of each channel the index has applied (so it is fresh
// to block Height-1 of that channel).
type Heights struct {
	Municipal, Datashare uint64
}

var schema = []string{
	`CREATE TABLE IF NOT EXISTS checkpoints (channel TEXT PRIMARY KEY, next_block BIGINT NOT NULL, last_hash TEXT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS blocks (channel TEXT NOT NULL, number BIGINT NOT NULL, hash TEXT NOT NULL, txs INTEGER NOT NULL, valid_txs INTEGER NOT NULL, writes INTEGER NOT NULL, PRIMARY KEY (channel, number))`,
	`CREATE TABLE IF NOT EXISTS records (record_id TEXT PRIMARY KEY, subject_id TEXT NOT NULL, cid TEXT NOT NULL, type TEXT NOT NULL, issuer TEXT NOT NULL, status TEXT NOT NULL, tx_id TEXT NOT NULL, block BIGINT NOT NULL, status_block BIGINT NOT NULL, doc TEXT NOT NULL)`,
	`CREATE INDEX IF NOT EXISTS records_cid ON records (cid)`,
	`CREATE INDEX IF NOT EXISTS records_subject ON records (subject_id, record_id)`,
	`CREATE TABLE IF NOT EXISTS grants (grant_id TEXT PRIMARY KEY, subject_id TEXT NOT NULL, grantee TEXT NOT NULL, status TEXT NOT NULL, block BIGINT NOT NULL, doc TEXT NOT NULL)`,
	`CREATE INDEX IF NOT EXISTS grants_subject ON grants (subject_id, grant_id)`,
	`CREATE TABLE IF NOT EXISTS access_log (entry_key TEXT PRIMARY KEY, subject_id TEXT NOT NULL, record_id TEXT NOT NULL, org TEXT NOT NULL, kind TEXT NOT NULL, block BIGINT NOT NULL, doc TEXT NOT NULL)`,
	`CREATE INDEX IF NOT EXISTS access_subject ON access_log (subject_id, entry_key)`,
	// Batch anchoring: one row per anchored batch (the batch key as the AnchorBatch
	// transaction wrote it), one per leaf (decoded from that transaction's argument:
	// position and the leaf's fields as columns, block), one per changed batch record
	// (its sparse status key).
	`CREATE TABLE IF NOT EXISTS batches (batch_id TEXT PRIMARY KEY, issuer TEXT NOT NULL, root TEXT NOT NULL, size BIGINT NOT NULL, tx_id TEXT NOT NULL, block BIGINT NOT NULL, doc TEXT NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS batch_leaves (batch_id TEXT NOT NULL, leaf_index BIGINT NOT NULL, record_id TEXT NOT NULL, cid TEXT NOT NULL, subject_id TEXT NOT NULL, type TEXT NOT NULL, size BIGINT NOT NULL, media_type TEXT NOT NULL, block BIGINT NOT NULL, PRIMARY KEY (batch_id, leaf_index))`,
	`CREATE INDEX IF NOT EXISTS batch_leaves_cid ON batch_leaves (cid)`,
	`CREATE INDEX IF NOT EXISTS batch_leaves_record ON batch_leaves (record_id)`,
	`CREATE TABLE IF NOT EXISTS batch_status (batch_id TEXT NOT NULL, leaf_index BIGINT NOT NULL, record_id TEXT NOT NULL, status TEXT NOT NULL, tx_id TEXT NOT NULL, block BIGINT NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (batch_id, leaf_index))`,
	`CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)`,
}

// schemaVersion is what the index's rows hold. An index of an older version is
// dropped and recreated at open (it is a cache: the follower rebuilds it from the
// ledger). Version 2 added the batch leaves, version 3 stores a leaf's fields as
// columns instead of its JSON (about 30% fewer bytes per leaf). The schema statements
// run before the version check, so an index statement of a new version may only name
// columns its table had in every older version.
const schemaVersion = "3"

// dataTables are the tables dropped and recreated when an older index is reset.
var dataTables = []string{"checkpoints", "blocks", "records", "grants", "access_log", "batches", "batch_leaves", "batch_status"}

// checkVersion marks a new index with the schema version and recreates the tables of
// one of another version (or none): it returns whether they held blocks.
func (s *Store) checkVersion(ctx context.Context) (reset bool, err error) {
	var v string
	err = s.db.QueryRowContext(ctx, `SELECT value FROM meta WHERE name = 'schema'`).Scan(&v)
	switch {
	case err == nil && v == schemaVersion:
		return false, nil
	case err != nil && !errors.Is(err, sql.ErrNoRows):
		return false, fmt.Errorf("index: %w", err)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("index: %w", err)
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM checkpoints`).Scan(&n); err != nil {
		return false, fmt.Errorf("index: %w", err)
	}
	for _, t := range dataTables {
		if _, err := tx.ExecContext(ctx, `DROP TABLE `+t); err != nil {
			return false, fmt.Errorf("index: reset %s: %w", t, err)
		}
	}
	for _, q := range schema {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return false, fmt.Errorf("index: reset: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO meta (name, value) VALUES ('schema', ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value`), schemaVersion); err != nil {
		return false, fmt.Errorf("index: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("index: %w", err)
	}
	return n > 0, nil
}

func open(ctx context.Context, db, w *sql.DB, d dialect, ns Namespaces) (_ *Store, err error) {
	s := &Store{db: db, w: w, d: d, ns: ns}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	for _, q := range schema {
		if _, err := w.ExecContext(ctx, q); err != nil {
			return nil, fmt.Errorf("index schema: %w", err)
		}
	}
	if s.WasReset, err = s.checkVersion(ctx); err != nil {
		return nil, err
	}
	h, err := s.dbHeights(ctx)
	if err != nil {
		return nil, err
	}
	s.municipal.Store(h.Municipal)
	s.datashare.Store(h.Datashare)
	for _, p := range []struct {
		db    *sql.DB
		stmt  **sql.Stmt
		query string
	}{
		{db, &s.byCID, `SELECT doc, block, status_block FROM records WHERE cid = ? ORDER BY block, record_id`},
		{db, &s.batchByCID, batchRecordsQuery + `l.cid = ?` + batchRecordsOrder},
		{db, &s.allByCID, allByCIDQuery},
		{w, &s.insertLeaves, insertLeaves(leafRows)},
	} {
		if *p.stmt, err = p.db.PrepareContext(ctx, s.q(p.query)); err != nil {
			return nil, fmt.Errorf("index: %w", err)
		}
	}
	return s, nil
}

// seen raises the cached height of a channel.
func (s *Store) seen(channel string, height uint64) {
	var a *atomic.Uint64
	switch channel {
	case s.ns.MunicipalChannel:
		a = &s.municipal
	case s.ns.DatashareChannel:
		a = &s.datashare
	default:
		return
	}
	for {
		old := a.Load()
		if height <= old || a.CompareAndSwap(old, height) {
			return
		}
	}
}

// Close closes the database.
func (s *Store) Close() error {
	for _, st := range []*sql.Stmt{s.byCID, s.batchByCID, s.allByCID, s.insertLeaves} {
		if st != nil {
			st.Close()
		}
	}
	if s.w != s.db {
		s.w.Close()
	}
	return s.db.Close()
}

// q rewrites ? placeholders for PostgreSQL.
func (s *Store) q(query string) string {
	if s.d != dialectPostgres {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Heights returns how many blocks of each channel are applied (at least: blocks
// another gateway applied to a shared database since this one last looked may not
// count yet).
func (s *Store) Heights(context.Context) (Heights, error) {
	return Heights{Municipal: s.municipal.Load(), Datashare: s.datashare.Load()}, nil
}

func (s *Store) dbHeights(ctx context.Context) (Heights, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT channel, next_block FROM checkpoints`)
	if err != nil {
		return Heights{}, fmt.Errorf("index: %w", err)
	}
	defer rows.Close()
	var h Heights
	for rows.Next() {
		var ch string
		var n int64
		if err := rows.Scan(&ch, &n); err != nil {
			return Heights{}, fmt.Errorf("index: %w", err)
		}
		switch ch {
		case s.ns.MunicipalChannel:
			h.Municipal = uint64(n)
		case s.ns.DatashareChannel:
			h.Datashare = uint64(n)
		}
	}
	return h, rows.Err()
}

// Next returns the number of the next block the index needs of a channel.
func (s *Store) Next(ctx context.Context, channel string) (uint64, error) {
	var n int64
	err := s.db.QueryRowContext(ctx, s.q(`SELECT next_block FROM checkpoints WHERE channel = ?`), channel).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("index: %w", err)
	}
	s.seen(channel, uint64(n))
	return uint64(n), nil
}

// Apply adds one block in one database transaction with the channel's checkpoint.
// A block already applied is skipped (applied false, no change); a block beyond the
// next one, or one whose previous hash is not the last applied block's hash, is
// ErrGap and changes nothing.
func (s *Store) Apply(ctx context.Context, b *Block) (applied bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return false, fmt.Errorf("index: begin: %w", err)
	}
	defer func() {
		if err != nil || !applied {
			tx.Rollback()
		}
	}()
	lock := ""
	if s.d == dialectPostgres {
		// Several gateways may follow into one database: the first to lock the
		// checkpoint applies the block, the others then see it applied.
		if _, err := tx.ExecContext(ctx, `INSERT INTO checkpoints (channel, next_block, last_hash) VALUES ($1, 0, '') ON CONFLICT (channel) DO NOTHING`, b.Channel); err != nil {
			return false, fmt.Errorf("index: %w", err)
		}
		lock = " FOR UPDATE"
	}
	var next int64
	var lastHash string
	err = tx.QueryRowContext(ctx, s.q(`SELECT next_block, last_hash FROM checkpoints WHERE channel = ?`+lock), b.Channel).Scan(&next, &lastHash)
	if errors.Is(err, sql.ErrNoRows) {
		next, err = 0, nil
	}
	if err != nil {
		return false, fmt.Errorf("index: checkpoint: %w", err)
	}
	switch {
	case b.Number < uint64(next):
		s.seen(b.Channel, uint64(next))
		return false, nil
	case b.Number > uint64(next):
		return false, fmt.Errorf("%w: %s block %d, next is %d", ErrGap, b.Channel, b.Number, next)
	case next > 0 && lastHash != hex.EncodeToString(b.PrevHash):
		return false, fmt.Errorf("%w: %s block %d does not chain to the last applied block", ErrGap, b.Channel, b.Number)
	}
	for _, w := range b.Writes {
		if err := s.applyWrite(ctx, tx, b, w); err != nil {
			return false, err
		}
	}
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO blocks (channel, number, hash, txs, valid_txs, writes) VALUES (?, ?, ?, ?, ?, ?)`),
		b.Channel, int64(b.Number), hex.EncodeToString(b.Hash), b.Txs, b.Valid, len(b.Writes)); err != nil {
		return false, fmt.Errorf("index: block row: %w", err)
	}
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO checkpoints (channel, next_block, last_hash) VALUES (?, ?, ?) ON CONFLICT (channel) DO UPDATE SET next_block = excluded.next_block, last_hash = excluded.last_hash`),
		b.Channel, int64(b.Number+1), hex.EncodeToString(b.Hash)); err != nil {
		return false, fmt.Errorf("index: checkpoint: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return false, fmt.Errorf("index: commit: %w", err)
	}
	s.seen(b.Channel, b.Number+1)
	return true, nil
}

// splitKey splits a composite state key ("\x00type\x00attr\x00...\x00").
func splitKey(key string) (string, []string, bool) {
	if len(key) < 2 || key[0] != 0 || key[len(key)-1] != 0 {
		return "", nil, false
	}
	parts := strings.Split(key[1:len(key)-1], "\x00")
	return parts[0], parts[1:], true
}

func (s *Store) applyWrite(ctx context.Context, tx *sql.Tx, b *Block, w Write) error {
	if w.Namespace != s.ns.Of(b.Channel) || w.Delete {
		return nil // the chaincodes never delete the keys the index reads
	}
	typ, attrs, ok := splitKey(w.Key)
	if !ok {
		return nil
	}
	switch {
	case w.Namespace == s.ns.Dossier && typ == "record" && len(attrs) == 1:
		var r wire.Record
		if err := json.Unmarshal(w.Value, &r); err != nil || r.RecordID != attrs[0] {
			return fmt.Errorf("index: block %d tx %s: record %q does not decode", b.Number, w.TxID, attrs[0])
		}
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO records (record_id, subject_id, cid, type, issuer, status, tx_id, block, status_block, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (record_id) DO UPDATE SET status = excluded.status, status_block = excluded.status_block, doc = excluded.doc`),
			r.RecordID, r.SubjectID, r.CID, r.Type, r.Issuer, r.Status, r.TxID, int64(b.Number), int64(b.Number), string(w.Value))
		if err != nil {
			return fmt.Errorf("index: record: %w", err)
		}
	case w.Namespace == s.ns.Sharing && typ == "grant" && len(attrs) == 1:
		var g wire.GrantState
		if err := json.Unmarshal(w.Value, &g); err != nil || g.GrantID != attrs[0] {
			return fmt.Errorf("index: block %d tx %s: grant %q does not decode", b.Number, w.TxID, attrs[0])
		}
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO grants (grant_id, subject_id, grantee, status, block, doc) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (grant_id) DO UPDATE SET status = excluded.status, block = excluded.block, doc = excluded.doc`),
			g.GrantID, g.SubjectID, g.Grantee, g.Status, int64(b.Number), string(w.Value))
		if err != nil {
			return fmt.Errorf("index: grant: %w", err)
		}
	case w.Namespace == s.ns.Sharing && typ == "access" && len(attrs) == 3:
		var e wire.AccessEntry
		if err := json.Unmarshal(w.Value, &e); err != nil {
			return fmt.Errorf("index: block %d tx %s: access entry does not decode", b.Number, w.TxID)
		}
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO access_log (entry_key, subject_id, record_id, org, kind, block, doc) VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (entry_key) DO UPDATE SET doc = excluded.doc, block = excluded.block`),
			strings.Join(attrs, "/"), e.SubjectID, e.RecordID, e.Org, e.Kind, int64(b.Number), string(w.Value))
		if err != nil {
			return fmt.Errorf("index: access entry: %w", err)
		}
	case w.Namespace == s.ns.Dossier && typ == "batch" && len(attrs) == 1:
		return s.applyBatch(ctx, tx, b, w, attrs[0])
	case w.Namespace == s.ns.Dossier && typ == "bstatus" && len(attrs) == 2:
		var st wire.BatchRecordStatus
		if err := json.Unmarshal(w.Value, &st); err != nil || st.BatchID != attrs[0] || fmt.Sprint(st.Index) != attrs[1] {
			return fmt.Errorf("index: block %d tx %s: status of batch record %s/%s does not decode", b.Number, w.TxID, attrs[0], attrs[1])
		}
		_, err := tx.ExecContext(ctx, s.q(`INSERT INTO batch_status (batch_id, leaf_index, record_id, status, tx_id, block, doc) VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (batch_id, leaf_index) DO UPDATE SET status = excluded.status, tx_id = excluded.tx_id, block = excluded.block, doc = excluded.doc`),
			st.BatchID, int64(st.Index), st.RecordID, st.Status, w.TxID, int64(b.Number), string(w.Value))
		if err != nil {
			return fmt.Errorf("index: batch record status: %w", err)
		}
	}
	return nil
}

// leafRows is how many leaves one INSERT statement carries (9 parameters each, well
// below SQLite's and PostgreSQL's limits).
const leafRows = 500

// insertLeaves is the INSERT of n leaves.
func insertLeaves(n int) string {
	var q strings.Builder
	q.WriteString(`INSERT INTO batch_leaves (batch_id, leaf_index, record_id, cid, subject_id, type, size, media_type, block) VALUES `)
	for i := range n {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?, ?)")
	}
	return q.String()
}

// applyBatch indexes a write of a batch key. The anchoring transaction (the one the
// anchor names) adds the batch and its leaves, decoded from its argument, after
// checking that they hash, in their context, to the anchored root; a later rewrite of
// the unchanged key (by a status change, for its endorsement policy) adds nothing.
func (s *Store) applyBatch(ctx context.Context, tx *sql.Tx, b *Block, w Write, batchID string) error {
	var a wire.BatchAnchor
	if err := json.Unmarshal(w.Value, &a); err != nil || a.BatchID != batchID {
		return fmt.Errorf("index: block %d tx %s: batch %q does not decode", b.Number, w.TxID, batchID)
	}
	if a.TxID != w.TxID {
		return nil
	}
	args := b.Inputs[w.TxNum]
	if len(args) < 2 {
		return fmt.Errorf("index: block %d tx %s: batch %s anchored without its leaves in the arguments", b.Number, w.TxID, batchID)
	}
	batch, err := wire.DecodeBatch(args[len(args)-1])
	if err != nil {
		return fmt.Errorf("index: block %d tx %s: batch %s: %w", b.Number, w.TxID, batchID, err)
	}
	c := wire.BatchContext{Channel: b.Channel, Chaincode: wire.DossierContract, BatchID: a.BatchID, Issuer: a.Issuer}
	root, err := batch.Root(c)
	if err != nil || batch.BatchID != a.BatchID || uint64(len(batch.Leaves)) != a.Size || hex.EncodeToString(root) != a.Root {
		return fmt.Errorf("index: block %d tx %s: the leaves in the arguments do not make the anchored root of batch %s", b.Number, w.TxID, batchID)
	}
	if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO batches (batch_id, issuer, root, size, tx_id, block, doc) VALUES (?, ?, ?, ?, ?, ?, ?)`),
		a.BatchID, a.Issuer, a.Root, int64(a.Size), a.TxID, int64(b.Number), string(w.Value)); err != nil {
		return fmt.Errorf("index: batch: %w", err)
	}
	full := tx.StmtContext(ctx, s.insertLeaves)
	defer full.Close()
	row := make([]any, 0, 9*leafRows)
	for start := 0; start < len(batch.Leaves); start += leafRows {
		end := min(start+leafRows, len(batch.Leaves))
		row = row[:0]
		for i := start; i < end; i++ {
			l := &batch.Leaves[i]
			row = append(row, a.BatchID, int64(i), l.RecordID, l.CID, l.SubjectID, l.Type, l.Size, l.MediaType, int64(b.Number))
		}
		var err error
		if end-start == leafRows {
			_, err = full.ExecContext(ctx, row...)
		} else {
			_, err = tx.ExecContext(ctx, s.q(insertLeaves(end-start)), row...)
		}
		if err != nil {
			return fmt.Errorf("index: batch leaves: %w", err)
		}
	}
	return nil
}

// BatchRecord is a record of an anchored batch as the index holds it: the record (its
// issuer, time and transaction those of the batch, its status from its sparse status
// key), where it sits, the block of the anchoring transaction and the block of its
// status (the anchoring block while it is active).
type BatchRecord struct {
	wire.BatchRecord
	Block, StatusBlock uint64
}

// leafColumns are a leaf's fields, the last columns of a query that reads leaves, in
// the order leafInto scans them.
const leafColumns = `l.record_id, l.subject_id, l.type, l.cid, l.size, l.media_type`

// leafInto appends the destinations of leafColumns in l to dest.
func leafInto(l *wire.BatchLeaf, dest ...any) []any {
	return append(dest, &l.RecordID, &l.SubjectID, &l.Type, &l.CID, &l.Size, &l.MediaType)
}

const (
	batchRecordsQuery = `SELECT l.leaf_index, b.doc, b.block, s.doc, s.block, ` + leafColumns + ` FROM batch_leaves l JOIN batches b ON b.batch_id = l.batch_id
LEFT JOIN batch_status s ON s.batch_id = l.batch_id AND s.leaf_index = l.leaf_index WHERE `
	batchRecordsOrder = ` ORDER BY l.block, l.batch_id, l.leaf_index`
)

func scanBatchRecords(rows *sql.Rows) ([]BatchRecord, error) {
	defer rows.Close()
	var out []BatchRecord
	for rows.Next() {
		var l wire.BatchLeaf
		var anchorDoc string
		var index, block int64
		var stDoc sql.NullString
		var stBlock sql.NullInt64
		if err := rows.Scan(leafInto(&l, &index, &anchorDoc, &block, &stDoc, &stBlock)...); err != nil {
			return nil, fmt.Errorf("index: %w", err)
		}
		r, err := batchRecordOf(&l, index, anchorDoc, block, stDoc, stBlock)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

func batchRecordOf(l *wire.BatchLeaf, index int64, anchorDoc string, block int64, stDoc sql.NullString, stBlock sql.NullInt64) (BatchRecord, error) {
	var a wire.BatchAnchor
	if err := json.Unmarshal([]byte(anchorDoc), &a); err != nil {
		return BatchRecord{}, fmt.Errorf("index: stored batch: %w", err)
	}
	var st *wire.BatchRecordStatus
	r := BatchRecord{Block: uint64(block), StatusBlock: uint64(block)}
	if stDoc.Valid {
		st = &wire.BatchRecordStatus{}
		if err := json.Unmarshal([]byte(stDoc.String), st); err != nil {
			return BatchRecord{}, fmt.Errorf("index: stored batch record status: %w", err)
		}
		r.StatusBlock = uint64(stBlock.Int64)
	}
	r.BatchRecord = wire.BatchRecord{Record: a.RecordOf(l, st), BatchID: a.BatchID, Index: uint64(index), Root: a.Root}
	return r, nil
}

// BatchRecordsByCID returns the batch records of a content ID (oldest block first)
// and the heights read before them.
func (s *Store) BatchRecordsByCID(ctx context.Context, cid string) ([]BatchRecord, Heights, error) {
	h, err := s.Heights(ctx)
	if err != nil {
		return nil, h, err
	}
	rows, err := s.batchByCID.QueryContext(ctx, cid)
	if err != nil {
		return nil, h, fmt.Errorf("index: %w", err)
	}
	recs, err := scanBatchRecords(rows)
	return recs, h, err
}

// allByCIDQuery is RecordsByCID and BatchRecordsByCID in one statement (one round
// trip on the verification path): kind 0 rows are single records (doc, block, status
// block), kind 1 rows batch records (anchoring block, status block or NULL, index,
// anchor, status or NULL, the leaf's columns).
const allByCIDQuery = `SELECT 0, doc, block, status_block, 0, '', NULL, record_id, '', '', '', '', 0, '' FROM records WHERE cid = ?
UNION ALL SELECT 1, '', b.block, s.block, l.leaf_index, b.doc, s.doc, l.batch_id, ` + leafColumns + ` FROM batch_leaves l JOIN batches b ON b.batch_id = l.batch_id
LEFT JOIN batch_status s ON s.batch_id = l.batch_id AND s.leaf_index = l.leaf_index WHERE l.cid = ?
ORDER BY 1, 3, 8, 5`

// AllByCID returns the single records and the batch records of a content ID (each
// oldest block first) in one query, and the heights read before them.
func (s *Store) AllByCID(ctx context.Context, cid string) ([]Record, []BatchRecord, Heights, error) {
	h, err := s.Heights(ctx)
	if err != nil {
		return nil, nil, h, err
	}
	rows, err := s.allByCID.QueryContext(ctx, cid, cid)
	if err != nil {
		return nil, nil, h, fmt.Errorf("index: %w", err)
	}
	defer rows.Close()
	var recs []Record
	var brs []BatchRecord
	for rows.Next() {
		var kind int
		var doc, anchorDoc, key string
		var block, index int64
		var stBlock sql.NullInt64
		var stDoc sql.NullString
		var l wire.BatchLeaf
		if err := rows.Scan(leafInto(&l, &kind, &doc, &block, &stBlock, &index, &anchorDoc, &stDoc, &key)...); err != nil {
			return nil, nil, h, fmt.Errorf("index: %w", err)
		}
		if kind == 0 {
			r := Record{Block: uint64(block), StatusBlock: uint64(stBlock.Int64)}
			if err := json.Unmarshal([]byte(doc), &r.Record); err != nil {
				return nil, nil, h, fmt.Errorf("index: stored record: %w", err)
			}
			recs = append(recs, r)
			continue
		}
		br, err := batchRecordOf(&l, index, anchorDoc, block, stDoc, stBlock)
		if err != nil {
			return nil, nil, h, err
		}
		brs = append(brs, br)
	}
	return recs, brs, h, rows.Err()
}

// BatchRecordsByID returns the batch records with a record ID (unique per batch, so
// possibly several), oldest block first.
func (s *Store) BatchRecordsByID(ctx context.Context, recordID string) ([]BatchRecord, Heights, error) {
	h, err := s.Heights(ctx)
	if err != nil {
		return nil, h, err
	}
	rows, err := s.db.QueryContext(ctx, s.q(batchRecordsQuery+`l.record_id = ?`+batchRecordsOrder), recordID)
	if err != nil {
		return nil, h, fmt.Errorf("index: %w", err)
	}
	recs, err := scanBatchRecords(rows)
	return recs, h, err
}

// BatchLeaves returns an anchored batch and its leaves in index order (nil, nil when
// the index does not hold the batch).
func (s *Store) BatchLeaves(ctx context.Context, batchID string) (*wire.BatchAnchor, []wire.BatchLeaf, error) {
	var doc string
	err := s.db.QueryRowContext(ctx, s.q(`SELECT doc FROM batches WHERE batch_id = ?`), batchID).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("index: %w", err)
	}
	var a wire.BatchAnchor
	if err := json.Unmarshal([]byte(doc), &a); err != nil {
		return nil, nil, fmt.Errorf("index: stored batch: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT `+leafColumns+` FROM batch_leaves l WHERE batch_id = ? ORDER BY leaf_index`), batchID)
	if err != nil {
		return nil, nil, fmt.Errorf("index: %w", err)
	}
	defer rows.Close()
	leaves := make([]wire.BatchLeaf, 0, a.Size)
	for rows.Next() {
		var l wire.BatchLeaf
		if err := rows.Scan(leafInto(&l)...); err != nil {
			return nil, nil, fmt.Errorf("index: %w", err)
		}
		leaves = append(leaves, l)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("index: %w", err)
	}
	if uint64(len(leaves)) != a.Size {
		return nil, nil, fmt.Errorf("index: batch %s has %d leaves, anchored %d", batchID, len(leaves), a.Size)
	}
	return &a, leaves, nil
}

func (s *Store) records(ctx context.Context, where string, args ...any) ([]Record, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT doc, block, status_block FROM records WHERE `+where), args...)
	if err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	return scanRecords(rows)
}

func scanRecords(rows *sql.Rows) ([]Record, error) {
	defer rows.Close()
	var out []Record
	for rows.Next() {
		var doc string
		var b, sb int64
		if err := rows.Scan(&doc, &b, &sb); err != nil {
			return nil, fmt.Errorf("index: %w", err)
		}
		r := Record{Block: uint64(b), StatusBlock: uint64(sb)}
		if err := json.Unmarshal([]byte(doc), &r.Record); err != nil {
			return nil, fmt.Errorf("index: stored record: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// RecordsByCID returns the records of a content ID (oldest block first) and the
// heights read before them: the answer is complete up to those blocks.
func (s *Store) RecordsByCID(ctx context.Context, cid string) ([]Record, Heights, error) {
	h, err := s.Heights(ctx)
	if err != nil {
		return nil, h, err
	}
	rows, err := s.byCID.QueryContext(ctx, cid)
	if err != nil {
		return nil, h, fmt.Errorf("index: %w", err)
	}
	recs, err := scanRecords(rows)
	return recs, h, err
}

// Record returns one record (nil if the index does not hold it).
func (s *Store) Record(ctx context.Context, id string) (*Record, Heights, error) {
	h, err := s.Heights(ctx)
	if err != nil {
		return nil, h, err
	}
	recs, err := s.records(ctx, `record_id = ?`, id)
	if err != nil || len(recs) == 0 {
		return nil, h, err
	}
	return &recs[0], h, nil
}

// RecordsBySubject returns up to limit records of a subject with IDs after the given
// one (ordered by record ID), for paging.
func (s *Store) RecordsBySubject(ctx context.Context, subjectID, after string, limit int) ([]Record, Heights, error) {
	h, err := s.Heights(ctx)
	if err != nil {
		return nil, h, err
	}
	recs, err := s.records(ctx, `subject_id = ? AND record_id > ? ORDER BY record_id LIMIT ?`, subjectID, after, limit)
	return recs, h, err
}

// GrantsBySubject returns a subject's grants (ordered by grant ID).
func (s *Store) GrantsBySubject(ctx context.Context, subjectID string) ([]wire.GrantState, Heights, error) {
	h, err := s.Heights(ctx)
	if err != nil {
		return nil, h, err
	}
	out, err := docs[wire.GrantState](ctx, s, `SELECT doc FROM grants WHERE subject_id = ? ORDER BY grant_id`, subjectID)
	return out, h, err
}

// AccessLog returns a subject's access entries, newest first (the key order).
func (s *Store) AccessLog(ctx context.Context, subjectID string, limit int) ([]wire.AccessEntry, Heights, error) {
	h, err := s.Heights(ctx)
	if err != nil {
		return nil, h, err
	}
	out, err := docs[wire.AccessEntry](ctx, s, `SELECT doc FROM access_log WHERE subject_id = ? ORDER BY entry_key LIMIT ?`, subjectID, limit)
	return out, h, err
}

// GrantsPage returns up to limit grants of a subject with IDs after the given one
// (ordered by grant ID), for paging.
func (s *Store) GrantsPage(ctx context.Context, subjectID, after string, limit int) ([]wire.GrantState, Heights, error) {
	h, err := s.Heights(ctx)
	if err != nil {
		return nil, h, err
	}
	out, err := docs[wire.GrantState](ctx, s, `SELECT doc FROM grants WHERE subject_id = ? AND grant_id > ? ORDER BY grant_id LIMIT ?`, subjectID, after, limit)
	return out, h, err
}

// AccessLogPage returns up to limit access entries of a subject after the given entry
// key, newest first (the key order), with each entry's key, for paging.
func (s *Store) AccessLogPage(ctx context.Context, subjectID, after string, limit int) ([]wire.AccessEntry, []string, Heights, error) {
	h, err := s.Heights(ctx)
	if err != nil {
		return nil, nil, h, err
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT entry_key, doc FROM access_log WHERE subject_id = ? AND entry_key > ? ORDER BY entry_key LIMIT ?`), subjectID, after, limit)
	if err != nil {
		return nil, nil, h, fmt.Errorf("index: %w", err)
	}
	defer rows.Close()
	var out []wire.AccessEntry
	var keys []string
	for rows.Next() {
		var key, doc string
		if err := rows.Scan(&key, &doc); err != nil {
			return nil, nil, h, fmt.Errorf("index: %w", err)
		}
		var e wire.AccessEntry
		if err := json.Unmarshal([]byte(doc), &e); err != nil {
			return nil, nil, h, fmt.Errorf("index: stored access entry: %w", err)
		}
		out, keys = append(out, e), append(keys, key)
	}
	return out, keys, h, rows.Err()
}

func docs[T any](ctx context.Context, s *Store, query string, args ...any) ([]T, error) {
	rows, err := s.db.QueryContext(ctx, s.q(query), args...)
	if err != nil {
		return nil, fmt.Errorf("index: %w", err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		var doc string
		if err := rows.Scan(&doc); err != nil {
			return nil, fmt.Errorf("index: %w", err)
		}
		var v T
		if err := json.Unmarshal([]byte(doc), &v); err != nil {
			return nil, fmt.Errorf("index: stored document: %w", err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Dump writes every row of the index in a fixed order, one line per row, so that two
// indexes (a live one and a rebuild, SQLite and PostgreSQL) compare byte for byte.
func (s *Store) Dump(ctx context.Context, w io.Writer) error {
	tables := []struct{ name, query string }{
		{"checkpoint", `SELECT channel, next_block, last_hash FROM checkpoints ORDER BY channel`},
		{"block", `SELECT channel, number, hash, txs, valid_txs, writes FROM blocks ORDER BY channel, number`},
		{"record", `SELECT record_id, subject_id, cid, type, issuer, status, tx_id, block, status_block, doc FROM records ORDER BY record_id`},
		{"grant", `SELECT grant_id, subject_id, grantee, status, block, doc FROM grants ORDER BY grant_id`},
		{"access", `SELECT entry_key, subject_id, record_id, org, kind, block, doc FROM access_log ORDER BY entry_key`},
		{"batch", `SELECT batch_id, issuer, root, size, tx_id, block, doc FROM batches ORDER BY batch_id`},
		{"leaf", `SELECT batch_id, leaf_index, record_id, cid, subject_id, type, size, media_type, block FROM batch_leaves ORDER BY batch_id, leaf_index`},
		{"bstatus", `SELECT batch_id, leaf_index, record_id, status, tx_id, block, doc FROM batch_status ORDER BY batch_id, leaf_index`},
	}
	for _, t := range tables {
		rows, err := s.db.QueryContext(ctx, t.query)
		if err != nil {
			return fmt.Errorf("index dump: %w", err)
		}
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return fmt.Errorf("index dump: %w", err)
			}
			fields := make([]string, len(vals))
			for i, v := range vals {
				if b, ok := v.([]byte); ok {
					v = string(b)
				}
				fields[i] = fmt.Sprint(v)
			}
			if _, err := fmt.Fprintf(w, "%s\t%s\n", t.name, strings.Join(fields, "\t")); err != nil {
				rows.Close()
				return err
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return fmt.Errorf("index dump: %w", err)
		}
	}
	return nil
}
