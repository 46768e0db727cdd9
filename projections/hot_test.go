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
)

// steady adds perSecond events of ref, evenly spaced, from from for d, each
// with size bytes of data; it returns the time of the last.
func steady(h *hotStreams, ref es.StreamRef, perSecond int, from time.Time, d time.Duration, size int) time.Time {
	step := time.Second / time.Duration(perSecond)
	last := from
	for t := from; t.Before(from.Add(d)); t = t.Add(step) {
		h.add(ref, t, size)
		last = t
	}
	return last
}

func rateOf(hot []HotStream, ref es.StreamRef) float64 {
	for _, h := range hot {
		if h.Stream == ref {
			return h.PerSecond
		}
	}
	return 0
}

func TestBusiestStreamsAreRankedByTheirRateOverTheLastWindow(t *testing.T) {
	// Not on a window's boundary, so that both windows count.
	start := time.Date(2026, 11, 23, 12, 0, 3, 0, time.UTC)
	var h hotStreams
	var last time.Time
	// Interleaved second by second, as live traffic is.
	for s := range 25 {
		at := start.Add(time.Duration(s) * time.Second)
		last = steady(&h, hotA, 50, at, time.Second, 200)
		steady(&h, hotB, 10, at, time.Second, 1000)
	}
	// Wherever now falls against the windows, the estimate is the rate.
	for _, after := range []time.Duration{0, 2 * time.Second, 5 * time.Second, 9 * time.Second} {
		now := last.Add(after)
		got := h.busiest(now, 5)
		// Events stop at last: the rate decays as now moves past it.
		want := 50 * (1 - after.Seconds()/HotWindow.Seconds())
		if len(got) != 2 || got[0].Stream != hotA || got[1].Stream != hotB {
			t.Fatalf("%v after: busiest %+v, want a then b", after, got)
		}
		if math.Abs(got[0].PerSecond-want) > 0.12*50 {
			t.Errorf("%v after the last event: a at %.1f events/s, want %.1f (±6)", after, got[0].PerSecond, want)
		}
		if got[0].MeanData != 200 || got[1].MeanData != 1000 {
			t.Errorf("mean data %d and %d bytes, want 200 and 1000", got[0].MeanData, got[1].MeanData)
		}
	}
	if got := h.busiest(last, 1); len(got) != 1 || got[0].Stream != hotA {
		t.Errorf("busiest 1: %+v, want a alone", got)
	}
	// Two windows after the last event nothing is recent.
	if got := h.busiest(last.Add(2*HotWindow+time.Second), 5); len(got) != 0 {
		t.Errorf("long after the last event: %+v, want none", got)
	}
}

func TestBusiestStreamsForgetWhatIsNoLongerRecent(t *testing.T) {
	start := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	var h hotStreams
	// A thousand streams busy an hour ago (a rebuild replays them by their own
	// times), then one stream now.
	for i := range 1000 {
		h.add(es.StreamRef{Type: "cart", ID: "old-" + string(rune('a'+i%26)) + string(rune('a'+i/26))}, start.Add(-time.Hour), 10)
	}
	last := steady(&h, hotB, 20, start, 3*time.Second, 10)
	got := h.busiest(last, 10)
	if len(got) != 1 || got[0].Stream != hotB {
		t.Fatalf("busiest now: %+v, want b alone", got)
	}
	held := 0
	for _, counts := range h.secs {
		held += len(counts)
	}
	if held != 3 {
		t.Errorf("%d stream-seconds held, want 3 (b's): the old seconds dropped", held)
	}
	// An event older than the two windows is not counted.
	h.add(hotA, start.Add(-time.Minute), 10)
	if rateOf(h.busiest(last, 10), hotA) != 0 {
		t.Error("an event a minute old counted as recent")
	}
	// Nor one without a time.
	h.add(hotA, time.Time{}, 10)
	if rateOf(h.busiest(last, 10), hotA) != 0 {
		t.Error("an event without a time counted")
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
	got := c.Busiest(now, 3)
	// 30 events in the last 3 s: 3 a second over the 10 s window.
	if len(got) != 1 || got[0].Stream != hotA || math.Abs(got[0].PerSecond-3) > 0.01 || got[0].MeanData != len(`{"sku":"x"}`) {
		t.Fatalf("busiest: %+v, want cart/a at 3 events/s", got)
	}
}
