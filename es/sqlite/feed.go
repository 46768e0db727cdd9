package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/foldboard/foldboard/es"
)

// feedBatch is the most events one Batch carries.
const feedBatch = 500

// Feed returns the store's change feed: the event log read by position. Its
// checkpoints are positions in decimal, as are ReadLog's cursors.
func (s *Store) Feed() es.Feed { return feed{s} }

type feed struct{ s *Store }

// Follow reads the log after from in batches; once it has caught up it waits
// for this process's next append, or at most the poll interval, for appends
// by another process on the same file. Positions are in commit order (one
// writer at a time), so a read past the checkpoint never skips an event
// committed later. The events this process appended last are taken from
// memory rather than the file when they are next (recentLog). When more are
// known to follow a batch (a backlog: catching up, a rebuild) it reads the
// next one while apply works on this one; a batch with nothing known behind
// it is applied as soon as it is read. It returns nil when ctx ends, apply's
// error when apply fails, and the store's error when the file cannot be
// read.
func (f feed) Follow(ctx context.Context, from string, apply func(context.Context, es.Batch) error) error {
	pos, err := parsePosition(from)
	if err != nil {
		return fmt.Errorf("sqlite: follow: %w", err)
	}
	// A read ahead still under way when Follow returns ends with it.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	poll := time.NewTicker(f.s.pollEvery)
	defer poll.Stop()
	var ahead chan page // the batch after a full one, being read
	ours := false       // woken by this process's append, not the poll
	for {
		var p page
		if ahead != nil {
			p = <-ahead
			ahead = nil
		} else {
			p = f.read(ctx, pos, ours)
		}
		if ctx.Err() != nil {
			return nil
		}
		if p.err != nil {
			return fmt.Errorf("sqlite: follow after position %d: %w", pos, p.err)
		}
		envs := p.envs
		if len(envs) > 0 {
			b := es.Batch{Events: envs, Checkpoint: envs[len(envs)-1].Position}
			next, err := parsePosition(b.Checkpoint)
			if err != nil {
				return err
			}
			if p.more { // more are waiting: read them meanwhile
				ch := make(chan page, 1)
				go func() { ch <- f.read(ctx, next, false) }()
				ahead = ch
			}
			if err := apply(ctx, b); err != nil {
				return err
			}
			pos = next
			if ahead != nil {
				continue
			}
		}
		// woken was taken before the read: an append since has closed it.
		select {
		case <-ctx.Done():
			return nil
		case <-p.woken:
			ours = true
		case <-poll.C:
			ours = false
		}
	}
}

// page is one read of the log, and the channel that an append after the
// read began closes.
type page struct {
	envs []es.Envelope
	err  error
	// more says the log is known to hold more events after these.
	more  bool
	woken <-chan struct{}
}

// read reads the log after a position: from the events this process appended
// last when the next one is among them (recentLog), else from the file. A
// feed woken by an append of this process (ours) that has delivered every
// event kept here has nothing to read: that append's events are kept here,
// and another process's are the poll's to find.
func (f feed) read(ctx context.Context, after int64, ours bool) page {
	woken := f.s.changes()
	envs, more, l := f.s.recent.after(after, feedBatch)
	switch {
	case l == hit:
		return page{envs: envs, more: more, woken: woken}
	case l == seen && ours:
		return page{woken: woken}
	}
	f.s.feedFileReads.Add(1)
	envs, err := f.s.readLog(uninterrupted(ctx), after, feedBatch)
	return page{envs: envs, err: err, more: len(envs) == feedBatch, woken: woken}
}

// Covers implements es.CheckpointOrder: positions are in commit order, so a
// checkpoint covers every one at or before it.
func (f feed) Covers(a, b string) (bool, error) {
	pa, err := parsePosition(a)
	if err != nil {
		return false, fmt.Errorf("sqlite: checkpoint: %w", err)
	}
	pb, err := parsePosition(b)
	if err != nil {
		return false, fmt.Errorf("sqlite: checkpoint: %w", err)
	}
	return pa >= pb, nil
}
