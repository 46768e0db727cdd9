package recoverytest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/foldboard/foldboard/domain/cart"
	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/reactions"
)

// The cart reminder's schedule lives in the store, an index of the quiet
// carts by when they last changed: with more quiet carts than a tick
// reminds, the ticks page through them oldest first, as the feed takes the
// reminded ones out of the index, and each cart is reminded once; neither
// a restart nor a rewind of the reactor's checkpoint to the start reminds
// one again. On both stores.
func TestCartRemindersPageThroughTheQuietCartsOnce(t *testing.T) {
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) { testReminderPages(t, s.open(t)) })
	}
}

func testReminderPages(t *testing.T, f fixture) {
	ctx := context.Background()
	carts := &es.Handler[cart.State, cart.Command, cart.Event]{Decider: cart.Decider(), Store: f.store}
	cs := &es.Commands{}
	es.Route(cs, carts)
	handle := func(id string, cmd cart.Command) {
		t.Helper()
		if _, err := carts.Handle(ctx, es.Meta{StreamID: id, Expected: es.AnyVersion, Actor: "ana"}, cmd); err != nil {
			t.Fatal(err)
		}
	}
	const n, page = 10, 4
	var ids []string
	for i := range n {
		id := fmt.Sprintf("pg-%02d", i)
		handle(id, cart.AddItem{SKU: "tea", Qty: 1, Price: 100, Actor: "ana"})
		ids = append(ids, id)
		if i == 3 { // one that leaves: never reminded
			handle("pg-out", cart.AddItem{SKU: "tea", Qty: 1, Price: 100, Actor: "ana"})
			handle("pg-out", cart.CheckOut{Actor: "ana"})
		}
	}

	now := time.Now().UTC().Add(2 * time.Hour) // every cart quiet for an hour
	feed := &seenFeed{Feed: f.feed}
	start := func() runningReactor {
		t.Helper()
		q := reactions.NewQuietCarts(time.Hour).PerTick(page)
		return startReactor(t, es.NewReactor(es.ReactorConfig{
			Reaction: reactions.CartReminderOf(q, time.Hour), Feed: feed, Saves: f.rm, Store: f.store,
			Commands: cs, Log: discard(), Now: func() time.Time { return now }, Backoff: 5 * time.Millisecond,
		}))
	}
	name := es.ReactorName(reactions.CartReminder)
	reader, ok := f.rm.(es.ReadModelReader)
	if !ok {
		t.Fatalf("%T reads no documents on demand", f.rm)
	}
	// index is the carts of the saved index, oldest first.
	index := func() []string {
		t.Helper()
		docs, err := reader.ReadModelRange(ctx, name, es.DocRange{Prefix: "s/quiet/", Limit: 100, Ascending: true})
		if err != nil {
			t.Fatal(err)
		}
		out := make([]string, len(docs))
		for i, d := range docs {
			out[i] = d.Key[strings.LastIndex(d.Key, "/")+1:]
		}
		return out
	}
	waitIndex := func(want []string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for got := index(); !slices.Equal(got, want); got = index() {
			if time.Now().After(deadline) {
				t.Fatalf("the saved index holds %q, want %q", got, want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	r := start()
	waitIndex(ids) // oldest first; the checked-out cart left it
	var issued []int64
	for left := n; left > 0; {
		before := r.r.Status().Outcomes.OK
		r.r.Tick(ctx)
		got := r.r.Status().Outcomes.OK - before
		issued = append(issued, got)
		if got == 0 || len(issued) > n {
			t.Fatalf("ticks reminded %v of %d carts, then none", issued, n)
		}
		left -= int(got)
		waitIndex(ids[n-left:]) // the reminded carts, the oldest, left the index
	}
	if !slices.Equal(issued, []int64{page, page, n - 2*page}) {
		t.Errorf("the ticks reminded %v carts, want a page (%d) at a time", issued, page)
	}
	r.r.Tick(ctx)
	r.stop()
	if o := r.r.Status().Outcomes; o != (es.ReactionOutcomes{OK: n}) {
		t.Errorf("outcomes %+v, want %d reminders and nothing else", o, n)
	}

	// Restarted, then rewound to the start of the feed: nothing is due.
	again := start()
	again.r.Tick(ctx)
	again.stop()
	if err := f.rm.SaveReadModels(ctx, name, "", nil); err != nil {
		t.Fatal(err)
	}
	events := map[string]es.Envelope{}
	for _, id := range append(ids, "pg-out") {
		envs, err := f.store.ReadStream(ctx, es.StreamRef{Type: cart.StreamType, ID: id}, es.ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range envs {
			events[e.ID] = e
		}
		if reminders := len(envs) - 1; id != "pg-out" && (reminders != 1 || envs[1].Type != "ReminderSent") {
			t.Errorf("%s holds %d events after its item, want one ReminderSent", id, reminders)
		}
	}
	feed.reset()
	rewound := start()
	feed.wait(t, events, 30*time.Second)
	rewound.r.Tick(ctx)
	rewound.stop()
	for _, r := range []runningReactor{again, rewound} {
		if o := r.r.Status().Outcomes; o != (es.ReactionOutcomes{OK: n}) {
			t.Errorf("outcomes %+v after a restart or a rewind, want the %d saved and nothing more", o, n)
		}
	}
	if got := index(); len(got) != 0 {
		t.Errorf("the index holds %q after the rewind, want nothing", got)
	}
}
