package fill_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/foldboard/foldboard/es/sqlite"
	"github.com/foldboard/foldboard/internal/fill"
)

// BenchmarkFillSQLite fills a fresh SQLite file with n events per
// iteration (30,000, or FOLDBOARD_BENCH_FILL's comma-separated sizes) and
// reports the rate (events/s) the fill reached and the process's CPU time
// per event (user + system): on a shared machine the rate follows the load,
// the CPU an event costs much less.
//
//	FOLDBOARD_BENCH_FILL=100000,1000000 go test -run '^$' -bench FillSQLite -benchtime 1x ./internal/fill/
func BenchmarkFillSQLite(b *testing.B) {
	sizes := []int{30_000}
	if v := os.Getenv("FOLDBOARD_BENCH_FILL"); v != "" {
		sizes = nil
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(f)
			if err != nil || n <= 0 {
				b.Fatalf("FOLDBOARD_BENCH_FILL=%q: want numbers of events, comma-separated", v)
			}
			sizes = append(sizes, n)
		}
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("events=%d", n), func(b *testing.B) { benchFill(b, n) })
	}
}

func benchFill(b *testing.B, n int) {
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
