package projections

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/foldboard/foldboard/domain/cart"
	"github.com/foldboard/foldboard/es"
)

// parkingModel fails on the events of some streams from a version on: they
// park there.
type parkingModel map[es.StreamRef]int64

func (parkingModel) Owns(string) bool                    { return false }
func (parkingModel) Load(string, json.RawMessage) error  { return nil }
func (parkingModel) Doc(string) (json.RawMessage, error) { return nil, nil }
func (m parkingModel) Apply(env es.Envelope, _ *Changes) error {
	if from, ok := m[env.Stream]; ok && env.Version >= from {
		return errors.New("the read model's bug")
	}
	return nil
}

// tinyCatalogueCache holds the versions of a few streams only.
const tinyCatalogueCache = 16 * 200

// The catalogue of a holder holds, once saves took its entries, no more
// streams than its cache's few, however many streams there are; what it
// let go of it reads back with the same answers (the version applied, the
// park) as it had in memory, before and after a restart, and the list of
// every stream and a rebuild's mark read every saved entry, in pages.
func TestTheCatalogueHoldsWhatIsHotAndReadsVersionsBack(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 4))
	log := randomLog(t, rng, cart.Decider(), 1400, 3600, ownedCartCommand)
	want := map[es.StreamRef]int64{}
	for _, env := range log {
		want[env.Stream] = env.Version
	}
	// Two streams park: one at its second event, one at its first.
	parking := parkingModel{}
	parked := map[es.StreamRef]bool{}
	for ref, v := range want {
		switch {
		case len(parking) == 0 && v >= 2:
			parking[ref], want[ref] = 2, 1
		case len(parking) == 1 && v >= 1:
			parking[ref], want[ref] = 1, 0
		default:
			continue
		}
		parked[ref] = true
	}
	store := openSQLite(t)
	appendLog(t, store, log)
	ctx := t.Context()
	for _, round := range []string{"applied", "restarted"} {
		p := NewProjector(Config{
			Name: "test", Feed: store.Feed(), Store: store, Models: []Model{NewCarts(), parking}, SaveEvery: 20 * time.Millisecond,
			Events: store, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		})
		cat := p.Catalogue()
		cat.cache = newKeyedCache[es.StreamRef](tinyCatalogueCache, versionCost)
		if err := p.Load(ctx); err != nil {
			t.Fatal(err)
		}
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); _ = p.Run(runCtx) }()
		wait, stopWait := context.WithTimeout(ctx, 60*time.Second)
		for ref, v := range want {
			if !p.WaitFor(wait, ref, v) {
				t.Fatalf("%s: the projector did not reach %s v%d", round, ref, v)
			}
		}
		stopWait()
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			cat.mu.RLock()
			unsaved := len(cat.unsaved) + len(cat.born)
			cat.mu.RUnlock()
			if unsaved == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d entries still unsaved after every save", round, unsaved)
			}
		}
		cat.mu.RLock()
		held := len(cat.unsaved) + len(cat.batch) + len(cat.versions) + len(cat.cache.entries)
		cat.mu.RUnlock()
		if held > tinyCatalogueCache/160 || len(want) < 1000 {
			t.Errorf("%s: the catalogue holds %d streams of %d once saved; want at most its cache's %d", round, held, len(want), tinyCatalogueCache/160)
		}
		if bytes := cat.cache.bytes(); bytes > tinyCatalogueCache {
			t.Errorf("%s: the catalogue's cache holds %d bytes, more than its %d", round, bytes, tinyCatalogueCache)
		}
		readBack := 0
		for ref, v := range want {
			if _, inMemory := cat.Held(ref); !inMemory {
				readBack++
			}
			at, isParked, err := cat.applied(ctx, ref)
			if err != nil || at != v || isParked != parked[ref] {
				t.Errorf("%s: %s applied at %d (parked %v, %v), want %d (parked %v)", round, ref, at, isParked, err, v, parked[ref])
			}
			info, ok, err := cat.Stream(ctx, ref)
			if err != nil || !ok || info.Version != v || (info.Parked != "") != parked[ref] {
				t.Errorf("%s: Stream(%s) = %+v, %v, %v; want v%d (parked %v)", round, ref, info, ok, err, v, parked[ref])
			}
		}
		if readBack < len(want)/2 {
			t.Errorf("%s: only %d of %d streams were read back", round, readBack, len(want))
		}
		if st := cat.Stats(); st.Streams != int64(len(want)) {
			t.Errorf("%s: %d streams counted, want %d", round, st.Streams, len(want))
		}
		all, err := cat.Streams(ctx, cart.StreamType)
		if err != nil || len(all) != len(want) {
			t.Fatalf("%s: Streams listed %d, %v; want %d", round, len(all), err, len(want))
		}
		for _, info := range all {
			if v, ok := want[info.Stream]; !ok || info.Version != v || (info.Parked != "") != parked[info.Stream] {
				t.Errorf("%s: Streams has %+v, want v%d (parked %v)", round, info, v, parked[info.Stream])
			}
		}
		end, err := cat.mark(ctx)
		if err != nil || len(end.versions) != len(want) {
			t.Fatalf("%s: the mark holds %d streams, %v; want %d", round, len(end.versions), err, len(want))
		}
		for ref, v := range want {
			if end.versions[ref] != v {
				t.Errorf("%s: the mark has %s at %d, want %d", round, ref, end.versions[ref], v)
			}
		}
		if ok, err := cat.reached(ctx, end); !ok || err != nil {
			t.Errorf("%s: the catalogue has not reached its own mark: %v", round, err)
		}
		// One stream further on: not reached (a parked one is).
		for ref := range want {
			further := mark{versions: map[es.StreamRef]int64{ref: want[ref] + 1}}
			if ok, err := cat.reached(ctx, further); ok != parked[ref] || err != nil {
				t.Errorf("%s: %s one version further on: reached %v (%v), want %v", round, ref, ok, err, parked[ref])
			}
		}
		cancel()
		<-done
	}
}

// A follower's catalogue (its saves are its holder's: here never made)
// holds every stream's version, however small its cache: what it would read
// back is not what it applied.
func TestAFollowersCatalogueHoldsEveryVersion(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 21))
	log := randomLog(t, rng, cart.Decider(), 200, 600, ownedCartCommand)
	want := map[es.StreamRef]int64{}
	for _, env := range log {
		want[env.Stream] = env.Version
	}
	store := openSQLite(t)
	appendLog(t, store, log)
	p := NewProjector(Config{
		Name: "test", Feed: store.Feed(), Store: noSaves{store}, Models: []Model{NewCarts()}, SaveEvery: 5 * time.Millisecond,
		Events: store, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Follower: true,
	})
	cat := p.Catalogue()
	cat.cache = newKeyedCache[es.StreamRef](tinyCatalogueCache, versionCost)
	if err := p.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); _ = p.Run(ctx) }()
	defer func() { cancel(); <-done }()
	wait, stopWait := context.WithTimeout(ctx, 30*time.Second)
	defer stopWait()
	for ref, v := range want {
		if !p.WaitFor(wait, ref, v) {
			t.Fatalf("the follower did not reach %s v%d", ref, v)
		}
	}
	for ref, v := range want {
		if at, _, err := cat.applied(ctx, ref); err != nil || at != v {
			t.Errorf("%s applied at %d (%v), want %d", ref, at, err, v)
		}
	}
	if st := cat.Stats(); st.Events != int64(len(log)) {
		t.Errorf("%d events counted, want %d: some applied twice", st.Events, len(log))
	}
}
