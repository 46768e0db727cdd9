package es_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/es/sqlite"
)

// sumReaction answers every Added on tally/{id} by adding the tally's total
// after it to tally/sum-{id}: it needs the state of its stream, and its
// commands differ with the version, so a fold at the wrong version shows.
func sumReaction() es.Reaction {
	return es.OnState("sum", tallyDecider(), []string{"Added"}, func(env es.Envelope, _ es.Event, s tally) []es.IssuedCommand {
		if strings.HasPrefix(env.Stream.ID, "sum-") {
			return nil
		}
		return []es.IssuedCommand{{Stream: es.StreamRef{Type: "tally", ID: "sum-" + env.Stream.ID}, Command: tallyCmd{Add: []int{s.Total}}}}
	})
}

type reactorFixture struct {
	store    *sqlite.Store
	handler  *es.Handler[tally, tallyCmd, es.Event]
	commands *es.Commands
}

func newReactorFixture(t *testing.T) reactorFixture {
	t.Helper()
	store := openStore(t)
	h := newHandler(store)
	cs := &es.Commands{}
	es.Route(cs, h)
	return reactorFixture{store: store, handler: h, commands: cs}
}

func (f reactorFixture) reactor(r es.Reaction, feed es.Feed, store es.Store) *es.Reactor {
	if feed == nil {
		feed = f.store.Feed()
	}
	if store == nil {
		store = f.store
	}
	return es.NewReactor(es.ReactorConfig{
		Reaction: r, Feed: feed, Saves: f.store, Store: store, Commands: f.commands,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Backoff: time.Millisecond, Attempts: 4,
	})
}

// add issues Add commands on tally/id as a person would.
func (f reactorFixture) add(t *testing.T, id string, ns ...int) []es.Envelope {
	t.Helper()
	var envs []es.Envelope
	for _, n := range ns {
		res, err := f.handler.Handle(t.Context(), es.Meta{StreamID: id, Expected: es.AnyVersion, Actor: "ana", CorrelationID: "corr-" + id}, tallyCmd{Add: []int{n}})
		if err != nil {
			t.Fatalf("adding %d to %s: %v", n, id, err)
		}
		envs = append(envs, res.Events...)
	}
	return envs
}

// run loads r and runs it until the test ends or the returned stop.
func run(t *testing.T, r *es.Reactor) (stop func()) {
	t.Helper()
	if err := r.Load(t.Context()); err != nil {
		t.Fatalf("loading reactor: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.Run(ctx) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

// waitOutcomes waits until the reactor's outcomes add up to n.
func waitOutcomes(t *testing.T, r *es.Reactor, n int64) es.ReactionOutcomes {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		o := r.Status().Outcomes
		if o.OK+o.Refused+o.Repeated+o.Parked >= n {
			return o
		}
		if time.Now().After(deadline) {
			t.Fatalf("reactor's outcomes %+v, want %d in all", o, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func readAll(t *testing.T, store es.Store, id string) []es.Envelope {
	t.Helper()
	envs, err := store.ReadStream(t.Context(), es.StreamRef{Type: "tally", ID: id}, es.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return envs
}

func totals(t *testing.T, envs []es.Envelope) []int {
	t.Helper()
	var out []int
	for _, e := range envs {
		var a added
		if err := json.Unmarshal(e.Data, &a); err != nil {
			t.Fatal(err)
		}
		out = append(out, a.N)
	}
	return out
}

func TestReactorIssuesEachCommandOnceWithItsCause(t *testing.T) {
	f := newReactorFixture(t)
	causes := f.add(t, "a", 2, 3, 5)
	r := f.reactor(sumReaction(), nil, nil)
	run(t, r)
	if o := waitOutcomes(t, r, 3); o != (es.ReactionOutcomes{OK: 3}) {
		t.Fatalf("outcomes %+v, want 3 ok", o)
	}
	got := readAll(t, f.store, "sum-a")
	if want := []int{2, 5, 10}; fmt.Sprint(totals(t, got)) != fmt.Sprint(want) {
		t.Fatalf("sum-a holds %v, want %v (each total at its event's version)", totals(t, got), want)
	}
	for i, e := range got {
		c := causes[i]
		if e.Actor != "system/sum" || e.CausationID != c.ID || e.CorrelationID != "corr-a" || e.CommandID != es.ReactionCommandID("sum", c.ID, 0) {
			t.Errorf("event %d: actor %q causation %q correlation %q command %q; want system/sum, %s, corr-a, %s",
				i, e.Actor, e.CausationID, e.CorrelationID, e.CommandID, c.ID, es.ReactionCommandID("sum", c.ID, 0))
		}
	}
}

func TestReactorRestartedBeforeItsCheckpointAppliesNothingTwice(t *testing.T) {
	f := newReactorFixture(t)
	f.add(t, "a", 1, 1, 1)
	first := f.reactor(sumReaction(), nil, nil)
	stop := run(t, first)
	waitOutcomes(t, first, 3)
	stop()
	// A crash between the commands and the checkpoint: the checkpoint is
	// gone, and what the reactor knew it had done (the version it saved
	// with it); the commands' events are in the store (which remembers
	// their ids).
	if err := f.store.SaveReadModels(t.Context(), es.ReactorName("sum"), "", map[string]json.RawMessage{"outcomes": nil, "v/tally/a": nil}); err != nil {
		t.Fatal(err)
	}
	again := f.reactor(sumReaction(), nil, nil)
	run(t, again)
	if o := waitOutcomes(t, again, 3); o != (es.ReactionOutcomes{Repeated: 3}) {
		t.Fatalf("outcomes after the replay %+v, want 3 repeated", o)
	}
	if got := totals(t, readAll(t, f.store, "sum-a")); fmt.Sprint(got) != "[1 2 3]" {
		t.Fatalf("sum-a holds %v after a replay, want [1 2 3]", got)
	}
}

// twiceFeed hands every batch on twice, as an at-least-once feed may.
type twiceFeed struct{ es.Feed }

func (f twiceFeed) Follow(ctx context.Context, from string, apply func(context.Context, es.Batch) error) error {
	return f.Feed.Follow(ctx, from, func(ctx context.Context, b es.Batch) error {
		if err := apply(ctx, b); err != nil {
			return err
		}
		return apply(ctx, b)
	})
}

func TestReactorIgnoresRedeliveredEvents(t *testing.T) {
	f := newReactorFixture(t)
	r := f.reactor(sumReaction(), twiceFeed{f.store.Feed()}, nil)
	run(t, r)
	f.add(t, "a", 4, 4)
	waitOutcomes(t, r, 2)
	waitFor(t, func() bool { return r.Status().Checkpoint != "" })
	// The second delivery is passed over: the reactor knows it is done.
	if o := r.Status().Outcomes; o != (es.ReactionOutcomes{OK: 2}) {
		t.Fatalf("outcomes %+v, want 2 ok and nothing run again", o)
	}
	if got := totals(t, readAll(t, f.store, "sum-a")); fmt.Sprint(got) != "[4 8]" {
		t.Fatalf("sum-a holds %v, want [4 8]", got)
	}
}

func TestReactorCountsARefusalAndDoesNotRetryIt(t *testing.T) {
	f := newReactorFixture(t)
	if _, err := f.handler.Handle(t.Context(), es.Meta{StreamID: "sum-a", Expected: 0}, tallyCmd{Add: []int{1}, Close: true}); err != nil {
		t.Fatal(err)
	}
	store := &flakyStore{Store: f.store}
	r := f.reactor(sumReaction(), nil, store)
	run(t, r)
	f.add(t, "a", 7)
	if o := waitOutcomes(t, r, 1); o != (es.ReactionOutcomes{Refused: 1}) {
		t.Fatalf("outcomes %+v, want 1 refused", o)
	}
	st := r.Status()
	if len(st.Refusals) != 1 || st.Refusals[0].Code != "Closed" || st.Refusals[0].Stream != "tally/sum-a" {
		t.Fatalf("refusals %+v, want one Closed on tally/sum-a", st.Refusals)
	}
	if n := store.reads.Load(); n != 1 {
		t.Errorf("the reaction read tally/a %d times, want once (a refusal is not retried)", n)
	}
}

// flakyStore fails the first failHeads reads of a stream's head (what a
// command reads first) and counts the reads of tally/a's events.
type flakyStore struct {
	es.Store
	failHeads atomic.Int64
	reads     atomic.Int64
}

var errInjected = errors.New("injected: the store did not answer")

func (s *flakyStore) Head(ctx context.Context, ref es.StreamRef) (es.StateRecord, error) {
	if s.failHeads.Add(-1) >= 0 {
		return es.StateRecord{}, errInjected
	}
	return s.Store.Head(ctx, ref)
}

func (s *flakyStore) ReadStream(ctx context.Context, ref es.StreamRef, opts es.ReadOptions) ([]es.Envelope, error) {
	if ref.ID == "a" {
		s.reads.Add(1)
	}
	return s.Store.ReadStream(ctx, ref, opts)
}

func TestReactorRetriesAStoreErrorThenParksAnEventItKeepsFailingOn(t *testing.T) {
	f := newReactorFixture(t)
	flaky := &flakyStore{Store: f.store}
	h := &es.Handler[tally, tallyCmd, es.Event]{Decider: tallyDecider(), Store: flaky}
	f.commands = &es.Commands{}
	es.Route(f.commands, h)
	flaky.failHeads.Store(2) // fewer than the reactor's 4 attempts
	r := f.reactor(sumReaction(), nil, nil)
	stop := run(t, r)
	f.add(t, "a", 1)
	if o := waitOutcomes(t, r, 1); o != (es.ReactionOutcomes{OK: 1}) {
		t.Fatalf("outcomes %+v after two store errors, want 1 ok", o)
	}
	flaky.failHeads.Store(1 << 30) // the store is gone for good
	f.add(t, "a", 1)
	if o := waitOutcomes(t, r, 2); o != (es.ReactionOutcomes{OK: 1, Parked: 1}) {
		t.Fatalf("outcomes %+v when the store keeps failing, want 1 ok, 1 parked", o)
	}
	st := r.Status()
	if len(st.Parked) != 1 || st.Parked[0].Stream != "tally/a" || st.Parked[0].Version != 2 || !strings.Contains(st.Parked[0].Error, "injected") {
		t.Fatalf("parked %+v, want tally/a v2 with the store's error", st.Parked)
	}
	stop()
	// The parked event and the counts are saved with the checkpoint.
	flaky.failHeads.Store(0)
	again := f.reactor(sumReaction(), nil, nil)
	if err := again.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	if st := again.Status(); st.Outcomes != (es.ReactionOutcomes{OK: 1, Parked: 1}) || len(st.Parked) != 1 || st.Checkpoint == "" {
		t.Fatalf("loaded status %+v, want what was saved", st)
	}
}

func TestReactorParksAPanickingReactionAtOnce(t *testing.T) {
	f := newReactorFixture(t)
	calls := 0
	boom := es.OnEvent("boom", tallyEvents(), []string{"Added"}, func(es.Envelope, es.Event) []es.IssuedCommand {
		calls++
		panic("the reaction has a bug")
	})
	r := f.reactor(boom, nil, nil)
	run(t, r)
	f.add(t, "a", 1)
	if o := waitOutcomes(t, r, 1); o != (es.ReactionOutcomes{Parked: 1}) {
		t.Fatalf("outcomes %+v, want 1 parked", o)
	}
	if calls != 1 {
		t.Errorf("the panicking reaction ran %d times, want once (a bug is not retried)", calls)
	}
}

// quietSchedule finds a tally stream due a reminder once it has been quiet
// for after: its last event (by the event's time) is older than that.
type quietSchedule struct {
	after time.Duration
	last  map[string]es.Envelope
}

func (q *quietSchedule) Watch(_ context.Context, env es.Envelope) ([]string, error) {
	q.last[env.Stream.ID] = env
	return []string{env.Stream.ID}, nil
}

func (q *quietSchedule) Reset() { clear(q.last) }

func (q *quietSchedule) Load(key string, doc json.RawMessage) error {
	var env es.Envelope
	if err := json.Unmarshal(doc, &env); err != nil {
		return err
	}
	q.last[key] = env
	return nil
}

func (q *quietSchedule) Doc(key string) (json.RawMessage, error) { return json.Marshal(q.last[key]) }

func (q *quietSchedule) Due(_ context.Context, now time.Time) ([]es.DueCommand, error) {
	var due []es.DueCommand
	for id, env := range q.last {
		if strings.HasPrefix(id, "nudge-") || now.Sub(env.Time) < q.after {
			continue
		}
		due = append(due, es.DueCommand{
			IssuedCommand: es.IssuedCommand{Stream: es.StreamRef{Type: "tally", ID: "nudge-" + id}, Command: tallyCmd{Add: []int{1}}},
			CauseID:       env.ID, CauseStream: env.Stream, CauseCorrelation: env.CorrelationID,
		})
	}
	return due, nil
}

func TestTimedReactionIssuesWhatIsDueByItsClockOncePerCause(t *testing.T) {
	f := newReactorFixture(t)
	var now atomic.Pointer[time.Time]
	start := time.Now().UTC()
	now.Store(&start)
	newReactor := func() *es.Reactor {
		r := es.Timed("nudge", []string{"Added"}, time.Hour, &quietSchedule{after: time.Minute, last: map[string]es.Envelope{}})
		return es.NewReactor(es.ReactorConfig{
			Reaction: r, Feed: f.store.Feed(), Saves: f.store, Store: f.store, Commands: f.commands,
			Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return *now.Load() },
		})
	}
	r := newReactor()
	stop := run(t, r)
	f.add(t, "a", 1)
	waitSaved(t, f.store, "nudge", "a")
	r.Tick(t.Context())
	if got := readAll(t, f.store, "nudge-a"); len(got) != 0 {
		t.Fatalf("nudged before the stream was quiet: %v", got)
	}
	later := start.Add(2 * time.Minute)
	now.Store(&later)
	r.Tick(t.Context())
	r.Tick(t.Context())
	stop()
	// Restarted from what it saved: the same cause is due again, its
	// command is not applied again.
	again := newReactor()
	run(t, again)
	again.Tick(t.Context())
	if got := readAll(t, f.store, "nudge-a"); len(got) != 1 || got[0].Actor != "system/nudge" {
		t.Fatalf("nudge-a holds %d events, want 1 by system/nudge", len(got))
	}
	if o := again.Status().Outcomes; o != (es.ReactionOutcomes{OK: 1, Repeated: 1}) {
		t.Fatalf("outcomes %+v, want 1 ok (saved) and 1 repeated (after the restart)", o)
	}
}

// waitSaved waits until the reactor's schedule has saved key.
func waitSaved(t *testing.T, rm es.ReadModelStore, reaction, key string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, docs, err := rm.LoadReadModels(t.Context(), es.ReactorName(reaction))
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := docs["s/"+key]; ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("reactor %s saved no %s", reaction, key)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestReactionCommandIDsAreStableAndValid(t *testing.T) {
	id := es.ReactionCommandID("match-report", "01JABCDEFGHJKMNPQRSTVWXYZ0", 1)
	if id != "match-report.01JABCDEFGHJKMNPQRSTVWXYZ0.1" {
		t.Errorf("id = %q", id)
	}
	long := es.ReactionCommandID(strings.Repeat("r", 32), strings.Repeat("e", 60), 12)
	if !es.ValidID(long) || long != es.ReactionCommandID(strings.Repeat("r", 32), strings.Repeat("e", 60), 12) {
		t.Errorf("a long event id made %q: want a stable valid id", long)
	}
	if es.ReactionCommandID("r", "e", 0) == es.ReactionCommandID("r", "e", 1) {
		t.Error("two commands for one event share an id")
	}
}

// checkpointLoss fails every save that moves the checkpoint past the start,
// the first times: a crash between the commands and the checkpoint, over
// and over.
type checkpointLoss struct {
	es.ReadModelStore
	fails atomic.Int64
}

func (c *checkpointLoss) SaveReadModels(ctx context.Context, name, checkpoint string, docs map[string]json.RawMessage) error {
	if checkpoint != "" && c.fails.Add(-1) >= 0 {
		return errInjected
	}
	return c.ReadModelStore.SaveReadModels(ctx, name, checkpoint, docs)
}

func TestReactorPassesOverEventsDoneBeforeItsCheckpointBeyondTheStoresMemory(t *testing.T) {
	f := newReactorFixture(t)
	// More commands on one stream than the store remembers the ids of.
	count := es.OnEvent("count", tallyEvents(), []string{"Added"}, func(env es.Envelope, _ es.Event) []es.IssuedCommand {
		if env.Stream.ID != "a" {
			return nil
		}
		return []es.IssuedCommand{{Stream: es.StreamRef{Type: "tally", ID: "count"}, Command: tallyCmd{Add: []int{1}}}}
	})
	n := es.RecentCommands + 4
	adds := make([]int, n)
	for i := range adds {
		adds[i] = i + 1
	}
	if _, err := f.handler.Handle(t.Context(), es.Meta{StreamID: "a", Expected: 0}, tallyCmd{Add: adds}); err != nil {
		t.Fatal(err)
	}
	// The first process never saves its checkpoint (every such save fails,
	// as if it crashed each time right before); the second starts from
	// what it did save.
	lost := &checkpointLoss{ReadModelStore: f.store}
	lost.fails.Store(1 << 30)
	newReactor := func(saves es.ReadModelStore) *es.Reactor {
		return es.NewReactor(es.ReactorConfig{
			Reaction: count, Feed: f.store.Feed(), Saves: saves, Store: f.store, Commands: f.commands,
			Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		})
	}
	first := newReactor(lost)
	stop := run(t, first)
	waitFor(t, func() bool { return len(readAll(t, f.store, "count")) >= n })
	stop()
	second := newReactor(f.store)
	run(t, second)
	waitFor(t, func() bool { return second.Status().Checkpoint != "" })
	if got := readAll(t, f.store, "count"); len(got) != n {
		t.Fatalf("tally/count holds %d events after a restart from a lost checkpoint, want %d", len(got), n)
	}
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestReactorPassesOverABatchHandedOnAgainBeyondTheStoresMemory(t *testing.T) {
	f := newReactorFixture(t)
	count := es.OnEvent("count", tallyEvents(), []string{"Added"}, func(env es.Envelope, _ es.Event) []es.IssuedCommand {
		if env.Stream.ID != "a" {
			return nil
		}
		return []es.IssuedCommand{{Stream: es.StreamRef{Type: "tally", ID: "count"}, Command: tallyCmd{Add: []int{1}}}}
	})
	n := es.RecentCommands + 4
	adds := make([]int, n)
	for i := range adds {
		adds[i] = i + 1
	}
	if _, err := f.handler.Handle(t.Context(), es.Meta{StreamID: "a", Expected: 0}, tallyCmd{Add: adds}); err != nil {
		t.Fatal(err)
	}
	r := f.reactor(count, twiceFeed{f.store.Feed()}, nil)
	run(t, r)
	waitFor(t, func() bool { return r.Status().Checkpoint != "" })
	if got := readAll(t, f.store, "count"); len(got) != n {
		t.Fatalf("tally/count holds %d events after its batch came twice, want %d", len(got), n)
	}
}

func TestReactorLoadedAgainHoldsWhatTheLastHolderSaved(t *testing.T) {
	f := newReactorFixture(t)
	sched := &quietSchedule{after: time.Minute, last: map[string]es.Envelope{}}
	r := es.NewReactor(es.ReactorConfig{
		Reaction: es.Timed("nudge", []string{"Added"}, time.Hour, sched), Feed: f.store.Feed(), Saves: f.store,
		Store: f.store, Commands: f.commands, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	stop := run(t, r)
	f.add(t, "a", 1)
	waitSaved(t, f.store, "nudge", "a")
	stop()
	// Another instance held the lease meanwhile: the tally was forgotten
	// (say, checked out) and its outcomes moved on.
	outcomes, _ := json.Marshal(es.ReactionOutcomes{OK: 5})
	if err := f.store.SaveReadModels(t.Context(), es.ReactorName("nudge"), "", map[string]json.RawMessage{"s/a": nil, "outcomes": outcomes}); err != nil {
		t.Fatal(err)
	}
	if err := r.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	if o := r.Status().Outcomes; o != (es.ReactionOutcomes{OK: 5}) {
		t.Errorf("outcomes after loading again %+v, want the saved 5 ok", o)
	}
	if due, _ := sched.Due(t.Context(), time.Now().Add(time.Hour)); len(due) != 0 {
		t.Errorf("the schedule kept a stream the saved one forgot: %d due", len(due))
	}
}

// countCommand is a reaction that adds 1 to tally/count for every Added on
// tally/a: more commands on one stream than the store remembers the ids of.
func countCommand() es.Reaction {
	return es.OnEvent("count", tallyEvents(), []string{"Added"}, func(env es.Envelope, _ es.Event) []es.IssuedCommand {
		if env.Stream.ID != "a" {
			return nil
		}
		return []es.IssuedCommand{{Stream: es.StreamRef{Type: "tally", ID: "count"}, Command: tallyCmd{Add: []int{1}}}}
	})
}

// seenFeed tells of every event a reactor applied, once its batch was.
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
		for _, e := range b.Events {
			f.seen[e.ID]++
		}
		return nil
	})
}

func (f *seenFeed) saw(envs []es.Envelope) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, e := range envs {
		if f.seen[e.ID] == 0 {
			return false
		}
	}
	return true
}

func TestReactorRewoundToTheStartIssuesNothingAgain(t *testing.T) {
	f := newReactorFixture(t)
	n := es.RecentCommands + 4
	ones := make([]int, n)
	for i := range ones {
		ones[i] = 1
	}
	causes := f.add(t, "a", ones...)
	first := f.reactor(countCommand(), nil, nil)
	stop := run(t, first)
	waitOutcomes(t, first, int64(n))
	stop()
	// The checkpoint rewound to the start, and a new process: every event
	// comes again, past anything kept in memory, and tally/count took more
	// commands than the store remembers the ids of.
	if err := f.store.SaveReadModels(t.Context(), es.ReactorName("count"), "", nil); err != nil {
		t.Fatal(err)
	}
	feed := &seenFeed{Feed: f.store.Feed(), seen: map[string]int{}}
	again := f.reactor(countCommand(), feed, nil)
	run(t, again)
	waitFor(t, func() bool { return feed.saw(causes) })
	if o := again.Status().Outcomes; o != (es.ReactionOutcomes{OK: int64(n)}) {
		t.Errorf("outcomes after the rewind %+v, want the first run's %d ok and nothing more", o, n)
	}
	if got := len(readAll(t, f.store, "count")); got != n {
		t.Fatalf("tally/count holds %d events after a rewind to the start, want %d", got, n)
	}
	// And what comes after is reacted to.
	f.add(t, "a", 1)
	waitFor(t, func() bool { return len(readAll(t, f.store, "count")) == n+1 })
}

func TestReactorSavedBeforeVersionsPassesOverItsDoneEventsOnce(t *testing.T) {
	f := newReactorFixture(t)
	causes := f.add(t, "a", 1, 2)
	// What a reactor saved before it kept versions: the start as its
	// checkpoint, the first event done after it.
	done, _ := json.Marshal([]string{causes[0].ID})
	if err := f.store.SaveReadModels(t.Context(), es.ReactorName("count"), "", map[string]json.RawMessage{"done": done}); err != nil {
		t.Fatal(err)
	}
	r := f.reactor(countCommand(), nil, nil)
	run(t, r)
	waitFor(t, func() bool { return r.Status().Checkpoint != "" })
	if got := len(readAll(t, f.store, "count")); got != 1 {
		t.Fatalf("tally/count holds %d events, want 1 (the second event's; the first was done)", got)
	}
	_, docs, err := f.store.LoadReadModels(t.Context(), es.ReactorName("count"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := docs["done"]; ok || string(docs["v/tally/a"]) != "2" {
		t.Errorf("saved after the first batch: done %s, v/tally/a %s; want no done, version 2", docs["done"], docs["v/tally/a"])
	}
}

// A reactor holds the versions of the streams it handled only until it
// saved them (one batch's, at most one save's): after catching up on many
// streams it holds none, a new one loads none, and a rewind to the start
// of the feed, whose every event it then reads the version of back from
// the store, issues nothing again (more commands on tally/count than the
// store remembers the ids of).
func TestReactorHoldsOnlyTheVersionsNotSavedYet(t *testing.T) {
	f := newReactorFixture(t)
	count := es.OnEvent("count", tallyEvents(), []string{"Added"}, func(env es.Envelope, _ es.Event) []es.IssuedCommand {
		if !strings.HasPrefix(env.Stream.ID, "s-") {
			return nil
		}
		return []es.IssuedCommand{{Stream: es.StreamRef{Type: "tally", ID: "count"}, Command: tallyCmd{Add: []int{1}}}}
	})
	const n = 1_000
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < n; i += 8 {
				if _, err := f.handler.Handle(t.Context(), es.Meta{StreamID: fmt.Sprintf("s-%04d", i), Expected: 0, Actor: "ana"}, tallyCmd{Add: []int{1}}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	caughtUp := func(r *es.Reactor, events int) {
		t.Helper()
		stop := run(t, r)
		if held := r.HeldVersions(); held != 0 {
			t.Errorf("a reactor loaded from %d streams' versions holds %d, want none", n, held)
		}
		// The feed brings it after every other event (SQLite's one order).
		f.add(t, fmt.Sprintf("s-last-%d", events), 1)
		deadline := time.Now().Add(2 * time.Minute)
		for len(readAll(t, f.store, "count")) < events || r.HeldVersions() != 0 {
			if time.Now().After(deadline) {
				t.Fatalf("tally/count holds %d events, want %d; the reactor holds %d versions", len(readAll(t, f.store, "count")), events, r.HeldVersions())
			}
			time.Sleep(10 * time.Millisecond)
		}
		stop()
		if got := readAll(t, f.store, "count"); len(got) != events {
			t.Fatalf("tally/count holds %d events, want %d: one a stream", len(got), events)
		}
	}
	caughtUp(f.reactor(count, nil, nil), n+1)
	if err := f.store.SaveReadModels(t.Context(), es.ReactorName("count"), "", nil); err != nil {
		t.Fatal(err)
	}
	caughtUp(f.reactor(count, nil, nil), n+2)
}
