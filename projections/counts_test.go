package projections

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/foldboard/foldboard/es"
)

// The projector counts what its exactly-once check did: events delivered
// again and passed over, and an event after a gap in its stream.
func TestTheProjectorCountsDuplicatesDroppedAndEventsOutOfOrder(t *testing.T) {
	log := cartsLog(t, 3)
	var first, second []es.Envelope
	counts := map[string]int{}
	for _, env := range log {
		counts[env.Stream.ID]++
	}
	pick := "c-1"
	if counts["c-2"] > counts["c-1"] {
		pick = "c-2"
	}
	for _, env := range log {
		if env.Stream.ID == "c-0" {
			first = append(first, env)
		} else if env.Stream.ID == pick {
			second = append(second, env)
		}
	}
	if len(first) < 3 || len(second) < 3 {
		t.Fatalf("short streams: %d %d", len(first), len(second))
	}
	// Batch 1: c-0 whole. Batch 2: c-0's first two again (dropped) and c-1
	// without its first event (a gap: parked, counted once; the rest of c-1
	// is passed over as parked, not as duplicates).
	feed := &scriptedFeed{batches: [][]es.Envelope{first, append(append([]es.Envelope{}, first[:2]...), second[1:]...)}}
	p := NewProjector(Config{Name: "c", Feed: feed, Store: &memoryReadModels{}, Models: cartModels(),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := p.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); _ = p.Run(ctx) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(5 * time.Second)
	for p.Status().Checkpoint != "2" && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	st := p.Status()
	if st.Checkpoint != "2" {
		t.Fatalf("the projector did not finish the batches: %+v", st)
	}
	if st.Dropped != 2 || st.OutOfOrder != 1 {
		t.Errorf("dropped %d, out of order %d; want 2 and 1", st.Dropped, st.OutOfOrder)
	}
	if st.Applied != int64(len(first)) || st.LastApplied.IsZero() || st.LastSave.Before(st.LastApplied) {
		t.Errorf("applied %d (want %d), last applied %v, last save %v", st.Applied, len(first), st.LastApplied, st.LastSave)
	}
}
