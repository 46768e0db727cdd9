package dynamo_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/es/dynamo"
	"github.com/foldboard/foldboard/internal/dynamotest"
)

// readers counts the readers of the Stream: each shard iterator that
// GetShardIterator hands out begins a chain, each GetRecords on it (or on
// the next iterator it returned) goes on with that chain, so the chains
// that called GetRecords over a while are the readers then. (DynamoDB
// Local may hand two readers at one position the same next iterator, and
// their chains then merge: iterators counts the GetShardIterator calls,
// one a shard for each Follow, which do not.)
type readers struct {
	dynamo.StreamsClient
	mu        sync.Mutex
	iterators int
	chain     map[string]int // iterator → its chain
	chains    int
	since     time.Time
	active    map[int]bool // the chains that called GetRecords since
}

func newReaders(c dynamo.StreamsClient) *readers {
	return &readers{StreamsClient: c, chain: map[string]int{}, active: map[int]bool{}}
}

func (r *readers) GetShardIterator(ctx context.Context, in *dynamodbstreams.GetShardIteratorInput, o ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetShardIteratorOutput, error) {
	out, err := r.StreamsClient.GetShardIterator(ctx, in, o...)
	if err == nil && out.ShardIterator != nil {
		r.mu.Lock()
		r.chains++
		r.iterators++
		r.chain[*out.ShardIterator] = r.chains
		r.mu.Unlock()
	}
	return out, err
}

func (r *readers) GetRecords(ctx context.Context, in *dynamodbstreams.GetRecordsInput, o ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetRecordsOutput, error) {
	out, err := r.StreamsClient.GetRecords(ctx, in, o...)
	r.mu.Lock()
	defer r.mu.Unlock()
	it := aws.ToString(in.ShardIterator)
	c, ok := r.chain[it]
	if !ok {
		r.chains++
		c = r.chains
	}
	r.chain[it] = c // kept: an iterator may be read again (a page fetched ahead and dropped)
	r.active[c] = true
	if err == nil && out.NextShardIterator != nil {
		r.chain[*out.NextShardIterator] = c
	}
	return out, err
}

// reset starts counting afresh.
func (r *readers) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	clear(r.active)
}

// iteratorsGot is how many shard iterators GetShardIterator handed out.
func (r *readers) iteratorsGot() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.iterators
}

// count is how many chains called GetRecords since the last reset.
func (r *readers) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.active)
}

// echoInto answers each ping of ping/{id} (an id with no "-") with one on
// ping/{prefix}-{id}.
func echoInto(name, prefix string) es.Reaction {
	return es.OnEvent(name, pingEvents(), []string{"Pinged"}, func(env es.Envelope, _ es.Event) []es.IssuedCommand {
		if strings.Contains(env.Stream.ID, "-") {
			return nil
		}
		return []es.IssuedCommand{{Stream: es.StreamRef{Type: "ping", ID: prefix + "-" + env.Stream.ID}, Command: ping{}}}
	})
}

// plainFeed hides the feed's checkpoint order, as a feed without one.
type plainFeed struct{ es.Feed }

func threeEchoes() []es.Reaction {
	return []es.Reaction{echoInto("one", "one"), echoInto("two", "two"), echoInto("three", "three")}
}

// runReactors loads and runs g until the returned stop, which returns how
// its Run ended.
func runReactors(t *testing.T, g *es.Reactors) (stop func() error) {
	t.Helper()
	if err := g.Load(t.Context()); err != nil {
		t.Fatalf("loading the reactors: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ended := make(chan error, 1)
	go func() { ended <- g.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-ended:
			case <-time.After(20 * time.Second):
				t.Error("the reactors did not stop")
			}
		})
		return err
	}
	t.Cleanup(func() { stop() })
	return stop
}

// The reactors of three reactions read the Stream as one reader: one chain
// of GetRecords and the shard iterators of one Follow, where the reactors
// each on its own Follow took three times as many iterators.
func TestTheReactorsReadTheStreamOnce(t *testing.T) {
	rd := newReaders(streamsClient(dynamotest.Endpoint(t)))
	s := open(t, config(t, func(c *dynamo.Config) { c.Streams = rd }))
	h := &es.Handler[pings, ping, es.Event]{Decider: pingDecider(), Store: s}
	cs := &es.Commands{}
	es.Route(cs, h)
	f := &fenceFixture{s: s, h: h, cs: cs}
	count := func(feed es.Feed, id string) (chains, iterators int) {
		t.Helper()
		before := rd.iteratorsGot()
		g := es.NewReactors(threeEchoes(), es.ReactorConfig{Feed: feed, Saves: s, Store: s, Commands: cs, Log: testLogger(t)})
		stop := runReactors(t, g)
		defer stop()
		f.ping(t, id)
		for _, p := range []string{"one", "two", "three"} {
			eventually(t, p+" echoed "+id, func() bool { return f.echoesOf(t, id, p) == 1 })
		}
		rd.reset()
		f.ping(t, id+"b")
		for _, p := range []string{"one", "two", "three"} {
			eventually(t, p+" echoed "+id+"b", func() bool { return f.echoesOf(t, id+"b", p) == 1 })
		}
		time.Sleep(time.Second) // idle polls of every reader
		return rd.count(), rd.iteratorsGot() - before
	}
	apartChains, apart := count(plainFeed{s.Feed()}, "x")
	if apart < 3 || apart%3 != 0 {
		t.Errorf("each reactor on its own Follow: %d shard iterators; want three readers' (a multiple of 3)", apart)
	}
	oneChains, one := count(s.Feed(), "y")
	if oneChains != 1 || one*3 != apart {
		t.Errorf("the reactors on one Follow: %d chains of GetRecords, %d shard iterators (%d apart); want one reader", oneChains, one, apart)
	}
	t.Logf("apart: %d shard iterators, %d chains seen (chains merge on DynamoDB Local); on one Follow: %d, %d", apart, apartChains, one, oneChains)
}

// A holder's reactors, all on one Follow, stop together once another
// instance took the lease: with the fence, before any command; without it,
// at the first save, refused for its stale epoch (the first reactor's one
// command ran: its id makes it harmless to the new holder). Either way no
// reactor's saved checkpoint moves, and the others issue nothing.
func TestTheReactorsOfADeposedHolderStopTogetherAndSaveNothing(t *testing.T) {
	for _, fence := range []bool{true, false} {
		t.Run(map[bool]string{true: "fenced", false: "saves"}[fence], func(t *testing.T) {
			f := newFenceFixture(t, fence)
			acquire(t, f.a)
			cfg := es.ReactorConfig{Feed: f.s.Feed(), Saves: f.a.ReadModels(), Store: f.s, Commands: f.cs, Log: testLogger(t), Backoff: time.Millisecond, Attempts: 3}
			if fence {
				cfg.Fence = f.a.Check
			}
			g := es.NewReactors(threeEchoes(), cfg)
			stop := runReactors(t, g)
			f.ping(t, "p1")
			for _, p := range []string{"one", "two", "three"} {
				eventually(t, p+"'s echo of p1 saved", func() bool { return f.echoesOf(t, "p1", p) == 1 && outcomesOf(f.savedOf(t, p)).OK == 1 })
			}
			for !acquire(t, f.b) { // a renews no more: paused
				time.Sleep(testFailover / 10)
			}
			// From here on no save of a's may succeed.
			saved := map[string]string{}
			for _, p := range []string{"one", "two", "three"} {
				saved[p], _ = f.savedOf(t, p)
			}
			f.ping(t, "p2")
			if fence {
				// It asks the lease before it issues: stopped, nothing issued.
				eventually(t, "a's reactors stopped", func() bool { return f.a.Epoch() == 0 })
			} else {
				// The first reactor's command runs, its save is refused:
				// every reactor stops.
				eventually(t, "a's save refused", func() bool { return f.a.Epoch() == 0 })
			}
			err := stop()
			if !errors.Is(err, es.ErrFenced) {
				t.Errorf("the deposed holder's reactors ended with %v, want es.ErrFenced", err)
			}
			for _, r := range g.List() {
				if r.Status().Running {
					t.Errorf("%s still runs", r.Name())
				}
			}
			for _, p := range []string{"one", "two", "three"} {
				if got, _ := f.savedOf(t, p); got != saved[p] {
					t.Errorf("%s's saved checkpoint moved under a deposed holder: %s, was %s", p, got, saved[p])
				}
				want := int64(0)
				if !fence && p == "one" {
					want = 1 // issued before the refused save (b finds it applied)
				}
				if n := f.echoesOf(t, "p2", p); n != want {
					t.Errorf("ping/%s-p2 holds %d events, want %d", p, n, want)
				}
			}
		})
	}
}

// echoesOf is how many events ping/{prefix}-{id} holds.
func (f *fenceFixture) echoesOf(t *testing.T, id, prefix string) int64 {
	t.Helper()
	head, err := f.s.Head(t.Context(), es.StreamRef{Type: "ping", ID: prefix + "-" + id})
	if err != nil {
		t.Fatal(err)
	}
	return head.Version
}

// savedOf is the reaction's saved checkpoint and outcomes.
func (f *fenceFixture) savedOf(t *testing.T, reaction string) (string, es.ReactionOutcomes) {
	t.Helper()
	cp, docs, err := f.s.LoadReadModels(t.Context(), es.ReactorName(reaction))
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

func outcomesOf(_ string, o es.ReactionOutcomes) es.ReactionOutcomes { return o }
