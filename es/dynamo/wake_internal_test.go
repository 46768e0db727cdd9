package dynamo

import (
	"fmt"
	"testing"
	"time"

	"github.com/foldboard/foldboard/es"
)

// Wake-ups naming more streams than unseen holds (a flood on the channel)
// keep it within maxUnseen and fall back to the unnamed eager window; one
// that names only what is known wakes no feed.
func TestWakeKeepsUnseenBounded(t *testing.T) {
	s := &Store{wake: make(chan struct{})}
	flood := map[es.StreamRef]int64{}
	for i := range 3 * maxUnseen {
		flood[es.StreamRef{Type: "p", ID: fmt.Sprint(i)}] = 1
	}
	s.Wake(flood, false)
	if len(s.unseen) > maxUnseen {
		t.Errorf("unseen holds %d, over %d", len(s.unseen), maxUnseen)
	}
	if !time.Now().Before(s.unnamedUntil) {
		t.Error("the streams unseen had no room for did not make the feeds eager")
	}
	never := func(es.StreamRef) int64 { return 0 }
	if !s.awaiting(time.Now(), never) {
		t.Error("not awaiting after the flood")
	}
	// Once eagerWindow has passed, all of it is forgotten.
	later := time.Now().Add(2 * eagerWindow)
	if s.awaiting(later, never) || len(s.unseen) != 0 {
		t.Errorf("still awaiting %d appends after eagerWindow", len(s.unseen))
	}

	// Known versions wake no one; a newer one does.
	s = &Store{wake: make(chan struct{})}
	ref := es.StreamRef{Type: "post", ID: "p-1"}
	s.appended(ref, 3)
	w := s.wakeChan()
	s.Wake(map[es.StreamRef]int64{ref: 3}, false)
	s.Wake(map[es.StreamRef]int64{ref: 2}, false)
	select {
	case <-w:
		t.Error("a wake-up naming a version already known woke the feeds")
	default:
	}
	if !s.unnamedUntil.IsZero() {
		t.Error("a named wake-up set the unnamed eager window")
	}
	s.Wake(map[es.StreamRef]int64{ref: 4}, false)
	select {
	case <-w:
	default:
		t.Error("a wake-up naming a newer version did not wake the feeds")
	}
	if got := s.unseen[ref].version; got != 4 {
		t.Errorf("unseen holds %s at %d, want 4", ref, got)
	}
	delivered := func(v int64) func(es.StreamRef) int64 { return func(es.StreamRef) int64 { return v } }
	if !s.awaiting(time.Now(), delivered(3)) || s.awaiting(time.Now(), delivered(4)) {
		t.Error("awaiting does not end exactly at the named version")
	}
}
