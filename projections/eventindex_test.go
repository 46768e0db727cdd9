package projections

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/foldboard/foldboard/es"
)

func indexEnvelope(i int) es.Envelope {
	return es.Envelope{
		Stream: es.StreamRef{Type: "cart", ID: fmt.Sprintf("c-%d", i%7)}, Version: int64(i/7 + 1),
		Type: "ItemAdded", Time: time.Unix(int64(i), 0).UTC(), Actor: "ana <&>",
		Data: json.RawMessage(fmt.Sprintf(`{"sku":"s-%d","qty":1,"price":"1.00"}`, i)),
	}
}

// page is x.Page(q), which must not fail.
func page(t *testing.T, x *EventIndex, q IndexQuery) IndexPage {
	t.Helper()
	p, err := x.Page(t.Context(), q)
	if err != nil {
		t.Fatalf("Page(%+v): %v", q, err)
	}
	return p
}

// wantChunk is the chunk's document as encoding the chunk's events afresh
// writes it.
func wantChunk(t *testing.T, x *EventIndex, n int) json.RawMessage {
	t.Helper()
	if len(x.held[n]) == 0 {
		return nil
	}
	doc, err := encodeChunk(x.held[n])
	if err != nil {
		t.Fatal(err)
	}
	if !json.Valid(doc) {
		t.Fatalf("chunk %d is not JSON: %s", n, doc)
	}
	return doc
}

// A chunk is short arrays that load back as the events they were, times to
// the millisecond; strings with quotes, backslashes, control characters and
// non-ASCII survive; a chunk saved as objects (the form before) still loads.
func TestEventIndexChunkFormats(t *testing.T) {
	x := NewEventIndex()
	ch := newChanges()
	env := indexEnvelope(3)
	env.Time = time.Date(2026, 11, 23, 14, 5, 6, 789654321, time.UTC)
	env.Actor = "a \"q\" \\ \n\t\x01 é <&>"
	env.Data = json.RawMessage(`{"note":"` + strings.Repeat("é\\\"", 60) + `"}`)
	if err := x.Apply(env, ch); err != nil {
		t.Fatal(err)
	}
	doc, err := x.Doc(chunkKey(0))
	if err != nil || !json.Valid(doc) || doc[0] != '[' || doc[1] != '[' {
		t.Fatalf("chunk = %s (err %v), want a JSON array of arrays", doc, err)
	}
	y := NewEventIndex()
	if err := y.Load(chunkKey(0), doc); err != nil {
		t.Fatal(err)
	}
	want := x.held[0][0]
	want.Time = want.Time.Truncate(time.Millisecond)
	if got := y.held[0][0]; got != want {
		t.Errorf("loaded %+v, want %+v", got, want)
	}
	if !utf8.ValidString(want.Preview) || !strings.HasSuffix(want.Preview, "…") {
		t.Errorf("preview %q: want valid UTF-8 cut with …", want.Preview)
	}

	legacy := `[{"s":"cart/c-1","v":2,"t":"ItemAdded","at":"2026-11-23T14:05:06.789654321Z","a":"ana","p":"{\"sku\":\"s-1\"}"}]`
	z := NewEventIndex()
	if err := z.Load(chunkKey(1), json.RawMessage(legacy)); err != nil {
		t.Fatal(err)
	}
	got := z.held[1][0]
	if got.Stream != (es.StreamRef{Type: "cart", ID: "c-1"}) || got.StreamS != "cart/c-1" || got.Version != 2 || got.Type != "ItemAdded" ||
		!got.Time.Equal(env.Time) || got.Actor != "ana" || got.Preview != `{"sku":"s-1"}` {
		t.Errorf("legacy chunk loaded as %+v", got)
	}
	for _, bad := range []string{`[["cart","c-1",2]]`, `[["","c-1",2,"T",0,"a","p"]]`, `[{"s":"nostream"}]`} {
		if err := NewEventIndex().Load(chunkKey(0), json.RawMessage(bad)); err == nil {
			t.Errorf("chunk %s loaded, want an error", bad)
		}
	}
}

// The chunk kept as events arrive is the document encoding the chunk
// afresh gives, at every size, across chunk boundaries, and after a restart
// from saved chunks.
func TestEventIndexChunkDocsAreTheChunksEncoded(t *testing.T) {
	x := NewEventIndex()
	ch := newChanges()
	const total = 3*indexChunk + 17
	for i := range total {
		if err := x.Apply(indexEnvelope(i), ch); err != nil {
			t.Fatal(err)
		}
		if i%37 == 0 || i%indexChunk == indexChunk-1 || i%indexChunk == 0 {
			for n := max(0, i/indexChunk-1); n <= i/indexChunk; n++ {
				got, err := x.Doc(chunkKey(n))
				if err != nil || !bytes.Equal(got, wantChunk(t, x, n)) {
					t.Fatalf("after %d events, chunk %d = %s (err %v), want %s", i+1, n, got, err, wantChunk(t, x, n))
				}
			}
		}
	}
	// Every chunk, those that filled a while ago (a batch may fill several
	// before the save) included.
	for n := 0; n <= total/indexChunk; n++ {
		if got, err := x.Doc(chunkKey(n)); err != nil || !bytes.Equal(got, wantChunk(t, x, n)) {
			t.Fatalf("at the end, chunk %d = %s (err %v), want %s", n, got, err, wantChunk(t, x, n))
		}
	}
	// Restart from the saved chunks, in any order, and go on.
	restored := NewEventIndex()
	restored.readFrom(func(_ context.Context, key string) (json.RawMessage, error) { return x.Doc(key) })
	for n := total / indexChunk; n >= 0; n-- {
		doc, _ := x.Doc(chunkKey(n))
		if err := restored.Load(chunkKey(n), doc); err != nil {
			t.Fatal(err)
		}
	}
	was, is := page(t, x, IndexQuery{Limit: total + 1}), page(t, restored, IndexQuery{Limit: total + 1})
	if len(restored.held) != 1 {
		t.Errorf("restored, %d chunks in memory, want the newest only", len(restored.held))
	}
	if was.Total != total || is.Total != total || len(is.Events) != total {
		t.Fatalf("restored: %d events of %d, want %d", len(is.Events), is.Total, total)
	}
	for i := range was.Events {
		if is.Events[i] != was.Events[i] {
			t.Fatalf("restored, the %dth newest event is %+v, want %+v", i+1, is.Events[i], was.Events[i])
		}
	}
	for i := total; i < total+indexChunk+3; i++ {
		if err := restored.Apply(indexEnvelope(i), ch); err != nil {
			t.Fatal(err)
		}
		n := i / indexChunk
		got, err := restored.Doc(chunkKey(n))
		if err != nil || !bytes.Equal(got, wantChunk(t, restored, n)) {
			t.Fatalf("restored, after %d events, chunk %d = %s (err %v), want %s", i+1, n, got, err, wantChunk(t, restored, n))
		}
	}
	if got, _ := restored.Doc(chunkKey(99)); got != nil {
		t.Errorf("a chunk past the end = %s, want none", got)
	}
}

// BenchmarkEventIndexSave is the projector's save of the event index after
// each batch of one event: one event applied and its chunk's document made.
func BenchmarkEventIndexSave(b *testing.B) {
	x := NewEventIndex()
	ch := newChanges()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := x.Apply(indexEnvelope(i), ch); err != nil {
			b.Fatal(err)
		}
		if _, err := x.Doc(chunkKey(i / indexChunk)); err != nil {
			b.Fatal(err)
		}
	}
}

// A page whose filter matches almost nothing examines at most PageScan
// events and says where to go on, instead of reading the whole index; the
// pages followed to their end find the one event that matches.
func TestEventIndexPageExaminesABoundedStretch(t *testing.T) {
	x := NewEventIndex()
	ch := newChanges()
	rare := indexEnvelope(0)
	rare.Type = "CheckedOut"
	if err := x.Apply(rare, ch); err != nil {
		t.Fatal(err)
	}
	total := 2*PageScan + 500
	for i := 1; i < total; i++ {
		if err := x.Apply(indexEnvelope(i), ch); err != nil {
			t.Fatal(err)
		}
	}
	var found []IndexedEvent
	before, pages := 0, 0
	for {
		pages++
		p := page(t, x, IndexQuery{Type: "CheckedOut", Before: before, Limit: 50})
		if pages == 1 && (len(p.Events) != 0 || p.Next != total-PageScan) {
			t.Fatalf("the first page: %d events, next %d; want none, next %d (after %d examined)", len(p.Events), p.Next, total-PageScan, PageScan)
		}
		found = append(found, p.Events...)
		if p.Next == 0 {
			break
		}
		before = p.Next
	}
	if pages != 3 || len(found) != 1 || found[0].Type != "CheckedOut" {
		t.Fatalf("%d pages found %v; want 3 pages and the one CheckedOut", pages, found)
	}
	if p := page(t, x, IndexQuery{Limit: 50}); len(p.Events) != 50 || p.Next != total-50 {
		t.Errorf("an unfiltered page: %d events, next %d", len(p.Events), p.Next)
	}
}

// savedChunks is a store of an index's chunks: what its saves took.
type savedChunks struct {
	mu    sync.Mutex
	docs  map[string]json.RawMessage
	reads int
}

func (s *savedChunks) read(_ context.Context, key string) (json.RawMessage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	return s.docs[key], nil
}

// saveAll hands every changed chunk to the store, as the projector's save.
func (s *savedChunks) saveAll(t *testing.T, x *EventIndex, ch *Changes) {
	t.Helper()
	for key := range ch.docs {
		doc, err := x.Doc(key)
		if err != nil {
			t.Fatalf("Doc(%s) of a changed chunk: %v", key, err)
		}
		s.mu.Lock()
		s.docs[key] = doc
		s.mu.Unlock()
		x.saved(key)
	}
	ch.reset()
}

// The index holds the newest chunks and those not yet saved, whatever the
// length of the log: a saved chunk out of the tail leaves memory (Doc says
// ErrNotHeld), and the pages read it back from the store, the same events
// as a fold of the log; an unsaved one stays however old; a chunk the store
// does not have ends the page with a Next to go on.
func TestEventIndexHoldsOnlyTheTailAndReadsTheRestBack(t *testing.T) {
	x := NewEventIndex()
	store := &savedChunks{docs: map[string]json.RawMessage{}}
	x.readFrom(store.read)
	ch := newChanges()
	const total = 40*indexChunk + 100
	var want []IndexedEvent
	for i := range total {
		env := indexEnvelope(i)
		if err := x.Apply(env, ch); err != nil {
			t.Fatal(err)
		}
		want = append(want, Indexed(env))
		if i%500 == 499 {
			store.saveAll(t, x, ch)
		}
		if len(x.held) > tailChunks+3 {
			t.Fatalf("after %d events, %d chunks in memory, want at most %d", i+1, len(x.held), tailChunks+3)
		}
	}
	store.saveAll(t, x, ch)
	if len(x.held) > tailChunks+1 {
		t.Errorf("at the end, %d chunks in memory, want at most %d", len(x.held), tailChunks+1)
	}
	if _, err := x.Doc(chunkKey(0)); !errors.Is(err, ErrNotHeld) {
		t.Errorf("Doc of the first chunk, saved long ago: %v, want ErrNotHeld", err)
	}
	if x.Total() != total {
		t.Errorf("Total() = %d, want %d", x.Total(), total)
	}
	// Every event, newest first, in pages of 50 read back where need be.
	var got []IndexedEvent
	for before := 0; ; {
		p := page(t, x, IndexQuery{Before: before, Limit: 50})
		got = append(got, p.Events...)
		if p.Next == 0 {
			break
		}
		before = p.Next
	}
	if len(got) != total {
		t.Fatalf("paged %d events, want %d", len(got), total)
	}
	for i := range got {
		if w := want[total-1-i]; got[i].StreamS != w.StreamS || got[i].Version != w.Version || !got[i].Time.Equal(w.Time) || got[i].Preview != w.Preview {
			t.Fatalf("the %dth newest event is %+v, want %+v", i+1, got[i], w)
		}
	}
	if b := x.cache.bytes(); b > indexCacheBytes || b == 0 {
		t.Errorf("the cache holds %d bytes, want some, at most %d", b, indexCacheBytes)
	}
	// The cache answers a page read again.
	reads := store.reads
	page(t, x, IndexQuery{Before: 3 * indexChunk, Limit: 50})
	if store.reads != reads {
		t.Errorf("a page just read again read the store %d times", store.reads-reads)
	}

	// An unsaved chunk stays in memory however far the tail moves.
	y := NewEventIndex()
	ys := &savedChunks{docs: map[string]json.RawMessage{}}
	y.readFrom(ys.read)
	ych := newChanges()
	for i := range 3 * tailChunks * indexChunk {
		if err := y.Apply(indexEnvelope(i), ych); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := y.Doc(chunkKey(0)); err != nil {
		t.Errorf("Doc of an unsaved chunk: %v, want it held", err)
	}
	ys.saveAll(t, y, ych)
	if _, err := y.Doc(chunkKey(0)); !errors.Is(err, ErrNotHeld) {
		t.Errorf("Doc of the first chunk once saved: %v, want ErrNotHeld", err)
	}

	// A chunk the store lacks (a follower ahead of its holder's saves).
	delete(ys.docs, chunkKey(tailChunks))
	before := (tailChunks + 1) * indexChunk
	p := page(t, y, IndexQuery{Before: before + 10, Limit: 50})
	if len(p.Events) != 10 || p.Next != before {
		t.Errorf("a page reaching a chunk the store lacks: %d events, next %d; want 10, next %d", len(p.Events), p.Next, before)
	}
}
