package bench_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/foldboard/foldboard/domain/blog"
	"github.com/foldboard/foldboard/domain/cart"
	"github.com/foldboard/foldboard/domain/cricket"
	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/internal/loadgen"
)

// BenchmarkCommands sends JSON commands through HTTP to a running foldboard,
// as `foldboard load` does (the default mix: matches and their innings, cart
// adds and checkouts, posts created, published and retitled; a command id with
// each, as the pages' forms send), with 1, 4 and 16 clients on streams of
// their own; and, in turns with it, appends the very events those commands
// appended, with the same states, command ids and concurrency, straight to a
// fresh store of the same kind (es.Store.Append, nothing tailing it). A turn
// of commands ends when the read side has applied them too, so cmd/s is what
// foldboard sustains, projector included. http/raw is the ratio.
func BenchmarkCommands(b *testing.B) {
	for _, be := range backends {
		for _, clients := range []int{1, 4, 16} {
			b.Run(fmt.Sprintf("store=%s/clients=%d", be.name, clients), func(b *testing.B) {
				benchCommands(b, be, clients)
			})
		}
	}
}

var defaultMix = func() loadgen.Mix {
	m, err := loadgen.ParseMix("innings=1,cart=2,post=1")
	if err != nil {
		panic(err)
	}
	return m
}()

func benchCommands(b *testing.B, be backend, clients int) {
	freshStore(b, be)
	dir := b.TempDir()
	a := startApp(b, be.open(b, dir))
	raw := be.open(b, dir)
	// Turns of a few hundred commands keep both sides under the same
	// conditions (other work on the machine, the store's size).
	turn := max(200, 25*clients)
	var accepted int64
	// round runs n commands through HTTP, then appends the same events raw.
	round := func(n int, runID string) (httpTime, rawTime time.Duration, rep *loadgen.Report) {
		start := time.Now()
		rep, err := loadgen.Run(context.Background(), loadgen.Config{
			Addr: a.Addr, Clients: clients, Count: int64(n), Duration: 10 * time.Minute,
			Mix: defaultMix, CommandIDs: true, RunID: runID,
		})
		if err != nil {
			b.Fatal(err)
		}
		if rep.Accepted != int64(n) || rep.Errors > 0 {
			b.Fatalf("%d of %d commands accepted (statuses %v, %d without answer: %s)", rep.Accepted, n, rep.Status, rep.Errors, rep.FirstError)
		}
		accepted += rep.Accepted
		a.waitApplied(b, accepted)
		httpTime = time.Since(start)

		b.StopTimer()
		writers := sameEvents(b, a.Store, runID, clients)
		b.StartTimer()
		rawTime = appendAll(b, raw.Store, writers)
		var appended int64
		for _, w := range writers {
			appended += int64(len(w))
		}
		if appended != rep.Accepted {
			b.Fatalf("%d raw appends for %d commands", appended, rep.Accepted)
		}
		return httpTime, rawTime, rep
	}
	// One turn of each, unmeasured, first: a fresh DynamoDB Local's JVM
	// compiles its hot paths during its first thousand or so calls, and the
	// first turn (the commands) would pay for both.
	round(turn, "warm")

	var httpTime, rawTime time.Duration
	var lat loadgen.Histogram
	var commands, getRecords int64
	if a.GetRecords != nil {
		getRecords = -a.GetRecords.Load()
	}
	b.ResetTimer()
	for done, i := 0, 0; done < b.N; i++ {
		n := min(turn, b.N-done)
		h, r, rep := round(n, fmt.Sprintf("r%d", i))
		httpTime += h
		rawTime += r
		commands += rep.Accepted
		lat.Merge(&rep.Latency)
		done += n
	}
	b.StopTimer()
	if a.GetRecords != nil {
		getRecords += a.GetRecords.Load()
		b.ReportMetric(float64(getRecords)/float64(commands), "getrecords/cmd")
	}
	cmdRate := float64(commands) / httpTime.Seconds()
	rawRate := float64(commands) / rawTime.Seconds()
	b.ReportMetric(float64(httpTime.Nanoseconds())/float64(b.N), "ns/op")
	b.ReportMetric(cmdRate, "cmd/s")
	b.ReportMetric(rawRate, "raw-appends/s")
	b.ReportMetric(cmdRate/rawRate, "http/raw")
	b.ReportMetric(ms(lat.Quantile(0.5)), "p50-ms")
	b.ReportMetric(ms(lat.Quantile(0.99)), "p99-ms")
}

// sameEvents reads back the events a load run appended, per client, and
// makes the raw appends of the same events: client c's streams go to writer c.
func sameEvents(b *testing.B, s es.Store, runID string, clients int) [][]es.AppendRequest {
	writers := make([][]es.AppendRequest, clients)
	for c := range clients {
		for _, typ := range []string{cricket.StreamType, cart.StreamType, blog.StreamType} {
			for n := 0; ; n++ {
				ref := es.StreamRef{Type: typ, ID: loadgen.StreamID(runID, c, n, false)}
				envs, err := s.ReadStream(context.Background(), ref, es.ReadOptions{})
				if err != nil {
					b.Fatal(err)
				}
				if len(envs) == 0 {
					break
				}
				writers[c] = append(writers[c], requests(b, envs)...)
			}
		}
	}
	return writers
}
