package recoverytest

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/foldboard/foldboard/es"
)

var (
	errFeedBroke = errors.New("injected: the feed broke")
	errSaveLost  = errors.New("injected: the save did not reach the store")
)

// faultyFeed is a feed that misbehaves every so many batches, at most max
// times, each in one of the ways a real feed does: it breaks before handing a
// batch on (the batch comes again after the restart), breaks after the batch
// was applied (it comes again although applied: at-least-once), or hands the
// same batch on twice.
type faultyFeed struct {
	es.Feed
	every, max int64

	batches atomic.Int64
	faults  atomic.Int64
	broke   atomic.Int64 // Follow calls ended by a fault
	doubled atomic.Int64 // batches handed on twice
}

func (f *faultyFeed) Follow(ctx context.Context, from string, apply func(context.Context, es.Batch) error) error {
	return f.Feed.Follow(ctx, from, func(ctx context.Context, b es.Batch) error {
		n := f.batches.Add(1)
		if n%f.every != 0 || f.faults.Load() >= f.max {
			return apply(ctx, b)
		}
		// A fault counts once it happened: when the apply it needs fails
		// (a save failing on its own), the same kind comes at the next batch.
		switch (f.faults.Load() + 1) % 3 {
		case 0:
			f.faults.Add(1)
			f.broke.Add(1)
			return errFeedBroke
		case 1:
			if err := apply(ctx, b); err != nil {
				return err
			}
			f.faults.Add(1)
			f.broke.Add(1)
			return errFeedBroke
		default:
			if err := apply(ctx, b); err != nil {
				return err
			}
			f.faults.Add(1)
			f.doubled.Add(1)
			return apply(ctx, b)
		}
	})
}

// faultyReadModels fails every so many saves, at most max times, before
// anything is written (as a failed transaction does).
type faultyReadModels struct {
	es.ReadModelStore
	every, max int64

	mu     sync.Mutex
	saves  int64
	failed int64
}

func (s *faultyReadModels) SaveReadModels(ctx context.Context, projector, checkpoint string, docs map[string]json.RawMessage) error {
	s.mu.Lock()
	s.saves++
	fail := s.saves%s.every == 0 && s.failed < s.max
	if fail {
		s.failed++
	}
	s.mu.Unlock()
	if fail {
		return errSaveLost
	}
	return s.ReadModelStore.SaveReadModels(ctx, projector, checkpoint, docs)
}
