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
// follower then applies again).
func OpenSQLite(ctx context.Context, path string, ns Namespaces) (*Store, error) {
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("index: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("index: open %s: %w", path, err)
	}
	return open(ctx, db, dialectSQLite, ns)
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
	return open(ctx, db, dialectPostgres, ns)
}
