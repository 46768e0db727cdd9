// Package sqlite is foldboard's embedded event store: one SQLite file holding
// the event log, each stream's current state (with its recent command ids),
// snapshots and the projectors' read models, with a change feed over the log. It uses the
// pure-Go modernc.org/sqlite driver, so it needs neither cgo nor a server.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/foldboard/foldboard/es"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Store is an es.Store and es.ReadModelStore in one SQLite file. Its Feed
// follows the file's event log. It is safe for concurrent use.
type Store struct {
	// writer has one connection. SQLite lets one connection write at a time
	// anyway; queueing appends here in the process, rather than on the file
	// lock, keeps them in order and spares them busy-waiting.
	writer *sql.DB
	// reader is a pool of read-only connections: in WAL mode they read a
	// committed snapshot while the writer writes.
	reader *sql.DB
	// stmts are the hot paths' statements, prepared on both.
	stmts *statements
	// group commits appends that queue for the writer together.
	group group
	// recent is the events appended last, for the feeds.
	recent recentLog
	// feedFileReads counts the feeds' reads of the file, for the tests.
	feedFileReads atomic.Int64

	// pollEvery is how often a feed with nothing to do looks at the file for
	// appends by another process; appends by this one wake it at once.
	pollEvery time.Duration

	mu      sync.Mutex
	changed chan struct{} // closed, and replaced, after every append
}

var (
	_ es.Store          = (*Store)(nil)
	_ es.ReadModelStore = (*Store)(nil)
	_ es.SaveCapacity   = (*Store)(nil)
)

// busyTimeout is how long a connection waits for another process's lock.
const busyTimeout = 5 * time.Second

// Open opens or creates the store in the SQLite file at path and creates any
// missing table.
//
// The file is in WAL mode, so that readers never wait for the writer, with
// synchronous=FULL: every commit is on disk before Append returns. The event
// log is the source of truth and the user has been told their command
// happened, so an append must survive a power cut too, not only a crash of
// this process (which is all NORMAL promises in WAL mode); one fsync a commit
// is the price.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") || strings.ContainsRune(path, '?') {
		// Every connection must open the same file: no in-memory databases, and
		// no URI whose parameters would clash with the ones set here.
		return nil, fmt.Errorf("sqlite: open %q: want the path of a file", path)
	}
	pragmas := fmt.Sprintf("?_pragma=busy_timeout(%d)&_pragma=foreign_keys(1)", busyTimeout.Milliseconds())
	// _txlock=immediate: an append takes the write lock when it begins, so
	// that it waits for another process's writer up front (busy_timeout)
	// instead of failing when it first writes. temp_store(MEMORY): each
	// append of a group is a savepoint, whose undo pages (the statement
	// journal) would otherwise go to a temporary file, a write(2) a page;
	// only a rollback to the savepoint reads them, and the WAL still holds
	// what a crash needs.
	writer, err := sql.Open("sqlite", path+pragmas+"&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=temp_store(MEMORY)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	writer.SetMaxOpenConns(1)
	if err := migrate(ctx, writer); err != nil {
		writer.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}

	reader, err := sql.Open("sqlite", path+pragmas+"&_pragma=query_only(1)")
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	readers := max(4, runtime.GOMAXPROCS(0))
	reader.SetMaxOpenConns(readers)
	reader.SetMaxIdleConns(readers)
	if err := reader.PingContext(ctx); err != nil {
		reader.Close()
		writer.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	stmts, err := prepare(ctx, writer, reader)
	if err != nil {
		reader.Close()
		writer.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return &Store{writer: writer, reader: reader, stmts: stmts, pollEvery: time.Second, changed: make(chan struct{})}, nil
}

// Close closes the file. A feed still following fails at its next read of
// the file (it may deliver this process's last appends from memory first).
func (s *Store) Close() error {
	return errors.Join(s.stmts.close(), s.reader.Close(), s.writer.Close())
}

// Ping reports whether the file answers.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.reader.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	return nil
}

// schemaVersion is this program's version of the tables, kept in the file's
// user_version so a later program can tell which it is opening.
const schemaVersion = 2

// schema creates the tables. Streams are keyed by (stream_type, stream_id);
// every row of a stream's events and snapshots refers to its head,
// which is written first in every append.
const schema = `
CREATE TABLE IF NOT EXISTS heads (
	stream_type  TEXT    NOT NULL,
	stream_id    TEXT    NOT NULL,
	version      INTEGER NOT NULL,
	state_schema INTEGER NOT NULL,
	data         TEXT    NOT NULL,
	-- The stream's recent command ids (es.EncodeCommands): idempotency
	-- rides on the row every append writes, no row of its own.
	commands     TEXT    NOT NULL DEFAULT '',
	PRIMARY KEY (stream_type, stream_id)
) STRICT, WITHOUT ROWID;

-- position is the rowid: the global log's order, which is commit order, as
-- SQLite has one writer at a time and events are never deleted.
CREATE TABLE IF NOT EXISTS events (
	position       INTEGER PRIMARY KEY,
	stream_type    TEXT    NOT NULL,
	stream_id      TEXT    NOT NULL,
	version        INTEGER NOT NULL,
	event_id       TEXT    NOT NULL UNIQUE,
	event_type     TEXT    NOT NULL,
	schema_version INTEGER NOT NULL,
	time_ns        INTEGER, -- Unix nanoseconds; NULL for the zero time
	actor          TEXT    NOT NULL,
	correlation_id TEXT    NOT NULL,
	causation_id   TEXT    NOT NULL,
	command_id     TEXT    NOT NULL,
	data           TEXT    NOT NULL,
	-- The backstop of the concurrency check: two events can never share a version.
	UNIQUE (stream_type, stream_id, version),
	FOREIGN KEY (stream_type, stream_id) REFERENCES heads DEFERRABLE INITIALLY DEFERRED
) STRICT;

-- A page of the log by event type reads this index, in log order, for as
-- many events as the page holds: its work is bounded by the page, not by
-- the log.
CREATE INDEX IF NOT EXISTS events_by_type ON events (event_type, position);

CREATE TABLE IF NOT EXISTS snapshots (
	stream_type  TEXT    NOT NULL,
	stream_id    TEXT    NOT NULL,
	version      INTEGER NOT NULL,
	state_schema INTEGER NOT NULL,
	data         TEXT    NOT NULL,
	PRIMARY KEY (stream_type, stream_id, version),
	FOREIGN KEY (stream_type, stream_id) REFERENCES heads DEFERRABLE INITIALLY DEFERRED
) STRICT, WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS readmodels (
	projector TEXT NOT NULL,
	key       TEXT NOT NULL,
	doc       TEXT NOT NULL,
	PRIMARY KEY (projector, key)
) STRICT, WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS checkpoints (
	projector  TEXT NOT NULL PRIMARY KEY,
	checkpoint TEXT NOT NULL
) STRICT, WITHOUT ROWID;
`

func migrate(ctx context.Context, db *sql.DB) error {
	var have int
	if err := db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&have); err != nil {
		return fmt.Errorf("reading the schema version: %w", err)
	}
	if have > schemaVersion {
		return fmt.Errorf("the file has schema version %d, newer than this program's %d", have, schemaVersion)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("creating tables: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, schema); err != nil {
		return fmt.Errorf("creating tables: %w", err)
	}
	if have == 1 {
		// Version 1 kept a row per command id in a table of its own (left
		// as it is); version 2 keeps the recent ones in the head row.
		if _, err := tx.ExecContext(ctx, `ALTER TABLE heads ADD COLUMN commands TEXT NOT NULL DEFAULT ''`); err != nil {
			return fmt.Errorf("adding heads.commands: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, schemaVersion)); err != nil {
		return fmt.Errorf("setting the schema version: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("creating tables: %w", err)
	}
	return nil
}

// isConstraint reports whether err is SQLite refusing a write for a
// constraint (unique, primary key, foreign key …).
func isConstraint(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && e.Code()&0xff == sqlite3.SQLITE_CONSTRAINT
}

// uninterrupted is ctx without its cancellation, for the writes and the
// feed's reads: short work that ends by itself. modernc's driver watches a
// context that can end with a goroutine of its own for every statement, to
// interrupt SQLite when it does: ~7 goroutines started and woken per append,
// which a scheduler trace showed costing an append ~120 µs more from an HTTP
// request (whose context can end) than from context.Background, on two
// cores. An append or a page of the log takes milliseconds at most, and a
// wait for another process's lock is bounded by busy_timeout; a caller that
// has gone before the work starts still stops it (see appendOne).
func uninterrupted(ctx context.Context) context.Context { return context.WithoutCancel(ctx) }

// changes returns the channel the next append closes. Take it before reading,
// so that an append committed after the read still wakes the reader.
func (s *Store) changes() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// notify wakes every feed waiting for an append.
func (s *Store) notify() {
	s.mu.Lock()
	defer s.mu.Unlock()
	close(s.changed)
	s.changed = make(chan struct{})
}
