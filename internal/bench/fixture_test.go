package bench_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/foldboard/foldboard/domain/blog"
	"github.com/foldboard/foldboard/domain/cart"
	"github.com/foldboard/foldboard/domain/cricket"
	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/internal/dynamotest"
)

// fixtureDir holds the SQLite files of the fixtures that several benchmarks
// share; TestMain removes it.
var fixtureDir string

var fixtures struct {
	sync.Mutex
	growing map[string]*growingFixture
	mixed   *mixedFixture
}

func fixtureFiles(tb testing.TB) string {
	tb.Helper()
	if fixtureDir == "" {
		dir, err := os.MkdirTemp("", "foldboard-bench-")
		if err != nil {
			tb.Fatal(err)
		}
		fixtureDir = dir
	}
	return fixtureDir
}

// fixtureTB is the lifetime of a shared fixture: the whole test binary.
// Its cleanups never run (TestMain removes the files); skips and failures
// go to the benchmark that asked first.
type fixtureTB struct{ testing.TB }

func (fixtureTB) Cleanup(func()) {}

// growingSizes are the lengths of the growing streams on each store: on
// DynamoDB Local 100,000 events would take minutes to write (about 1,000
// events a second in 50-event transactions).
var growingSizes = map[string][]int{
	"sqlite":   {10, 1_000, 100_000},
	"dynamodb": {10, 1_000, 10_000},
}

// growingFixture is a store holding one cart stream of each size, written
// as the server writes them: each with its state, and a snapshot every
// snapshotEvery versions.
type growingFixture struct {
	stores
	streams map[int]es.StreamRef
	events  int64 // in all
}

func growingStore(tb testing.TB, be backend) *growingFixture {
	tb.Helper()
	if be.name == "dynamodb" {
		dynamotest.Endpoint(tb) // skips here, not inside the fixture, without DynamoDB Local
	}
	fixtures.Lock()
	defer fixtures.Unlock()
	if f := fixtures.growing[be.name]; f != nil {
		return f
	}
	start := time.Now()
	f := &growingFixture{stores: be.open(fixtureTB{tb}, fixtureFiles(tb)), streams: map[int]es.StreamRef{}}
	batch := 100 // one snapshot per append, at its last event
	if be.name == "dynamodb" {
		batch = 50 // events, head and snapshot within 100 items
	}
	for _, n := range growingSizes[be.name] {
		ref := es.StreamRef{Type: cart.StreamType, ID: fmt.Sprintf("grow-%d", n)}
		writeCart(tb, f.Store, ref, n, batch)
		f.streams[n] = ref
		f.events += int64(n)
	}
	tb.Logf("fixture: growing cart streams on %s written in %v", be.name, time.Since(start).Round(time.Millisecond))
	if fixtures.growing == nil {
		fixtures.growing = map[string]*growingFixture{}
	}
	fixtures.growing[be.name] = f
	return f
}

// writeCart writes a cart of n ItemAdded events, batch events an append.
// From 10 events on, every cart holds the same 11 lines (up to 9,091 of
// each, within MaxQty), so that states weigh the same whatever the length.
func writeCart(tb testing.TB, s es.Store, ref es.StreamRef, n, batch int) {
	tb.Helper()
	d := cart.Decider()
	state := d.Initial()
	var pending []cart.Event
	for v := 1; v <= n; v++ {
		e := cart.ItemAdded{SKU: fmt.Sprintf("sku-%02d", v%11), Qty: 1, Price: cart.Money(100 + v%11)}
		pending = append(pending, e)
		if len(pending) == batch || v == n || v%snapshotEvery == 0 {
			state = appendEvents(tb, s, d, ref, int64(v-len(pending)), state, pending)
			pending = pending[:0]
		}
	}
}

// appendEvents appends events after version at, with the state after them
// and a snapshot where one falls, and returns the state.
func appendEvents[S any, C any, E es.Event](tb testing.TB, s es.Store, d es.Decider[S, C, E], ref es.StreamRef, at int64, state S, events []E) S {
	tb.Helper()
	now := time.Now().UTC()
	req := es.AppendRequest{Stream: ref, Expected: at}
	for i, e := range events {
		name, schema, data, err := d.Events.Encode(e)
		if err != nil {
			tb.Fatal(err)
		}
		v := at + int64(i) + 1
		req.Events = append(req.Events, es.Envelope{
			ID: es.NewULID(now), Stream: ref, Version: v, Type: name, SchemaVersion: schema,
			Time: now, Actor: "bench", Data: data,
		})
		state = d.Evolve(state, e)
		if v%snapshotEvery == 0 {
			req.Snapshot = &es.StateRecord{Version: v, Schema: d.StateSchema, Data: mustJSON(tb, state)}
		}
	}
	req.State = es.StateRecord{Version: at + int64(len(events)), Schema: d.StateSchema, Data: mustJSON(tb, state)}
	if _, err := s.Append(context.Background(), req); err != nil {
		tb.Fatalf("writing %s after %d: %v", ref, at, err)
	}
	return state
}

func mustJSON(tb testing.TB, v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// mixedFixture is a SQLite store holding mixedEvents events over thousands
// of streams of every kind, as a busy foldboard's log would.
type mixedFixture struct {
	stores
	events int64
}

const mixedEvents = 100_000

func mixedStore(tb testing.TB) *mixedFixture {
	tb.Helper()
	fixtures.Lock()
	defer fixtures.Unlock()
	if fixtures.mixed != nil {
		return fixtures.mixed
	}
	start := time.Now()
	f := &mixedFixture{stores: openSQLite(fixtureTB{tb}, fixtureFiles(tb))}
	for i := 0; f.events < mixedEvents; i++ {
		id := fmt.Sprintf("mix-%d", i)
		var n int
		switch i % 4 {
		case 0: // a match played out: 6 events
			n = min(6, mixedEvents-int(f.events))
			ev := []cricket.Event{cricket.MatchStarted{Venue: "Lord's", HomeTeam: "Home " + id, AwayTeam: "Away " + id}}
			for inn := 1; inn <= 4; inn++ {
				ev = append(ev, cricket.InningsCompleted{Innings: inn, Runs: 100 + i%300, Wickets: inn * 2})
			}
			ev = append(ev, cricket.MatchEnded{Result: "Home won"})
			d := cricket.Decider()
			appendEvents(tb, f.Store, d, es.StreamRef{Type: cricket.StreamType, ID: id}, 0, d.Initial(), ev[:n])
		case 1, 2: // a cart: 24 items added, checked out
			n = min(25, mixedEvents-int(f.events))
			d := cart.Decider()
			state := d.Initial()
			var ev []cart.Event
			for k := range 24 {
				e := cart.ItemAdded{SKU: fmt.Sprintf("sku-%d", k%8), Qty: 1 + k%3, Price: cart.Money(199 + 100*(k%8))}
				ev = append(ev, e)
				state = d.Evolve(state, e)
			}
			ev = append(ev, cart.CheckedOut{Total: state.Total, Items: state.Items})
			appendEvents(tb, f.Store, d, es.StreamRef{Type: cart.StreamType, ID: id}, 0, d.Initial(), ev[:n])
		case 3: // a post: created, published, retitled
			n = min(20, mixedEvents-int(f.events))
			ev := []blog.Event{blog.PostCreated{Title: "Post " + id, Body: "A body of some length, as posts have.", Author: "author"}, blog.PostPublished{}}
			for k := 2; k < 20; k++ {
				ev = append(ev, blog.TitleChanged{Title: fmt.Sprintf("Post %s, take %d", id, k)})
			}
			d := blog.Decider()
			appendEvents(tb, f.Store, d, es.StreamRef{Type: blog.StreamType, ID: id}, 0, d.Initial(), ev[:n])
		}
		f.events += int64(n)
	}
	tb.Logf("fixture: %d events in mixed streams written in %v", f.events, time.Since(start).Round(time.Millisecond))
	fixtures.mixed = f
	return f
}
