// Package seed is foldboard's demo data: a fortnight of cricket matches,
// checked-out carts and blog posts by several people, and a few minutes of
// activity before now. Every command has a fixed stream and command id, so
// running the same plan twice appends nothing the second time.
package seed

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/foldboard/foldboard/domain/blog"
	"github.com/foldboard/foldboard/domain/cart"
	"github.com/foldboard/foldboard/domain/cricket"
	"github.com/foldboard/foldboard/es"
)

// Step is one command of the demo data, at its time.
type Step struct {
	At     time.Time
	stream string // its id within the domain
	// id is the command id: fixed, so that a second seed appends nothing.
	id    string
	actor string
	cmd   any // a cricket, cart or blog command
}

// Sum is what a run appended: events, and the commands that had been run
// before (and appended nothing now).
type Sum struct{ Events, Repeated int }

// Run runs the steps in time order, each at its own time.
func Run(ctx context.Context, store es.Store, steps []Step) (Sum, error) {
	var now time.Time
	clock := func() time.Time { return now }
	matches := &es.Handler[cricket.State, cricket.Command, cricket.Event]{Decider: cricket.Decider(), Store: store, Now: clock, SnapshotEvery: 100}
	carts := &es.Handler[cart.State, cart.Command, cart.Event]{Decider: cart.Decider(), Store: store, Now: clock, SnapshotEvery: 100}
	posts := &es.Handler[blog.State, blog.Command, blog.Event]{Decider: blog.Decider(), Store: store, Now: clock, SnapshotEvery: 100}
	var sum Sum
	count := func(events []es.Envelope, repeated bool, err error) error {
		if err != nil {
			return err
		}
		if repeated {
			sum.Repeated++
		} else {
			sum.Events += len(events)
		}
		return nil
	}
	for _, s := range steps {
		now = s.At
		meta := es.Meta{StreamID: s.stream, Expected: es.AnyVersion, CommandID: s.id, Actor: s.actor, CorrelationID: s.id, CausationID: s.id}
		var err error
		switch c := s.cmd.(type) {
		case cricket.Command:
			r, e := matches.Handle(ctx, meta, c)
			err = count(r.Events, r.Repeated, e)
		case cart.Command:
			r, e := carts.Handle(ctx, meta, c)
			err = count(r.Events, r.Repeated, e)
		case blog.Command:
			r, e := posts.Handle(ctx, meta, c)
			err = count(r.Events, r.Repeated, e)
		default:
			err = fmt.Errorf("%T is no command", s.cmd)
		}
		if err != nil {
			var domain *es.Error
			if errors.As(err, &domain) {
				// A stream the seed made and someone changed since refuses
				// a seeded command: leave it as it is.
				continue
			}
			return sum, fmt.Errorf("seed %s (%s): %w", s.stream, s.id, err)
		}
	}
	return sum, nil
}

var (
	seedActors = []string{"ana", "ben", "chandra", "dmitri", "eve"}
	seedTeams  = [][2]string{
		{"England", "Australia"}, {"India", "Pakistan"}, {"New Zealand", "South Africa"},
		{"West Indies", "Sri Lanka"}, {"Kent", "Surrey"}, {"Otago", "Canterbury"},
	}
	seedVenues = []string{"Lord's", "Eden Gardens", "The Oval", "Basin Reserve", "Kensington Oval", "Canterbury"}
	seedItems  = []struct {
		sku   string
		price cart.Money
	}{
		{"tea-earl-grey", 6_50}, {"mug-blue", 12_00}, {"bat-willow", 149_99}, {"ball-red", 24_95},
		{"cap-baggy-green", 39_00}, {"scorebook", 9_99}, {"gloves", 54_00}, {"sunscreen", 11_25},
	}
	seedPosts = []struct{ title, retitle, body string }{
		{"Why event sourcing", "Why we keep every event", "State is a fold over what happened; keep what happened."},
		{"Deciders in Go", "", "decide(command, state) → events, evolve(state, event) → state. Nothing else."},
		{"Optimistic concurrency, plainly", "", "Every append names the version it expects."},
		{"Projections that rebuild", "Read models you can throw away", "A read model is a cache of the log."},
		{"DynamoDB Streams in practice", "", "Shards split, records arrive out of order across them."},
		{"A cricket scoreboard as a stream", "", "MatchStarted, InningsCompleted, MatchEnded."},
		{"Exact money", "", "Cents in an int64, written with two decimals."},
		{"Notes for next week", "", "A draft nobody else sees."},
	}
)

// Plan is the demo data: a fortnight of checkouts, matches and posts by
// several people, and a few minutes of activity before now, so that the
// dashboard's chart has something to show. Ids and command ids depend on
// nothing but the plan, so a second run names the same commands.
func Plan(now time.Time) []Step {
	rng := rand.New(rand.NewPCG(2026, 9))
	today := now.Truncate(24 * time.Hour)
	day := func(d int, hour, minute int) time.Time {
		return today.AddDate(0, 0, d).Add(time.Duration(hour)*time.Hour + time.Duration(minute)*time.Minute)
	}
	actor := func() string { return seedActors[rng.IntN(len(seedActors))] }
	var steps []Step
	add := func(at time.Time, stream, id, who string, cmd any) {
		steps = append(steps, Step{At: at, stream: stream, id: stream + "-" + id, actor: who, cmd: cmd})
	}

	// Matches, one every few days, each played out; the last still going.
	for i, d := range []int{-12, -9, -6, -4, -2} {
		id := fmt.Sprintf("seed-match-%d", i+1)
		teams, who := seedTeams[i], actor()
		add(day(d, 10, 0), id, "start", who, cricket.StartMatch{Venue: seedVenues[i], HomeTeam: teams[0], AwayTeam: teams[1]})
		home, away := 180+rng.IntN(170), 150+rng.IntN(200)
		add(day(d, 13, 20), id, "innings-1", who, cricket.CompleteInnings{Innings: 1, Runs: home, Wickets: 6 + rng.IntN(5)})
		add(day(d, 16, 45), id, "innings-2", who, cricket.CompleteInnings{Innings: 2, Runs: away, Wickets: 5 + rng.IntN(6)})
		result := fmt.Sprintf("%s won by %d runs", teams[0], home-away)
		if away > home {
			result = fmt.Sprintf("%s won", teams[1])
		} else if away == home {
			result = "Tied"
		}
		add(day(d, 17, 30), id, "end", who, cricket.EndMatch{Result: result})
	}

	// Carts checked out every day of the last two weeks, a few a day.
	for d := -13; d <= -1; d++ {
		for n := range 2 + rng.IntN(5) {
			id := fmt.Sprintf("seed-cart-%02d-%d", -d, n+1)
			who := actor()
			at := day(d, 8+rng.IntN(12), rng.IntN(60))
			lines := 1 + rng.IntN(4)
			for _, k := range rng.Perm(len(seedItems))[:lines] {
				at = at.Add(time.Duration(1+rng.IntN(4)) * time.Minute)
				item := seedItems[k]
				add(at, id, "add-"+item.sku, who, cart.AddItem{SKU: item.sku, Qty: 1 + rng.IntN(3), Price: item.price})
			}
			if lines > 1 && rng.IntN(4) == 0 {
				at = at.Add(time.Minute)
				add(at, id, "remove", who, cart.RemoveItem{SKU: steps[len(steps)-1].cmd.(cart.AddItem).SKU})
			}
			add(at.Add(2*time.Minute), id, "checkout", who, cart.CheckOut{})
		}
	}

	// Posts by several people, most of them published, some retitled.
	for i, p := range seedPosts {
		id := fmt.Sprintf("seed-post-%d", i+1)
		author := seedActors[i%4]
		at := day(-11+i, 9+rng.IntN(8), rng.IntN(60))
		add(at, id, "create", author, blog.CreatePost{Title: p.title, Body: p.body, Author: author})
		if i < len(seedPosts)-1 {
			add(at.Add(40*time.Minute), id, "publish", author, blog.PublishPost{Actor: author})
		}
		if p.retitle != "" {
			add(at.Add(26*time.Hour), id, "retitle", author, blog.ChangeTitle{Title: p.retitle, Actor: author})
		}
	}

	// The last few minutes: a match under way and two carts filling up.
	live := func(ago time.Duration) time.Time { return now.Add(-ago).Truncate(time.Second) }
	add(live(4*time.Minute+30*time.Second), "seed-match-live", "start", "ana", cricket.StartMatch{Venue: "Lord's", HomeTeam: "England", AwayTeam: "India"})
	add(live(90*time.Second), "seed-match-live", "innings-1", "ana", cricket.CompleteInnings{Innings: 1, Runs: 312, Wickets: 8})
	for c, who := range []string{"ben", "eve"} {
		id := fmt.Sprintf("seed-cart-open-%d", c+1)
		for k, idx := range rng.Perm(len(seedItems))[:5] {
			item := seedItems[idx]
			at := live(time.Duration(240-50*k-20*c) * time.Second)
			add(at, id, "add-"+item.sku, who, cart.AddItem{SKU: item.sku, Qty: 1 + rng.IntN(2), Price: item.price})
		}
	}
	slices.SortStableFunc(steps, func(a, b Step) int { return a.At.Compare(b.At) })
	return steps
}
