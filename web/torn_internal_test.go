package web

import (
	"testing"
	"time"
)

// A follower whose loads keep overlapping its holder's saves loads again
// 5 s after the first such load, twice as late after each next one, and
// never later than 5 min: a bounded rate of loads however large the store.
func TestReloadAfterTornLoadsBacksOffToFiveMinutes(t *testing.T) {
	for _, c := range []struct {
		n    int64
		want time.Duration
	}{{1, 5 * time.Second}, {2, 10 * time.Second}, {3, 20 * time.Second}, {6, 160 * time.Second}, {7, 5 * time.Minute}, {100, 5 * time.Minute}} {
		if got := reloadAfterTorn(c.n); got != c.want {
			t.Errorf("after %d torn loads: %v, want %v", c.n, got, c.want)
		}
	}
}
