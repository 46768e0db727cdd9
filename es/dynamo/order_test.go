package dynamo

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/foldboard/foldboard/es"
)

func ev(id string, v int64) es.Envelope {
	return es.Envelope{ID: fmt.Sprintf("%s-%d", id, v), Stream: es.StreamRef{Type: "t", ID: id}, Version: v}
}

func TestSequencerHandsEachStreamOnInVersionOrder(t *testing.T) {
	q := newSequencer()
	now := time.Now()
	var recs []*record
	offer := func(e es.Envelope) *record {
		r := &record{seq: e.ID}
		recs = append(recs, r)
		q.offer(e, r, now, time.Second, false)
		return r
	}
	offer(ev("a", 1))
	early := offer(ev("a", 3))
	offer(ev("b", 1))
	if again := offer(ev("a", 3)); !again.done { // the same early arrival, from another shard
		t.Error("a repeat of a held event holds its record too")
	}
	if got := names(q.take()); !slices.Equal(got, []string{"a/1", "b/1"}) {
		t.Fatalf("handed on %v, want a/1 b/1", got)
	}
	if early.done {
		t.Error("the held event's record is done before it was handed on")
	}
	offer(ev("a", 2))
	offer(ev("a", 1)) // a repeat
	if got := names(q.take()); !slices.Equal(got, []string{"a/2", "a/3"}) {
		t.Fatalf("handed on %v, want a/2 a/3", got)
	}
	for _, r := range recs {
		if !r.done {
			t.Errorf("record %s not done", r.seq)
		}
	}
	if _, held := q.nextDue(); held {
		t.Error("something still held")
	}
}

func TestSequencerFillsAGapFromTheTableWhenItIsDue(t *testing.T) {
	q := newSequencer()
	now := time.Now()
	table := func(_ context.Context, s es.StreamRef, from, to int64) ([]es.Envelope, error) {
		var out []es.Envelope
		for v := from; v <= to; v++ {
			out = append(out, ev(s.ID, v))
		}
		return out, nil
	}
	q.offer(ev("a", 1), nil, now, time.Second, false)
	q.offer(ev("a", 4), &record{}, now, time.Second, false)
	q.take()
	if n, _ := q.fill(t.Context(), now.Add(500*time.Millisecond), time.Second, table); n != 0 {
		t.Fatalf("filled %d events before the gap was due", n)
	}
	if n, _ := q.fill(t.Context(), now.Add(time.Second), time.Second, table); n != 3 {
		t.Fatalf("filled %d events, want versions 2-4", n)
	}
	if got := names(q.take()); !slices.Equal(got, []string{"a/2", "a/3", "a/4"}) {
		t.Fatalf("handed on %v", got)
	}
}

func TestSequencerPlacesAStreamItHasNotSeen(t *testing.T) {
	now := time.Now()
	// Trusted: its predecessor was handed on before.
	q := newSequencer()
	q.offer(ev("a", 5), nil, now, time.Second, true)
	if got := names(q.take()); !slices.Equal(got, []string{"a/5"}) {
		t.Fatalf("trusted: handed on %v, want a/5", got)
	}
	// Not trusted: held, due at once, and read from version 1.
	q = newSequencer()
	q.offer(ev("a", 3), &record{}, now, time.Hour, false)
	if due, ok := q.nextDue(); !ok || due.After(now) {
		t.Fatalf("untrusted: due %v, %v; want now", due, ok)
	}
	var asked [2]int64
	q.fill(t.Context(), now, time.Hour, func(_ context.Context, s es.StreamRef, from, to int64) ([]es.Envelope, error) {
		asked = [2]int64{from, to}
		return []es.Envelope{ev("a", 1), ev("a", 2), ev("a", 3)}, nil
	})
	if asked != [2]int64{1, 3} {
		t.Errorf("read versions %v, want 1-3", asked)
	}
	if got := names(q.take()); !slices.Equal(got, []string{"a/1", "a/2", "a/3"}) {
		t.Fatalf("untrusted: handed on %v", got)
	}
}
