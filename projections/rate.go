package projections

import (
	"encoding/json"
	"strconv"
	"time"
)

// RateWindow is how far back, from the newest event, the catalogue counts
// events per second.
const RateWindow = 10 * time.Minute

// eventRate counts events by the Unix second of their time, for the seconds
// within RateWindow of the newest event it has counted. It measures by the
// events' own times, not by when the projector saw them, so a rebuild or a
// restart draws the same history.
type eventRate struct {
	counts map[int64]int64
	newest int64 // the newest second counted
}

func newEventRate() eventRate { return eventRate{counts: map[int64]int64{}} }

// add counts an event at t, and reports whether it fell in the window (and so
// changed the counts).
func (r *eventRate) add(t time.Time) bool {
	sec := t.Unix()
	if sec <= r.newest-int64(RateWindow/time.Second) {
		return false
	}
	r.counts[sec]++
	if sec > r.newest {
		// A new second: forget those that left the window. The map holds at
		// most a window of seconds, so the pass is bounded.
		r.newest = sec
		horizon := sec - int64(RateWindow/time.Second)
		for s := range r.counts {
			if s <= horizon {
				delete(r.counts, s)
			}
		}
	}
	return true
}

// series sums the counts into n periods of width, the last ending at now.
func (r *eventRate) series(now time.Time, n int, width time.Duration) []int64 {
	out := make([]int64, n)
	end := now.Unix() + 1 // the current second counts in the last period
	w := max(int64(width/time.Second), 1)
	start := end - int64(n)*w
	for s, count := range r.counts {
		if s >= start && s < end {
			out[(s-start)/w] += count
		}
	}
	return out
}

// MarshalJSON writes the counts as an object keyed by Unix second.
func (r *eventRate) MarshalJSON() ([]byte, error) {
	m := make(map[string]int64, len(r.counts))
	for s, n := range r.counts {
		m[strconv.FormatInt(s, 10)] = n
	}
	return json.Marshal(m)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (r *eventRate) UnmarshalJSON(b []byte) error {
	var m map[string]int64
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	r.counts = make(map[int64]int64, len(m))
	for k, n := range m {
		s, err := strconv.ParseInt(k, 10, 64)
		if err != nil {
			return err
		}
		r.counts[s] = n
		r.newest = max(r.newest, s)
	}
	return nil
}
