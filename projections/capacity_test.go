package projections

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/foldboard/foldboard/domain/cart"
	"github.com/foldboard/foldboard/es"
)

// roomyStore is a recordingStore that says how many documents a save takes
// (es.SaveCapacity), as SQLite does.
type roomyStore struct{ *recordingStore }

func (s roomyStore) MaxDocsPerSave() int { return s.max }

func newRoomyStore(max int) roomyStore {
	s := newRecordingStore()
	s.max = max
	return roomyStore{s}
}

func TestDocsPerSaveIsWhatTheStoreSays(t *testing.T) {
	if n := es.DocsPerSave(newRecordingStore()); n != es.MaxDocsPerSave {
		t.Errorf("a store that says nothing: %d, want %d", n, es.MaxDocsPerSave)
	}
	if n := es.DocsPerSave(newRoomyStore(1000)); n != 1000 {
		t.Errorf("a store that takes 1000: %d", n)
	}
	if n := es.DocsPerSave(newRoomyStore(10)); n != es.MaxDocsPerSave {
		t.Errorf("a store that says 10: %d, want %d: every store takes that many", n, es.MaxDocsPerSave)
	}
	if n := es.DocsPerSave(DeferSaves(newRoomyStore(1000), time.Hour, nil)); n != 1000 {
		t.Errorf("deferred saves over a store that takes 1000: %d", n)
	}
	if n := es.DocsPerSave(DeferSaves(newRecordingStore(), time.Hour, nil)); n != es.MaxDocsPerSave {
		t.Errorf("deferred saves over a store that says nothing: %d", n)
	}
}

// Deferred saves merge up to what one save of the store beneath takes.
func TestDeferredSavesMergeAsManyAsTheStoreTakes(t *testing.T) {
	for _, tc := range []struct {
		max, writes int
	}{{0, 4}, {250, 2}} {
		t.Run(fmt.Sprint("max=", tc.max), func(t *testing.T) {
			var store es.ReadModelStore
			rec := newRecordingStore()
			store = rec
			if tc.max > 0 {
				rec.max = tc.max
				store = roomyStore{rec}
			}
			d := DeferSaves(store, time.Hour, nil)
			for i := range 40 {
				docs := map[string]json.RawMessage{}
				for j := range 5 {
					docs[fmt.Sprintf("d-%d-%d", i, j)] = doc("x")
				}
				if err := d.SaveReadModels(t.Context(), "p", fmt.Sprint(i), docs); err != nil {
					t.Fatal(err)
				}
			}
			if err := d.Flush(t.Context()); err != nil {
				t.Fatal(err)
			}
			cp, docs, n := rec.saved("p")
			if cp != "39" || len(docs) != 200 || n != tc.writes {
				t.Fatalf("checkpoint %q with %d documents in %d writes %v, want 39 with 200 in %d", cp, len(docs), n, rec.writes, tc.writes)
			}
		})
	}
}

// cartsLog is a log of many carts, as a rebuild reads it: every stream's
// events together, in pages of 500.
func cartsLog(t *testing.T, streams int) []es.Envelope {
	var log []es.Envelope
	rng := rand.New(rand.NewPCG(7, 8))
	for i := range streams {
		for _, env := range randomLog(t, rng, cart.Decider(), 1, 6, cartCommand) {
			env.Stream.ID = fmt.Sprintf("c-%d", i)
			env.ID = es.NewULID(env.Time)
			log = append(log, env)
		}
	}
	for i := range log {
		log[i].Position = fmt.Sprint(i + 1)
	}
	return log
}

func cartModels() []Model {
	return []Model{NewStreams(cart.Decider(), TopicCarts), NewSalesByDay(), NewEventIndex()}
}

// rebuildInto runs a projector over the log as the server does (SaveEvery),
// from what the store holds, until it has applied every event, then stops it.
func rebuildInto(t *testing.T, store es.ReadModelStore, log []es.Envelope, every time.Duration) {
	t.Helper()
	if len(log) == 0 {
		return
	}
	p := NewProjector(Config{Name: "p", Feed: &sliceFeed{log: log, batch: 500}, Store: store, Models: cartModels(), SaveEvery: every})
	if err := p.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	deadline := time.Now().Add(20 * time.Second)
	for p.Status().Checkpoint != log[len(log)-1].Position {
		if err := p.Status().Err; err != nil {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the projector is at %q after 20 s, want %s", p.Status().Checkpoint, log[len(log)-1].Position)
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func sameDocs(t *testing.T, what string, got, want map[string]json.RawMessage) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d documents, want %d", what, len(got), len(want))
	}
	for k, w := range want {
		if string(got[k]) != string(w) {
			t.Errorf("%s: document %s = %s, want %s", what, k, got[k], w)
		}
	}
}

// A rebuild into a store that takes more documents in a save writes the
// same read models in fewer, larger saves, each document fewer times.
func TestRebuildSavesAsManyDocumentsAsTheStoreTakes(t *testing.T) {
	log := cartsLog(t, 400)
	for _, every := range []time.Duration{0, time.Hour} {
		t.Run(fmt.Sprint("every=", every), func(t *testing.T) {
			small, roomy := newRecordingStore(), newRoomyStore(1000)
			rebuildInto(t, small, log, every)
			rebuildInto(t, roomy, log, every)
			sum := func(ns []int) (s int) {
				for _, n := range ns {
					s += n
				}
				return s
			}
			for _, n := range small.writes {
				if n > es.MaxDocsPerSave {
					t.Errorf("a write of %d documents to a store that takes %d", n, es.MaxDocsPerSave)
				}
			}
			for _, n := range roomy.writes {
				if n > 1000 {
					t.Errorf("a write of %d documents to a store that takes 1000", n)
				}
			}
			cp, want, _ := small.saved("p")
			gotCP, got, _ := roomy.saved("p")
			if cp != fmt.Sprint(len(log)) || gotCP != cp {
				t.Fatalf("checkpoints %q and %q, want %d", cp, gotCP, len(log))
			}
			sameDocs(t, "the roomy store", got, want)
			t.Logf("%d documents: %d written in %d saves of at most 99, %d in %d of at most 1000",
				len(want), sum(small.writes), len(small.writes), sum(roomy.writes), len(roomy.writes))
			if len(roomy.writes) > len(small.writes)/3 {
				t.Errorf("%d saves to the roomy store, %d to the other: want a third or fewer", len(roomy.writes), len(small.writes))
			}
			if sum(roomy.writes) >= sum(small.writes) {
				t.Errorf("%d documents written to the roomy store, %d to the other: want fewer", sum(roomy.writes), sum(small.writes))
			}
		})
	}
}

// Whatever a rebuild into a roomy store has written when it stops (a crash
// after any save), a projector started from it ends where a rebuild in one
// go does. When a batch's documents fit in one save (max=1000), what was
// written is exactly the read models at the saved checkpoint; when they do
// not (max=150), the projector saves part of a batch with the checkpoint
// before it, and the batch, read again, is skipped by version.
func TestARebuildStoppedAfterAnySaveResumesExactly(t *testing.T) {
	log := cartsLog(t, 1200)
	whole := newRecordingStore()
	rebuildInto(t, whole, log, 0)
	_, want, _ := whole.saved("p")

	for _, max := range []int{150, 1000} {
		t.Run(fmt.Sprint("max=", max), func(t *testing.T) {
			store := newRoomyStore(max)
			store.states = []savedState{}
			rebuildInto(t, store, log, time.Hour)
			t.Logf("%d saves", len(store.states))
			if len(store.states) < 2 {
				t.Fatalf("%d saves: nothing to stop between", len(store.states))
			}
			for i, st := range store.states {
				if max >= 1000 {
					var at int
					fmt.Sscan(st.checkpoint, &at)
					upTo := newRecordingStore()
					rebuildInto(t, upTo, log[:at], 0)
					_, exact, _ := upTo.saved("p")
					sameDocs(t, fmt.Sprintf("save %d at %q", i+1, st.checkpoint), st.docs, exact)
				}

				resumed := newRoomyStore(max)
				resumed.docs["p"], resumed.cp["p"] = st.docs, st.checkpoint
				rebuildInto(t, resumed, log, time.Hour)
				_, got, _ := resumed.saved("p")
				sameDocs(t, fmt.Sprintf("resumed after save %d", i+1), got, want)
			}
		})
	}
}
