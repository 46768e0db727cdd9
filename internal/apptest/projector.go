package apptest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/handlers"
	"github.com/foldboard/foldboard/projections"
)

// Projector is a projector over every module's read models (a fresh read
// side), run in the background until Stop or the end of the test: the
// "fresh projector, then compare" of the replay, recovery and crash tests.
type Projector struct {
	Name string
	*projections.Projector
	Read *projections.ReadSide
	stop func()
}

// StartProjector loads the read models saved under name (none for a new
// name) and runs a projector over feed.
func StartProjector(t testing.TB, name string, feed es.Feed, rm es.ReadModelStore) *Projector {
	t.Helper()
	read := handlers.NewReadSide()
	p := projections.NewProjector(projections.Config{
		Name: name, Feed: feed, Store: rm, Models: read.Models(), Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err := p.Load(context.Background()); err != nil {
		t.Fatalf("loading %s: %v", name, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); p.Run(ctx) }()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
		}
	}
	t.Cleanup(stop)
	return &Projector{Name: name, Projector: p, Read: read, stop: stop}
}

// Stop stops the projector (at most once) and waits for it.
func (p *Projector) Stop() { p.stop() }

// WaitCaughtUp waits until the projector has applied every stream up to its
// version in heads, and says how long that took. A stream that is parked
// fails the test: its read models stopped short (WaitFor counts it as
// reached).
func (p *Projector) WaitCaughtUp(t testing.TB, heads map[es.StreamRef]int64, limit time.Duration, why string) time.Duration {
	t.Helper()
	begin := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	for ref, v := range heads {
		reached := p.WaitFor(ctx, ref, v)
		if info, _, err := p.Catalogue().Stream(context.Background(), ref); err != nil || !reached || info.Parked != "" {
			t.Fatalf("%s: projector %s has %s at version %d (parked: %q, %v), not %d, after %v", why, p.Name, ref, info.Version, info.Parked, err, v, limit)
		}
	}
	return time.Since(begin)
}

// Doc returns the current document under key, from whichever model owns it
// (read back from the store when the model saved it and let it go).
func (p *Projector) Doc(key string) (json.RawMessage, error) {
	for _, m := range append([]projections.Model{p.Catalogue()}, p.Read.Models()...) {
		if m.Owns(key) {
			return p.Projector.Doc(context.Background(), key)
		}
	}
	return nil, fmt.Errorf("no read model owns %q", key)
}
