package projections

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/foldboard/foldboard/es"
)

func tick(stream string, v int64, at time.Time) es.Envelope {
	ref, _ := es.ParseStreamRef(stream)
	return es.Envelope{ID: fmt.Sprintf("%s-%d", stream, v), Stream: ref, Version: v, Type: "Ticked", Time: at, Data: json.RawMessage(`{}`)}
}

func TestRateCountsEventsPerPeriodByTheirOwnTimes(t *testing.T) {
	c := NewCatalogue()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ch := newChanges()
	v := int64(0)
	add := func(at time.Time, n int) {
		for range n {
			v++
			if err := c.Apply(tick("t/a", v, at), ch); err != nil {
				t.Fatal(err)
			}
		}
	}
	add(now.Add(-time.Hour), 7)            // long before the window
	add(now.Add(-14*time.Second), 3)       // the third of three 5 s periods
	add(now.Add(-9*time.Second), 2)        // the second
	add(now.Add(-500*time.Millisecond), 5) // the last, which ends now
	got := c.Rate(now, 3, 5*time.Second)
	// The last period ends with the current second: 3 × 5 s start 14 s ago.
	if want := []int64{3, 2, 5}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("rate over 3×5 s: %v, want %v", got, want)
	}
	got = c.Rate(now, 4, 5*time.Second)
	if want := []int64{0, 3, 2, 5}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("rate over 4×5 s: %v, want %v", got, want)
	}
	if _, ok := ch.docs[rateKey]; !ok {
		t.Error("counting an event in the window did not mark the rate document")
	}

	// A restart draws the same chart from the saved documents.
	again := NewCatalogue()
	for _, key := range []string{rateKey, statsKey} {
		doc, err := c.Doc(key)
		if err != nil {
			t.Fatal(err)
		}
		if err := again.Load(key, doc); err != nil {
			t.Fatal(err)
		}
	}
	if got := again.Rate(now, 4, 5*time.Second); fmt.Sprint(got) != "[0 3 2 5]" {
		t.Errorf("after a reload: %v", got)
	}
	// The window moves with the newest event: ten minutes on, the old
	// seconds are gone.
	add(now.Add(RateWindow+time.Minute), 1)
	if got := c.Rate(now, 4, 5*time.Second); fmt.Sprint(got) != "[0 0 0 0]" {
		t.Errorf("seconds older than the window were kept: %v", got)
	}
	if n := len(c.rate.counts); n != 1 {
		t.Errorf("%d seconds kept, want 1", n)
	}
}

func TestParkedStreamsAreListedWithoutScanningTheCatalogue(t *testing.T) {
	c := NewCatalogue()
	ch := newChanges()
	for i := range 50 {
		if err := c.Apply(tick(fmt.Sprintf("t/s-%02d", i), 1, time.Now()), ch); err != nil {
			t.Fatal(err)
		}
	}
	c.park(tick("t/s-07", 2, time.Now()), errors.New("boom"), ch)
	c.park(tick("t/s-03", 2, time.Now()), errors.New("bang"), ch)
	parked := c.Parked()
	if len(parked) != 2 || parked[0].Stream.ID != "s-03" || parked[1].Stream.ID != "s-07" {
		t.Fatalf("parked: %+v", parked)
	}
	again := NewCatalogue()
	for key := range ch.docs {
		doc, _ := c.Doc(key)
		if doc != nil {
			if err := again.Load(key, doc); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n := len(again.Parked()); n != 2 {
		t.Errorf("after a reload, %d parked, want 2", n)
	}
}

func TestPendingAppendsCountWhatTheFeedHasNotBrought(t *testing.T) {
	var p pendingAppends
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a, b, c := tick("t/a", 1, t0), tick("t/a", 2, t0), tick("t/b", 1, t0)
	// c reaches the projector before its append is reported: it must not
	// count as pending ever after.
	p.seen([]es.Envelope{c})
	p.appended([]es.Envelope{a, b}, t0)
	p.appended([]es.Envelope{c}, t0.Add(time.Second))
	if lag := p.lag(t0.Add(3 * time.Second)); lag.Events != 2 || lag.Behind != 3*time.Second || lag.Exact {
		t.Fatalf("two pending: %+v", lag)
	}
	p.seen([]es.Envelope{a})
	if lag := p.lag(t0.Add(4 * time.Second)); lag.Events != 1 || lag.Behind != 4*time.Second {
		t.Fatalf("one pending: %+v", lag)
	}
	p.seen([]es.Envelope{b, c})
	if lag := p.lag(t0.Add(5 * time.Second)); lag.Events != 0 || lag.Behind != 0 {
		t.Fatalf("none pending: %+v", lag)
	}
}
