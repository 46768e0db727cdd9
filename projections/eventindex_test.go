package projections

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/foldboard/foldboard/es"
)

func indexEnvelope(i int) es.Envelope {
	return es.Envelope{
		Stream: es.StreamRef{Type: "cart", ID: fmt.Sprintf("c-%d", i%7)}, Version: int64(i/7 + 1),
		Type: "ItemAdded", Time: time.Unix(int64(i), 0).UTC(), Actor: "ana <&>",
		Data: json.RawMessage(fmt.Sprintf(`{"sku":"s-%d","qty":1,"price":"1.00"}`, i)),
	}
}

// wantChunk is the chunk's document as encoding the chunk's events afresh
// writes it.
func wantChunk(t *testing.T, x *EventIndex, n int) json.RawMessage {
	t.Helper()
	start := n * indexChunk
	if start >= len(x.events) {
		return nil
	}
	doc, err := json.Marshal(x.events[start:min(start+indexChunk, len(x.events))])
	if err != nil {
		t.Fatal(err)
	}
	return doc
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
	// Restart from the saved chunks, in any order, and go on.
	restored := NewEventIndex()
	for n := total / indexChunk; n >= 0; n-- {
		doc, _ := x.Doc(chunkKey(n))
		if err := restored.Load(chunkKey(n), doc); err != nil {
			t.Fatal(err)
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
