package views

import (
	"slices"
	"sync"
	"time"
)

// LiveLatency is the dashboard's command → browser figures over the last
// minute: from an append to its fragment written to a WebSocket (measured
// in the server), and to the fragment applied in the page (reported by the
// browsers that report it).
type LiveLatency struct {
	LatencyFigures
	InPage LatencyFigures
	// Refused counts the browsers' reports left out since the start: of a
	// fragment not sent to that connection or reported already, late,
	// malformed, with an apply time longer than the round trip, or past a
	// connection's or an address's rate.
	Refused int64
}

// LatencyFigures are the quantiles of a window's latencies of the last
// minute.
type LatencyFigures struct {
	// N is how many latencies the figures are of (0: none in the last
	// minute).
	N        int
	P50, P99 time.Duration
}

// LatencyWindow keeps the latest latencies, at most LatencyKept, and answers
// the quantiles of those of the last minute: memory bounded however many
// pushes come (past LatencyKept a minute, the figures are of the newest).
type LatencyWindow struct {
	mu   sync.Mutex
	ring [LatencyKept]latencySample
	next int
	full bool
}

// LatencyKept bounds the samples a window keeps.
const LatencyKept = 4096

// LatencySpan is how far back the figures reach.
const LatencySpan = time.Minute

type latencySample struct {
	at time.Time
	d  time.Duration
}

// Add records one latency, seen at now. A negative one (the appending
// instance's clock ahead of this one's) or one beyond the span is left out:
// it measures clocks, not pushes.
func (w *LatencyWindow) Add(now time.Time, d time.Duration) {
	if d < 0 || d > LatencySpan {
		return
	}
	w.mu.Lock()
	w.ring[w.next] = latencySample{at: now, d: d}
	w.next++
	if w.next == LatencyKept {
		w.next, w.full = 0, true
	}
	w.mu.Unlock()
}

// Figures are the quantiles of the samples of the last minute before now.
func (w *LatencyWindow) Figures(now time.Time) LatencyFigures {
	if w == nil {
		return LatencyFigures{}
	}
	w.mu.Lock()
	n := w.next
	if w.full {
		n = LatencyKept
	}
	ds := make([]time.Duration, 0, n)
	for _, s := range w.ring[:n] {
		if now.Sub(s.at) <= LatencySpan {
			ds = append(ds, s.d)
		}
	}
	w.mu.Unlock()
	if len(ds) == 0 {
		return LatencyFigures{}
	}
	slices.Sort(ds)
	q := func(p float64) time.Duration { return ds[min(len(ds)-1, int(p*float64(len(ds))))] }
	return LatencyFigures{N: len(ds), P50: q(0.50), P99: q(0.99)}
}

// latencyText writes a latency to a tenth of a millisecond (microseconds
// below one).
func latencyText(d time.Duration) string {
	if d < time.Millisecond {
		return d.Round(time.Microsecond).String()
	}
	return d.Round(100 * time.Microsecond).String()
}
