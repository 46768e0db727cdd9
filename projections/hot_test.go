package projections

import (
	"math"
	"testing"
	"time"

	"github.com/foldboard/foldboard/es"
)

var (
	hotA = es.StreamRef{Type: "cart", ID: "a"}
	hotB = es.StreamRef{Type: "cart", ID: "b"}
	hotC = es.StreamRef{Type: "cart", ID: "c"}
)

// unitsByData prices an event at one write unit per 100 bytes of data begun,
// and a stream at 100 units a second: a limit small enough to reach in a test.
type unitsByData struct{}

func (unitsByData) StreamWriteUnits() float64 { return 100 }
func (unitsByData) EventWriteUnits(e es.Envelope) float64 {
	return float64(max((len(e.Data)+99)/100, 1))
}

// event is an event of ref at t with size bytes of data.
func event(ref es.StreamRef, t time.Time, size int) es.Envelope {
	return es.Envelope{Stream: ref, Time: t, Data: make([]byte, size)}
}

// steady adds perSecond events of ref a second, evenly spaced, over d from
// from, each applied as it happens; it returns the time of the last.
func steady(h *hotStreams, ref es.StreamRef, perSecond int, from time.Time, d time.Duration, size int) time.Time {
	step := time.Second / time.Duration(perSecond)
	last := from
	for t := from; t.Before(from.Add(d)); t = t.Add(step) {
		h.add(event(ref, t, size), t)
		last = t
	}
	return last
}

func find(hot []HotStream, ref es.StreamRef) (HotStream, bool) {
	for _, h := range hot {
		if h.Stream == ref {
			return h, true
		}
	}
	return HotStream{}, false
}

func TestBusiestStreamsAreRankedByTheirRateOverTheLastWindow(t *testing.T) {
	start := time.Date(2026, 11, 23, 12, 0, 3, 0, time.UTC)
	var h hotStreams
	var last time.Time
	for s := range 25 { // interleaved second by second, as live traffic is
		at := start.Add(time.Duration(s) * time.Second)
		last = steady(&h, hotA, 50, at, time.Second, 200)
		steady(&h, hotB, 10, at, time.Second, 1000)
	}
	for _, after := range []time.Duration{0, 2 * time.Second, 5 * time.Second, 9 * time.Second} {
		got := h.busiest(last.Add(after), 5)
		want := 50 * (1 - after.Seconds()/HotWindow.Seconds()) // decaying once the events stop
		if len(got) != 2 || got[0].Stream != hotA || got[1].Stream != hotB {
			t.Fatalf("%v after: busiest %+v, want a then b", after, got)
		}
		if math.Abs(got[0].PerSecond-want) > 0.06*50 {
			t.Errorf("%v after the last event: a at %.1f events/s, want %.1f (±3)", after, got[0].PerSecond, want)
		}
		if got[0].Limit != 0 || got[0].Share != 0 {
			t.Errorf("a limit (%v, %v) without a store that sets one", got[0].Limit, got[0].Share)
		}
	}
	if got := h.busiest(last, 1); len(got) != 1 || got[0].Stream != hotA {
		t.Errorf("busiest 1: %+v, want a alone", got)
	}
	if got := h.busiest(last.Add(HotWindow+time.Second), 5); len(got) != 0 {
		t.Errorf("a window after the last event: %+v, want none", got)
	}
}

// The oldest second of the window counts for the part of it still within.
func TestTheOldestSecondCountsForItsPartInTheWindow(t *testing.T) {
	var h hotStreams
	at := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	for range 100 {
		h.add(event(hotA, at, 10), at)
	}
	for _, c := range []struct {
		later time.Duration
		want  float64
	}{{0, 10}, {9 * time.Second, 10}, {10*time.Second + 250*time.Millisecond, 7.5}, {10*time.Second + 900*time.Millisecond, 1}} {
		got, _ := find(h.busiest(at.Add(c.later), 5), hotA)
		if math.Abs(got.PerSecond-c.want) > 1e-9 {
			t.Errorf("%v later: %.3f events/s, want %.3f", c.later, got.PerSecond, c.want)
		}
	}
}

func TestBusiestStreamsForgetWhatIsNotRecent(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	var h hotStreams
	// A thousand streams busy an hour ago, as a rebuild replays them.
	for i := range 1000 {
		h.add(event(es.StreamRef{Type: "cart", ID: "old-" + string(rune('a'+i%26)) + string(rune('a'+i/26))}, now.Add(-time.Hour), 10), now)
	}
	if len(h.secs) != 0 {
		t.Errorf("%d seconds held for events an hour old, want none", len(h.secs))
	}
	last := steady(&h, hotB, 20, now, 3*time.Second, 10)
	// Twelve seconds later, with another stream's event, the old seconds go.
	later := last.Add(12 * time.Second)
	h.add(event(hotC, later, 10), later)
	held := 0
	for _, counts := range h.secs {
		held += len(counts)
	}
	if held != 1 {
		t.Errorf("%d stream-seconds held, want 1 (c's): older seconds dropped", held)
	}
	if got := h.busiest(later, 10); len(got) != 1 || got[0].Stream != hotC {
		t.Errorf("busiest: %+v, want c alone", got)
	}
	h.add(event(hotA, time.Time{}, 10), later)
	if _, ok := find(h.busiest(later, 10), hotA); ok {
		t.Error("an event without a time counted")
	}
}

// An event dated ahead of this clock (another writer's clock) counts now, and
// does not hide the others.
func TestAnEventFromTheFutureCountsNow(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	var h hotStreams
	h.add(event(hotA, now.Add(time.Minute), 10), now)
	for i := range 500 {
		at := now.Add(time.Duration(i) * 10 * time.Millisecond)
		h.add(event(hotB, at, 10), at)
	}
	got := h.busiest(now.Add(5*time.Second), 5)
	b, okB := find(got, hotB)
	a, okA := find(got, hotA)
	if !okB || math.Abs(b.PerSecond-50) > 1 || !okA || math.Abs(a.PerSecond-0.1) > 1e-9 {
		t.Fatalf("busiest %+v: want b at 50 events/s and a at 0.1 (its one event, counted when applied)", got)
	}
}

// Where the store limits a stream's writes, streams are ranked by their share
// of it in their busiest second: a few large events before many small ones.
func TestBusiestStreamsAreRankedByTheirShareOfALimit(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	h := hotStreams{limit: unitsByData{}}
	steady(&h, hotA, 40, now, 5*time.Second, 50)  // 40 units a second: 40%
	steady(&h, hotB, 10, now, 5*time.Second, 550) // fewer events, 60 units a second: 60%
	steady(&h, hotC, 20, now, time.Second/2, 250) // a burst: 10 events of 3 units in one second: 30%
	got := h.busiest(now.Add(5*time.Second), 5)
	if len(got) != 3 || got[0].Stream != hotB || got[1].Stream != hotA || got[2].Stream != hotC {
		t.Fatalf("busiest %+v: want b (60%%), a (40%%), c (30%%)", got)
	}
	for i, want := range []float64{0.6, 0.4, 0.3} {
		if g := got[i]; g.Limit != 100 || math.Abs(g.Share-want) > 1e-9 || g.Peak != want*100 {
			t.Errorf("%s: limit %v, peak %v, share %v; want 100, %v, %v", g.Stream, g.Limit, g.Peak, g.Share, want*100, want)
		}
	}
}

func TestTheCatalogueCountsEachStreamsRecentEvents(t *testing.T) {
	c := NewCatalogue()
	now := time.Now()
	ch := newChanges()
	for v := int64(1); v <= 30; v++ {
		env := es.Envelope{Stream: hotA, Version: v, Type: "ItemAdded", Time: now.Add(time.Duration(v-30) * 100 * time.Millisecond), Data: []byte(`{"sku":"x"}`)}
		if err := c.Apply(env, ch); err != nil {
			t.Fatal(err)
		}
	}
	got := c.Busiest(time.Now(), 3)
	// 30 events in the last 3 s: 3 a second over the 10 s window.
	if len(got) != 1 || got[0].Stream != hotA || math.Abs(got[0].PerSecond-3) > 0.01 {
		t.Fatalf("busiest: %+v, want cart/a at 3 events/s", got)
	}
}
