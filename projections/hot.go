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

// HotStream is one stream's recent writes.
type HotStream struct {
	Stream es.StreamRef
	// PerSecond is its events a second over the last HotWindow.
	PerSecond float64
	// Where the store limits one stream's writes (es.StreamWriteLimit):
	// Limit is that limit in write units a second, Peak the write units of
	// the stream's busiest second within HotWindow, and Share Peak's part
	// of Limit: the limit holds second by second.
	Limit, Peak, Share float64
}

// hotSecond is a stream's events in one second, and their write units.
type hotSecond struct {
	events int64
	units  float64
}

// hotStreams counts each stream's events by the second, for the seconds
// within HotWindow of now: not saved, and about now, so by the wall clock (an
// event dated in the future counts in the current second; one older than the
// window, as in a rebuild, not at all). A stream's rate is its events in the
// HotWindow before now, the oldest second weighted by how much of it is still
// within. It holds only the streams written in those seconds, so it stays as
// small as the recent traffic whatever the number of streams.
type hotStreams struct {
	// limit, when set, prices each event in write units against its stream's
	// limit.
	limit es.StreamWriteLimit
	secs  map[int64]map[es.StreamRef]*hotSecond
}

// hotSpan is how many seconds are kept: the window and the second it starts
// in.
const hotSpan = int64(HotWindow/time.Second) + 1

// add counts event e, applied at now.
func (h *hotStreams) add(e es.Envelope, now time.Time) {
	sec, nowSec := e.Time.Unix(), now.Unix()
	if sec <= nowSec-hotSpan || e.Time.IsZero() {
		return // not recent, or no time
	}
	sec = min(sec, nowSec) // another clock ahead of this one
	if h.secs == nil {
		h.secs = map[int64]map[es.StreamRef]*hotSecond{}
	}
	counts := h.secs[sec]
	if counts == nil {
		for s := range h.secs { // a new second: forget those out of the span (at most hotSpan of them)
			if s <= nowSec-hotSpan {
				delete(h.secs, s)
			}
		}
		counts = map[es.StreamRef]*hotSecond{}
		h.secs[sec] = counts
	}
	c := counts[e.Stream]
	if c == nil {
		c = &hotSecond{}
		counts[e.Stream] = c
	}
	c.events++
	if h.limit != nil {
		c.units += h.limit.EventWriteUnits(e)
	}
}

// busiest returns the n streams nearest their limit (where the store has one)
// or with the most events a second, over the HotWindow before now, first
// first.
func (h *hotStreams) busiest(now time.Time, n int) []HotStream {
	nowSec := now.Unix()
	oldest := nowSec - int64(HotWindow/time.Second)
	into := float64(now.UnixNano()%int64(time.Second)) / float64(time.Second) // of the current second
	byStream := map[es.StreamRef]*HotStream{}
	for s, counts := range h.secs {
		if s < oldest || s > nowSec {
			continue
		}
		weight := 1.0
		if s == oldest {
			weight = 1 - into // the part of it within the window
		}
		for ref, c := range counts {
			hs := byStream[ref]
			if hs == nil {
				hs = &HotStream{Stream: ref}
				byStream[ref] = hs
			}
			hs.PerSecond += float64(c.events) * weight / HotWindow.Seconds()
			hs.Peak = max(hs.Peak, c.units)
		}
	}
	out := make([]HotStream, 0, len(byStream))
	for _, hs := range byStream {
		if hs.PerSecond <= 0 && hs.Peak <= 0 {
			continue
		}
		if h.limit != nil {
			hs.Limit = h.limit.StreamWriteUnits()
			hs.Share = hs.Peak / hs.Limit
		}
		out = append(out, *hs)
	}
	slices.SortFunc(out, func(a, b HotStream) int {
		if c := cmp.Compare(b.Share, a.Share); c != 0 {
			return c
		}
		if c := cmp.Compare(b.PerSecond, a.PerSecond); c != 0 {
			return c
		}
		return cmp.Compare(a.Stream.String(), b.Stream.String())
	})
	return out[:min(n, len(out))]
}
