package index

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	_ "modernc.org/sqlite"             // database/sql driver "sqlite"
)

// OpenSQLite opens (creating it if needed) the embedded index at path. WAL mode lets
// readers run beside the follower; writers take the lock at BEGIN (no upgrade
// deadlocks); synchronous NORMAL keeps every committed block across a process crash
// (a power loss may lose the last blocks together with their checkpoint, which the
// follower then applies again). The follower writes through a handle of its own, one
// connection with a page cache of 64 MiB, so that a block of 8,192 leaves changes its
// B-tree pages in memory until it commits; the readers keep SQLite's default cache.
func OpenSQLite(ctx context.Context, path string, ns Namespaces) (*Store, error) {
	db, err := openSQLite(ctx, path, 16)
	if err != nil {
		return nil, err
	}
	w, err := openSQLite(ctx, path, 1, "cache_size(-65536)", "temp_store(MEMORY)")
	if err != nil {
		db.Close()
		return nil, err
	}
	return open(ctx, db, w, dialectSQLite, ns)
}

func openSQLite(ctx context.Context, path string, conns int, pragmas ...string) (*sql.DB, error) {
	q := url.Values{}
	for _, p := range append([]string{"journal_mode(WAL)", "busy_timeout(10000)", "synchronous(NORMAL)"}, pragmas...) {
		q.Add("_pragma", p)
	}
	q.Add("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("index: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("index: open %s: %w", path, err)
	}
	return db, nil
}

// OpenPostgres connects to a PostgreSQL index (dsn: a libpq URL or key=value string)
// and creates its tables if needed. Several gateways may share it.
func OpenPostgres(ctx context.Context, dsn string, ns Namespaces) (*Store, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("index: postgres: %w", err)
	}
	db.SetMaxOpenConns(32)
	db.SetMaxIdleConns(32)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("index: postgres: %w", err)
	}
	return open(ctx, db, db, dialectPostgres, ns)
}
