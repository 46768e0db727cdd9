package relay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/foldboard/foldboard/es"
)

// blockFor is how long one XREAD waits for a new entry: an idle follower
// makes one call each blockFor. A variable only so that a test can make it
// longer than the test could wait.
var blockFor = 2 * time.Second

// Follower tuning that needs no knob.
const (
	// readCount is the most entries one XREAD returns.
	readCount = 64
	// minBackoff and maxBackoff bound the pause after a failed call.
	minBackoff = 50 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// Feed returns the followers' feed: the batches the holder published, with the
// holder's checkpoints. See the package comment for what Follow delivers and
// when it returns ErrBehind.
func (r *Relay) Feed() es.Feed { return feed{r} }

type feed struct{ r *Relay }

// Follow implements es.Feed: it hands on each published batch that continues
// from, in order, until ctx ends or the relay is closed (nil), apply fails
// (its error), or the retained entries do not continue the follower's
// checkpoint (an error matching ErrBehind; nothing that does not continue was
// applied). Redis being unreachable is not an error: Follow retries with
// backoff and resumes after the last entry it read.
func (f feed) Follow(ctx context.Context, from string, apply func(context.Context, es.Batch) error) error {
	r := f.r
	ctx, cancel := r.untilClosed(ctx)
	defer cancel()
	// A client of its own, so that closing it interrupts a blocked XREAD
	// when ctx ends (go-redis does not watch the context during a read).
	opts := *r.ropts
	// And no retries hidden inside go-redis: a lost connection must reach
	// resync, which checks the stream was not begun again meanwhile.
	opts.MaxRetries = -1
	c := redis.NewClient(&opts)
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer func() {
		if stop() {
			c.Close()
		}
	}()
	fl := &follower{r: r, c: c, cp: from, apply: apply, log: r.log.With("stream", r.keys.stream)}
	err := fl.run(ctx)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// follower is one Follow call's state.
type follower struct {
	r     *Relay
	c     *redis.Client
	log   *slog.Logger
	apply func(context.Context, es.Batch) error

	cp      string // the checkpoint applied up to
	located bool   // where to read from is known
	last    string // the id of the last entry read: XREAD continues after it
	expect  string // the id the next entry must have ("" for any): the located entry
	pending *entry // the parts read so far of a batch split over several entries
	broken  bool   // a call failed: check the stream was not reset before reading on
}

// transient marks an error of Redis's (unreachable, restarting): retried.
type transient struct{ err error }

func (t transient) Error() string { return t.err.Error() }
func (t transient) Unwrap() error { return t.err }

func (f *follower) run(ctx context.Context) error {
	delay := minBackoff
	for {
		err := f.step(ctx)
		var tr transient
		switch {
		case err == nil:
			delay = minBackoff
			continue
		case ctx.Err() != nil:
			return nil
		case !errors.As(err, &tr):
			return err
		}
		f.broken = true
		f.log.Warn("relay: redis call failed; retrying", "err", tr.err, "retry_in", delay, "checkpoint", short(f.cp))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(delay):
		}
		delay = min(2*delay, maxBackoff)
	}
}

// step reads and hands on one XREAD's worth of entries.
func (f *follower) step(ctx context.Context) error {
	if !f.located {
		if err := f.locate(ctx); err != nil {
			return err
		}
	}
	if f.broken {
		if err := f.resync(ctx); err != nil {
			return err
		}
	}
	res, err := f.c.XRead(ctx, &redis.XReadArgs{
		Streams: []string{f.r.keys.stream, f.last}, Count: readCount, Block: blockFor,
	}).Result()
	if errors.Is(err, redis.Nil) {
		return nil // nothing new within blockFor
	}
	if err != nil {
		return transient{fmt.Errorf("reading %s after %s: %w", f.r.keys.stream, f.last, err)}
	}
	for _, s := range res {
		for _, m := range s.Messages {
			if err := f.take(ctx, m); err != nil {
				return err
			}
		}
	}
	return nil
}

// locate finds where the follower's checkpoint continues: the entry the index
// names for it, or after the newest entry when that ends at it, or the start
// of a stream that holds nothing yet (whose first entry must then continue
// it).
func (f *follower) locate(ctx context.Context) error {
	k := f.r.keys
	id, err := f.c.HGet(ctx, k.index, indexKey(f.cp)).Result()
	if err == nil {
		f.located, f.last, f.expect = true, before(id), id
		return nil
	}
	if !errors.Is(err, redis.Nil) {
		return transient{fmt.Errorf("looking up checkpoint %q in %s: %w", short(f.cp), k.index, err)}
	}
	last, err := f.c.HMGet(ctx, k.last, "to", "id").Result()
	if err != nil {
		return transient{fmt.Errorf("reading %s: %w", k.last, err)}
	}
	to, hasTo := last[0].(string)
	lastID, _ := last[1].(string)
	switch {
	case !hasTo:
		f.located, f.last = true, "0-0"
	case to == f.cp && lastID != "":
		f.located, f.last = true, lastID
	default:
		return fmt.Errorf("%w: no retained entry starts from checkpoint %q (the newest ends at %q)", ErrBehind, short(f.cp), short(to))
	}
	return nil
}

// resync, after a failed call, checks that the stream was not emptied and
// begun again (Redis restarted without its data) with ids below the last one
// read, which XREAD would never return; if it was, reading starts over at
// its beginning, where continuity decides as ever.
func (f *follower) resync(ctx context.Context) error {
	newest, err := f.c.XRevRangeN(ctx, f.r.keys.stream, "+", "-", 1).Result()
	if err != nil {
		return transient{fmt.Errorf("reading the newest entry of %s: %w", f.r.keys.stream, err)}
	}
	if len(newest) == 0 || idLess(newest[0].ID, f.last) {
		f.log.Info("relay: the stream was reset; reading it from its start", "last", f.last, "checkpoint", short(f.cp))
		f.last, f.expect, f.pending = "0-0", "", nil
	}
	f.broken = false
	return nil
}

// take checks that entry m continues what was applied and hands on its batch
// once all its parts are in.
func (f *follower) take(ctx context.Context, m redis.XMessage) error {
	e, err := decodeEntry(m)
	if err != nil {
		return err
	}
	if f.expect != "" && m.ID != f.expect {
		return fmt.Errorf("%w: the entry from checkpoint %q (%s) was trimmed away", ErrBehind, short(f.cp), f.expect)
	}
	f.expect, f.last = "", m.ID
	if p := f.pending; p != nil {
		if e.part != p.part+1 || e.parts != p.parts || e.from != p.from || e.to != p.to || e.epoch != p.epoch {
			return fmt.Errorf("%w: entry %s is not part %d of %d of the batch from %q", ErrBehind, m.ID, p.part+1, p.parts, short(p.from))
		}
		p.part, p.events = e.part, append(p.events, e.events...)
		e = *p
	} else if e.part != 1 || e.from != f.cp {
		return fmt.Errorf("%w: entry %s (part %d of the batch from %q, epoch %d) does not continue checkpoint %q",
			ErrBehind, m.ID, e.part, short(e.from), e.epoch, short(f.cp))
	}
	if e.part < e.parts {
		f.pending = &e
		return nil
	}
	f.pending = nil
	if err := f.apply(ctx, es.Batch{Events: e.events, Checkpoint: e.to}); err != nil {
		return err
	}
	f.cp = e.to
	return nil
}

// parseID reads a stream id, "ms-seq".
func parseID(id string) (ms, seq uint64) {
	a, b, _ := strings.Cut(id, "-")
	ms, _ = strconv.ParseUint(a, 10, 64)
	seq, _ = strconv.ParseUint(b, 10, 64)
	return ms, seq
}

func idLess(a, b string) bool {
	am, as := parseID(a)
	bm, bs := parseID(b)
	return am < bm || am == bm && as < bs
}

// before is the id just before id, so that XREAD after it returns id first.
func before(id string) string {
	ms, seq := parseID(id)
	switch {
	case seq > 0:
		return strconv.FormatUint(ms, 10) + "-" + strconv.FormatUint(seq-1, 10)
	case ms > 0:
		return strconv.FormatUint(ms-1, 10) + "-" + strconv.FormatUint(math.MaxUint64, 10)
	default:
		return "0-0"
	}
}
