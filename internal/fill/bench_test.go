package fill_test

import (
	"context"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/foldboard/foldboard/es/sqlite"
	"github.com/foldboard/foldboard/internal/fill"
)

// BenchmarkFillSQLite fills a fresh SQLite file with 30,000 events per
// iteration and reports the rate (events/s) the fill reached and the
// process's CPU time per event (user + system): on a shared machine the
// rate follows the load, the CPU an event costs much less.
func BenchmarkFillSQLite(b *testing.B) {
	const n = 30_000
	var events, secs float64
	var cpu time.Duration
	for i := range b.N {
		b.StopTimer()
		store, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "fill.db"))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		before := cpuTime(b)
		sum, err := fill.Events(context.Background(), store, n, fill.Options{Seed: uint64(i)})
		if err != nil {
			b.Fatal(err)
		}
		cpu += cpuTime(b) - before
		b.StopTimer()
		events += float64(sum.Events)
		secs += sum.Took.Seconds()
		store.Close()
		b.StartTimer()
	}
	b.ReportMetric(events/secs, "events/s")
	b.ReportMetric(float64(cpu.Microseconds())/events, "cpu-µs/event")
}

// cpuTime is the CPU time the process has used so far.
func cpuTime(b *testing.B) time.Duration {
	b.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
