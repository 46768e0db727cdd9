package fill_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/foldboard/foldboard/domain/blog"
	"github.com/foldboard/foldboard/domain/cart"
	"github.com/foldboard/foldboard/domain/cricket"
	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/es/dynamo"
	"github.com/foldboard/foldboard/es/sqlite"
	"github.com/foldboard/foldboard/internal/dynamotest"
	"github.com/foldboard/foldboard/internal/fill"
)

func TestMain(m *testing.M) { dynamotest.Main(m) }

// stateOf folds a stream's events with its domain's decider, and says
// whether that is the state its head holds.
func foldsToHead(t *testing.T, store es.Store, ref es.StreamRef) bool {
	t.Helper()
	switch ref.Type {
	case cricket.StreamType:
		return sameAsHead(t, &es.Handler[cricket.State, cricket.Command, cricket.Event]{Decider: cricket.Decider(), Store: store}, ref)
	case cart.StreamType:
		return sameAsHead(t, &es.Handler[cart.State, cart.Command, cart.Event]{Decider: cart.Decider(), Store: store}, ref)
	case blog.StreamType:
		return sameAsHead(t, &es.Handler[blog.State, blog.Command, blog.Event]{Decider: blog.Decider(), Store: store}, ref)
	}
	t.Fatalf("a stream of type %q", ref.Type)
	return false
}

func sameAsHead[S any, C any, E es.Event](t *testing.T, h *es.Handler[S, C, E], ref es.StreamRef) bool {
	t.Helper()
	head, err := h.Store.Head(t.Context(), ref)
	if err != nil {
		t.Fatal(err)
	}
	folded, at, err := h.LoadAt(t.Context(), ref, head.Version)
	if err != nil {
		t.Fatalf("folding %s: %v", ref, err)
	}
	var stored S
	if err := json.Unmarshal(head.Data, &stored); err != nil {
		t.Fatalf("head of %s: %v", ref, err)
	}
	return at == head.Version && reflect.DeepEqual(folded, stored)
}

// checkFilled reads the whole log: exactly n events, versions 1… in each
// stream, every stream's head the fold of its events, all three domains.
func checkFilled(t *testing.T, store es.Store, n int, sum fill.Sum) {
	t.Helper()
	if sum.Events != n {
		t.Fatalf("fill says %d events, want %d", sum.Events, n)
	}
	versions := map[es.StreamRef]int64{}
	total, after := 0, ""
	for {
		page, err := store.ReadLog(context.Background(), es.LogQuery{After: after, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Events {
			if e.Version != versions[e.Stream]+1 {
				t.Fatalf("%s: version %d after %d", e.Stream, e.Version, versions[e.Stream])
			}
			versions[e.Stream] = e.Version
		}
		total += len(page.Events)
		if page.End || len(page.Events) == 0 {
			break
		}
		after = page.Next
	}
	if total != n || len(versions) != sum.Streams {
		t.Fatalf("the log holds %d events in %d streams; the fill said %d in %d", total, len(versions), n, sum.Streams)
	}
	types := map[string]bool{}
	for ref := range versions {
		types[ref.Type] = true
		if !foldsToHead(t, store, ref) {
			t.Errorf("%s: its head is not the fold of its events", ref)
		}
	}
	if len(types) != 3 {
		t.Errorf("streams of %d domains, want 3: %v", len(types), types)
	}
}

func TestFillAppendsExactlyNEventsOfEveryDomainOnSQLite(t *testing.T) {
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "fill.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	const n = 3001
	sum, err := fill.Events(t.Context(), store, n, fill.Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	checkFilled(t, store, n, sum)
	t.Logf("%d events in %d streams in %v", sum.Events, sum.Streams, sum.Took)
}

func TestFillAppendsExactlyNEventsOfEveryDomainOnDynamoDB(t *testing.T) {
	store, err := dynamo.Open(t.Context(), dynamo.Config{Client: dynamotest.Client(t), TablePrefix: dynamotest.TablePrefix(t), CreateTables: true})
	if err != nil {
		t.Fatal(err)
	}
	const n = 301
	sum, err := fill.Events(t.Context(), store, n, fill.Options{Seed: 2, Workers: 8})
	if err != nil {
		t.Fatal(err)
	}
	checkFilled(t, store, n, sum)
}
