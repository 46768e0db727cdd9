package bench_test

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/foldboard/foldboard/internal/fill"
)

// BenchmarkGrowth is issue 19.2's baseline: on SQLite stores filled by
// `seed -events` (internal/fill) with 10,000 events and with
// FOLDBOARD_BENCH_GROWTH events (default 100,000; 1,000,000 for the issue's
// goal), the live heap after start (the projector having applied every
// event, after a GC), the time from start to that, and the live heap after
// serving the pages below once each. Compare the sizes' figures: the goal
// is ≤ 1.3× the small store's heap and ≤ 1.5× its start.
//
// FOLDBOARD_BENCH_HEAPPROFILE=path writes a heap profile of each size after
// serving (path.10000, …).
//
//	FOLDBOARD_BENCH_GROWTH=1000000 go test -run '^$' -bench Growth -benchtime 1x ./internal/bench/
func BenchmarkGrowth(b *testing.B) {
	big := 100_000
	if v := os.Getenv("FOLDBOARD_BENCH_GROWTH"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			b.Fatalf("FOLDBOARD_BENCH_GROWTH=%q: want a number of events", v)
		}
		big = n
	}
	pages := []string{"/events", "/events?type=PostPublished", "/projections"}
	// As a browser sees them, after the restart: the dashboard, the event
	// browser's first and an older page, a list and the timeline's topic.
	htmlPages := []string{"/", "/events", "/events?before=5000", "/events?type=PostPublished", "/matches", "/posts", "/carts"}
	for _, size := range []int{10_000, big} {
		b.Run(fmt.Sprintf("events=%d", size), func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				st := sqliteBackend.open(b, b.TempDir())
				if _, err := fill.Events(b.Context(), st.Store, size, fill.Options{Seed: 9, End: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)}); err != nil {
					b.Fatal(err)
				}
				base := liveHeap()
				b.StartTimer()
				start := time.Now()
				a := startApp(b, st)
				waitAppliedWithin(b, a, int64(size), 20*time.Minute) // 10⁶ on a loaded machine takes minutes
				took := time.Since(start)
				b.StopTimer()
				started := liveHeap()
				for _, p := range pages {
					a.get(b, p)
				}
				served := liveHeap()
				if path := os.Getenv("FOLDBOARD_BENCH_HEAPPROFILE"); path != "" {
					writeHeapProfile(b, fmt.Sprintf("%s.%d", path, size)) // what holds it: go tool pprof -sample_index inuse_space
				}
				// A restart on the read models saved: what a start costs
				// once the store has been projected (the first start above
				// projects the whole log).
				a.Stop()
				base = liveHeap()
				begin := time.Now()
				a = startApp(b, st)
				a.getHTML(b, "/")
				restart := time.Since(begin)
				restarted := liveHeap()
				for _, p := range htmlPages {
					a.getHTML(b, p)
				}
				restartServed := liveHeap()
				// Page latency after the restart, each path once, in turns:
				// streams picked at random over the whole store (mostly
				// not in memory), the lists, event browser pages anywhere.
				rng := rand.New(rand.NewPCG(uint64(size), 1))
				var streamPages, eventPages []string
				for _, typ := range []struct{ stream, route string }{{"match", "/matches/"}, {"cart", "/carts/"}} {
					all, err := a.Server.Projector().Catalogue().Streams(b.Context(), typ.stream)
					if err != nil || len(all) == 0 {
						b.Fatalf("the %s streams: %d, %v", typ.stream, len(all), err)
					}
					for range 100 {
						streamPages = append(streamPages, typ.route+all[rng.IntN(len(all))].Stream.ID)
					}
				}
				for range 200 {
					eventPages = append(eventPages, fmt.Sprintf("/events?before=%d", 1+rng.IntN(size)))
				}
				listPages := []string{"/matches", "/carts", "/posts", "/accounts"}
				var streamTook, listTook, eventTook []time.Duration
				for i := range 200 {
					streamTook = append(streamTook, a.timeHTML(b, streamPages[i]))
					listTook = append(listTook, a.timeHTML(b, listPages[i%len(listPages)]))
					eventTook = append(eventTook, a.timeHTML(b, eventPages[i]))
				}
				b.ReportMetric(float64(took.Milliseconds()), "start-ms")
				b.ReportMetric(mb(started-base), "heap-started-MB")
				b.ReportMetric(mb(served-base), "heap-served-MB")
				b.ReportMetric(float64(restart.Milliseconds()), "restart-ms")
				b.ReportMetric(mb(restarted-base), "heap-restarted-MB")
				b.ReportMetric(mb(restartServed-base), "heap-restart-served-MB")
				b.ReportMetric(p99ms(streamTook), "p99-stream-ms")
				b.ReportMetric(p99ms(listTook), "p99-list-ms")
				b.ReportMetric(p99ms(eventTook), "p99-events-ms")
			}
		})
	}
}

// timeHTML is how long getHTML of path took.
func (a *app) timeHTML(tb testing.TB, path string) time.Duration {
	start := time.Now()
	a.getHTML(tb, path)
	return time.Since(start)
}

// p99ms is the 99th percentile of ds, in milliseconds.
func p99ms(ds []time.Duration) float64 {
	s := slices.Clone(ds)
	slices.Sort(s)
	return float64(s[min(len(s)-1, len(s)*99/100)].Microseconds()) / 1000
}

// liveHeap is the heap in use after a collection.
func liveHeap() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

func mb(n int64) float64 { return float64(n) / (1 << 20) }

func writeHeapProfile(b *testing.B, path string) {
	b.Helper()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.WriteHeapProfile(f); err != nil {
		b.Fatal(err)
	}
}

// getHTML gets path as a browser would (text/html), failing on any status
// but 200.
func (a *app) getHTML(tb testing.TB, path string) []byte {
	tb.Helper()
	req, _ := http.NewRequest(http.MethodGet, a.URL+path, nil)
	req.Header.Set("Accept", "text/html")
	req.Header.Set("X-Actor", "admin")
	res, err := httpClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		tb.Fatalf("GET %s: %d %s", path, res.StatusCode, data)
	}
	return data
}

// waitAppliedWithin is waitApplied with a limit of its own.
func waitAppliedWithin(tb testing.TB, a *app, n int64, limit time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(limit)
	for a.Server.Projector().Status().Applied < n {
		if time.Now().After(deadline) {
			tb.Fatalf("the projector applied %d events in %v, want %d", a.Server.Projector().Status().Applied, limit, n)
		}
		time.Sleep(time.Millisecond)
	}
}
