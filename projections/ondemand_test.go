package projections_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/es/sqlite"
	"github.com/foldboard/foldboard/projections"
)

func openSQLite(t *testing.T) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "foldboard.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Saves pending in front of the store are what a read on demand answers: a
// document saved and not yet written, one deleted, a range with pending
// documents added and taken out, the same after the write.
func TestDeferredSavesReadWhatIsPending(t *testing.T) {
	store := openSQLite(t)
	d := projections.DeferSaves(store, time.Hour, nil)
	ctx := t.Context()
	docs := map[string]json.RawMessage{}
	for i := range 6 {
		docs[fmt.Sprintf("list/%02d", i)] = json.RawMessage(fmt.Sprintf(`{"i":%d}`, i))
	}
	docs["one"] = json.RawMessage(`{"v":1}`)
	if err := d.SaveReadModels(ctx, "p", "cp-1", docs); err != nil { // the first save is written at once
		t.Fatal(err)
	}
	if err := d.SaveReadModels(ctx, "p", "cp-2", map[string]json.RawMessage{
		"one": json.RawMessage(`{"v":2}`), "list/05": nil, "list/03": nil, "list/07": json.RawMessage(`{"i":7}`),
	}); err != nil {
		t.Fatal(err)
	}
	if doc, _ := store.ReadModel(ctx, "p", "one"); string(doc) != `{"v":1}` {
		t.Fatalf("the store holds %s: the second save was written, not pending", doc)
	}
	check := func(when string) {
		t.Helper()
		if doc, err := d.ReadModel(ctx, "p", "one"); err != nil || string(doc) != `{"v":2}` {
			t.Errorf("%s: ReadModel(one) = %s, %v; want the pending {\"v\":2}", when, doc, err)
		}
		if doc, err := d.ReadModel(ctx, "p", "list/05"); err != nil || doc != nil {
			t.Errorf("%s: ReadModel of a pending delete = %s, %v; want nil", when, doc, err)
		}
		for _, tc := range []struct {
			q    es.DocRange
			want []string
		}{
			{es.DocRange{Prefix: "list/", Limit: 3}, []string{"list/07", "list/04", "list/02"}},
			{es.DocRange{Prefix: "list/", Before: "list/04", Limit: 3}, []string{"list/02", "list/01", "list/00"}},
			{es.DocRange{Prefix: "list/", Limit: 10}, []string{"list/07", "list/04", "list/02", "list/01", "list/00"}},
			{es.DocRange{Prefix: "list/", Limit: 4, Ascending: true}, []string{"list/00", "list/01", "list/02", "list/04"}},
			{es.DocRange{Prefix: "list/", Before: "list/07", Limit: 10, Ascending: true}, []string{"list/00", "list/01", "list/02", "list/04"}},
			{es.DocRange{Prefix: "list/", Limit: 10, Ascending: true}, []string{"list/00", "list/01", "list/02", "list/04", "list/07"}},
		} {
			got, err := d.ReadModelRange(ctx, "p", tc.q)
			keys := make([]string, len(got))
			for i, doc := range got {
				keys[i] = doc.Key
			}
			if err != nil || !slices.Equal(keys, tc.want) {
				t.Errorf("%s: ReadModelRange(%+v) = %q, %v; want %q", when, tc.q, keys, err, tc.want)
			}
		}
	}
	check("pending")
	if err := d.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	check("written")
}

// A projector over a real SQLite store, its saves deferred: the event index
// keeps its tail in memory, and its pages, read back from the saves where
// need be, are the log newest first.
func TestEventIndexPagesReadBackThroughTheProjectorsStore(t *testing.T) {
	store := openSQLite(t)
	ctx := t.Context()
	const streams, each = 30, 120 // 3,600 events: 15 chunks
	for s := range streams {
		ref := es.StreamRef{Type: "note", ID: fmt.Sprintf("n-%02d", s)}
		req := es.AppendRequest{Stream: ref, State: es.StateRecord{Version: each, Data: json.RawMessage(`{}`)}}
		for v := 1; v <= each; v++ {
			req.Events = append(req.Events, es.Envelope{
				ID: fmt.Sprintf("e-%02d-%03d", s, v), Stream: ref, Version: int64(v), Type: "Noted",
				Time: time.Unix(int64(s*each+v), 0).UTC(), Data: json.RawMessage(fmt.Sprintf(`{"v":%d}`, v)),
			})
		}
		if _, err := store.Append(ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	index := projections.NewEventIndex()
	p := projections.NewProjector(projections.Config{Name: "p", Feed: store.Feed(), Store: store, Models: []projections.Model{index}, SaveEvery: 50 * time.Millisecond})
	run, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); p.Run(run) }()
	defer func() { stop(); <-done }() // stop may be called twice; done stays closed
	wait, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for s := range streams {
		if !p.WaitFor(wait, es.StreamRef{Type: "note", ID: fmt.Sprintf("n-%02d", s)}, each) {
			t.Fatal("the projector did not catch up")
		}
	}
	var want []string
	for after := ""; ; {
		page, err := store.ReadLog(ctx, es.LogQuery{After: after, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Events {
			want = append(want, fmt.Sprintf("%s@%d", e.Stream, e.Version))
		}
		if len(page.Events) == 0 || page.End {
			break
		}
		after = page.Next
	}
	slices.Reverse(want)
	paged := func(index *projections.EventIndex) []string {
		var got []string
		for before := 0; ; {
			page, err := index.Page(ctx, projections.IndexQuery{Before: before, Limit: 50})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range page.Events {
				got = append(got, fmt.Sprintf("%s@%d", e.Stream, e.Version))
			}
			if page.Next == 0 {
				return got
			}
			before = page.Next
		}
	}
	if got := paged(index); !slices.Equal(got, want) {
		t.Fatalf("the index paged %d events, the log holds %d (or others, or in another order)", len(got), len(want))
	}
	if _, err := index.Doc("events/00000000"); err == nil {
		t.Errorf("the first chunk, saved long ago, is still held in memory")
	}
	if doc, err := p.Doc(ctx, "events/00000000"); err != nil || len(doc) == 0 {
		t.Errorf("Projector.Doc of the first chunk = %d bytes, %v; want it read back", len(doc), err)
	}

	// A restart loads the newest chunk alone (the store leaves the rest
	// out), and pages the same.
	stop()
	<-done
	loads := &loadCounter{Store: store}
	again := projections.NewEventIndex()
	q := projections.NewProjector(projections.Config{Name: "p", Feed: store.Feed(), Store: loads, Models: []projections.Model{again}})
	if err := q.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if loads.full != 0 || !slices.Equal(loads.skipped, []string{"created/", "stream/", "events/"}) {
		t.Errorf("the restart loaded every document %d times, and without %q; want none, and without created/ and stream/ (the catalogue's) and events/", loads.full, loads.skipped)
	}
	if again.Total() != len(want) {
		t.Errorf("restarted, the index holds %d events, want %d", again.Total(), len(want))
	}
	if got := paged(again); !slices.Equal(got, want) {
		t.Errorf("restarted, the index paged %d events, the log holds %d (or others, or in another order)", len(got), len(want))
	}
}

// loadCounter is the store, counting how its read models are loaded.
type loadCounter struct {
	*sqlite.Store
	full    int
	skipped []string
}

func (l *loadCounter) LoadReadModels(ctx context.Context, p string) (string, map[string]json.RawMessage, error) {
	l.full++
	return l.Store.LoadReadModels(ctx, p)
}

func (l *loadCounter) LoadReadModelsExcept(ctx context.Context, p string, skip []string) (string, map[string]json.RawMessage, error) {
	l.skipped = append(l.skipped, skip...)
	return l.Store.LoadReadModelsExcept(ctx, p, skip)
}
