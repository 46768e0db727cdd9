package views

import (
	"testing"
	"time"
)

// The window answers the quantiles of the last minute's samples, keeps at
// most LatencyKept (the newest), and leaves out what measures clocks.
func TestLatencyWindow(t *testing.T) {
	var w LatencyWindow
	t0 := time.Unix(1_000_000, 0)
	if f := w.Figures(t0); f.N != 0 {
		t.Fatalf("empty window: %+v", f)
	}
	for i := 1; i <= 100; i++ {
		w.Add(t0, time.Duration(i)*time.Millisecond)
	}
	w.Add(t0, -time.Millisecond)
	w.Add(t0, 2*LatencySpan)
	if f := w.Figures(t0); f.N != 100 || f.P50 != 51*time.Millisecond || f.P99 != 100*time.Millisecond {
		t.Errorf("1..100 ms: %+v; want 100 samples, p50 51 ms, p99 100 ms", f)
	}
	later := t0.Add(LatencySpan + time.Second)
	w.Add(later, 7*time.Millisecond)
	if f := w.Figures(later); f.N != 1 || f.P50 != 7*time.Millisecond || f.P99 != 7*time.Millisecond {
		t.Errorf("a minute on: %+v; want only the newest sample", f)
	}
	for range 3 * LatencyKept {
		w.Add(later, time.Second)
	}
	if f := w.Figures(later); f.N != LatencyKept || f.P50 != time.Second {
		t.Errorf("past the bound: %+v; want the newest %d", f, LatencyKept)
	}
}
