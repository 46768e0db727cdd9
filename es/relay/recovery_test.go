package relay_test

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/es/relay"
	"github.com/foldboard/foldboard/internal/redistest"
)

func TestAFollowerRidesOutARedisRestartWithoutLosingItsPlace(t *testing.T) {
	srv := redistest.NewServer(t)
	prefix := redistest.Prefix(t)
	holder := open(t, srv.URL(), relay.Options{Prefix: prefix, Logger: quiet})
	want := []es.Batch{publish(t, holder, 1, 0, 2), publish(t, holder, 1, 2, 3)}
	f := follow(t, open(t, srv.URL(), relay.Options{Prefix: prefix, Logger: quiet}), "")
	f.waitFor(t, len(want))

	srv.Stop(t)
	time.Sleep(300 * time.Millisecond) // the follower's reads fail meanwhile
	srv.Start(t)
	// Redis came back empty; the holder goes on from where it was.
	want = append(want, publishRetrying(t, holder, 3, 5), publishRetrying(t, holder, 5, 6))
	sameBatches(t, f.waitFor(t, len(want)), want)
	select {
	case err := <-f.done:
		t.Fatalf("Follow returned %v across the restart", err)
	default:
	}
}

// publishRetrying publishes events [from, to) until Redis takes them.
func publishRetrying(t *testing.T, r *relay.Relay, from, to int) es.Batch {
	t.Helper()
	b := es.Batch{Events: events(from, to), Checkpoint: cp(to)}
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := r.Publish(t.Context(), 1, cp(from), b)
		if err == nil {
			return b
		}
		if time.Now().After(deadline) {
			t.Fatalf("Publish %d..%d: %v", from, to, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// loopHolder publishes batches of 0-3 events as fast as it can, as a holder
// applies them: a failed publish is logged and the holder goes on.
type loopHolder struct {
	mu       sync.Mutex
	n        int // events applied (and "saved", at cp(n)) so far
	failures atomic.Int64
}

func (h *loopHolder) saved() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n
}

func (h *loopHolder) run(ctx context.Context, r *relay.Relay) {
	for ctx.Err() == nil {
		h.mu.Lock()
		from := h.n
		h.mu.Unlock()
		to := from + rand.IntN(4)
		pctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		if err := r.Publish(pctx, 1, cp(from), es.Batch{Events: events(from, to), Checkpoint: cp(to)}); err != nil {
			h.failures.Add(1)
		}
		cancel()
		h.mu.Lock()
		h.n = to
		h.mu.Unlock()
		time.Sleep(time.Millisecond)
	}
}

// loopFollower follows as lease's wiring does: on ErrBehind it reloads the
// holder's saved state and follows again from its checkpoint. It checks that
// every batch continues its state exactly: its state is always a prefix.
type loopFollower struct {
	mu      sync.Mutex
	n       int
	reloads int
	wrong   []string
}

func (f *loopFollower) state() (n, reloads int, wrong []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n, f.reloads, append([]string(nil), f.wrong...)
}

func (f *loopFollower) apply(_ context.Context, b es.Batch) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	want := events(f.n, f.n+len(b.Events))
	if !reflect.DeepEqual(b.Events, want) || b.Checkpoint != cp(f.n+len(b.Events)) {
		f.wrong = append(f.wrong, "at "+cp(f.n)+" got a batch to "+b.Checkpoint)
		return errors.New("not a continuation")
	}
	f.n += len(b.Events)
	return nil
}

func (f *loopFollower) run(ctx context.Context, r *relay.Relay, h *loopHolder) error {
	for {
		f.mu.Lock()
		from := cp(f.n)
		f.mu.Unlock()
		err := r.Feed().Follow(ctx, from, f.apply)
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, relay.ErrBehind):
			f.mu.Lock()
			f.n = h.saved()
			f.reloads++
			f.mu.Unlock()
		default:
			return err
		}
	}
}

func TestFollowersRecoverFromARedisRestartUnderAPublishingLoop(t *testing.T) {
	srv := redistest.NewServer(t)
	prefix := redistest.Prefix(t)
	opts := relay.Options{Prefix: prefix, Logger: quiet}
	holderCtx, stopHolder := context.WithCancel(t.Context())
	defer stopHolder()
	h := &loopHolder{}
	holderDone := make(chan struct{})
	go func() {
		defer close(holderDone)
		h.run(holderCtx, open(t, srv.URL(), opts))
	}()

	followers := make([]*loopFollower, 2)
	errs := make(chan error, len(followers))
	for i := range followers {
		followers[i] = &loopFollower{}
		r := open(t, srv.URL(), opts)
		go func() { errs <- followers[i].run(t.Context(), r, h) }()
	}
	waitUntil(t, "followers under way", func() bool {
		for _, f := range followers {
			if n, _, _ := f.state(); n < 50 {
				return false
			}
		}
		return true
	})

	srv.Stop(t)
	time.Sleep(500 * time.Millisecond)
	srv.Start(t)
	time.Sleep(500 * time.Millisecond)
	stopHolder()
	<-holderDone
	final := h.saved()
	// As a holder does when idle: its checkpoint again, so that a follower
	// stuck before a publish that failed finds out (the last one may have).
	publishRetrying(t, open(t, srv.URL(), opts), final, final)
	t.Logf("holder: %d events, %d failed publishes", final, h.failures.Load())
	if h.failures.Load() == 0 {
		t.Fatal("no publish failed: Redis was not down under the loop")
	}

	for i, f := range followers {
		waitUntil(t, "follower caught up", func() bool {
			n, _, _ := f.state()
			return n == final
		})
		n, reloads, wrong := f.state()
		t.Logf("follower %d: at %d events after %d reloads", i, n, reloads)
		if len(wrong) > 0 {
			t.Errorf("follower %d applied batches that did not continue its state: %v", i, wrong)
		}
	}
	select {
	case err := <-errs:
		t.Fatalf("a follower stopped: %v", err)
	default:
	}
}

// waitUntil polls ok until it holds, or fails after 30 s.
func waitUntil(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 30 s for: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestAFollowerReadsAStreamBegunAgainWithLowerIDs(t *testing.T) {
	srv := redistest.NewServer(t)
	prefix := redistest.Prefix(t)
	holder := open(t, srv.URL(), relay.Options{Prefix: prefix, Logger: quiet})
	want := []es.Batch{publish(t, holder, 1, 0, 3)}
	f := follow(t, open(t, srv.URL(), relay.Options{Prefix: prefix, Logger: quiet}), "")
	f.waitFor(t, 1)

	// A Redis that came back empty with its clock behind (a failover to a
	// node whose clock lags): its ids start below the last one read.
	srv.Restart(t)
	next := es.Batch{Events: events(3, 5), Checkpoint: cp(5)}
	evs, _ := json.Marshal(next.Events)
	var pos []string
	for _, e := range next.Events {
		pos = append(pos, e.Position)
	}
	ps, _ := json.Marshal(pos)
	err := rawClient(t, srv.URL()).XAdd(t.Context(), &redis.XAddArgs{
		Stream: streamKey(prefix), ID: "1-1",
		Values: []any{"epoch", "1", "from", cp(3), "to", cp(5), "part", "1", "parts", "1", "events", string(evs), "positions", string(ps)},
	}).Err()
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, next)
	sameBatches(t, f.waitFor(t, 2), want)
}

func TestFollowBegunWhileRedisIsAwayStartsOnceItIsBack(t *testing.T) {
	srv := redistest.NewServer(t)
	prefix := redistest.Prefix(t)
	follower := open(t, srv.URL(), relay.Options{Prefix: prefix, Logger: quiet})
	srv.Stop(t)
	f := follow(t, follower, cp(2))
	time.Sleep(300 * time.Millisecond) // its calls fail meanwhile
	srv.Start(t)
	holder := open(t, srv.URL(), relay.Options{Prefix: prefix, Logger: quiet})
	blocked(t, srv.URL(), 1)
	want := []es.Batch{publish(t, holder, 1, 2, 4)}
	sameBatches(t, f.waitFor(t, 1), want)
}
