package bench_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/foldboard/foldboard/domain/cart"
	"github.com/foldboard/foldboard/es"
)

func cartHandler(s es.Store) *es.Handler[cart.State, cart.Command, cart.Event] {
	return &es.Handler[cart.State, cart.Command, cart.Event]{Decider: cart.Decider(), Store: s, SnapshotEvery: snapshotEvery}
}

// BenchmarkLoadState loads the current state of a cart stream of 10, 1,000
// and 100,000 events (10,000 on DynamoDB Local) as a command does (Load: the
// state item, one read) and as replay to the latest version does (LoadAt:
// the newest snapshot and the events after it), each in turns with the same
// on the 10-event stream. x-vs-10 is the ratio: flat means about 1. fold-ms
// is what folding the whole stream from its first event takes, once: the cost
// the state items and snapshots save.
func BenchmarkLoadState(b *testing.B) {
	for _, be := range backends {
		for _, n := range growingSizes[be.name] {
			b.Run(fmt.Sprintf("store=%s/events=%d", be.name, n), func(b *testing.B) {
				f := growingStore(b, be)
				h := cartHandler(f.Store)
				ctx := context.Background()
				big, small := f.streams[n], f.streams[growingSizes[be.name][0]]
				var load, loadSmall, at, atSmall time.Duration
				timed := func(do func() error) time.Duration {
					start := time.Now()
					if err := do(); err != nil {
						b.Fatal(err)
					}
					return time.Since(start)
				}
				b.ResetTimer()
				for range b.N {
					load += timed(func() error { _, v, err := h.Load(ctx, big); return want(v, n, err) })
					loadSmall += timed(func() error { _, _, err := h.Load(ctx, small); return err })
					at += timed(func() error { _, v, err := h.LoadAt(ctx, big, int64(n)); return want(v, n, err) })
					atSmall += timed(func() error { _, _, err := h.LoadAt(ctx, small, 10); return err })
				}
				b.StopTimer()
				per := func(d time.Duration) float64 { return us(d) / float64(b.N) }
				b.ReportMetric(float64(load.Nanoseconds())/float64(b.N), "ns/op")
				b.ReportMetric(per(load), "load-us")
				b.ReportMetric(per(load)/per(loadSmall), "load-x-vs-10")
				b.ReportMetric(per(at), "loadat-us")
				b.ReportMetric(per(at)/per(atSmall), "loadat-x-vs-10")
				b.ReportMetric(ms(foldFromScratch(b, be, f, n)), "fold-ms")
			})
		}
	}
}

func want(v int64, n int, err error) error {
	if err == nil && v != int64(n) {
		return fmt.Errorf("loaded version %d, want %d", v, n)
	}
	return err
}

var folded sync.Map // "store/n" → time.Duration

// foldFromScratch folds the whole stream from its first event, as a store
// without state items or snapshots would for every command (once per size).
func foldFromScratch(b *testing.B, be backend, f *growingFixture, n int) time.Duration {
	key := fmt.Sprint(be.name, "/", n)
	if d, ok := folded.Load(key); ok {
		return d.(time.Duration)
	}
	d := cart.Decider()
	start := time.Now()
	state, at := d.Initial(), int64(0)
	for {
		envs, err := f.Store.ReadStream(context.Background(), f.streams[n], es.ReadOptions{From: at + 1, Limit: 1000})
		if err != nil {
			b.Fatal(err)
		}
		if len(envs) == 0 {
			break
		}
		for _, env := range envs {
			e, err := d.Events.DecodeEnvelope(env)
			if err != nil {
				b.Fatal(err)
			}
			state, at = d.Evolve(state, e), env.Version
		}
	}
	took := time.Since(start)
	if at != int64(n) || state.Items != n {
		b.Fatalf("folded to version %d with %d items, want %d", at, state.Items, n)
	}
	folded.Store(key, took)
	return took
}

// BenchmarkReplay replays the longest growing stream (100,000 events on
// SQLite) to a random version, as the timeline does: LoadAt in the process
// (the newest snapshot at or below it and the events after), the JSON state
// route (GET /streams/cart/{id}/state?version=N), and a step of the timeline
// (GET …/timeline?v=N&fragment=1: the state before and after, the event, the
// diff and the events around it, rendered). Issue 6's goal: a median under
// 20 ms on SQLite.
func BenchmarkReplay(b *testing.B) {
	for _, be := range backends {
		sizes := growingSizes[be.name]
		n := sizes[len(sizes)-1]
		b.Run(fmt.Sprintf("store=%s/events=%d", be.name, n), func(b *testing.B) {
			f := growingStore(b, be)
			st := f.stores
			st.Feed = idleFeed{} // the read side is not what is measured
			a := startApp(b, st)
			h := cartHandler(f.Store)
			ref := f.streams[n]
			rng := rand.New(rand.NewPCG(1, 2))
			var loadAt, state, step durations
			b.ResetTimer()
			for range b.N {
				v := 1 + rng.Int64N(int64(n))
				start := time.Now()
				if _, at, err := h.LoadAt(context.Background(), ref, v); err != nil || at != v {
					b.Fatalf("LoadAt(%d) = %d, %v", v, at, err)
				}
				loadAt = append(loadAt, time.Since(start))
				start = time.Now()
				a.get(b, fmt.Sprintf("/streams/%s/%s/state?version=%d", ref.Type, ref.ID, v))
				state = append(state, time.Since(start))
				start = time.Now()
				a.get(b, fmt.Sprintf("/streams/%s/%s/timeline?v=%d&fragment=1", ref.Type, ref.ID, v))
				step = append(step, time.Since(start))
			}
			b.StopTimer()
			b.ReportMetric(float64(step.quantile(0.5).Nanoseconds()), "ns/op")
			b.ReportMetric(ms(loadAt.quantile(0.5)), "loadat-p50-ms")
			b.ReportMetric(ms(state.quantile(0.5)), "state-p50-ms")
			b.ReportMetric(ms(step.quantile(0.5)), "timeline-p50-ms")
			b.ReportMetric(ms(step.quantile(0.99)), "timeline-p99-ms")
			b.ReportMetric(ms(step.quantile(0.5))/20, "timeline/goal")
		})
	}
}

// idleFeed has no events: a server on it serves reads without projecting.
type idleFeed struct{}

func (idleFeed) Follow(ctx context.Context, _ string, _ func(context.Context, es.Batch) error) error {
	<-ctx.Done()
	return nil
}
