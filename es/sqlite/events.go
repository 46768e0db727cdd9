package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/foldboard/foldboard/es"
)

// The statements of the hot paths, prepared once (see prepare): SQLite then
// parses each once per connection instead of on every call.
const (
	sqlInsertHead = `
		INSERT INTO heads (stream_type, stream_id, version, state_schema, data, commands)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`
	sqlUpdateHead = `
		UPDATE heads SET version = ?, state_schema = ?, data = ?, commands = ?
		WHERE stream_type = ? AND stream_id = ? AND version = ?`
	sqlHeadVersion = `SELECT version, commands FROM heads WHERE stream_type = ? AND stream_id = ?`
	// OR FAIL: a multi-row insert that may stop half-way with ABORT keeps a
	// statement journal, a copy of every page it touches first (a third of
	// the fill's memmove); an append that fails is rolled back whole anyway
	// (its transaction, or its savepoint in a group), so what a failed
	// statement leaves needs no undoing of its own.
	sqlInsertEvents = `
		INSERT OR FAIL INTO events (stream_type, stream_id, version, event_id, event_type, schema_version,
			time_ns, actor, correlation_id, causation_id, command_id, data)
		VALUES `
	sqlEventRow       = `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	sqlInsertSnapshot = `
		INSERT INTO snapshots (stream_type, stream_id, version, state_schema, data)
		VALUES (?, ?, ?, ?, ?)`
	sqlHead = `
		SELECT version, state_schema, data, commands FROM heads WHERE stream_type = ? AND stream_id = ?`
	sqlCommandEvents = `SELECT ` + eventColumns + ` FROM events
		WHERE stream_type = ? AND stream_id = ? AND version BETWEEN ? AND ? ORDER BY version`
	sqlStreamForward = `SELECT ` + eventColumns + ` FROM events
		WHERE stream_type = ? AND stream_id = ? AND version >= ? ORDER BY version LIMIT ?`
	sqlStreamReverse = `SELECT ` + eventColumns + ` FROM events
		WHERE stream_type = ? AND stream_id = ? AND version <= ? ORDER BY version DESC LIMIT ?`
	sqlSnapshot = `
		SELECT version, state_schema, data FROM snapshots
		WHERE stream_type = ? AND stream_id = ? AND version <= ?
		ORDER BY version DESC LIMIT 1`
	sqlReadLog = `SELECT ` + eventColumns + ` FROM events
		WHERE position > ? ORDER BY position LIMIT ?`
	sqlReadLogByType = `SELECT ` + eventColumns + ` FROM events INDEXED BY events_by_type
		WHERE event_type = ? AND position > ? ORDER BY position LIMIT ?`
)

// statements holds the prepared statements. database/sql prepares a Stmt on
// each connection the first time it runs there and keeps it while the
// connection lives: the writer has one connection, the readers a fixed pool.
type statements struct {
	// On the writer, run inside the append's transaction with tx.StmtContext.
	insertHead, updateHead, headVersion, insertSnapshot *sql.Stmt
	// insertEvents[k-1] inserts k events in one statement.
	insertEvents [maxEventsPerInsert]*sql.Stmt
	// A group's heads, read and inserted bulkHeads a statement (bulk.go);
	// insertHeads[k-1] inserts k.
	bulkHeads        *sql.Stmt
	insertHeads      [bulkHeads]*sql.Stmt
	insertEventsBulk *sql.Stmt // bulkEvents events
	// The events of a repeated command, on the writer.
	writerCommandEvents *sql.Stmt
	// The read models' saves, on the writer in the save's transaction.
	saveDoc, saveCheckpoint *sql.Stmt
	// On the readers.
	head, commandEvents, streamForward, streamReverse, snapshot, readLog, readLogByType *sql.Stmt
}

func prepare(ctx context.Context, writer, reader *sql.DB) (st *statements, err error) {
	st = &statements{}
	var all []*sql.Stmt
	defer func() {
		if err != nil {
			for _, s := range all {
				s.Close()
			}
		}
	}()
	for _, p := range []struct {
		db  *sql.DB
		sql string
		to  **sql.Stmt
	}{
		{writer, sqlInsertHead, &st.insertHead},
		{writer, sqlUpdateHead, &st.updateHead},
		{writer, sqlHeadVersion, &st.headVersion},
		{writer, sqlInsertSnapshot, &st.insertSnapshot},
		{writer, sqlCommandEvents, &st.writerCommandEvents},
		{writer, sqlSaveDoc, &st.saveDoc},
		{writer, sqlSaveCheckpoint, &st.saveCheckpoint},
		{reader, sqlHead, &st.head},
		{reader, sqlCommandEvents, &st.commandEvents},
		{reader, sqlStreamForward, &st.streamForward},
		{reader, sqlStreamReverse, &st.streamReverse},
		{reader, sqlSnapshot, &st.snapshot},
		{reader, sqlReadLog, &st.readLog},
		{reader, sqlReadLogByType, &st.readLogByType},
	} {
		s, err := p.db.PrepareContext(ctx, p.sql)
		if err != nil {
			return nil, fmt.Errorf("preparing %q: %w", strings.Join(strings.Fields(p.sql), " "), err)
		}
		all = append(all, s)
		*p.to = s
	}
	for k := range st.insertEvents {
		q := sqlInsertEvents + strings.Repeat(sqlEventRow+", ", k) + sqlEventRow
		s, err := writer.PrepareContext(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("preparing the insert of %d events: %w", k+1, err)
		}
		all = append(all, s)
		st.insertEvents[k] = s
	}
	bulk, err := prepareBulk(ctx, writer, st)
	all = append(all, bulk...)
	if err != nil {
		return nil, err
	}
	return st, nil
}

func (st *statements) close() error {
	var errs []error
	for _, s := range append([]*sql.Stmt{
		st.insertHead, st.updateHead, st.headVersion, st.insertSnapshot,
		st.writerCommandEvents, st.saveDoc, st.saveCheckpoint,
		st.head, st.commandEvents, st.streamForward, st.streamReverse, st.snapshot, st.readLog, st.readLogByType,
		st.bulkHeads, st.insertEventsBulk,
	}, append(st.insertEvents[:], st.insertHeads[:]...)...) {
		errs = append(errs, s.Close())
	}
	return errors.Join(errs...)
}

// Append writes the events, the stream's new state, its snapshot and command
// record in one transaction. The concurrency check is the head's conditional
// write inside it, never a read before it.
func (s *Store) Append(ctx context.Context, req es.AppendRequest) (es.AppendResult, error) {
	if err := checkRequest(req); err != nil {
		return es.AppendResult{}, fmt.Errorf("sqlite: append to %s: %w", req.Stream, err)
	}
	res, err := s.append(ctx, req)
	if err != nil {
		var conflict *es.ConflictError
		var dup *es.DuplicateCommandError
		if errors.As(err, &conflict) || errors.As(err, &dup) {
			return es.AppendResult{}, err // they name the stream themselves
		}
		return es.AppendResult{}, fmt.Errorf("sqlite: append to %s: %w", req.Stream, err)
	}
	s.notify()
	return res, nil
}

// checkRequest refuses an append that would break a stream's numbering, before
// it reaches the file.
func checkRequest(req es.AppendRequest) error {
	if err := req.Stream.Validate(); err != nil {
		return err
	}
	if req.CommandID != "" && !es.ValidID(req.CommandID) {
		return fmt.Errorf("command id %q: want 1-64 characters of A-Z a-z 0-9 - _ .", req.CommandID)
	}
	if req.Expected < 0 {
		return fmt.Errorf("expected version %d: want 0 or more", req.Expected)
	}
	if len(req.Events) == 0 {
		return errors.New("no events")
	}
	for i, e := range req.Events {
		if want := req.Expected + int64(i) + 1; e.Version != want {
			return fmt.Errorf("event %d has version %d, want %d", i, e.Version, want)
		}
		if e.Stream != req.Stream {
			return fmt.Errorf("event %d belongs to stream %s", i, e.Stream)
		}
		if e.ID == "" || e.Type == "" {
			return fmt.Errorf("event %d has no id or no type", i)
		}
		if y := e.Time.Year(); !e.Time.IsZero() && (y < 1678 || y > 2261) {
			return fmt.Errorf("event %d: time %v is outside what Unix nanoseconds hold", i, e.Time)
		}
	}
	last := req.Expected + int64(len(req.Events))
	if req.State.Version != last {
		return fmt.Errorf("state at version %d, want the last event's %d", req.State.Version, last)
	}
	if sn := req.Snapshot; sn != nil && (sn.Version <= req.Expected || sn.Version > last) {
		return fmt.Errorf("snapshot at version %d, want one of the appended versions %d…%d", sn.Version, req.Expected+1, last)
	}
	return nil
}

// appendOne writes one append in a transaction of its own. Once begun, it is
// not interrupted when ctx ends (see uninterrupted).
func (s *Store) appendOne(ctx context.Context, req es.AppendRequest) (res es.AppendResult, err error) {
	if err := ctx.Err(); err != nil {
		return res, err
	}
	ctx = uninterrupted(ctx)
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return res, err
	}
	// A panic must not leave the one writer connection in a transaction.
	defer tx.Rollback() // after Commit, a no-op
	if res, err = s.appendIn(ctx, tx, req); err != nil {
		tx.Rollback()
		return es.AppendResult{}, err
	}
	if err := tx.Commit(); err != nil {
		return es.AppendResult{}, fmt.Errorf("committing: %w", err)
	}
	s.recent.add(res.Events)
	return res, nil
}

// testHookAppendIn, when set (by tests), is called as each append is written.
var testHookAppendIn func(es.AppendRequest)

// appendIn writes one append in tx, or refuses it (*es.ConflictError,
// *es.DuplicateCommandError) or fails; after a refusal or a failure, what it
// wrote must be rolled back.
func (s *Store) appendIn(ctx context.Context, tx *sql.Tx, req es.AppendRequest) (res es.AppendResult, err error) {
	if testHookAppendIn != nil {
		testHookAppendIn(req)
	}
	st := req.Stream
	last := req.Expected + int64(len(req.Events))

	// The head row, read under the write lock the transaction holds: its
	// recent command ids come first, so that a repeated command is
	// reported as such even when its expected version is stale too (its
	// sender wants the first result, not a conflict).
	var have int64
	var cmds string
	err = tx.StmtContext(ctx, s.stmts.headVersion).QueryRowContext(ctx, st.Type, st.ID).Scan(&have, &cmds)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return res, fmt.Errorf("reading head: %w", err)
	}
	recent, err := es.DecodeCommands(cmds)
	if err != nil {
		return res, fmt.Errorf("head of %s: %w", st, err)
	}
	if first, err := es.RepeatOf(recent, req, es.AppendTime(req)); err != nil {
		return res, err
	} else if first != nil {
		envs, err := queryEvents(ctx, tx.StmtContext(ctx, s.stmts.writerCommandEvents), st.Type, st.ID, first.From, first.To)
		if err != nil {
			return res, fmt.Errorf("reading command %s: %w", req.CommandID, err)
		}
		return res, &es.DuplicateCommandError{Stream: st, CommandID: req.CommandID, First: es.AppendResult{Version: first.To, Events: envs, Commands: recent}}
	}
	if have != req.Expected {
		return res, &es.ConflictError{Stream: st, Expected: req.Expected, Actual: have}
	}
	next := es.NextCommands(recent, req)

	// The head moves from Expected to last only if it is at Expected: the
	// affected-row count is the concurrency check, atomic with the rest.
	var r sql.Result
	if req.Expected == 0 {
		r, err = tx.StmtContext(ctx, s.stmts.insertHead).ExecContext(ctx,
			st.Type, st.ID, last, req.State.Schema, text(req.State.Data), es.EncodeCommands(next))
	} else {
		r, err = tx.StmtContext(ctx, s.stmts.updateHead).ExecContext(ctx,
			last, req.State.Schema, text(req.State.Data), es.EncodeCommands(next), st.Type, st.ID, req.Expected)
	}
	if err != nil {
		return res, fmt.Errorf("writing head: %w", err)
	}
	if n, err := r.RowsAffected(); err != nil {
		return res, err
	} else if n == 0 {
		// Unreachable under the write lock, whose read said otherwise;
		// kept as the backstop.
		return res, &es.ConflictError{Stream: st, Expected: req.Expected, Actual: -1}
	}

	res = es.AppendResult{Version: last, Events: make([]es.Envelope, len(req.Events)), Commands: next}
	copy(res.Events, req.Events)
	for from := 0; from < len(res.Events); from += maxEventsPerInsert {
		chunk := res.Events[from:min(from+maxEventsPerInsert, len(res.Events))]
		if err := s.insertEvents(ctx, tx, chunk); err != nil {
			if isConstraint(err) && !strings.Contains(err.Error(), "event_id") {
				// Unreachable while heads and events agree; kept as the backstop.
				return es.AppendResult{}, &es.ConflictError{Stream: st, Expected: req.Expected, Actual: -1}
			}
			return es.AppendResult{}, fmt.Errorf("writing events %s… (from version %d): %w", chunk[0].ID, chunk[0].Version, err)
		}
	}

	if sn := req.Snapshot; sn != nil {
		if _, err := tx.StmtContext(ctx, s.stmts.insertSnapshot).ExecContext(ctx,
			st.Type, st.ID, sn.Version, sn.Schema, text(sn.Data)); err != nil {
			return res, fmt.Errorf("writing snapshot at version %d: %w", sn.Version, err)
		}
	}
	return res, nil
}

// maxEventsPerInsert is the most events one INSERT statement writes (12
// parameters each); an append of more writes them in several.
const maxEventsPerInsert = 16

// insertEvents writes the events (at most maxEventsPerInsert, or exactly
// bulkEvents) in one
// statement and sets their positions. The position is the rowid, which
// SQLite gives each row of the statement in turn as the largest so far plus
// one: the k rows of one INSERT on the one writer, in a transaction, are the
// k positions up to its last insert id.
func (s *Store) insertEvents(ctx context.Context, tx *sql.Tx, events []es.Envelope) error {
	args := make([]any, 0, 12*len(events))
	for _, e := range events {
		args = append(args, e.Stream.Type, e.Stream.ID, e.Version, e.ID, e.Type, e.SchemaVersion,
			unixNano(e.Time), e.Actor, e.CorrelationID, e.CausationID, e.CommandID, text(e.Data))
	}
	q := s.stmts.insertEventsBulk
	if len(events) != bulkEvents {
		q = s.stmts.insertEvents[len(events)-1]
	}
	r, err := tx.StmtContext(ctx, q).ExecContext(ctx, args...)
	if err != nil {
		return err
	}
	last, err := r.LastInsertId()
	if err != nil {
		return err
	}
	for i := range events {
		events[i].Position = strconv.FormatInt(last-int64(len(events)-1-i), 10)
	}
	return nil
}

// Head returns the stream's current state record.
func (s *Store) Head(ctx context.Context, stream es.StreamRef) (es.StateRecord, error) {
	var rec es.StateRecord
	var data, cmds string
	err := s.stmts.head.QueryRowContext(ctx,
		stream.Type, stream.ID).Scan(&rec.Version, &rec.Schema, &data, &cmds)
	if errors.Is(err, sql.ErrNoRows) {
		return es.StateRecord{}, nil
	}
	if err != nil {
		return es.StateRecord{}, fmt.Errorf("sqlite: head of %s: %w", stream, err)
	}
	rec.Data = raw(data)
	if rec.Commands, err = es.DecodeCommands(cmds); err != nil {
		return es.StateRecord{}, fmt.Errorf("sqlite: head of %s: %w", stream, err)
	}
	return rec, nil
}

// ReadStream returns a slice of one stream in version order, or in reverse.
func (s *Store) ReadStream(ctx context.Context, stream es.StreamRef, opts es.ReadOptions) ([]es.Envelope, error) {
	limit := int64(opts.Limit)
	if limit <= 0 {
		limit = -1 // SQLite's "no limit"
	}
	q := s.stmts.streamForward
	var bound int64
	if opts.Reverse {
		q = s.stmts.streamReverse
		bound = opts.From
		if bound <= 0 {
			bound = math.MaxInt64
		}
	} else {
		bound = max(opts.From, 1)
	}
	envs, err := queryEvents(ctx, q, stream.Type, stream.ID, bound, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: read %s: %w", stream, err)
	}
	return envs, nil
}

// Command returns the result recorded for a command id among the stream's
// recent ones. Two reads need no transaction: events never change, and a
// command id in the head names events committed with it.
func (s *Store) Command(ctx context.Context, stream es.StreamRef, commandID string) (es.AppendResult, bool, error) {
	head, err := s.Head(ctx, stream)
	if err != nil {
		return es.AppendResult{}, false, err
	}
	c, ok := es.FindCommand(head.Commands, commandID)
	if !ok {
		return es.AppendResult{}, false, nil
	}
	envs, err := queryEvents(ctx, s.stmts.commandEvents, stream.Type, stream.ID, c.From, c.To)
	if err != nil {
		return es.AppendResult{}, false, fmt.Errorf("sqlite: command %s on %s: %w", commandID, stream, err)
	}
	return es.AppendResult{Version: c.To, Events: envs}, true, nil
}

// Snapshot returns the newest snapshot at or below version.
func (s *Store) Snapshot(ctx context.Context, stream es.StreamRef, atOrBelow int64) (es.StateRecord, bool, error) {
	var rec es.StateRecord
	var data string
	err := s.stmts.snapshot.QueryRowContext(ctx,
		stream.Type, stream.ID, atOrBelow).Scan(&rec.Version, &rec.Schema, &data)
	if errors.Is(err, sql.ErrNoRows) {
		return es.StateRecord{}, false, nil
	}
	if err != nil {
		return es.StateRecord{}, false, fmt.Errorf("sqlite: snapshot of %s at or below %d: %w", stream, atOrBelow, err)
	}
	rec.Data = raw(data)
	return rec, true, nil
}

// defaultLogLimit is a log page's size when the query names none.
const defaultLogLimit = 1000

// ReadLog pages through the log by position; the cursor is the position of
// the last event seen, in decimal. A page by type reads the index by type:
// full pages, each costing its own events.
func (s *Store) ReadLog(ctx context.Context, q es.LogQuery) (es.LogPage, error) {
	after, err := parsePosition(q.After)
	if err != nil {
		return es.LogPage{}, fmt.Errorf("sqlite: read log: %w: %w", es.ErrBadCursor, err)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = defaultLogLimit
	}
	// One more than the page, to tell whether the log ends with it.
	var envs []es.Envelope
	if q.Type != "" {
		envs, err = queryEvents(ctx, s.stmts.readLogByType, q.Type, after, limit+1)
	} else {
		envs, err = s.readLog(ctx, after, limit+1)
	}
	if err != nil {
		return es.LogPage{}, fmt.Errorf("sqlite: read log after %d: %w", after, err)
	}
	page := es.LogPage{Events: envs, End: len(envs) <= limit}
	if !page.End {
		page.Events = envs[:limit]
	}
	if len(page.Events) > 0 {
		page.Next = page.Events[len(page.Events)-1].Position
	}
	return page, nil
}

func (s *Store) readLog(ctx context.Context, after int64, limit int) ([]es.Envelope, error) {
	return queryEvents(ctx, s.stmts.readLog, after, limit)
}

// parsePosition reads a cursor or checkpoint: "" is the start of the log.
func parsePosition(s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	p, err := strconv.ParseInt(s, 10, 64)
	if err != nil || p < 0 {
		return 0, fmt.Errorf("position %q: want a decimal number", s)
	}
	return p, nil
}

const eventColumns = `position, stream_type, stream_id, version, event_id, event_type, schema_version,
	time_ns, actor, correlation_id, causation_id, command_id, data`

func queryEvents(ctx context.Context, q *sql.Stmt, args ...any) ([]es.Envelope, error) {
	rows, err := q.QueryContext(ctx, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var envs []es.Envelope
	for rows.Next() {
		var (
			e    es.Envelope
			pos  int64
			ns   sql.NullInt64
			data string
		)
		if err := rows.Scan(&pos, &e.Stream.Type, &e.Stream.ID, &e.Version, &e.ID, &e.Type, &e.SchemaVersion,
			&ns, &e.Actor, &e.CorrelationID, &e.CausationID, &e.CommandID, &data); err != nil {
			return nil, err
		}
		e.Position = strconv.FormatInt(pos, 10)
		if ns.Valid {
			e.Time = time.Unix(0, ns.Int64).UTC()
		}
		e.Data = raw(data)
		envs = append(envs, e)
	}
	return envs, rows.Err()
}

// unixNano stores a time exactly; the zero time, which has no Unix
// nanoseconds, as NULL.
func unixNano(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

// text and raw carry JSON in and out of TEXT columns; an empty document is
// stored as "" and comes back as nil.
func text(b []byte) string { return string(b) }

func raw(s string) []byte {
	if s == "" {
		return nil
	}
	return []byte(s)
}
