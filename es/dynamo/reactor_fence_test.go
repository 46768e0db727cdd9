package dynamo_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/es/dynamo"
)

// The pings are the tiny domain of the reactor tests here: a ping appends
// Pinged; the echo reaction answers each ping of ping/{id} with one on
// ping/echo-{id}.
type pings struct {
	N int `json:"n"`
}

type ping struct{}

type pinged struct{}

func (pinged) EventType() string { return "Pinged" }

func pingEvents() *es.Registry[es.Event] {
	r := es.NewRegistry[es.Event]()
	es.Register[pinged](r, 1)
	return r
}

func pingDecider() es.Decider[pings, ping, es.Event] {
	return es.Decider[pings, ping, es.Event]{
		StreamType:  "ping",
		StateSchema: 1,
		Initial:     func() pings { return pings{} },
		Decide:      func(ping, pings) ([]es.Event, error) { return []es.Event{pinged{}}, nil },
		Evolve:      func(s pings, _ es.Event) pings { s.N++; return s },
		Events:      pingEvents(),
	}
}

func echoReaction() es.Reaction {
	return es.OnEvent("echo", pingEvents(), []string{"Pinged"}, func(env es.Envelope, _ es.Event) []es.IssuedCommand {
		if strings.HasPrefix(env.Stream.ID, "echo-") {
			return nil
		}
		return []es.IssuedCommand{{Stream: es.StreamRef{Type: "ping", ID: "echo-" + env.Stream.ID}, Command: ping{}}}
	})
}

// gatedFeed holds the batch that brings an event of stream hold until
// released: a reactor held so is as one whose process was paused right
// before that event.
type gatedFeed struct {
	es.Feed
	hold    es.StreamRef
	release chan struct{}
	passed  atomic.Bool // a batch with hold's event was applied, without error
}

func (f *gatedFeed) Follow(ctx context.Context, from string, apply func(context.Context, es.Batch) error) error {
	return f.Feed.Follow(ctx, from, func(ctx context.Context, b es.Batch) error {
		held := false
		for _, e := range b.Events {
			if e.Stream == f.hold {
				select {
				case <-f.release:
				case <-ctx.Done():
					return ctx.Err()
				}
				held = true
				break
			}
		}
		err := apply(ctx, b)
		if held && err == nil {
			f.passed.Store(true)
		}
		return err
	})
}

// fenceFixture is two instances' leases on one store, a ping handler, and
// a way to run each instance's echo reactor.
type fenceFixture struct {
	s     *dynamo.Store
	a, b  *dynamo.Lease
	h     *es.Handler[pings, ping, es.Event]
	cs    *es.Commands
	fence bool // the reactors ask their lease before they issue
}

type runningReactor struct {
	r      *es.Reactor
	feed   *gatedFeed
	issued atomic.Int64
	ended  chan struct{} // closed once Run returned err
	err    error
}

func newFenceFixture(t *testing.T, fence bool) *fenceFixture {
	s, a, b, _ := twoLeases(t)
	h := &es.Handler[pings, ping, es.Event]{Decider: pingDecider(), Store: s}
	cs := &es.Commands{}
	es.Route(cs, h)
	return &fenceFixture{s: s, a: a, b: b, h: h, cs: cs, fence: fence}
}

// run loads and runs the echo reactor of the instance holding (or having
// held) l, its saves fenced by l, until the test ends; the feed holds it
// at ping/p2's event until released.
func (f *fenceFixture) run(t *testing.T, l *dynamo.Lease) *runningReactor {
	t.Helper()
	rr := &runningReactor{feed: &gatedFeed{Feed: f.s.Feed(), hold: es.StreamRef{Type: "ping", ID: "p2"}, release: make(chan struct{})}, ended: make(chan struct{})}
	cfg := es.ReactorConfig{
		Reaction: echoReaction(), Feed: rr.feed, Saves: l.ReadModels(), Store: f.s, Commands: f.cs,
		Log: testLogger(t), Backoff: time.Millisecond, Attempts: 3, AfterCommand: func() { rr.issued.Add(1) },
	}
	if f.fence {
		cfg.Fence = l.Check
	}
	rr.r = es.NewReactor(cfg)
	if err := rr.r.Load(t.Context()); err != nil {
		t.Fatalf("loading the reactor: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { defer close(rr.ended); rr.err = rr.r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-rr.ended:
		case <-time.After(10 * time.Second):
			t.Error("the reactor did not stop")
		}
	})
	return rr
}

func (f *fenceFixture) ping(t *testing.T, id string) {
	t.Helper()
	if _, err := f.h.Handle(t.Context(), es.Meta{StreamID: id, Expected: es.AnyVersion, Actor: "ana"}, ping{}); err != nil {
		t.Fatalf("ping %s: %v", id, err)
	}
}

// echoes is how many events ping/echo-{id} holds.
func (f *fenceFixture) echoes(t *testing.T, id string) int64 {
	t.Helper()
	head, err := f.s.Head(t.Context(), es.StreamRef{Type: "ping", ID: "echo-" + id})
	if err != nil {
		t.Fatal(err)
	}
	return head.Version
}

// saved is the echo reactor's saved checkpoint and outcomes.
func (f *fenceFixture) saved(t *testing.T) (string, es.ReactionOutcomes) {
	t.Helper()
	cp, docs, err := f.s.LoadReadModels(t.Context(), es.ReactorName("echo"))
	if err != nil {
		t.Fatal(err)
	}
	var o es.ReactionOutcomes
	if doc := docs["outcomes"]; doc != nil {
		if err := json.Unmarshal(doc, &o); err != nil {
			t.Fatal(err)
		}
	}
	return cp, o
}

// savedIsOnly waits until what is saved is rb's last save (b saves on as
// it passes over events): a's outcomes, had its save been written, differ.
// handled is how many pings' echoes the saved outcomes count, as issued
// or found applied.
func (f *fenceFixture) savedIsOnly(t *testing.T, rb *runningReactor, handled int64) {
	t.Helper()
	eventually(t, "the saved reactor is b's", func() bool {
		cp, o := f.saved(t)
		st := rb.r.Status()
		return cp == st.Checkpoint && o == st.Outcomes && o.OK+o.Repeated == handled
	})
}

func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// takeOver lets instance a's reactor react to p1 and holds it at p2 while b
// takes the lease (a renews no more): what a holder paused past its
// failover finds when it wakes. With bReacted, b's reactor has reacted to
// p2 and saved that; without, b's is held at p2 too (until released: its
// feed's release), as a new holder still loading or slower than a.
func (f *fenceFixture) takeOver(t *testing.T, bReacted bool) (ra, rb *runningReactor) {
	t.Helper()
	acquire(t, f.a)
	ra = f.run(t, f.a)
	f.ping(t, "p1")
	eventually(t, "a's reactor saved its echo of p1", func() bool {
		_, o := f.saved(t)
		return f.echoes(t, "p1") == 1 && o.OK == 1
	})
	for !acquire(t, f.b) {
		time.Sleep(testFailover / 10)
	}
	rb = f.run(t, f.b)
	if bReacted {
		close(rb.feed.release)
	}
	f.ping(t, "p2")
	if bReacted {
		eventually(t, "b's reactor saved its echo of p2", func() bool {
			_, o := f.saved(t)
			return f.echoes(t, "p2") == 1 && o.OK == 2
		})
	}
	return ra, rb
}

// woken resumes a's reactor and returns how its Run ended.
func woken(t *testing.T, ra *runningReactor) error {
	t.Helper()
	close(ra.feed.release)
	select {
	case <-ra.ended:
		return ra.err
	case <-time.After(20 * time.Second):
		t.Fatal("the deposed holder's reactor went on running")
		return nil
	}
}

func TestAReactorWhoseSaveCarriesAStaleEpochIsRefusedAndStops(t *testing.T) {
	f := newFenceFixture(t, false)
	ra, rb := f.takeOver(t, false)
	// a still believes it holds epoch 1: it reacts to p2 (b has not: the
	// saved version of p2 a reads back is none), issues its echo, and its
	// save, checked against the lease's epoch 2 in the same transaction,
	// is refused; it stops.
	err := woken(t, ra)
	if !errors.Is(err, es.ErrFenced) || !errors.Is(err, dynamo.ErrDeposed) {
		t.Fatalf("the deposed holder's reactor ended with %v, want ErrDeposed (es.ErrFenced)", err)
	}
	if f.a.Epoch() != 0 {
		t.Errorf("a refused save left epoch %d held", f.a.Epoch())
	}
	if got := ra.r.Status().Outcomes; got.OK != 2 {
		t.Errorf("the deposed holder's outcomes %+v: want p1's and p2's echoes issued", got)
	}
	// b then reacts to p2 with the same command id: found applied, once.
	close(rb.feed.release)
	eventually(t, "b's reactor found p2's echo applied", func() bool { return rb.r.Status().Outcomes.Repeated == 1 })
	f.savedIsOnly(t, rb, 2)
	if n := f.echoes(t, "p2"); n != 1 {
		t.Errorf("ping/echo-p2 holds %d events, want 1", n)
	}
	// b reacts on.
	f.ping(t, "p3")
	eventually(t, "b's reactor echoed p3", func() bool { return f.echoes(t, "p3") == 1 && rb.r.Status().Outcomes.OK == 2 })
}

func TestAReactorOfAPausedHolderIssuesNothingOnceTheLeaseIsAnothers(t *testing.T) {
	f := newFenceFixture(t, true)
	ra, rb := f.takeOver(t, false)
	// a wakes with p2 to react to, believing it holds epoch 1: it asks
	// the lease first, finds epoch 2, and stops.
	err := woken(t, ra)
	if !errors.Is(err, es.ErrFenced) {
		t.Fatalf("the paused holder's reactor ended with %v, want es.ErrFenced", err)
	}
	if n := ra.issued.Load(); n != 1 {
		t.Errorf("the paused holder's reactor ran %d commands, want 1 (p1's echo, before the pause)", n)
	}
	if f.a.Epoch() != 0 {
		t.Errorf("the check left epoch %d held", f.a.Epoch())
	}
	close(rb.feed.release)
	eventually(t, "b's reactor echoed p2", func() bool { return f.echoes(t, "p2") == 1 })
	f.savedIsOnly(t, rb, 2)
}

// A holder paused past its failover that wakes after the new holder
// reacted to what it was paused at reads that stream's version back as b
// saved it, and passes over the event: it issues nothing and writes
// nothing (its next save, had it one, would be refused as above).
func TestAReactorOfAPausedHolderPassesOverWhatTheNewHolderDid(t *testing.T) {
	f := newFenceFixture(t, false)
	ra, rb := f.takeOver(t, true)
	close(ra.feed.release)
	eventually(t, "a's reactor passed over p2", ra.feed.passed.Load)
	if n := ra.issued.Load(); n != 1 {
		t.Errorf("the paused holder's reactor ran %d commands, want 1 (p1's echo, before the pause)", n)
	}
	if n := f.echoes(t, "p2"); n != 1 {
		t.Errorf("ping/echo-p2 holds %d events, want 1", n)
	}
	f.savedIsOnly(t, rb, 2)
}
