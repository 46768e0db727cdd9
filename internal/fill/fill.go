// Package fill fills a store with many realistic events fast, so that a
// benchmark, or a person, can try a big store: `foldboard seed -events N`.
//
// Each stream's life (a match started, its innings and its end; a cart's
// items, a removal and its check-out; a post drafted, retitled and
// published) is decided by its domain's own decider, in memory, and written
// in one append through the store's own Append: its events, its head (the
// state after them) and nothing else. Many workers append at once, so that
// the SQLite store's group commit writes many streams in one transaction.
package fill

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/foldboard/foldboard/domain/blog"
	"github.com/foldboard/foldboard/domain/cart"
	"github.com/foldboard/foldboard/domain/cricket"
	"github.com/foldboard/foldboard/es"
)

// Options tune a fill; zero values take the defaults.
type Options struct {
	// Workers append at once: default 64 (SQLite's group commit takes up
	// to 64 appends a transaction).
	Workers int
	// End is the time of the newest events; streams start over the 30 days
	// before it. Default: now.
	End time.Time
	// Seed makes the run repeatable (the ids are new ULIDs all the same).
	Seed uint64
}

// Sum is what a fill appended, and how long it took.
type Sum struct {
	Events, Streams int
	Took            time.Duration
}

// maxLife is the most events one stream's life takes from the budget.
const maxLife = 10

// Events appends n events (exactly) to store, in streams of the three
// domains, and returns what it appended.
func Events(ctx context.Context, store es.Store, n int, opts Options) (Sum, error) {
	if n <= 0 {
		return Sum{}, nil
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = 64
	}
	end := opts.End
	if end.IsZero() {
		end = time.Now().UTC()
	}
	start := time.Now()
	var budget atomic.Int64
	budget.Store(int64(n))
	var events, streams atomic.Int64
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(opts.Seed, uint64(w)))
			for ctx.Err() == nil {
				take, left := claim(&budget, maxLife)
				if take == 0 {
					return
				}
				// Streams start in the order they are claimed, over the
				// 30 days: ids (ULIDs of their times) then arrive in
				// time order, as in a store that grew by itself, and
				// land at the right edge of the indexes instead of on
				// random pages of them.
				at := end.Add(-time.Duration(float64(30*24*time.Hour) * float64(left) / float64(n)))
				req, err := life(rng, at, take)
				if err == nil {
					_, err = store.Append(ctx, req)
				}
				if err != nil {
					cancel(fmt.Errorf("fill: appending %s: %w", req.Stream, err))
					return
				}
				budget.Add(int64(take - len(req.Events))) // what the life left
				events.Add(int64(len(req.Events)))
				streams.Add(1)
			}
		})
	}
	wg.Wait()
	sum := Sum{Events: int(events.Load()), Streams: int(streams.Load()), Took: time.Since(start)}
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return sum, err
	}
	return sum, ctx.Err()
}

// claim takes up to k events from the budget, and says what the budget
// held before.
func claim(budget *atomic.Int64, k int64) (take int, left int64) {
	for {
		left := budget.Load()
		take := min(left, k)
		if take <= 0 {
			return 0, left
		}
		if budget.CompareAndSwap(left, left-take) {
			return int(take), left
		}
	}
}

// life is one new stream's life of at most max events, as one append.
func life(rng *rand.Rand, at time.Time, max int) (es.AppendRequest, error) {
	switch r := rng.IntN(10); {
	case r < 3:
		return story(cricket.Decider(), rng, at, max, matchCommands(rng))
	case r < 8:
		return story(cart.Decider(), rng, at, max, cartCommands(rng))
	default:
		return story(blog.Decider(), rng, at, max, postCommands(rng))
	}
}

var (
	venues = []string{"Eden Gardens", "Lord's", "The Oval", "Basin Reserve", "Newlands", "Wankhede"}
	teams  = []string{"Lions", "Tigers", "Eagles", "Sharks", "Bears", "Wolves", "Falcons", "Kings"}
	skus   = []string{"tea-earl-grey", "tea-sencha", "mug-blue", "mug-white", "pot-glass", "biscuits", "honey", "spoon"}
	people = []string{"ana", "ben", "chloé", "dev", "emeka", "fumiko"}
)

func pick[T any](rng *rand.Rand, xs []T) T { return xs[rng.IntN(len(xs))] }

func matchCommands(rng *rand.Rand) []cricket.Command {
	home := pick(rng, teams)
	away := pick(rng, teams)
	for away == home {
		away = pick(rng, teams)
	}
	cmds := []cricket.Command{cricket.StartMatch{Venue: pick(rng, venues), HomeTeam: home, AwayTeam: away}}
	for i := range 2 + rng.IntN(3) {
		cmds = append(cmds, cricket.CompleteInnings{Innings: i + 1, Runs: 90 + rng.IntN(300), Wickets: rng.IntN(11)})
	}
	if rng.IntN(4) > 0 {
		cmds = append(cmds, cricket.EndMatch{Result: home + " won"})
	}
	return cmds
}

func cartCommands(rng *rand.Rand) []cart.Command {
	var cmds []cart.Command
	for range 1 + rng.IntN(6) {
		price, _ := cart.ParseMoney(fmt.Sprintf("%d.%02d", 1+rng.IntN(40), rng.IntN(100)))
		cmds = append(cmds, cart.AddItem{SKU: pick(rng, skus), Qty: 1 + rng.IntN(3), Price: price})
	}
	if rng.IntN(4) == 0 {
		cmds = append(cmds, cart.RemoveItem{SKU: pick(rng, skus)})
	}
	if rng.IntN(10) < 7 {
		cmds = append(cmds, cart.CheckOut{})
	}
	return cmds
}

func postCommands(rng *rand.Rand) []blog.Command {
	author := pick(rng, people)
	cmds := []blog.Command{blog.CreatePost{Title: "Notes on " + pick(rng, venues), Body: "A day at the ground: " + pick(rng, teams) + " against " + pick(rng, teams) + ".", Author: author}}
	for range rng.IntN(3) {
		cmds = append(cmds, blog.ChangeTitle{Title: "More on " + pick(rng, teams), Actor: author})
	}
	if rng.IntN(5) > 0 {
		cmds = append(cmds, blog.PublishPost{Actor: author})
	}
	return cmds
}

// story decides cmds in turn on a new stream of d's, keeping the events of
// those its decider accepts (at most max), a minute apart from at, each
// command under an id of its own; and makes the append of them all with the
// stream's state after them.
func story[S any, C any, E es.Event](d es.Decider[S, C, E], rng *rand.Rand, at time.Time, max int, cmds []C) (es.AppendRequest, error) {
	stream := es.StreamRef{Type: d.StreamType, ID: es.NewULID(at)}
	req := es.AppendRequest{Stream: stream}
	state := d.Initial()
	actor := pick(rng, people)
	for _, cmd := range cmds {
		events, err := d.Decide(cmd, state)
		if err != nil || len(req.Events)+len(events) > max {
			continue // refused (a removal of an item not there, say), or over the budget
		}
		commandID := es.NewULID(at)
		for _, e := range events {
			name, schema, data, err := d.Events.Encode(e)
			if err != nil {
				return req, err
			}
			req.Events = append(req.Events, es.Envelope{
				ID: es.NewULID(at), Stream: stream, Version: int64(len(req.Events)) + 1,
				Type: name, SchemaVersion: schema, Time: at, Actor: actor,
				CorrelationID: commandID, CausationID: commandID, CommandID: commandID, Data: data,
			})
			state = d.Evolve(state, e)
		}
		at = at.Add(time.Minute)
	}
	if len(req.Events) == 0 {
		return req, fmt.Errorf("fill: a life of %s with no events", stream)
	}
	data, err := json.Marshal(state)
	if err != nil {
		return req, err
	}
	req.State = es.StateRecord{Version: int64(len(req.Events)), Schema: d.StateSchema, Data: data}
	return req, nil
}
