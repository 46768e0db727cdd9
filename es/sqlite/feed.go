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
// committed later. It returns nil when ctx ends, apply's error when apply
// fails, and the store's error when the file cannot be read.
func (f feed) Follow(ctx context.Context, from string, apply func(context.Context, es.Batch) error) error {
	pos, err := parsePosition(from)
	if err != nil {
		return fmt.Errorf("sqlite: follow: %w", err)
	}
	poll := time.NewTicker(f.s.pollEvery)
	defer poll.Stop()
	for {
		woken := f.s.changes()
		envs, err := f.s.readLog(ctx, pos, feedBatch)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return fmt.Errorf("sqlite: follow after position %d: %w", pos, err)
		}
		if len(envs) > 0 {
			b := es.Batch{Events: envs, Checkpoint: envs[len(envs)-1].Position}
			if err := apply(ctx, b); err != nil {
				return err
			}
			if pos, err = parsePosition(b.Checkpoint); err != nil {
				return err
			}
			if len(envs) == feedBatch {
				continue // more are waiting
			}
		}
		// woken was taken before the read: an append since has closed it.
		select {
		case <-ctx.Done():
			return nil
		case <-woken:
		case <-poll.C:
		}
	}
}
