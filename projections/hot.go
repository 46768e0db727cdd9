package projections

import (
	"cmp"
	"slices"
	"time"

	"github.com/foldboard/foldboard/es"
)

// HotWindow is the span over which the busiest streams are counted: long
// enough to smooth a burst, short enough to mean "now".
const HotWindow = 10 * time.Second

// HotStream is one stream's rate of events over the last HotWindow.
type HotStream struct {
	Stream    es.StreamRef
	PerSecond float64
	// MeanData is the mean size of its events' data, in bytes.
	MeanData int
}

// hotStreams counts each stream's events by the second of their time, as the
// rate does (so a rebuild draws the same history), for the seconds within
// HotWindow of the newest: a stream's rate is its events in the HotWindow
// before now, the oldest second weighted by how much of it is still within.
// It holds only the streams with events in those seconds, so it stays as
// small as the recent traffic whatever the number of streams.
type hotStreams struct {
	newest int64 // the newest second counted
	secs   map[int64]map[es.StreamRef]*hotCount
}

type hotCount struct {
	events int64
	data   int64 // bytes of the events' data
}

// hotSeconds is how many seconds are kept: the window and the second it
// starts in.
const hotSeconds = int64(HotWindow/time.Second) + 1

// add counts an event of stream ref at t with size bytes of data. An event
// older than the seconds kept is not counted.
func (h *hotStreams) add(ref es.StreamRef, t time.Time, size int) {
	sec := t.Unix()
	if sec <= 0 || sec <= h.newest-hotSeconds {
		return // no time, or one no longer recent
	}
	if h.secs == nil {
		h.secs = map[int64]map[es.StreamRef]*hotCount{}
	}
	if sec > h.newest {
		h.newest = sec
		for s := range h.secs { // at most hotSeconds of them
			if s <= sec-hotSeconds {
				delete(h.secs, s)
			}
		}
	}
	counts := h.secs[sec]
	if counts == nil {
		counts = map[es.StreamRef]*hotCount{}
		h.secs[sec] = counts
	}
	c := counts[ref]
	if c == nil {
		c = &hotCount{}
		counts[ref] = c
	}
	c.events++
	c.data += int64(size)
}

// busiest returns the n streams with the most events a second over the
// HotWindow before now, most first.
func (h *hotStreams) busiest(now time.Time, n int) []HotStream {
	nowSec := now.Unix()
	into := float64(now.UnixNano()%int64(time.Second)) / float64(time.Second) // of the current second
	type sum struct {
		events     float64 // weighted
		whole      int64   // unweighted, and their data
		wholeBytes int64
	}
	sums := map[es.StreamRef]*sum{}
	for s, counts := range h.secs {
		weight := 1.0
		switch {
		case s < nowSec-int64(HotWindow/time.Second):
			continue
		case s == nowSec-int64(HotWindow/time.Second):
			weight = 1 - into // the part of it within the window
		}
		for ref, c := range counts {
			r := sums[ref]
			if r == nil {
				r = &sum{}
				sums[ref] = r
			}
			r.events += float64(c.events) * weight
			r.whole += c.events
			r.wholeBytes += c.data
		}
	}
	out := make([]HotStream, 0, len(sums))
	for ref, r := range sums {
		if r.events > 0 {
			out = append(out, HotStream{Stream: ref, PerSecond: r.events / HotWindow.Seconds(), MeanData: int(r.wholeBytes / r.whole)})
		}
	}
	slices.SortFunc(out, func(a, b HotStream) int {
		if c := cmp.Compare(b.PerSecond, a.PerSecond); c != 0 {
			return c
		}
		return cmp.Compare(a.Stream.String(), b.Stream.String())
	})
	return out[:min(n, len(out))]
}
