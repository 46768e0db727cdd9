package web

import (
	"testing"
	"time"
)

// A follower's reloads after repeated relay.ErrBehind pause longer each
// time, up to a cap, jittered within [d/2, d), and start over after reset.
func TestReloadBackoffGrowsIsCappedJitteredAndResets(t *testing.T) {
	for _, draw := range []struct {
		name string
		rand func(n int64) int64
		frac float64 // of the jitter's span drawn
	}{
		{"low", func(int64) int64 { return 0 }, 0},
		{"high", func(n int64) int64 { return n - 1 }, 1},
	} {
		t.Run(draw.name, func(t *testing.T) {
			b := newBackoff(100*time.Millisecond, time.Second)
			b.rand = draw.rand
			want := []time.Duration{100, 200, 400, 800, 1000, 1000, 1000}
			for i, d := range want {
				d *= time.Millisecond
				got := b.next()
				lo, hi := d/2, d-time.Nanosecond
				if got < lo || got > hi || (draw.frac == 0 && got != lo) || (draw.frac == 1 && got != hi) {
					t.Fatalf("pause %d: %v, want in [%v, %v] at the %s end", i, got, lo, hi, draw.name)
				}
			}
			b.reset()
			if got := b.next(); got < 50*time.Millisecond || got >= 100*time.Millisecond {
				t.Fatalf("after reset: %v, want in [50ms, 100ms)", got)
			}
		})
	}
	// The real draw spreads the pauses of followers reloading together.
	b := newBackoff(time.Second, time.Second)
	seen := map[time.Duration]bool{}
	for range 50 {
		d := b.next()
		if d < 500*time.Millisecond || d >= time.Second {
			t.Fatalf("jittered pause %v out of [500ms, 1s)", d)
		}
		seen[d] = true
	}
	if len(seen) < 10 {
		t.Fatalf("50 pauses drew only %d different ones", len(seen))
	}
}
