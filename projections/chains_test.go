package projections

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/foldboard/foldboard/es"
)

func chainEnv(id, stream string, v int64, typ, actor, corr, cause string) es.Envelope {
	ref, _ := es.ParseStreamRef(stream)
	return es.Envelope{ID: id, Stream: ref, Version: v, Type: typ, Actor: actor, CorrelationID: corr, CausationID: cause}
}

func TestChainsLinkCausesAndEffectsInAnyOrder(t *testing.T) {
	ended := chainEnv("e1", "match/m1", 3, "MatchEnded", "ana", "k1", "cmd-1")
	created := chainEnv("e2", "post/report-m1", 1, "PostCreated", "system/match-report", "k1", "e1")
	published := chainEnv("e3", "post/report-m1", 2, "PostPublished", "system/match-report", "k1", "e1")
	other := chainEnv("e4", "match/m1", 2, "InningsCompleted", "ana", "k0", "cmd-0")
	// An effect may come before its cause (DynamoDB Streams orders each
	// stream, not the log): the links hold either way.
	for _, order := range [][]es.Envelope{{ended, created, published, other}, {created, published, other, ended}} {
		c := NewChains("MatchEnded")
		ch := newChanges()
		for _, env := range order {
			if err := c.Apply(env, ch); err != nil {
				t.Fatal(err)
			}
		}
		if _, kept, _ := c.Event(t.Context(), "k0", "e4"); kept {
			t.Error("a person's innings, which no reaction answers, was kept")
		}
		if got := ids(must(c.Effects(t.Context(), "k1", "e1"))); !reflect.DeepEqual(got, []string{"e2", "e3"}) {
			t.Errorf("effects of the match's end = %v, want [e2 e3]", got)
		}
		if cause, ok, _ := c.Event(t.Context(), created.CorrelationID, created.CausationID); !ok || cause.Stream != "match/m1" || cause.Version != 3 {
			t.Errorf("cause of the post = %+v %v, want match/m1 v3", cause, ok)
		}
		if got := ids(must(c.Correlated(t.Context(), "k1"))); !reflect.DeepEqual(got, []string{"e1", "e2", "e3"}) {
			t.Errorf("correlation k1 = %v, want the cause first, then its effects", got)
		}
		// Saved and read back, the same links.
		loaded := NewChains("MatchEnded")
		doc, err := c.Doc("chains/k1")
		if err != nil {
			t.Fatal(err)
		}
		loaded.readFrom(func(_ context.Context, key string) (json.RawMessage, error) {
			if key == "chains/k1" {
				return doc, nil
			}
			return nil, nil
		})
		if got := ids(must(loaded.Effects(t.Context(), "k1", "e1"))); !reflect.DeepEqual(got, []string{"e2", "e3"}) {
			t.Errorf("loaded effects = %v", got)
		}
		if _, ok := ch.docs["chains/k1"]; !ok || len(ch.docs) != 1 {
			t.Errorf("changed documents %v, want chains/k1 alone", ch.docs)
		}
	}
}

func TestChainsBoundOneCorrelation(t *testing.T) {
	c := NewChains("CheckedOut")
	for i := range maxChain + 10 {
		env := chainEnv(es.NewULID(time.Now()), "cart/c", int64(i+1), "CheckedOut", "ana", "same", "")
		if err := c.Apply(env, newChanges()); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(must(c.Correlated(t.Context(), "same"))); n != maxChain {
		t.Fatalf("one correlation holds %d events, want at most %d", n, maxChain)
	}
}

func ids(events []ChainEvent) []string {
	var out []string
	for _, e := range events {
		out = append(out, e.ID)
	}
	return out
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// chainStore is a store of chains' documents with a pause on every read, so
// that reads overlap the saves and applies around them.
type chainStore struct {
	mu   sync.Mutex
	docs map[string]json.RawMessage
}

func (s *chainStore) read(_ context.Context, key string) (json.RawMessage, error) {
	s.mu.Lock()
	doc := s.docs[key]
	s.mu.Unlock()
	time.Sleep(50 * time.Microsecond)
	return doc, nil
}

// The chains hold what is unsaved and a cache bounded by bytes; under a
// load that makes the cache let go of chains all the time, with readers
// reading them back while saves and applies go on, a reader never sees a
// chain shorter than one it saw before, and every chain ends whole.
func TestChainsReadBackNeverServeAnOlderChain(t *testing.T) {
	c := NewChains("CheckedOut")
	c.cache = newBytesCache[string](4_000, chainCost) // a few chains
	store := &chainStore{docs: map[string]json.RawMessage{}}
	c.readFrom(store.read)
	const chains, each = 40, 30
	done := make(chan struct{})
	var wg sync.WaitGroup
	for r := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			seen := map[string]int{}
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				corr := fmt.Sprintf("k%02d", (i*7+r)%chains)
				got, err := c.Correlated(context.Background(), corr)
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) < seen[corr] {
					t.Errorf("chain %s: %d events, after %d were served", corr, len(got), seen[corr])
					return
				}
				seen[corr] = len(got)
			}
		}()
	}
	for v := 1; v <= each; v++ {
		var batch []es.Envelope
		for k := range chains {
			batch = append(batch, chainEnv(fmt.Sprintf("e-%02d-%02d", k, v), fmt.Sprintf("cart/c%02d", k), int64(v), "CheckedOut", "ana", fmt.Sprintf("k%02d", k), ""))
		}
		if err := c.prefetch(t.Context(), batch); err != nil {
			t.Fatal(err)
		}
		ch := newChanges()
		for _, env := range batch {
			if err := c.Apply(env, ch); err != nil {
				t.Fatal(err)
			}
		}
		for key := range ch.docs { // the save: written, then told
			doc, err := c.Doc(key)
			if err != nil {
				t.Fatalf("Doc(%s) of a changed chain: %v", key, err)
			}
			store.mu.Lock()
			store.docs[key] = doc
			store.mu.Unlock()
			c.saved(key)
		}
		if len(c.unsaved) != 0 {
			t.Fatalf("%d chains unsaved after the save", len(c.unsaved))
		}
	}
	close(done)
	wg.Wait()
	if b := c.cache.bytes(); b > 4_000 {
		t.Errorf("the cache holds %d bytes, over its 4,000", b)
	}
	for k := range chains {
		if got := must(c.Correlated(t.Context(), fmt.Sprintf("k%02d", k))); len(got) != each {
			t.Errorf("chain k%02d: %d events, want %d", k, len(got), each)
		}
	}
}

// The race the cache's rule is for, step by step: a read back begins before
// a save and ends after the cache let go of what the save put there; what
// it read must not be cached over what was served since.
func TestChainsAReadBackOverlappingASaveIsNotCached(t *testing.T) {
	c := NewChains("CheckedOut")
	c.cache = newBytesCache[string](2_000, chainCost)
	store := &chainStore{docs: map[string]json.RawMessage{}}
	started, release := make(chan struct{}), make(chan struct{})
	var block sync.Once
	c.readFrom(func(ctx context.Context, key string) (json.RawMessage, error) {
		store.mu.Lock()
		doc := store.docs[key]
		store.mu.Unlock()
		if key == "chains/k" && ctx.Value(blockKey{}) != nil {
			block.Do(func() { close(started); <-release })
		}
		return doc, nil
	})
	apply := func(envs ...es.Envelope) {
		t.Helper()
		if err := c.prefetch(t.Context(), envs); err != nil {
			t.Fatal(err)
		}
		ch := newChanges()
		for _, env := range envs {
			if err := c.Apply(env, ch); err != nil {
				t.Fatal(err)
			}
		}
		for key := range ch.docs {
			doc, _ := c.Doc(key)
			store.mu.Lock()
			store.docs[key] = doc
			store.mu.Unlock()
			c.saved(key)
		}
	}
	evict := func() {
		for i := range 20 {
			c.cache.put(fmt.Sprintf("filler-%d", i), []ChainEvent{{ID: fmt.Sprintf("f%d", i), Stream: "cart/x", Type: "CheckedOut"}})
		}
		apply() // a batch without k: k is pinned no more
	}
	apply(chainEnv("e1", "cart/a", 1, "CheckedOut", "ana", "k", ""))
	evict()
	got := make(chan int)
	go func() {
		events, _ := c.Correlated(context.WithValue(context.Background(), blockKey{}, true), "k")
		got <- len(events)
	}()
	<-started // it has read the chain of one event
	apply(chainEnv("e2", "cart/b", 1, "CheckedOut", "ana", "k", ""))
	if n := len(must(c.Correlated(t.Context(), "k"))); n != 2 {
		t.Fatalf("after the second event's save, k has %d events", n)
	}
	evict()
	close(release)
	<-got
	if n := len(must(c.Correlated(t.Context(), "k"))); n != 2 {
		t.Errorf("k has %d events after a read begun before the save ended: 2 were served", n)
	}
}

type blockKey struct{}
