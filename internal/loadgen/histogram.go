package loadgen

import (
	"math/bits"
	"time"
)

// Histogram counts durations in buckets about 3% wide (exact below 64 µs), so
// a run of any length keeps its latencies in a few kilobytes and quantiles
// come out within a bucket's width. The zero value is empty; it is not safe
// for concurrent use (each client keeps its own, merged at the end).
type Histogram struct {
	counts [histBuckets]int64
	n      int64
	sum    time.Duration
	max    time.Duration
}

const (
	histExact   = 64 // microseconds counted one by one
	histSub     = 32 // buckets per power of two above that
	histBuckets = histExact + 40*histSub
)

func bucketOf(d time.Duration) int {
	us := uint64(max(d.Microseconds(), 0))
	if us < histExact {
		return int(us)
	}
	e := bits.Len64(us) - 6 // us>>e is in [32, 63]
	i := histExact + (e-1)*histSub + int(us>>e) - histSub
	return min(i, histBuckets-1)
}

// upper is the largest duration bucket i holds.
func upper(i int) time.Duration {
	if i < histExact {
		return time.Duration(i) * time.Microsecond
	}
	e := (i-histExact)/histSub + 1
	m := uint64((i-histExact)%histSub + histSub)
	return time.Duration(((m+1)<<e)-1) * time.Microsecond
}

// Record counts one duration.
func (h *Histogram) Record(d time.Duration) {
	h.counts[bucketOf(d)]++
	h.n++
	h.sum += d
	h.max = max(h.max, d)
}

// Merge adds o's counts to h.
func (h *Histogram) Merge(o *Histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.sum += o.sum
	h.max = max(h.max, o.max)
}

// Count is the number of durations recorded.
func (h *Histogram) Count() int64 { return h.n }

// Max is the longest duration recorded.
func (h *Histogram) Max() time.Duration { return h.max }

// Mean is the average duration.
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return h.sum / time.Duration(h.n)
}

// Quantile returns the duration at or below which a fraction q of the
// recorded durations fall (the top of its bucket, never above Max).
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := int64(q*float64(h.n) + 0.5)
	rank = min(max(rank, 1), h.n)
	var seen int64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return min(upper(i), h.max)
		}
	}
	return h.max
}
