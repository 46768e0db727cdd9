package projections

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/foldboard/foldboard/domain/cart"
	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/es/sqlite"
)

// ownedCartCommand is a random cart command of one of a few people, or of
// nobody (a cart from before owners).
func ownedCartCommand(rng *rand.Rand, s cart.State) (cart.Command, string) {
	cmd, _ := cartCommand(rng, s)
	actor := pick(rng, "ana", "bo", "cy d", "")
	switch c := cmd.(type) {
	case cart.AddItem:
		c.Actor, c.Admin = actor, true
		cmd = c
	case cart.RemoveItem:
		c.Actor, c.Admin = actor, true
		cmd = c
	case cart.CheckOut:
		c.Actor, c.Admin = actor, true
		cmd = c
	}
	return cmd, actor
}

// viewers are who the carts list is asked for: anonymous, each person,
// an admin.
var viewers = []struct {
	name  string
	admin bool
}{{"", false}, {"ana", false}, {"bo", false}, {"cy d", false}, {"ed", false}, {"admin", true}}

// wantVisible is the carts list a viewer sees, from every view: the
// newest n it may see, and how many.
func wantVisible(all []Cart, name string, admin bool, n int) ([]string, int) {
	var seen []Cart
	for _, c := range all {
		if admin || c.State.Owner == "" || (name != "" && c.State.Owner == name) {
			seen = append(seen, c)
		}
	}
	slices.SortFunc(seen, newestFirst)
	return viewIDs(seen[:min(n, len(seen))]), len(seen)
}

func viewIDs[S any](vs []StreamView[S]) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = fmt.Sprintf("%s@%d", v.ID, v.Version)
	}
	return out
}

// everyCart is every view the model holds in memory (all of them, with no
// store to read back from).
func everyCart(m *Carts) []Cart {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Cart
	for _, v := range m.unsaved {
		out = append(out, *v)
	}
	return out
}

// checkCarts compares what m answers (the lists for every viewer, each
// cart's view) with the views of want, a model that holds them all.
func checkCarts(t *testing.T, what string, m *Carts, want []Cart) {
	t.Helper()
	ctx := t.Context()
	for _, v := range viewers {
		for _, n := range []int{0, 1, 7, ListLimit} {
			wantIDs, wantTotal := wantVisible(want, v.name, v.admin, n)
			got, total, err := m.Visible(ctx, n, v.name, v.admin)
			if err != nil {
				t.Fatalf("%s: %s's list: %v", what, v.name, err)
			}
			if total != wantTotal || !slices.Equal(viewIDs(got), wantIDs) {
				t.Errorf("%s: %s (admin %v) sees %d of %d %v, want %d of %d %v", what, v.name, v.admin, len(got), total, viewIDs(got), len(wantIDs), wantTotal, wantIDs)
			}
		}
	}
	for _, w := range want {
		got, ok, err := m.Get(ctx, w.ID)
		if err != nil || !ok {
			t.Fatalf("%s: %s: %v, %v", what, w.ID, ok, err)
		}
		a, b := canon(got), canon(w)
		if a != b {
			t.Errorf("%s: %s is\n%s\nwant\n%s", what, w.ID, a, b)
		}
	}
	if _, ok, err := m.Get(ctx, "never"); ok || err != nil {
		t.Errorf("%s: a cart with no events: %v, %v", what, ok, err)
	}
}

// canon is a view's document with its times in UTC (a store may hand an
// event's time back in another zone: only its instant counts).
func canon(c Cart) string {
	c.Created, c.Updated = c.Created.UTC(), c.Updated.UTC()
	b, _ := json.Marshal(c)
	return string(b)
}

// The lists a model held whole answers are its newest views, for each
// viewer exactly the carts Viewer.Sees, with the count of all of them.
func TestNewestHeldIsTheHeadOfTheWholeList(t *testing.T) {
	for seed := range uint64(30) {
		rng := rand.New(rand.NewPCG(seed, 4))
		log := randomLog(t, rng, cart.Decider(), 1+rng.IntN(150), rng.IntN(600), ownedCartCommand)
		m := NewCarts()
		applyAll(t, log, m)
		checkCarts(t, fmt.Sprintf("seed %d", seed), m, everyCart(m))
	}
}

// appendLog writes a log to a real SQLite store, each event at its version.
func appendLog(t *testing.T, store *sqlite.Store, log []es.Envelope) {
	t.Helper()
	for _, env := range log {
		req := es.AppendRequest{Stream: env.Stream, Expected: env.Version - 1, Events: []es.Envelope{env},
			State: es.StateRecord{Version: env.Version, Data: json.RawMessage(`{}`)}}
		if _, err := store.Append(t.Context(), req); err != nil {
			t.Fatalf("appending %s v%d: %v", env.Stream, env.Version, err)
		}
	}
}

// runProjector runs a projector of m over the store's log until it holds
// every event, saving (deferred) to saves; stop ends it.
func runProjector(t *testing.T, store *sqlite.Store, saves es.ReadModelStore, log []es.Envelope, m Model, configure func(*Carts)) (p *Projector, stop func()) {
	t.Helper()
	_, follower := saves.(noSaves)
	p = NewProjector(Config{
		Name: "test", Feed: store.Feed(), Store: saves, Models: []Model{m}, SaveEvery: 20 * time.Millisecond,
		Events: store, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Follower: follower,
	})
	if c, ok := m.(*Carts); ok && configure != nil {
		configure(c)
	}
	if err := p.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); _ = p.Run(ctx) }()
	stop = func() { cancel(); <-done }
	last := map[es.StreamRef]int64{}
	for _, env := range log {
		last[env.Stream] = env.Version
	}
	wait, cancelWait := context.WithTimeout(ctx, 60*time.Second)
	defer cancelWait()
	for ref, v := range last {
		if !p.WaitFor(wait, ref, v) {
			stop()
			t.Fatalf("the projector did not reach %s version %d", ref, v)
		}
	}
	return p, stop
}

// tinyCache makes the model keep next to nothing of what was saved, so
// that almost every read is one of the store.
func tinyCache(m *Carts) { m.cache = newBytesCache[string](4096, cachedView[cart.State].cost) }

// A model read on demand from a real store answers what a model holding
// every view does: each cart's view and the lists of every viewer, read
// from the index the projector saved with the views; the same after a
// restart, which loads none of them.
func TestStreamsReadOnDemandAnswerAsTheWholeFold(t *testing.T) {
	for seed := range uint64(4) {
		rng := rand.New(rand.NewPCG(seed, 5))
		log := randomLog(t, rng, cart.Decider(), 20+rng.IntN(150), 200+rng.IntN(600), ownedCartCommand)
		whole := NewCarts()
		applyAll(t, log, whole)
		want := everyCart(whole)

		store := openSQLite(t)
		appendLog(t, store, log)
		what := fmt.Sprintf("seed %d", seed)
		m := NewCarts()
		_, stop := runProjector(t, store, store, log, m, tinyCache)
		if err := waitSaved(t, m); err != nil {
			t.Fatal(err)
		}
		checkCarts(t, what, m, want)
		if held := len(everyCart(m)); held != 0 {
			t.Errorf("%s: %d views held unsaved after every save", what, held)
		}
		stop()
		again := NewCarts()
		_, stop = runProjector(t, store, store, log, again, tinyCache)
		checkCarts(t, what+" after a restart", again, want)
		if n := len(everyCart(again)); n != 0 {
			t.Errorf("%s: a restart loaded %d views", what, n)
		}
		stop()
	}
}

// waitSaved waits until the model holds no view unsaved.
func waitSaved(t *testing.T, m *Carts) error {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if len(everyCart(m)) == 0 {
			return nil
		}
	}
	return fmt.Errorf("views still unsaved after 30 s: %d", len(everyCart(m)))
}

// noSaves is a follower's store of read models: it saves nothing (its
// holder saves) and reads what is saved.
type noSaves struct{ *sqlite.Store }

func (noSaves) SaveReadModels(context.Context, string, string, map[string]json.RawMessage) error {
	return nil
}

// A projector whose saves are not its own (a follower's, whose holder
// saves behind it, here never) reads a view it let go of from the saves
// and folds the stream's events after it up to what it applied: each view
// is the whole fold's, never one older; and its lists are current, the
// entries it changed lately laid over the saved index.
func TestAViewLetGoIsBroughtUpToWhatWasAppliedFromTheEvents(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	log := randomLog(t, rng, cart.Decider(), 60, 500, ownedCartCommand)
	whole := NewCarts()
	applyAll(t, log, whole)
	store := openSQLite(t)
	appendLog(t, store, log)
	m := NewCarts()
	p, stop := runProjector(t, store, noSaves{store}, log, m, tinyCache)
	defer stop()
	if err := waitSaved(t, m); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for _, w := range everyCart(whole) {
		got, ok, err := m.Get(ctx, w.ID)
		a, b := canon(got), canon(w)
		if err != nil || !ok || a != b {
			t.Errorf("%s: %v %v\n%s\nwant\n%s", w.ID, ok, err, a, b)
		}
	}
	checkCarts(t, "saves not its own", m, everyCart(whole))
	// What Projector.Doc answers (a rebuild's diff compares it) is the
	// same: the view and the entry as applied, not as (never) saved.
	cat := NewCatalogue()
	applyAll(t, log, cat)
	for _, w := range everyCart(whole) {
		doc, err := p.Doc(ctx, "cart/"+w.ID)
		var got Cart
		if err != nil || json.Unmarshal(doc, &got) != nil || canon(got) != canon(w) {
			t.Errorf("Projector.Doc(cart/%s) = %s, %v; want %s", w.ID, doc, err, canon(w))
		}
		ref := es.StreamRef{Type: cart.StreamType, ID: w.ID}
		want, _ := cat.Doc(catalogueKey + ref.String())
		doc, err = p.Doc(ctx, catalogueKey+ref.String())
		var a, b savedEntry
		_ = json.Unmarshal(doc, &a)
		_ = json.Unmarshal(want, &b)
		if err != nil || a.Version != b.Version || !a.Updated.Equal(b.Updated) || a.LastType != b.LastType || a.LastActor != b.LastActor {
			t.Errorf("Projector.Doc(%s) = %s, %v; want %s", ref, doc, err, want)
		}
	}
}

// A follower whose holder saved ahead of it (it loaded the saves at one
// point, the holder applied and saved more, then the follower applies the
// same events from its relay) reads back views that have the events it is
// about to apply: it folds them again from the stream's events up to what
// it applied, so its lists and counts (held whole) move with each event as
// the holder's did, and end as the whole fold's.
func TestAFollowerBehindItsHoldersSavesCountsEveryEvent(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 6))
	log := randomLog(t, rng, cart.Decider(), 40, 600, ownedCartCommand)
	whole := NewCarts()
	applyAll(t, log, whole)
	store := openSQLite(t)
	half := len(log) / 2
	appendLog(t, store, log[:half])
	holder := NewCarts()
	_, stop := runProjector(t, store, store, log[:half], holder, tinyCache)
	if err := waitSaved(t, holder); err != nil {
		t.Fatal(err)
	}
	stop()
	// The follower loads the saves at half of the log ...
	m := NewCarts()
	tinyCache(m)
	f := NewProjector(Config{
		Name: "test", Feed: store.Feed(), Store: noSaves{store}, Models: []Model{m},
		Events: store, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Follower: true,
	})
	if err := f.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	// ... the holder applies and saves the rest ...
	appendLog(t, store, log[half:])
	holder = NewCarts()
	_, stop = runProjector(t, store, store, log, holder, tinyCache)
	if err := waitSaved(t, holder); err != nil {
		t.Fatal(err)
	}
	stop()
	// ... and the follower applies the rest after it.
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); _ = f.Run(ctx) }()
	defer func() { cancel(); <-done }()
	wait, cancelWait := context.WithTimeout(ctx, 60*time.Second)
	defer cancelWait()
	for _, env := range log {
		if !f.WaitFor(wait, env.Stream, env.Version) {
			t.Fatalf("the follower did not reach %s v%d", env.Stream, env.Version)
		}
	}
	want, _ := whole.Doc(countsKey + cart.StreamType)
	got, err := m.Doc(countsKey + cart.StreamType)
	if err != nil || string(got) != string(want) {
		t.Errorf("the follower's counts are %s (%v), the whole fold's %s", got, err, want)
	}
	checkCarts(t, "a follower behind its holder's saves", m, everyCart(whole))
}

// markedSaves is a follower's store of read models whose holder saves in
// the middle of its first torn loads: each of those moves the save mark.
type markedSaves struct {
	noSaves
	mu          sync.Mutex
	mark, loads int
	torn        int // loads a save comes in the middle of
}

func (m *markedSaves) SaveMark(context.Context, string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return fmt.Sprint(m.mark), nil
}

func (m *markedSaves) LoadReadModelsExcept(ctx context.Context, p string, skip []string) (string, map[string]json.RawMessage, error) {
	m.mu.Lock()
	m.loads++
	if m.loads <= m.torn {
		m.mark++
	}
	m.mu.Unlock()
	return m.noSaves.LoadReadModelsExcept(ctx, p, skip)
}

// A follower loads again while a save came in the middle of its load (the
// store's save mark moved), up to loadAttempts; then it takes the last
// load and says it was loaded while saved. A holder (whose saves are its
// own) loads once.
func TestAFollowerLoadsAgainWhileItsHolderSavedInTheMiddle(t *testing.T) {
	store := openSQLite(t)
	for _, c := range []struct {
		torn      int
		follower  bool
		loads     int
		whileSave bool
	}{
		{0, true, 1, false}, {3, true, 4, false}, {loadAttempts + 5, true, loadAttempts, true}, {3, false, 1, false},
	} {
		saves := &markedSaves{noSaves: noSaves{store}, torn: c.torn}
		// Saves deferred, as the server's are: the mark is the store's.
		p := NewProjector(Config{Name: "test", Feed: store.Feed(), Store: saves, Models: []Model{NewCarts()}, SaveEvery: time.Second,
			Events: store, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Follower: c.follower})
		if err := p.Load(t.Context()); err != nil {
			t.Fatal(err)
		}
		if saves.loads != c.loads || p.LoadedWhileSaved() != c.whileSave {
			t.Errorf("%d loads torn, follower %v: loaded %d times, loaded while saved %v; want %d, %v",
				c.torn, c.follower, saves.loads, p.LoadedWhileSaved(), c.loads, c.whileSave)
		}
	}
}

// Readers of views while the projector applies and saves, with a cache
// that lets go of almost everything, never see a view older than one they
// saw before.
func TestAViewReadOnDemandNeverGoesBack(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 3))
	log := randomLog(t, rng, cart.Decider(), 12, 1500, ownedCartCommand)
	store := openSQLite(t)
	m := NewCarts()
	p := NewProjector(Config{
		Name: "test", Feed: store.Feed(), Store: store, Models: []Model{m}, SaveEvery: time.Millisecond,
		Events: store, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	tinyCache(m)
	if err := p.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); _ = p.Run(ctx) }()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var problems []string
	reads := 0
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			seen := map[string]int64{}
			for i := 0; ctx.Err() == nil; i++ {
				id := fmt.Sprintf("s-%d", (i+r)%12)
				v, _, err := m.Get(ctx, id)
				if err != nil {
					if ctx.Err() == nil {
						mu.Lock()
						problems = append(problems, err.Error())
						mu.Unlock()
					}
					return
				}
				mu.Lock()
				reads++
				if v.Version < seen[id] {
					problems = append(problems, fmt.Sprintf("%s at v%d after v%d", id, v.Version, seen[id]))
				}
				mu.Unlock()
				seen[id] = v.Version
			}
		}()
	}
	appendLog(t, store, log)
	last := map[es.StreamRef]int64{}
	for _, env := range log {
		last[env.Stream] = env.Version
	}
	wait, stopWait := context.WithTimeout(ctx, 60*time.Second)
	for ref, v := range last {
		if !p.WaitFor(wait, ref, v) {
			t.Errorf("the projector did not reach %s v%d", ref, v)
		}
	}
	stopWait()
	cancel()
	wg.Wait()
	<-done
	if len(problems) > 0 {
		t.Fatalf("%d reads, went back: %v", reads, problems[:min(len(problems), 10)])
	}
	if reads < 100 {
		t.Fatalf("only %d reads", reads)
	}
}

// The catalogue read on demand holds a stream's version and no more once a
// save took its entry; its entry whole is read back (Entry) as a catalogue
// holding everything has it, and a restart loads no stream's first event.
func TestTheCatalogueHoldsVersionsAndReadsEntriesBack(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 1))
	log := randomLog(t, rng, cart.Decider(), 80, 400, ownedCartCommand)
	whole := NewCatalogue()
	applyAll(t, log, whole)
	store := openSQLite(t)
	appendLog(t, store, log)
	ctx := t.Context()
	for _, round := range []string{"applied", "restarted"} {
		p, stop := runProjector(t, store, store, log, NewCarts(), nil)
		cat := p.Catalogue()
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			cat.mu.RLock()
			held := len(cat.unsaved) + len(cat.born)
			cat.mu.RUnlock()
			if held == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d entries still held after every save", round, held)
			}
		}
		all, err := whole.Streams(ctx, cart.StreamType)
		if err != nil || len(all) == 0 {
			t.Fatalf("whole.Streams: %d, %v", len(all), err)
		}
		for _, want := range all {
			full, _, _ := whole.Stream(ctx, want.Stream)
			got, ok, err := cat.Entry(ctx, want.Stream)
			if err != nil || !ok || got.Version != full.Version || !got.Created.Equal(full.Created) || got.CreatedBy != full.CreatedBy ||
				!got.Updated.Equal(full.Updated) || got.LastType != full.LastType || got.LastActor != full.LastActor {
				t.Errorf("%s: %s: %+v %v %v, want %+v", round, want.Stream, got, ok, err, full)
			}
			if v, parked, err := cat.applied(ctx, want.Stream); err != nil || v != full.Version || parked {
				t.Errorf("%s: %s applied at %d (parked %v), want %d", round, want.Stream, v, parked, full.Version)
			}
		}
		if got, want := cat.Stats(), whole.Stats(); got.Events != want.Events || got.Streams != want.Streams {
			t.Errorf("%s: stats %+v, want %+v", round, got, want)
		}
		stop()
	}
}

// openSQLite opens a SQLite store in a file of the test's own, closed when
// the test ends.
func openSQLite(t *testing.T) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "foldboard.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
