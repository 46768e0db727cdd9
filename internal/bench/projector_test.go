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
	"github.com/foldboard/foldboard/handlers"
	"github.com/foldboard/foldboard/projections"
)

// BenchmarkRebuild rebuilds every read model from a log of 100,000 events
// over thousands of matches, carts and posts (SQLite): a fresh projector, as
// the server runs it (saving at most every DefaultSaveEvery), from the first
// event until it has applied the last. In turns with it, a bare fold of the
// same events: the log read in the same pages, each event decoded and
// evolved into its stream's state with its domain's decider, in memory.
// fold/projector is the ratio (issue 8's goal: at least 0.5).
func BenchmarkRebuild(b *testing.B) {
	f := mixedStore(b)
	var proj, fold time.Duration
	b.ResetTimer()
	for i := range b.N {
		proj += rebuild(b, f, fmt.Sprintf("bench-rebuild-%d-%d", time.Now().UnixNano(), i))
		fold += bareFold(b, f)
	}
	b.StopTimer()
	b.ReportMetric(float64(proj.Nanoseconds())/float64(b.N), "ns/op")
	b.ReportMetric(float64(f.events)*float64(b.N)/proj.Seconds(), "projector-events/s")
	b.ReportMetric(float64(f.events)*float64(b.N)/fold.Seconds(), "fold-events/s")
	b.ReportMetric(fold.Seconds()/proj.Seconds(), "fold/projector")
}

func rebuild(b *testing.B, f *mixedFixture, name string) time.Duration {
	read := handlers.NewReadSide()
	p := projections.NewProjector(projections.Config{
		Name: name, Feed: f.Feed, Store: f.ReadModels, Log: quiet, Models: read.Models(),
		SaveEvery: projections.DefaultSaveEvery,
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start := time.Now()
	if err := p.Load(ctx); err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	for p.Status().Applied < f.events {
		if st := p.Status(); st.Err != nil {
			b.Fatal(st.Err)
		}
		time.Sleep(200 * time.Microsecond)
	}
	took := time.Since(start)
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	return took
}

// bareFold reads the log as the SQLite feed does (pages of 500) and folds
// each stream with its domain's decider.
func bareFold(b *testing.B, f *mixedFixture) time.Duration {
	start := time.Now()
	matches := folder(cricket.Decider())
	carts := folder(cart.Decider())
	posts := folder(blog.Decider())
	cursor, n := "", int64(0)
	for {
		page, err := f.Store.ReadLog(context.Background(), es.LogQuery{After: cursor, Limit: 500})
		if err != nil {
			b.Fatal(err)
		}
		if len(page.Events) == 0 {
			break
		}
		for _, env := range page.Events {
			var err error
			switch env.Stream.Type {
			case cricket.StreamType:
				err = matches(env)
			case cart.StreamType:
				err = carts(env)
			case blog.StreamType:
				err = posts(env)
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		n += int64(len(page.Events))
		cursor = page.Next
	}
	if n != f.events {
		b.Fatalf("folded %d events, want %d", n, f.events)
	}
	return time.Since(start)
}

// folder returns a function that folds each event into its stream's state.
func folder[S any, C any, E es.Event](d es.Decider[S, C, E]) func(es.Envelope) error {
	states := map[string]S{}
	return func(env es.Envelope) error {
		e, err := d.Events.DecodeEnvelope(env)
		if err != nil {
			return err
		}
		s, ok := states[env.Stream.ID]
		if !ok {
			s = d.Initial()
		}
		states[env.Stream.ID] = d.Evolve(s, e)
		return nil
	}
}
