package bench_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/foldboard/foldboard/internal/fill"
	"github.com/foldboard/foldboard/internal/loadgen"
)

// BenchmarkEventsByType is GET /events?type=…&limit=50 (JSON) on stores of
// 1,000 and 100,000 events filled by `seed -events` (internal/fill): a page
// of a type that a tenth of the events have, and of a type none has (issue
// 18.3's probe, which read the whole log). The page's work is bounded by its
// limit, so the two sizes should take the same time; the server has applied
// every event before the timing starts. SQLite (its index by type); on
// DynamoDB a page by type examines a bounded stretch of the log, whatever
// its size (the conformance suite shows the bound):
//
//	go test -run '^$' -bench EventsByType -benchtime 300x ./internal/bench/
func BenchmarkEventsByType(b *testing.B) {
	for _, size := range []int{1_000, 100_000} {
		for _, typ := range []string{"PostPublished", "NoSuchType"} {
			b.Run(fmt.Sprintf("events=%d/type=%s", size, typ), func(b *testing.B) {
				st := sqliteBackend.open(b, b.TempDir())
				if _, err := fill.Events(b.Context(), st.Store, size, fill.Options{Seed: 7, End: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)}); err != nil {
					b.Fatal(err)
				}
				a := startApp(b, st)
				a.waitApplied(b, int64(size))
				path := "/events?limit=50&type=" + typ
				a.get(b, path) // warm
				var lat loadgen.Histogram
				b.ResetTimer()
				for range b.N {
					start := time.Now()
					a.get(b, path)
					lat.Record(time.Since(start))
				}
				b.StopTimer()
				b.ReportMetric(ms(lat.Quantile(0.5)), "p50-ms")
				b.ReportMetric(ms(lat.Quantile(0.99)), "p99-ms")
			})
		}
	}
}
