package reactions_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/foldboard/foldboard/domain/cart"
	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/es/sqlite"
	"github.com/foldboard/foldboard/reactions"
)

// heldAtSave is a SQLite store that notes, at each save of the cart
// reminder's reactor, how many documents its schedule held in memory: what
// changed since the last save. It is called under the reactor's turn, as
// the schedule is.
type heldAtSave struct {
	*sqlite.Store
	q *reactions.QuietCarts

	mu    sync.Mutex
	most  int
	saves int
}

func (h *heldAtSave) SaveReadModels(ctx context.Context, name, checkpoint string, docs map[string]json.RawMessage) error {
	if name == es.ReactorName(reactions.CartReminder) {
		h.mu.Lock()
		h.most, h.saves = max(h.most, h.q.Held()), h.saves+1
		h.mu.Unlock()
	}
	return h.Store.SaveReadModels(ctx, name, checkpoint, docs)
}

// Many quiet carts (50,000; 10,000 with -race) and the schedule holds, at any save, no more
// than one save takes, and nothing once saved: its carts and its index of
// quiet ones are in the store, read back on demand. A new reactor loads
// none of them, and a tick reminds the oldest page of them only.
func TestQuietCartsHoldOnlyWhatChangedSinceTheLastSave(t *testing.T) {
	ctx := t.Context()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "carts.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	carts := &es.Handler[cart.State, cart.Command, cart.Event]{Decider: cart.Decider(), Store: store}
	cs := &es.Commands{}
	es.Route(cs, carts)
	add := func(id string) {
		meta := es.Meta{StreamID: id, Expected: 0, Actor: "ana"}
		if _, err := carts.Handle(ctx, meta, cart.AddItem{SKU: "tea", Qty: 1, Price: 100, Actor: "ana"}); err != nil {
			t.Error(err)
		}
	}
	n := 50_000
	if raceEnabled {
		n = 10_000 // still 20 pages and 40 saves: appending 50,000 takes minutes
	}
	const writers = 64
	add("q-first") // the quietest
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := w; i < n; i += writers {
				add(fmt.Sprintf("q-%05d", i))
			}
		})
	}
	wg.Wait()
	add("zz-last") // the feed brings it after every other
	if t.Failed() {
		t.FailNow()
	}

	now := time.Now().UTC().Add(2 * time.Hour)
	newReactor := func(q *reactions.QuietCarts, saves es.ReadModelStore) *es.Reactor {
		r := es.NewReactor(es.ReactorConfig{
			Reaction: reactions.CartReminderOf(q, time.Hour), Feed: store.Feed(), Saves: saves, Store: store,
			Commands: cs, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return now },
		})
		if err := r.Load(ctx); err != nil {
			t.Fatal(err)
		}
		return r
	}
	q := reactions.NewQuietCarts(time.Hour)
	saves := &heldAtSave{Store: store, q: q}
	r := newReactor(q, saves)
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); r.Run(rctx) }()
	name := es.ReactorName(reactions.CartReminder)
	deadline := time.Now().Add(5 * time.Minute)
	for {
		doc, err := store.ReadModel(ctx, name, "s/zz-last")
		if err != nil {
			t.Fatal(err)
		}
		if doc != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the reactor saved no document of the last cart")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	saves.mu.Lock()
	most, count := saves.most, saves.saves
	saves.mu.Unlock()
	if limit := es.DocsPerSave(store); most > limit || count < 2*n/limit {
		t.Errorf("the schedule held up to %d documents at a save, over %d saves; want at most %d (one save's), over at least %d", most, count, limit, 2*n/limit)
	}
	if held := q.Held(); held != 0 {
		t.Errorf("the schedule holds %d documents once saved, want none", held)
	}
	// The index in the store: every cart, oldest first.
	index, err := store.ReadModelRange(ctx, name, es.DocRange{Prefix: "s/quiet/", Limit: es.MaxDocRange, Ascending: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(index) != es.MaxDocRange || !strings.HasSuffix(index[0].Key, "/q-first") {
		t.Fatalf("the index's oldest entries: %d, the first %s; want %d from q-first's", len(index), index[0].Key, es.MaxDocRange)
	}

	// Loaded again: nothing of the schedule in memory; a tick reminds the
	// oldest 500, by the index, and holds nothing more.
	again := reactions.NewQuietCarts(time.Hour)
	r2 := newReactor(again, store)
	if held := again.Held(); held != 0 {
		t.Fatalf("a schedule loaded from %d carts holds %d documents, want none", n, held)
	}
	r2.Tick(ctx)
	if o := r2.Status().Outcomes; o != (es.ReactionOutcomes{OK: 500}) {
		t.Fatalf("a tick's outcomes %+v, want 500 reminders", o)
	}
	if held := again.Held(); held != 0 {
		t.Errorf("the schedule holds %d documents after a tick, want none", held)
	}
	for _, i := range []int{0, 499, 500} {
		id := strings.TrimPrefix(index[i].Key[strings.LastIndex(index[i].Key, "/"):], "/")
		envs, err := store.ReadStream(ctx, es.StreamRef{Type: cart.StreamType, ID: id}, es.ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if reminded := len(envs) == 2 && envs[1].Type == "ReminderSent"; reminded != (i < 500) {
			t.Errorf("the index's cart %d (%s) holds %d events: reminded %v, want %v", i, id, len(envs), reminded, i < 500)
		}
	}
}
