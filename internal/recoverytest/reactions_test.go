package recoverytest

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/foldboard/foldboard/domain/bank"
	"github.com/foldboard/foldboard/domain/blog"
	"github.com/foldboard/foldboard/domain/cart"
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
// rewinds its checkpoint to the start (every event delivered again to a new
// process) and ends more matches. Every ended match
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
	feed := &seenFeed{Feed: &reorderFeed{Feed: &faultyFeed{Feed: f.feed, every: 2, max: 9}, rng: rand.New(rand.NewPCG(1, 2))}}
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

	// Every event again from the start, and more matches meanwhile.
	if err := f.rm.SaveReadModels(context.Background(), es.ReactorName(reactions.MatchReport), "", nil); err != nil {
		t.Fatal(err)
	}
	before := r1.r.Status().Outcomes
	feed.reset()
	r2 := startReactor(t, newReactor())
	for k, v := range endMatches(t, matches, "b", n) {
		ends[k] = v
	}
	waitReported(t, f.store, ends, 30*time.Second)
	// The replay of the first matches may still be under way when the new
	// ones are reported (a feed orders streams apart): wait for it too.
	feed.wait(t, ends, 30*time.Second)
	r2.stop()

	for id, end := range ends {
		checkReport(t, f.store, id, end)
	}
	// Each new match's two commands ran once; the first matches' ends,
	// handed on again, were passed over by version (not even repeated).
	o := r2.r.Status().Outcomes
	if o.Refused != 0 || o.Parked != 0 || o.OK-before.OK != int64(2*n) || o.Repeated != before.Repeated {
		t.Errorf("outcomes %+v after %+v: want none refused or parked, %d more ok, none more repeated", o, before, 2*n)
	}
	t.Logf("figures: %d matches reported; outcomes %+v; faults: %d feed breaks, %d batches twice, %d saves failed",
		len(ends), o, feed.faults().broke.Load(), feed.faults().doubled.Load(), saves.failed)
}

// seenFeed counts the events of every batch applied, since its last reset.
type seenFeed struct {
	es.Feed
	mu   sync.Mutex
	seen map[string]int
}

func (f *seenFeed) Follow(ctx context.Context, from string, apply func(context.Context, es.Batch) error) error {
	return f.Feed.Follow(ctx, from, func(ctx context.Context, b es.Batch) error {
		if err := apply(ctx, b); err != nil {
			return err
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.seen == nil {
			f.seen = map[string]int{}
		}
		for _, e := range b.Events {
			f.seen[e.ID]++
		}
		return nil
	})
}

func (f *seenFeed) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	clear(f.seen)
}

// wait waits until every event of events was applied since the reset.
func (f *seenFeed) wait(t *testing.T, events map[string]es.Envelope, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		f.mu.Lock()
		missing := 0
		for _, e := range events {
			if f.seen[e.ID] == 0 {
				missing++
			}
		}
		f.mu.Unlock()
		if missing == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d events not handed on again within %v", missing, len(events), limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// faults is the faulty feed under the reordering.
func (f *seenFeed) faults() *faultyFeed { return f.Feed.(*reorderFeed).Feed.(*faultyFeed) }

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

// TestLoyaltyPaysOnceAfterARewindToTheStart checks out more carts of one
// owner than the store remembers command ids of her account, lets loyalty
// pay the cash back of each, then rewinds its checkpoint to the start and
// runs a new reactor (nothing in memory) over every checkout again: her
// account must hold one deposit per checkout, caused by it, and no more.
//
// Shared, the three reactions follow the feed as the server runs them, on
// one Follow: loyalty rewound to the start takes the others back with it,
// and they pass over what they had done (nothing issued, their checkpoints
// never behind the ones they had).
func TestLoyaltyPaysOnceAfterARewindToTheStart(t *testing.T) {
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) { testLoyaltyRewind(t, s.open(t), false) })
		t.Run(s.name+"/shared", func(t *testing.T) { testLoyaltyRewind(t, s.open(t), true) })
	}
}

// orderedSeen is a seenFeed that keeps its feed's checkpoint order.
type orderedSeen struct {
	*seenFeed
	es.CheckpointOrder
}

// runningReactors runs reactors until stop: either loyalty's alone, or the
// three reactions together on one Follow.
type runningReactors struct {
	loyalty *es.Reactor
	all     *es.Reactors
	stop    func()
}

func testLoyaltyRewind(t *testing.T, f fixture, shared bool) {
	ctx := context.Background()
	carts := &es.Handler[cart.State, cart.Command, cart.Event]{Decider: cart.Decider(), Store: f.store}
	accounts := &es.Handler[bank.State, bank.Command, bank.Event]{Decider: bank.Decider(), Store: f.store}
	cs := &es.Commands{}
	es.Route(cs, carts)
	es.Route(cs, accounts)
	if _, err := accounts.Handle(ctx, es.Meta{StreamID: "ana", Expected: 0, Actor: "ana"}, bank.OpenAccount{Actor: "ana"}); err != nil {
		t.Fatal(err)
	}
	n := es.RecentCommands + 4
	checkouts := map[string]es.Envelope{}
	checkout := func(id string, price cart.Money) {
		t.Helper()
		meta := es.Meta{StreamID: id, Expected: es.AnyVersion, Actor: "ana", CorrelationID: "buy-" + id}
		if _, err := carts.Handle(ctx, meta, cart.AddItem{SKU: "tea", Qty: 1, Price: price, Actor: "ana"}); err != nil {
			t.Fatal(err)
		}
		res, err := carts.Handle(ctx, meta, cart.CheckOut{Actor: "ana"})
		if err != nil {
			t.Fatal(err)
		}
		checkouts[res.Events[0].ID] = res.Events[0]
	}
	for i := range n {
		checkout(fmt.Sprintf("rw-%d", i), cart.Money(1000+100*i))
	}
	feed := &seenFeed{Feed: f.feed}
	order, _ := f.feed.(es.CheckpointOrder)
	if shared && order == nil {
		t.Fatal("the store's feed has no checkpoint order")
	}
	others := []string{reactions.MatchReport, reactions.CartReminder}
	start := func() runningReactors {
		t.Helper()
		cfg := es.ReactorConfig{Feed: feed, Saves: f.rm, Store: f.store, Commands: cs, Log: discard(), Backoff: 5 * time.Millisecond}
		if !shared {
			cfg.Reaction = reactions.LoyaltyReaction()
			r := startReactor(t, es.NewReactor(cfg))
			return runningReactors{loyalty: r.r, stop: r.stop}
		}
		cfg.Feed = orderedSeen{feed, order}
		g := es.NewReactors([]es.Reaction{reactions.MatchReportReaction(), reactions.LoyaltyReaction(), reactions.CartReminderReaction(time.Hour)}, cfg)
		if err := g.Load(ctx); err != nil {
			t.Fatal(err)
		}
		rctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); g.Run(rctx) }()
		var once sync.Once
		stop := func() { once.Do(func() { cancel(); <-done }) }
		t.Cleanup(stop)
		return runningReactors{loyalty: g.List()[1], all: g, stop: stop}
	}
	saved := func(name string) string {
		t.Helper()
		cp, _, err := f.rm.LoadReadModels(ctx, es.ReactorName(name))
		if err != nil {
			t.Fatal(err)
		}
		return cp
	}
	r1 := start()
	feed.wait(t, checkouts, 30*time.Second)
	r1.stop()
	before := r1.loyalty.Status().Outcomes
	had := map[string]string{}
	for _, name := range others {
		had[name] = saved(name)
	}

	if err := f.rm.SaveReadModels(ctx, es.ReactorName(reactions.Loyalty), "", nil); err != nil {
		t.Fatal(err)
	}
	feed.reset()
	r2 := start()
	checkout("rw-after", 5000) // and one more, paid as usual
	feed.wait(t, checkouts, 30*time.Second)
	r2.stop()
	if shared {
		for _, r := range r2.all.List() {
			if o := r.Status().Outcomes; r.Name() != reactions.Loyalty && o != (es.ReactionOutcomes{}) {
				t.Errorf("%s's outcomes %+v after the rewind of loyalty's checkpoint, want none", r.Name(), o)
			}
		}
		for _, name := range others {
			now := saved(name)
			if ok, err := order.Covers(now, had[name]); err != nil || !ok || had[name] == "" {
				t.Errorf("%s's checkpoint %s after the rewind, not at or past the %q it had (%v)", name, now, had[name], err)
			}
		}
	}

	account := es.StreamRef{Type: bank.StreamType, ID: "ana"}
	envs, err := f.store.ReadStream(ctx, account, es.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	paid := map[string]int{}
	for _, e := range envs[1:] {
		c, ok := checkouts[e.CausationID]
		var d bank.MoneyDeposited
		if err := json.Unmarshal(e.Data, &d); err != nil || e.Type != "MoneyDeposited" || !ok {
			t.Errorf("account/ana v%d: %s caused by %q, not a deposit for a checkout", e.Version, e.Type, e.CausationID)
			continue
		}
		var out cart.CheckedOut
		if err := json.Unmarshal(c.Data, &out); err != nil {
			t.Fatal(err)
		}
		if d.Amount != reactions.CashBack(out.Total) || e.Actor != "system/loyalty" || e.CorrelationID != c.CorrelationID {
			t.Errorf("deposit for %s: %v by %s, correlation %q; want %v by system/loyalty, %q", c.Stream, d.Amount, e.Actor, e.CorrelationID, reactions.CashBack(out.Total), c.CorrelationID)
		}
		paid[e.CausationID]++
	}
	for id, c := range checkouts {
		if paid[id] != 1 {
			t.Errorf("%s's checkout paid %d times, want once", c.Stream, paid[id])
		}
	}
	if o := r2.loyalty.Status().Outcomes; o != (es.ReactionOutcomes{OK: before.OK + 1}) || before.OK != int64(n) {
		t.Errorf("outcomes %+v after %+v: want %d ok, then one more and nothing repeated", o, before, n)
	}
	t.Logf("figures: %d checkouts, %d deposits into one account, a rewind to the start", len(checkouts), len(envs)-1)
}
