package replaytest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/foldboard/foldboard/domain/blog"
	"github.com/foldboard/foldboard/domain/cart"
	"github.com/foldboard/foldboard/domain/cricket"
	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/es/sqlite"
	"github.com/foldboard/foldboard/projections"
)

const (
	streamsPerDomain = 12
	commandsPerTry   = 60
	snapshotEvery    = 4
)

func open(t *testing.T) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "replay.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// checkReplay runs random commands against streams of one domain (refusals
// are part of the game), then checks every version of every stream: the fold
// from the nearest snapshot equals the fold from the first event.
func checkReplay[S any, C any, E es.Event](t *testing.T, store es.Store, d es.Decider[S, C, E], gen func(*rand.Rand, S) C) map[string]S {
	t.Helper()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(uint64(len(d.StreamType)), 42))
	h := &es.Handler[S, C, E]{Decider: d, Store: store, SnapshotEvery: snapshotEvery}
	final, total := map[string]S{}, 0
	for i := range streamsPerDomain {
		id := fmt.Sprintf("%s-%d", d.StreamType, i)
		for range commandsPerTry {
			state, _, err := h.Load(ctx, es.StreamRef{Type: d.StreamType, ID: id})
			if err != nil {
				t.Fatal(err)
			}
			_, _ = h.Handle(ctx, es.Meta{StreamID: id, Expected: es.AnyVersion, Actor: "ana"}, gen(rng, state))
		}
		ref := es.StreamRef{Type: d.StreamType, ID: id}
		envs, err := store.ReadStream(ctx, ref, es.ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		scratch := d.Initial()
		for _, env := range envs {
			e, err := d.Events.DecodeEnvelope(env)
			if err != nil {
				t.Fatal(err)
			}
			scratch = d.Evolve(scratch, e)
			got, at, err := h.LoadAt(ctx, ref, env.Version)
			if err != nil {
				t.Fatal(err)
			}
			if at != env.Version || !sameJSON(t, got, scratch) {
				t.Fatalf("%s at version %d: the fold from a snapshot (at %d) is\n%s\nfrom scratch\n%s", ref, env.Version, at, js(t, got), js(t, scratch))
			}
		}
		if len(envs) >= snapshotEvery {
			if _, ok, err := store.Snapshot(ctx, ref, int64(len(envs))); err != nil || !ok {
				t.Fatalf("%s: no snapshot after %d events (%v)", ref, len(envs), err)
			}
		}
		final[id] = scratch
		total += len(envs)
	}
	// Random commands are often refused; enough must pass for the check to
	// mean something.
	if total < streamsPerDomain*3 {
		t.Fatalf("%s: only %d events from %d commands", d.StreamType, total, streamsPerDomain*commandsPerTry)
	}
	t.Logf("%s: %d events checked at every version", d.StreamType, total)
	return final
}

func sameJSON(t *testing.T, a, b any) bool { return js(t, a) == js(t, b) }

func js(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func pick[T any](r *rand.Rand, xs ...T) T { return xs[r.IntN(len(xs))] }

func matchCommand(r *rand.Rand, s cricket.State) cricket.Command {
	switch r.IntN(10) {
	case 0, 9:
		return cricket.StartMatch{Venue: pick(r, "Lord's", "Eden Gardens"), HomeTeam: "England", AwayTeam: pick(r, "India", "England")}
	case 1:
		return cricket.EndMatch{Result: pick(r, "draw", "England won", "")}
	default:
		return cricket.CompleteInnings{Innings: s.NextInnings() + pick(r, 0, 0, 0, 1), Runs: r.IntN(500), Wickets: r.IntN(12)}
	}
}

func cartCommand(r *rand.Rand, s cart.State) cart.Command {
	switch r.IntN(12) {
	case 0:
		return cart.CheckOut{}
	case 1, 2:
		return cart.RemoveItem{SKU: pick(r, "apple", "pear", "fig")}
	default:
		return cart.AddItem{SKU: pick(r, "apple", "pear", "fig"), Qty: 1 + r.IntN(4), Price: pick[cart.Money](r, 199, 250, 1000)}
	}
}

func postCommand(r *rand.Rand, s blog.State) blog.Command {
	who := pick(r, "ana", "ana", "bo")
	switch r.IntN(6) {
	case 0:
		return blog.CreatePost{Title: pick(r, "Hello", "Notes"), Body: "text", Author: who}
	case 1:
		return blog.PublishPost{Actor: who}
	default:
		return blog.ChangeTitle{Title: fmt.Sprintf("Title %d", r.IntN(100)), Actor: who}
	}
}

func TestReplayFromSnapshotsAgreesWithFoldFromScratch(t *testing.T) {
	store := open(t)
	matches := checkReplay(t, store, cricket.Decider(), matchCommand)
	carts := checkReplay(t, store, cart.Decider(), cartCommand)
	posts := checkReplay(t, store, blog.Decider(), postCommand)

	// The projector, fed by the store's feed, must reach the same states.
	read := projections.NewReadSide()
	p := projections.NewProjector(projections.Config{
		Name: "replaytest", Feed: store.Feed(), Store: store, Models: read.Models(),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err := p.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); p.Run(ctx) }()
	defer func() { cancel(); <-done }()
	waitCtx, stop := context.WithTimeout(ctx, 20*time.Second)
	defer stop()
	wait := func(typ, id string) {
		head, err := store.Head(ctx, es.StreamRef{Type: typ, ID: id})
		if err != nil {
			t.Fatal(err)
		}
		if !p.WaitFor(waitCtx, es.StreamRef{Type: typ, ID: id}, head.Version) {
			t.Fatalf("the projector did not reach %s/%s version %d", typ, id, head.Version)
		}
	}
	for id, want := range matches {
		wait(cricket.StreamType, id)
		if got, ok := read.Matches.Get(id); !ok && len(want.Innings) > 0 {
			t.Errorf("no read model of match %s", id)
		} else if ok && !sameJSON(t, got.State, want) {
			t.Errorf("read model of match %s:\n%s\nwant\n%s", id, js(t, got.State), js(t, want))
		}
	}
	for id := range carts {
		wait(cart.StreamType, id)
	}
	for id := range posts {
		wait(blog.StreamType, id)
	}
}
