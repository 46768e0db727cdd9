package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/foldboard/foldboard/es"
)

// A group of appends to as many streams is written with a few statements for
// all of them (writeBulk), not five of its own each: the profile of a fill
// (BENCHMARKS.md) had each append's savepoint, its page copies and the
// statements' own cost at more than half of what the writer did. Their heads
// are read first, under the write lock, which decides every refusal as the
// savepoint path's read does; then the written ones' heads, events and
// snapshots go in multi-row statements.
const (
	// bulkHeads is how many heads one statement reads or inserts.
	bulkHeads = 16
	// bulkEvents is how many events one statement of a group inserts (12
	// parameters each), besides the statements of 1…maxEventsPerInsert for
	// what is left: fewer, longer statements cost the writer less per
	// event (64 measured 4% fewer instructions than 16).
	bulkEvents   = 64
	sqlBulkHeads = `SELECT stream_type, stream_id, version, commands FROM heads
		WHERE (stream_type, stream_id) IN (VALUES ` // + bulkHeads rows of (?, ?) + `)`
	sqlInsertHeads = `INSERT INTO heads (stream_type, stream_id, version, state_schema, data, commands) VALUES `
	sqlHeadRow     = `(?, ?, ?, ?, ?, ?)`
)

// errBulkRefused is a bulk write that would not do what the read before it
// said (a head insert that found the head there, say): unreachable while
// the writer is the file's only one, the group is then written again the
// savepoint way, which answers each append by itself.
var errBulkRefused = errors.New("a bulk write was refused")

func prepareBulk(ctx context.Context, writer *sql.DB, st *statements) ([]*sql.Stmt, error) {
	var all []*sql.Stmt
	q := sqlBulkHeads + strings.Repeat("(?, ?), ", bulkHeads-1) + "(?, ?))"
	s, err := writer.PrepareContext(ctx, q)
	if err != nil {
		return all, fmt.Errorf("preparing the read of %d heads: %w", bulkHeads, err)
	}
	all = append(all, s)
	st.bulkHeads = s
	q = sqlInsertEvents + strings.Repeat(sqlEventRow+", ", bulkEvents-1) + sqlEventRow
	if s, err = writer.PrepareContext(ctx, q); err != nil {
		return all, fmt.Errorf("preparing the insert of %d events: %w", bulkEvents, err)
	}
	all = append(all, s)
	st.insertEventsBulk = s
	for k := range st.insertHeads {
		q := sqlInsertHeads + strings.Repeat(sqlHeadRow+", ", k) + sqlHeadRow + ` ON CONFLICT DO NOTHING`
		s, err := writer.PrepareContext(ctx, q)
		if err != nil {
			return all, fmt.Errorf("preparing the insert of %d heads: %w", k+1, err)
		}
		all = append(all, s)
		st.insertHeads[k] = s
	}
	return all, nil
}

// bulkable says whether writeBulk may write the group: no two of its
// appends are to one stream (the second would depend on what the first
// writes, which the savepoint path reads back).
func bulkable(batch []*pendingAppend) bool {
	seen := make(map[es.StreamRef]bool, len(batch))
	for _, p := range batch {
		if seen[p.req.Stream] {
			return false
		}
		seen[p.req.Stream] = true
	}
	return true
}

type headRow struct {
	version  int64
	commands string
}

// writeBulk writes the group's appends in tx and sets each one's outcome.
// On an error nothing it wrote may be kept: the caller rolls tx back, and
// the outcomes it set are to be decided again.
func (s *Store) writeBulk(ctx context.Context, tx *sql.Tx, batch []*pendingAppend) (written int, err error) {
	var live []*pendingAppend
	for _, p := range batch {
		if err := p.ctx.Err(); err != nil {
			p.res, p.err = es.AppendResult{}, err
			continue
		}
		live = append(live, p)
	}
	heads, err := s.readHeads(ctx, tx, live)
	if err != nil {
		return 0, err
	}

	// Decide each append against its head, as appendIn does.
	var news, olds, accepted []*pendingAppend
	next := make(map[*pendingAppend][]es.CommandRecord, len(live))
	total := 0
	for _, p := range live {
		if testHookAppendIn != nil {
			testHookAppendIn(p.req)
		}
		req := p.req
		h := heads[req.Stream]
		recent, err := es.DecodeCommands(h.commands)
		if err != nil {
			return 0, fmt.Errorf("head of %s: %w", req.Stream, err)
		}
		p.res, p.err = es.AppendResult{}, nil
		if first, err := es.RepeatOf(recent, req, es.AppendTime(req)); err != nil {
			p.err = err
			continue
		} else if first != nil {
			envs, err := queryEvents(ctx, tx.StmtContext(ctx, s.stmts.writerCommandEvents), req.Stream.Type, req.Stream.ID, first.From, first.To)
			if err != nil {
				return 0, fmt.Errorf("reading command %s: %w", req.CommandID, err)
			}
			p.err = &es.DuplicateCommandError{Stream: req.Stream, CommandID: req.CommandID, First: es.AppendResult{Version: first.To, Events: envs, Commands: recent}}
			continue
		}
		if h.version != req.Expected {
			p.err = &es.ConflictError{Stream: req.Stream, Expected: req.Expected, Actual: h.version}
			continue
		}
		next[p] = es.NextCommands(recent, req)
		if req.Expected == 0 {
			news = append(news, p)
		} else {
			olds = append(olds, p)
		}
		accepted = append(accepted, p)
		total += len(req.Events)
	}
	if len(accepted) == 0 {
		return 0, nil
	}

	if err := s.insertHeads(ctx, tx, news, next); err != nil {
		return 0, err
	}
	update := tx.StmtContext(ctx, s.stmts.updateHead)
	for _, p := range olds {
		req := p.req
		r, err := update.ExecContext(ctx, req.State.Version, req.State.Schema, text(req.State.Data),
			es.EncodeCommands(next[p]), req.Stream.Type, req.Stream.ID, req.Expected)
		if err != nil {
			return 0, fmt.Errorf("writing head of %s: %w", req.Stream, err)
		}
		if n, err := r.RowsAffected(); err != nil {
			return 0, err
		} else if n != 1 {
			return 0, fmt.Errorf("head of %s: %w", req.Stream, errBulkRefused)
		}
	}

	// Every accepted append's events, in the group's order, in as few
	// statements as they fill; each append's result is its own part.
	events := make([]es.Envelope, 0, total)
	for _, p := range accepted {
		events = append(events, p.req.Events...)
	}
	for from := 0; from < len(events); {
		n := min(maxEventsPerInsert, len(events)-from)
		if len(events)-from >= bulkEvents {
			n = bulkEvents
		}
		chunk := events[from : from+n]
		from += n
		if err := s.insertEvents(ctx, tx, chunk); err != nil {
			return 0, fmt.Errorf("writing events %s… (of %s, version %d): %w", chunk[0].ID, chunk[0].Stream, chunk[0].Version, err)
		}
	}
	from := 0
	for _, p := range accepted {
		n := len(p.req.Events)
		p.res = es.AppendResult{Version: p.req.State.Version, Events: events[from : from+n : from+n], Commands: next[p]}
		from += n
		if sn := p.req.Snapshot; sn != nil {
			if _, err := tx.StmtContext(ctx, s.stmts.insertSnapshot).ExecContext(ctx,
				p.req.Stream.Type, p.req.Stream.ID, sn.Version, sn.Schema, text(sn.Data)); err != nil {
				return 0, fmt.Errorf("writing snapshot of %s at version %d: %w", p.req.Stream, sn.Version, err)
			}
		}
	}
	return len(accepted), nil
}

// readHeads reads the heads of the appends' streams, bulkHeads a statement
// (a short last one is filled up with its first stream again); a stream
// with no head has none in the map.
func (s *Store) readHeads(ctx context.Context, tx *sql.Tx, live []*pendingAppend) (map[es.StreamRef]headRow, error) {
	heads := make(map[es.StreamRef]headRow, len(live))
	q := tx.StmtContext(ctx, s.stmts.bulkHeads)
	args := make([]any, 0, 2*bulkHeads)
	for from := 0; from < len(live); from += bulkHeads {
		chunk := live[from:min(from+bulkHeads, len(live))]
		args = args[:0]
		for i := range bulkHeads {
			st := chunk[min(i, len(chunk)-1)].req.Stream
			args = append(args, st.Type, st.ID)
		}
		rows, err := q.QueryContext(ctx, args...)
		if err != nil {
			return nil, fmt.Errorf("reading heads: %w", err)
		}
		for rows.Next() {
			var ref es.StreamRef
			var h headRow
			if err := rows.Scan(&ref.Type, &ref.ID, &h.version, &h.commands); err != nil {
				rows.Close()
				return nil, fmt.Errorf("reading heads: %w", err)
			}
			heads[ref] = h
		}
		if err := rows.Close(); err != nil {
			return nil, fmt.Errorf("reading heads: %w", err)
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("reading heads: %w", err)
		}
	}
	return heads, nil
}

// insertHeads inserts the new streams' heads, bulkHeads a statement, each
// of which must insert every row: a head already there (unreachable after
// the read) is errBulkRefused.
func (s *Store) insertHeads(ctx context.Context, tx *sql.Tx, news []*pendingAppend, next map[*pendingAppend][]es.CommandRecord) error {
	args := make([]any, 0, 6*bulkHeads)
	for from := 0; from < len(news); from += bulkHeads {
		chunk := news[from:min(from+bulkHeads, len(news))]
		args = args[:0]
		for _, p := range chunk {
			req := p.req
			args = append(args, req.Stream.Type, req.Stream.ID, req.State.Version, req.State.Schema, text(req.State.Data), es.EncodeCommands(next[p]))
		}
		r, err := tx.StmtContext(ctx, s.stmts.insertHeads[len(chunk)-1]).ExecContext(ctx, args...)
		if err != nil {
			return fmt.Errorf("writing %d heads: %w", len(chunk), err)
		}
		if n, err := r.RowsAffected(); err != nil {
			return err
		} else if n != int64(len(chunk)) {
			return fmt.Errorf("%d heads written of %d: %w", n, len(chunk), errBulkRefused)
		}
	}
	return nil
}
