package projections

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/foldboard/foldboard/es"
)

// recordingStore keeps what was written, and every write.
type recordingStore struct {
	mu     sync.Mutex
	cp     map[string]string
	docs   map[string]map[string]json.RawMessage
	writes []int // documents per write
	fail   error
	tried  int // saves asked for, refused ones included
	max    int // documents a save takes: es.MaxDocsPerSave when 0
	// states, when not nil, gets what the store holds after every write.
	states []savedState
}

// savedState is what a recordingStore held after one write.
type savedState struct {
	checkpoint string
	docs       map[string]json.RawMessage
}

func newRecordingStore() *recordingStore {
	return &recordingStore{cp: map[string]string{}, docs: map[string]map[string]json.RawMessage{}}
}

func (s *recordingStore) LoadReadModels(_ context.Context, p string) (string, map[string]json.RawMessage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cp[p], maps.Clone(s.docs[p]), nil
}

func (s *recordingStore) SaveReadModels(_ context.Context, p, cp string, docs map[string]json.RawMessage) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tried++
	if s.fail != nil {
		return s.fail
	}
	if len(docs) > max(s.max, es.MaxDocsPerSave) {
		return fmt.Errorf("%d documents in one save", len(docs))
	}
	if s.docs[p] == nil {
		s.docs[p] = map[string]json.RawMessage{}
	}
	for k, d := range docs {
		if d == nil {
			delete(s.docs[p], k)
		} else {
			s.docs[p][k] = d
		}
	}
	s.cp[p] = cp
	s.writes = append(s.writes, len(docs))
	if s.states != nil {
		s.states = append(s.states, savedState{cp, maps.Clone(s.docs[p])})
	}
	return nil
}

func (s *recordingStore) saved(p string) (string, map[string]json.RawMessage, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cp[p], maps.Clone(s.docs[p]), len(s.writes)
}

func doc(s string) json.RawMessage { return json.RawMessage(`"` + s + `"`) }

func TestDeferredSavesMergeAndWriteOncePerInterval(t *testing.T) {
	store := newRecordingStore()
	d := DeferSaves(store, time.Hour, nil)
	ctx := t.Context()
	// The first save after a quiet spell is written at once.
	if err := d.SaveReadModels(ctx, "p", "1", map[string]json.RawMessage{"a": doc("a1"), "gone": doc("x")}); err != nil {
		t.Fatal(err)
	}
	if cp, docs, n := store.saved("p"); cp != "1" || len(docs) != 2 || n != 1 {
		t.Fatalf("after the first save: checkpoint %q, %d documents, %d writes; want 1, 2, 1", cp, len(docs), n)
	}
	// The next ones, within the interval, are merged and wait.
	for i := 2; i <= 5; i++ {
		docs := map[string]json.RawMessage{"a": doc(fmt.Sprint("a", i)), fmt.Sprint("k", i): doc("k")}
		if i == 3 {
			docs["gone"] = nil
		}
		if err := d.SaveReadModels(ctx, "p", fmt.Sprint(i), docs); err != nil {
			t.Fatal(err)
		}
	}
	if cp, _, n := store.saved("p"); cp != "1" || n != 1 {
		t.Fatalf("within the interval: checkpoint %q after %d writes; want still 1 after 1", cp, n)
	}
	// Loading writes what is pending first: it reads what the projector saved.
	cp, docs, err := d.LoadReadModels(ctx, "p")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]json.RawMessage{"a": doc("a5"), "k2": doc("k"), "k3": doc("k"), "k4": doc("k"), "k5": doc("k")}
	if cp != "5" || !maps.EqualFunc(docs, want, func(a, b json.RawMessage) bool { return string(a) == string(b) }) {
		t.Fatalf("loaded checkpoint %q and %v, want 5 and %v", cp, docs, want)
	}
	if _, _, n := store.saved("p"); n != 2 {
		t.Errorf("%d writes, want 2: the merged saves in one", n)
	}
}

func TestDeferredSavesWriteAtTheEndOfTheInterval(t *testing.T) {
	store := newRecordingStore()
	d := DeferSaves(store, 20*time.Millisecond, nil)
	for i := 1; i <= 3; i++ {
		if err := d.SaveReadModels(t.Context(), "p", fmt.Sprint(i), map[string]json.RawMessage{"a": doc(fmt.Sprint(i))}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		cp, docs, n := store.saved("p")
		if cp == "3" {
			if string(docs["a"]) != `"3"` || n != 2 {
				t.Fatalf("written: %v in %d writes, want a=3 in 2", docs, n)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("checkpoint %q 5 s later, want 3: the timer never wrote", cp)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestDeferredSavesNeverWriteMoreThanOneSaveHolds(t *testing.T) {
	store := newRecordingStore()
	d := DeferSaves(store, time.Hour, nil)
	ctx := t.Context()
	for i := range 40 {
		docs := map[string]json.RawMessage{}
		for j := range 5 {
			docs[fmt.Sprintf("d-%d-%d", i, j)] = doc("x")
		}
		if err := d.SaveReadModels(ctx, "p", fmt.Sprint(i), docs); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	cp, docs, _ := store.saved("p")
	if cp != "39" || len(docs) != 200 {
		t.Fatalf("checkpoint %q with %d documents, want 39 with 200", cp, len(docs))
	}
	for _, n := range store.writes {
		if n > es.MaxDocsPerSave {
			t.Fatalf("a write of %d documents", n)
		}
	}
}

func TestDeferredSavesKeepWhatAFailedWriteHeld(t *testing.T) {
	store := newRecordingStore()
	d := DeferSaves(store, time.Hour, nil)
	ctx := t.Context()
	boom := errors.New("disk full")
	store.fail = boom
	if err := d.SaveReadModels(ctx, "p", "1", map[string]json.RawMessage{"a": doc("1")}); !errors.Is(err, boom) {
		t.Fatalf("save while writes fail: %v, want %v", err, boom)
	}
	store.fail = nil
	if err := d.SaveReadModels(ctx, "p", "2", map[string]json.RawMessage{"b": doc("2")}); err != nil {
		t.Fatal(err)
	}
	if err := d.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if cp, docs, _ := store.saved("p"); cp != "2" || len(docs) != 2 {
		t.Fatalf("checkpoint %q with %v, want 2 with a and b", cp, docs)
	}
}

// A write refused as fenced (another instance holds the lease) is not tried
// again, not by the timer, and not once the store would take it (the lease
// held here again, under a new epoch): the deposed projector's pending
// documents are dropped, and its later saves and flush fail at once.
func TestDeferredSavesNeverTryAFencedWriteAgain(t *testing.T) {
	store := newRecordingStore()
	d := DeferSaves(store, 200*time.Millisecond, nil)
	ctx := t.Context()
	if err := d.SaveReadModels(ctx, "p", "1", map[string]json.RawMessage{"a": doc("1")}); err != nil {
		t.Fatal(err)
	}
	tried := func() int {
		store.mu.Lock()
		defer store.mu.Unlock()
		return store.tried
	}
	deposed := fmt.Errorf("lease epoch 1: %w", es.ErrFenced)
	store.mu.Lock()
	store.fail = deposed
	store.mu.Unlock()
	// Within the interval: pending, written by the timer, refused.
	if err := d.SaveReadModels(ctx, "p", "2", map[string]json.RawMessage{"a": doc("2")}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); tried() < 2; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the timer never wrote what was pending")
		}
	}
	store.mu.Lock()
	store.fail = nil // the lease held again
	store.mu.Unlock()
	time.Sleep(1500 * time.Millisecond) // a retry would come within a second
	if err := d.SaveReadModels(ctx, "p", "3", map[string]json.RawMessage{"b": doc("3")}); !errors.Is(err, es.ErrFenced) {
		t.Errorf("a save after the refusal: %v, want es.ErrFenced", err)
	}
	if err := d.Flush(ctx); !errors.Is(err, es.ErrFenced) {
		t.Errorf("a flush after the refusal: %v, want es.ErrFenced", err)
	}
	if cp, docs, writes := store.saved("p"); tried() != 2 || writes != 1 || cp != "1" || string(docs["a"]) != `"1"` || docs["b"] != nil {
		t.Errorf("the store was asked %d times, wrote %d (checkpoint %q, %v); want asked twice, the first written only", tried(), writes, cp, docs)
	}
}

// A projector with SaveEvery publishes every batch at once, writes its read
// models at most once per interval, and writes the rest when it stops: what
// a restart finds is what a projector saving every batch leaves.
func TestProjectorWithSaveEveryWritesAtStop(t *testing.T) {
	log := make([]es.Envelope, 0, 300)
	for i := range 300 {
		env := indexEnvelope(i)
		env.Position = fmt.Sprint(i + 1)
		log = append(log, env)
	}
	run := func(every time.Duration) *recordingStore {
		store := newRecordingStore()
		var published sync.WaitGroup
		published.Add(len(log))
		p := NewProjector(Config{
			Name: "p", Feed: &sliceFeed{log: log, batch: 1}, Store: store, Models: []Model{NewEventIndex()},
			SaveEvery: every, OnChange: func([]string) { published.Done() },
		})
		if err := p.Load(t.Context()); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- p.Run(ctx) }()
		published.Wait()
		if _, _, n := store.saved("p"); every > 0 && n > 2 {
			t.Errorf("%d writes for 300 batches within the interval, want at most 2", n)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		return store
	}
	deferred, every := run(time.Hour), run(0)
	gotCP, got, _ := deferred.saved("p")
	wantCP, want, _ := every.saved("p")
	if gotCP != "300" || gotCP != wantCP || len(got) != len(want) {
		t.Fatalf("after stop: checkpoint %q with %d documents, want %q with %d", gotCP, len(got), wantCP, len(want))
	}
	for k, w := range want {
		if k == "rate" || k == "stats" {
			continue // they hold the time of the save
		}
		if string(got[k]) != string(w) {
			t.Errorf("document %s = %s, want %s", k, got[k], w)
		}
	}
}

// sliceFeed hands out a log in batches of batch events, then waits.
type sliceFeed struct {
	log   []es.Envelope
	batch int
}

func (f *sliceFeed) Follow(ctx context.Context, from string, apply func(context.Context, es.Batch) error) error {
	start := 0
	if from != "" {
		fmt.Sscan(from, &start)
	}
	for i := start; i < len(f.log); i += f.batch {
		b := f.log[i:min(i+f.batch, len(f.log))]
		if err := apply(ctx, es.Batch{Events: b, Checkpoint: b[len(b)-1].Position}); err != nil {
			return err
		}
	}
	<-ctx.Done()
	return nil
}
