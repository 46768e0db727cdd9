package estest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/foldboard/foldboard/es"
)

// feedDeadline bounds every wait for the feed: generous, so that a store that
// polls (DynamoDB Streams) passes, while a feed that never delivers fails.
const feedDeadline = 15 * time.Second

// follower runs a Feed's Follow in the background and hands its batches to
// the test, one at a time.
type follower struct {
	t       *testing.T
	batches chan es.Batch
	cancel  context.CancelFunc
	done    chan struct{} // closed when Follow has returned err
	err     error
	seen    []es.Envelope // every event delivered so far
	once    sync.Once
}

func follow(t *testing.T, feed es.Feed, from string) *follower {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	f := &follower{t: t, batches: make(chan es.Batch), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(f.done)
		f.err = feed.Follow(ctx, from, func(ctx context.Context, b es.Batch) error {
			select {
			case f.batches <- b:
			case <-ctx.Done():
			}
			return nil
		})
	}()
	t.Cleanup(f.stop)
	return f
}

// stop ends Follow and checks that it returned nil, as a feed must when its
// context ends.
func (f *follower) stop() {
	f.once.Do(func() {
		f.cancel()
		select {
		case <-f.done:
			if f.err != nil {
				f.t.Errorf("Follow returned %v when its context ended, want nil", f.err)
			}
		case <-time.After(feedDeadline):
			f.t.Errorf("Follow still running %v after its context ended", feedDeadline)
		}
	})
}

// collect takes batches until every event of want has arrived, and returns
// everything that arrived (which may hold more, for the caller to judge) and
// the last checkpoint given.
func (f *follower) collect(what string, want []es.Envelope) (got []es.Envelope, checkpoint string) {
	f.t.Helper()
	missing := map[string]bool{}
	for _, e := range want {
		missing[e.ID] = true
	}
	deadline := time.NewTimer(feedDeadline)
	defer deadline.Stop()
	for len(missing) > 0 {
		select {
		case b := <-f.batches:
			if len(b.Events) > 0 && b.Checkpoint == "" {
				f.t.Errorf("%s: a batch of %d events has no checkpoint", what, len(b.Events))
			}
			if b.Checkpoint != "" {
				checkpoint = b.Checkpoint
			}
			for _, e := range b.Events {
				delete(missing, e.ID)
			}
			got = append(got, b.Events...)
			f.seen = append(f.seen, b.Events...)
		case <-f.done:
			f.t.Fatalf("%s: Follow returned %v with %d of %d events still to come", what, f.err, len(missing), len(want))
		case <-deadline.C:
			f.t.Fatalf("%s: %d of %d events not delivered within %v", what, len(missing), len(want), feedDeadline)
		}
	}
	return got, checkpoint
}

// expect collects want and fails unless exactly those events arrived.
func (f *follower) expect(what string, want []es.Envelope) (checkpoint string) {
	f.t.Helper()
	got, checkpoint := f.collect(what, want)
	checkEachOnce(f.t, what, got, want)
	return checkpoint
}

// quiet appends a marker event to its own stream and expects it alone: any
// other event arriving first was delivered twice or should not have come.
// (Stores whose feed orders only within a stream may let a stray event through
// after the marker; the check is exact for stores with a global order.)
func (f *follower) quiet(h Harness, marker es.StreamRef, at int64) {
	f.t.Helper()
	res := mustAppend(f.t, h, request(marker, at, 1, ""))
	f.expect(fmt.Sprintf("only the marker %s v%d", marker, at+1), res.Events)
}

func testFeedFromCheckpoint(t *testing.T, h Harness) {
	streams := []es.StreamRef{{Type: "match", ID: "m-feed"}, {Type: "cart", ID: "c-feed"}, {Type: "post", ID: "p-feed"}}
	marker := es.StreamRef{Type: "marker", ID: "feed"}
	at := map[es.StreamRef]int64{}
	before := appendSeveral(t, h, streams, at, 3)

	f := follow(t, h.Feed, "")
	checkpoint := f.expect("feed from the start", before)
	if checkpoint == "" {
		t.Fatal("the feed gave no checkpoint")
	}
	f.quiet(h, marker, 0)
	checkStreamOrder(t, "feed from the start", f.seen, true)
	f.stop()

	after := appendSeveral(t, h, streams, at, 2)
	markerEvents := mustRead(t, h, marker, es.ReadOptions{})
	f = follow(t, h.Feed, checkpoint)
	f.expect("feed from a checkpoint", append(markerEvents, after...))
	f.quiet(h, marker, 1)
	checkStreamOrder(t, "feed from a checkpoint", f.seen, false)
}

func testFeedTail(t *testing.T, h Harness) {
	streams := []es.StreamRef{{Type: "match", ID: "m-tail"}, {Type: "cart", ID: "c-tail"}}
	at := map[es.StreamRef]int64{}

	// Started on an empty store, the feed waits for the first event.
	f := follow(t, h.Feed, "")
	first := mustAppend(t, h, request(streams[0], 0, 1, ""))
	at[streams[0]] = 1
	f.expect("the first event of an empty store", first.Events)

	// Each round is appended after the feed has delivered the one before, so
	// the feed is tailing, not catching up.
	for round := range 5 {
		f.expect(fmt.Sprintf("round %d", round), appendSeveral(t, h, streams, at, 1))
	}

	// Writers on several streams at once, while the feed follows.
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		all []es.Envelope
	)
	for w := range 4 {
		wg.Go(func() {
			stream := es.StreamRef{Type: "busy", ID: fmt.Sprintf("b-%d", w)}
			for v := range int64(10) {
				res, err := appendCopy(t, h, request(stream, v, 1, ""))
				if err != nil {
					t.Errorf("append to %s: %v", stream, err)
					return
				}
				if h.Wake != nil {
					h.Wake(res)
				}
				mu.Lock()
				all = append(all, res.Events...)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	f.expect("events of concurrent writers", all)
	f.quiet(h, es.StreamRef{Type: "marker", ID: "tail"}, 0)
	checkStreamOrder(t, "tailing feed", f.seen, true)
}

func testFeedApplyError(t *testing.T, h Harness) {
	mustAppend(t, h, request(es.StreamRef{Type: "match", ID: "m-boom"}, 0, 2, ""))
	boom := errors.New("projector failed")
	done := make(chan error, 1)
	go func() {
		done <- h.Feed.Follow(ctx(t), "", func(context.Context, es.Batch) error { return boom })
	}()
	select {
	case err := <-done:
		if !errors.Is(err, boom) {
			t.Errorf("Follow returned %v, want the apply function's error", err)
		}
	case <-time.After(feedDeadline):
		t.Fatalf("Follow did not return within %v of its apply function failing", feedDeadline)
	}
}
