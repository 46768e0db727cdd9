package projections

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/foldboard/foldboard/es"
)

// randomLog runs random commands through a decider against several streams
// of its domain, as es.Handler would: a refused command appends nothing, an
// accepted one appends its events at the next versions. next makes a command
// for a stream's state and names who issues it. The clock moves on by up to
// three hours a command, so that a log of a few hundred commands spans weeks
// and crosses many midnights; each event's time is written in a random zone,
// as a store might hand it back, to show that only its instant counts.
func randomLog[S any, C any, E es.Event](t *testing.T, rng *rand.Rand, d es.Decider[S, C, E], streams, commands int, next func(*rand.Rand, S) (C, string)) []es.Envelope {
	t.Helper()
	zones := []*time.Location{time.UTC, time.FixedZone("UTC+10", 10*3600), time.FixedZone("UTC-7", -7*3600)}
	states, versions := make([]S, streams), make([]int64, streams)
	for i := range states {
		states[i] = d.Initial()
	}
	now := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.Int64N(int64(24 * time.Hour))))
	var log []es.Envelope
	for range commands {
		now = now.Add(time.Duration(rng.Int64N(int64(3 * time.Hour))))
		i := rng.IntN(streams)
		cmd, actor := next(rng, states[i])
		events, err := d.Decide(cmd, states[i])
		if err != nil {
			continue
		}
		for _, e := range events {
			name, schema, data, err := d.Events.Encode(e)
			if err != nil {
				t.Fatal(err)
			}
			versions[i]++
			log = append(log, es.Envelope{
				ID: es.NewULID(now), Stream: es.StreamRef{Type: d.StreamType, ID: fmt.Sprintf("s-%d", i)},
				Version: versions[i], Type: name, SchemaVersion: schema, Time: now.In(zones[rng.IntN(len(zones))]),
				Actor: actor, Data: data,
			})
			states[i] = d.Evolve(states[i], e)
		}
	}
	return log
}

func pick[T any](rng *rand.Rand, xs ...T) T { return xs[rng.IntN(len(xs))] }

// applyAll applies a log to models directly, as the projector does for
// events it has not seen.
func applyAll(t *testing.T, log []es.Envelope, models ...Model) {
	t.Helper()
	ch := newChanges()
	for _, env := range log {
		for _, m := range models {
			if err := m.Apply(env, ch); err != nil {
				t.Fatalf("%s v%d %s: %v", env.Stream, env.Version, env.Type, err)
			}
		}
	}
}

// scriptedFeed delivers a log in batches of random sizes, at least once:
// a batch often comes again with the next (as a feed resuming from an older
// checkpoint would send it). A checkpoint is the number of batches done.
type scriptedFeed struct{ batches [][]es.Envelope }

func newScriptedFeed(rng *rand.Rand, log []es.Envelope) *scriptedFeed {
	f := &scriptedFeed{}
	var previous []es.Envelope
	for len(log) > 0 {
		n := min(len(log), 1+rng.IntN(12))
		batch := log[:n:n]
		log = log[n:]
		if rng.IntN(3) == 0 {
			batch = append(append([]es.Envelope{}, previous...), batch...)
		}
		f.batches = append(f.batches, batch)
		previous = batch
	}
	return f
}

func (f *scriptedFeed) Follow(ctx context.Context, from string, apply func(context.Context, es.Batch) error) error {
	start := 0
	if from != "" {
		var err error
		if start, err = strconv.Atoi(from); err != nil {
			return err
		}
	}
	for i := start; i < len(f.batches); i++ {
		if err := apply(ctx, es.Batch{Events: f.batches[i], Checkpoint: strconv.Itoa(i + 1)}); err != nil {
			return err
		}
	}
	<-ctx.Done()
	return nil
}

// memoryReadModels is a ReadModelStore in memory, as strict as the real ones
// about the size of a save.
type memoryReadModels struct {
	mu         sync.Mutex
	checkpoint string
	docs       map[string]json.RawMessage
}

func (s *memoryReadModels) LoadReadModels(context.Context, string) (string, map[string]json.RawMessage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	docs := make(map[string]json.RawMessage, len(s.docs))
	for k, v := range s.docs {
		docs[k] = v
	}
	return s.checkpoint, docs, nil
}

func (s *memoryReadModels) SaveReadModels(_ context.Context, _ string, checkpoint string, docs map[string]json.RawMessage) error {
	if len(docs) > es.MaxDocsPerSave {
		return fmt.Errorf("%d documents in one save, more than %d", len(docs), es.MaxDocsPerSave)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.docs == nil {
		s.docs = map[string]json.RawMessage{}
	}
	for k, v := range docs {
		if v == nil {
			delete(s.docs, k)
		} else {
			s.docs[k] = v
		}
	}
	s.checkpoint = checkpoint
	return nil
}

// project runs a projector over the log, fed at least once in random
// batches, until it has applied every event; it returns the store the read
// models were saved in.
func project(t *testing.T, rng *rand.Rand, log []es.Envelope, models ...Model) *memoryReadModels {
	t.Helper()
	store := &memoryReadModels{}
	p := NewProjector(Config{
		Name: "test", Feed: newScriptedFeed(rng, log), Store: store, Models: models,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err := p.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); _ = p.Run(ctx) }()
	defer func() { cancel(); <-done }()
	last := map[es.StreamRef]int64{}
	for _, env := range log {
		last[env.Stream] = env.Version
	}
	wait, stop := context.WithTimeout(ctx, 10*time.Second)
	defer stop()
	for ref, v := range last {
		if !p.WaitFor(wait, ref, v) {
			t.Fatalf("the projector did not reach %s version %d", ref, v)
		}
	}
	if parked := p.Catalogue().Parked(); len(parked) > 0 {
		t.Fatalf("parked streams: %+v", parked)
	}
	return store
}

// reload makes a model from a store's saved documents, as a restart does.
func reload[M Model](t *testing.T, store *memoryReadModels, m M) M {
	t.Helper()
	_, docs, _ := store.LoadReadModels(t.Context(), "test")
	for key, doc := range docs {
		if m.Owns(key) {
			if err := m.Load(key, doc); err != nil {
				t.Fatalf("loading %s: %v", key, err)
			}
		}
	}
	return m
}
