package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"

	"github.com/foldboard/foldboard/es"
)

// maxGroup bounds the appends one transaction commits together.
const maxGroup = 64

// group commits together the appends that arrive while another is being
// written: they wait for the writer anyway, and one transaction, one fsync,
// for all of them costs about what one costs. Each append is a savepoint of
// its own inside the transaction, so a refused one (a conflict, a repeated
// command) is rolled back alone and the others are written; whoever is
// refused or written learns it only once the transaction has committed. An
// append alone is written as before, in a transaction of its own.
//
// No goroutine of its own: the first append to find the writer idle leads,
// writing whatever is queued when it starts; when it is done, the first
// append queued meanwhile leads the next group.
type group struct {
	mu      sync.Mutex
	queue   []*pendingAppend
	leading bool // a leader is writing a group
	groups  int  // groups written, for the tests
	// bulk counts the groups written in bulk, and bulkRetried those whose
	// bulk write failed and that were written again the savepoint way, for
	// the tests.
	bulk, bulkRetried int
}

type pendingAppend struct {
	ctx  context.Context
	req  es.AppendRequest
	res  es.AppendResult
	err  error
	done chan struct{} // closed when res and err are final
	lead chan struct{} // closed when this append is to lead the next group
}

// append writes req, alone or in a group with others.
func (s *Store) append(ctx context.Context, req es.AppendRequest) (es.AppendResult, error) {
	p := &pendingAppend{ctx: ctx, req: req, done: make(chan struct{}), lead: make(chan struct{})}
	g := &s.group
	g.mu.Lock()
	g.queue = append(g.queue, p)
	if g.leading {
		g.mu.Unlock()
		// Queued appends do not leave when their ctx ends: a leader may be
		// writing them already, and the caller must not be told "not
		// written" of an append that was. One whose ctx has ended before
		// its group starts is not written.
		select {
		case <-p.done:
			return p.res, p.err
		case <-p.lead:
		}
	} else {
		g.leading = true
		g.mu.Unlock()
	}
	s.leadGroup()
	return p.res, p.err
}

// leadGroup writes the queued appends (the leader's own first among them)
// and hands the lead to the first one queued meanwhile. Should writing panic,
// the group's appends fail and the lead is handed on all the same, so that
// one panicking request does not leave every later append waiting.
func (s *Store) leadGroup() {
	g := &s.group
	g.mu.Lock()
	n := min(len(g.queue), maxGroup)
	batch := g.queue[:n:n]
	g.queue = append([]*pendingAppend(nil), g.queue[n:]...)
	g.mu.Unlock()

	defer func() {
		if v := recover(); v != nil {
			for _, p := range batch {
				p.res, p.err = es.AppendResult{}, fmt.Errorf("writing a group of appends: panic: %v", v)
			}
			s.groupDone(batch)
			panic(v)
		}
	}()
	s.writeGroup(batch)
	s.groupDone(batch)
}

// groupDone answers the group's appends and hands the lead on.
func (s *Store) groupDone(batch []*pendingAppend) {
	for _, p := range batch {
		close(p.done)
	}
	g := &s.group
	g.mu.Lock()
	g.groups++
	if len(g.queue) > 0 {
		close(g.queue[0].lead)
	} else {
		g.leading = false
	}
	g.mu.Unlock()
}

// writeGroup writes the appends in one transaction and sets each one's
// outcome: in bulk when they are to as many streams (writeBulk), else, or
// should the bulk write fail, each in a savepoint of its own.
func (s *Store) writeGroup(batch []*pendingAppend) {
	if len(batch) == 1 {
		p := batch[0]
		p.res, p.err = s.appendOne(p.ctx, p.req)
		return
	}
	// The group's transaction is not any one caller's to cancel.
	ctx := context.WithoutCancel(batch[0].ctx)
	fail := func(err error) {
		for _, p := range batch {
			p.res, p.err = es.AppendResult{}, err
		}
	}
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		fail(err)
		return
	}
	// A panic must not leave the one writer connection in a transaction.
	defer func() { tx.Rollback() }() // after Commit, a no-op
	written := 0
	if bulkable(batch) {
		n, err := s.writeBulk(ctx, tx, batch)
		if err == nil {
			s.group.mu.Lock()
			s.group.bulk++
			s.group.mu.Unlock()
			s.commitGroup(tx, batch, n)
			return
		}
		// Written again the savepoint way, from the start: each append
		// then learns what is wrong with it, if anything.
		tx.Rollback()
		if tx, err = s.writer.BeginTx(ctx, nil); err != nil {
			fail(err)
			return
		}
		s.group.mu.Lock()
		s.group.bulkRetried++
		s.group.mu.Unlock()
	}
	for _, p := range batch {
		if err := p.ctx.Err(); err != nil {
			p.err = err
			continue
		}
		if _, err := tx.ExecContext(ctx, `SAVEPOINT append`); err != nil {
			tx.Rollback()
			fail(fmt.Errorf("savepoint: %w", err))
			return
		}
		p.res, p.err = s.appendIn(ctx, tx, p.req)
		if p.err != nil {
			p.res = es.AppendResult{}
			if _, err := tx.ExecContext(ctx, `ROLLBACK TO append`); err != nil {
				tx.Rollback()
				fail(fmt.Errorf("rolling back to the savepoint: %w", errors.Join(p.err, err)))
				return
			}
		} else {
			written++
		}
		if _, err := tx.ExecContext(ctx, `RELEASE append`); err != nil {
			tx.Rollback()
			fail(fmt.Errorf("releasing the savepoint: %w", err))
			return
		}
	}
	s.commitGroup(tx, batch, written)
}

// commitGroup commits the group's transaction, in which written of its
// appends were written, and keeps their events for the feeds.
func (s *Store) commitGroup(tx *sql.Tx, batch []*pendingAppend, written int) {
	if written == 0 {
		// Nothing to keep: each append keeps its refusal (or error), true
		// whether or not the empty transaction's rollback succeeds.
		tx.Rollback()
		return
	}
	if err := tx.Commit(); err != nil {
		// Nothing of the group is written; a refusal read inside it may
		// not hold either.
		for _, p := range batch {
			p.res, p.err = es.AppendResult{}, fmt.Errorf("committing: %w", err)
		}
		return
	}
	for _, p := range batch {
		if p.err == nil {
			s.recent.add(p.res.Events)
		}
	}
}
