package es_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/foldboard/foldboard/es"
)

// countInto answers every Added on tally/a by adding 1 to tally/{target}.
func countInto(name, target string) es.Reaction {
	return es.OnEvent(name, tallyEvents(), []string{"Added"}, func(env es.Envelope, _ es.Event) []es.IssuedCommand {
		if env.Stream.ID != "a" {
			return nil
		}
		return []es.IssuedCommand{{Stream: es.StreamRef{Type: "tally", ID: target}, Command: tallyCmd{Add: []int{1}}}}
	})
}

// orderedFeed is a feed with its checkpoints' order (the store's), that
// counts its Follows open at once, and, when split, hands each event on in
// a batch of its own (a SQLite event's position is a checkpoint), so that
// batches fall between any two checkpoints saved before.
type orderedFeed struct {
	es.Feed
	es.CheckpointOrder
	split bool

	mu         sync.Mutex
	open, most int
}

func newOrderedFeed(feed es.Feed, split bool) *orderedFeed {
	return &orderedFeed{Feed: feed, CheckpointOrder: feed.(es.CheckpointOrder), split: split}
}

func (f *orderedFeed) Follow(ctx context.Context, from string, apply func(context.Context, es.Batch) error) error {
	f.mu.Lock()
	f.open++
	f.most = max(f.most, f.open)
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.open--
		f.mu.Unlock()
	}()
	if !f.split {
		return f.Feed.Follow(ctx, from, apply)
	}
	return f.Feed.Follow(ctx, from, func(ctx context.Context, b es.Batch) error {
		for _, e := range b.Events {
			if err := apply(ctx, es.Batch{Events: []es.Envelope{e}, Checkpoint: e.Position}); err != nil {
				return err
			}
		}
		return nil
	})
}

// mostOpen is the most Follows that were open at once.
func (f *orderedFeed) mostOpen() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.most
}

// savesLog records every checkpoint saved, by name.
type savesLog struct {
	es.ReadModelStore
	mu    sync.Mutex
	saved map[string][]string
}

func (s *savesLog) SaveReadModels(ctx context.Context, name, checkpoint string, docs map[string]json.RawMessage) error {
	err := s.ReadModelStore.SaveReadModels(ctx, name, checkpoint, docs)
	if err == nil {
		s.mu.Lock()
		s.saved[name] = append(s.saved[name], checkpoint)
		s.mu.Unlock()
	}
	return err
}

// backwards lists the saves of name behind one saved before.
func (s *savesLog) backwards(t *testing.T, name string) []string {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	var most int64
	for _, cp := range s.saved[name] {
		p, err := strconv.ParseInt(cp, 10, 64)
		if err != nil && cp != "" {
			t.Fatalf("checkpoint %q: %v", cp, err)
		}
		if p < most {
			out = append(out, fmt.Sprintf("%d after %d", p, most))
		}
		most = max(most, p)
	}
	return out
}

func (f reactorFixture) reactors(rs []es.Reaction, feed es.Feed, saves es.ReadModelStore) *es.Reactors {
	return es.NewReactors(rs, es.ReactorConfig{
		Feed: feed, Saves: saves, Store: f.store, Commands: f.commands,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Backoff: time.Millisecond, Attempts: 4,
	})
}

// runAll loads g and runs it until the test ends or the returned stop.
func runAll(t *testing.T, g *es.Reactors) (stop func()) {
	t.Helper()
	if err := g.Load(t.Context()); err != nil {
		t.Fatalf("loading reactors: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); g.Run(ctx) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

// Three reactions follow the feed once: one Follow open, every batch to
// each reactor, each with its own checkpoint and outcomes saved under its
// own name.
func TestReactorsFollowTheFeedOnceForEveryReaction(t *testing.T) {
	f := newReactorFixture(t)
	feed := newOrderedFeed(f.store.Feed(), false)
	g := f.reactors([]es.Reaction{countInto("one", "c1"), countInto("two", "c2"), countInto("three", "c3")}, feed, f.store)
	runAll(t, g)
	f.add(t, "a", 1, 2, 3, 4, 5)
	for _, target := range []string{"c1", "c2", "c3"} {
		waitFor(t, func() bool { return len(readAll(t, f.store, target)) == 5 })
	}
	f.add(t, "a", 6)
	for _, r := range g.List() {
		// Saved under its own name once its command ran.
		waitFor(t, func() bool {
			cp, docs, err := f.store.LoadReadModels(t.Context(), es.ReactorName(r.Name()))
			if err != nil {
				t.Fatal(err)
			}
			var o es.ReactionOutcomes
			if err := json.Unmarshal(docs["outcomes"], &o); err != nil {
				t.Fatalf("%s's outcomes %s: %v", r.Name(), docs["outcomes"], err)
			}
			return o.OK == 6 && cp == r.Status().Checkpoint
		})
	}
	if n := feed.mostOpen(); n != 1 {
		t.Errorf("%d Follows of the feed open at once for three reactions, want 1", n)
	}
}

// Reactors saved apart (each had followed the feed on its own, as before
// they shared one) go on from where each was: the shared Follow starts from
// the oldest, here a reaction added later and never run (from the
// beginning, its own rule), and each other passes over what its checkpoint
// covers, even one saved without its streams' versions, which only its
// checkpoint tells it has done; none saves a checkpoint behind one it had.
func TestReactorsResumeEachFromItsOwnCheckpointWhateverTheOldest(t *testing.T) {
	f := newReactorFixture(t)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	alone := func(r es.Reaction, want int64) {
		t.Helper()
		one := es.NewReactor(es.ReactorConfig{Reaction: r, Feed: f.store.Feed(), Saves: f.store, Store: f.store, Commands: f.commands, Log: quiet})
		stop := run(t, one)
		waitFor(t, func() bool { return one.Status().Outcomes.OK == want })
		stop()
	}
	// More commands on each target than the store remembers the ids of.
	n := es.RecentCommands + 2
	ones := make([]int, n)
	for i := range ones {
		ones[i] = 1
	}
	f.add(t, "a", ones...)
	alone(countInto("one", "c1"), int64(n))
	f.add(t, "a", ones...)
	alone(countInto("two", "c2"), int64(2*n))
	// two's versions gone: as if it had saved before it kept them.
	if err := f.store.SaveReadModels(t.Context(), es.ReactorName("two"), mustCheckpoint(t, f, "two"), map[string]json.RawMessage{"v/tally/a": nil}); err != nil {
		t.Fatal(err)
	}
	before := map[string]string{"one": mustCheckpoint(t, f, "one"), "two": mustCheckpoint(t, f, "two")}

	saves := &savesLog{ReadModelStore: f.store, saved: map[string][]string{}}
	feed := newOrderedFeed(f.store.Feed(), true)
	g := f.reactors([]es.Reaction{countInto("one", "c1"), countInto("two", "c2"), countInto("three", "c3")}, feed, saves)
	runAll(t, g)
	f.add(t, "a", 1)
	want := map[string]int{"c1": 2*n + 1, "c2": 2*n + 1, "c3": 2*n + 1}
	for target, n := range want {
		waitFor(t, func() bool { return len(readAll(t, f.store, target)) >= n })
	}
	time.Sleep(100 * time.Millisecond) // a repeat would have come by now
	for target, n := range want {
		if got := len(readAll(t, f.store, target)); got != n {
			t.Errorf("tally/%s holds %d events, want %d", target, got, n)
		}
	}
	for _, r := range g.List() {
		o := r.Status().Outcomes
		if o.Repeated != 0 || o.OK != int64(2*n+1) {
			t.Errorf("%s's outcomes %+v, want %d ok in all and nothing repeated", r.Name(), o, 2*n+1)
		}
		if back := saves.backwards(t, es.ReactorName(r.Name())); len(back) > 0 {
			t.Errorf("%s saved checkpoints behind its own: %v (it had %s)", r.Name(), back, before[r.Name()])
		}
	}
	if n := feed.mostOpen(); n != 1 {
		t.Errorf("%d Follows open at once, want 1", n)
	}
}

func mustCheckpoint(t *testing.T, f reactorFixture, reaction string) string {
	t.Helper()
	cp, _, err := f.store.LoadReadModels(t.Context(), es.ReactorName(reaction))
	if err != nil || cp == "" {
		t.Fatalf("%s's checkpoint %q: %v", reaction, cp, err)
	}
	return cp
}
