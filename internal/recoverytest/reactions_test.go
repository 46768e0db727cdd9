package recoverytest

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/foldboard/foldboard/domain/blog"
	"github.com/foldboard/foldboard/domain/cricket"
	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/reactions"
)

// reorderFeed hands each batch on with its streams interleaved in a random
// order (each stream's events still in version order, as every feed keeps
// them): what DynamoDB Streams, which orders streams apart, may do.
type reorderFeed struct {
	es.Feed
	mu  sync.Mutex
	rng *rand.Rand
}

func (f *reorderFeed) Follow(ctx context.Context, from string, apply func(context.Context, es.Batch) error) error {
	return f.Feed.Follow(ctx, from, func(ctx context.Context, b es.Batch) error {
		byStream := map[es.StreamRef][]es.Envelope{}
		var order []es.StreamRef
		for _, e := range b.Events {
			if _, ok := byStream[e.Stream]; !ok {
				order = append(order, e.Stream)
			}
			byStream[e.Stream] = append(byStream[e.Stream], e)
		}
		out := make([]es.Envelope, 0, len(b.Events))
		f.mu.Lock()
		for len(order) > 0 {
			i := f.rng.IntN(len(order))
			s := order[i]
			out = append(out, byStream[s][0])
			if byStream[s] = byStream[s][1:]; len(byStream[s]) == 0 {
				order = append(order[:i], order[i+1:]...)
			}
		}
		f.mu.Unlock()
		return apply(ctx, es.Batch{Events: out, Checkpoint: b.Checkpoint})
	})
}

// TestMatchReportIsPublishedOnceWhateverTheFeedDoes ends matches while the
// match-report reactor runs over a feed that breaks, hands batches on twice
// and interleaves streams, with saves of its checkpoint that fail; then
// rewinds its checkpoint to the start (every event delivered again, as after
// a crash that lost every save) and ends more matches. Every ended match
// must have exactly one report, created and published once, caused by the
// match's end and carrying its correlation id.
func TestMatchReportIsPublishedOnceWhateverTheFeedDoes(t *testing.T) {
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) { testReactionRecovery(t, s.open(t)) })
	}
}

func testReactionRecovery(t *testing.T, f fixture) {
	matches := &es.Handler[cricket.State, cricket.Command, cricket.Event]{Decider: cricket.Decider(), Store: f.store}
	posts := &es.Handler[blog.State, blog.Command, blog.Event]{Decider: blog.Decider(), Store: f.store}
	cs := &es.Commands{}
	es.Route(cs, matches)
	es.Route(cs, posts)
	feed := &reorderFeed{Feed: &faultyFeed{Feed: f.feed, every: 2, max: 9}, rng: rand.New(rand.NewPCG(1, 2))}
	saves := &faultyReadModels{ReadModelStore: f.rm, every: 3, max: 6}
	newReactor := func() *es.Reactor {
		return es.NewReactor(es.ReactorConfig{
			Reaction: reactions.MatchReportReaction(), Feed: feed, Saves: saves, Store: f.store, Commands: cs,
			Log: discard(), Backoff: 5 * time.Millisecond,
		})
	}
	n := 40 * f.load / 100

	r1 := startReactor(t, newReactor())
	ends := endMatches(t, matches, "a", n)
	waitReported(t, f.store, ends, 30*time.Second)
	r1.stop()

	// Every event again from the start (and forgotten what was done since
	// the checkpoint), and more matches meanwhile.
	if err := f.rm.SaveReadModels(context.Background(), es.ReactorName(reactions.MatchReport), "", map[string]json.RawMessage{"done": nil}); err != nil {
		t.Fatal(err)
	}
	r2 := startReactor(t, newReactor())
	for k, v := range endMatches(t, matches, "b", n) {
		ends[k] = v
	}
	waitReported(t, f.store, ends, 30*time.Second)
	// The replay of the first matches may still be under way when the new
	// ones are reported (a feed orders streams apart): wait for it too.
	for deadline := time.Now().Add(30 * time.Second); r2.r.Status().Outcomes.Repeated < int64(2*n) && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	r2.stop()

	for id, end := range ends {
		checkReport(t, f.store, id, end)
	}
	o := r2.r.Status().Outcomes
	if o.Refused != 0 || o.Parked != 0 || o.OK > int64(4*n) || o.Repeated < int64(2*n) {
		t.Errorf("outcomes %+v: want none refused or parked, at most %d ok, at least %d repeated (the replay)", o, 4*n, 2*n)
	}
	t.Logf("figures: %d matches reported; outcomes %+v; faults: %d feed breaks, %d batches twice, %d saves failed",
		len(ends), o, feed.Feed.(*faultyFeed).broke.Load(), feed.Feed.(*faultyFeed).doubled.Load(), saves.failed)
}

type runningReactor struct {
	r    *es.Reactor
	stop func()
}

func startReactor(t *testing.T, r *es.Reactor) runningReactor {
	t.Helper()
	if err := r.Load(context.Background()); err != nil {
		t.Fatalf("loading reactor: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.Run(ctx) }()
	var once sync.Once
	stop := func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return runningReactor{r: r, stop: stop}
}

// endMatches starts, scores and ends n matches from 4 clients at once, and
// returns each match's MatchEnded.
func endMatches(t *testing.T, h *es.Handler[cricket.State, cricket.Command, cricket.Event], run string, n int) map[string]es.Envelope {
	t.Helper()
	var mu sync.Mutex
	ends := map[string]es.Envelope{}
	var wg sync.WaitGroup
	for c := range 4 {
		wg.Go(func() {
			for i := c; i < n; i += 4 {
				id := fmt.Sprintf("%s-%d", run, i)
				meta := es.Meta{StreamID: id, Expected: es.AnyVersion, Actor: "ana", CorrelationID: "end-" + id}
				var last es.Result[cricket.State]
				for _, cmd := range []cricket.Command{
					cricket.StartMatch{Venue: "Oval", HomeTeam: "Home " + id, AwayTeam: "Away"},
					cricket.CompleteInnings{Innings: 1, Runs: 100 + i, Wickets: i % 11},
					cricket.EndMatch{Result: "Home won"},
				} {
					res, err := h.Handle(context.Background(), meta, cmd)
					if err != nil {
						t.Errorf("match %s: %v", id, err)
						return
					}
					last = res
				}
				mu.Lock()
				ends[id] = last.Events[0]
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return ends
}

// waitReported waits until every match's report is at version 2.
func waitReported(t *testing.T, store es.Store, ends map[string]es.Envelope, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for id := range ends {
		for {
			head, err := store.Head(context.Background(), reactions.ReportStream(id))
			if err == nil && head.Version >= 2 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the report of match %s is at version %d after %v (%v)", id, head.Version, limit, err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// checkReport checks that the match's report holds exactly its creation
// and publication, each caused by the match's end.
func checkReport(t *testing.T, store es.Store, id string, end es.Envelope) {
	t.Helper()
	envs, err := store.ReadStream(context.Background(), reactions.ReportStream(id), es.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(envs) != 2 || envs[0].Type != "PostCreated" || envs[1].Type != "PostPublished" {
		var types []string
		for _, e := range envs {
			types = append(types, e.Type)
		}
		t.Errorf("report of %s holds %v, want [PostCreated PostPublished]", id, types)
		return
	}
	for _, e := range envs {
		if e.CausationID != end.ID || e.CorrelationID != "end-"+id || e.Actor != "system/match-report" {
			t.Errorf("report of %s: %s caused by %q, correlation %q, actor %q; want %s, end-%s, system/match-report",
				id, e.Type, e.CausationID, e.CorrelationID, e.Actor, end.ID, id)
		}
	}
}
