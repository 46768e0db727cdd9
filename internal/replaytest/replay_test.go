package replaytest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/es/sqlite"
	"github.com/foldboard/foldboard/handlers"
	"github.com/foldboard/foldboard/internal/apptest"
	"github.com/foldboard/foldboard/internal/testsupport"
)

const (
	streamsPerDomain = 12
	commandsPerTry   = 60
	snapshotEvery    = 4
)

func open(t *testing.T) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "replay.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// checkReplay runs random commands against streams of one module (refusals
// are part of the game), then checks every version of every stream: the fold
// from the nearest snapshot equals the fold from the first event. It returns
// each stream's final state and version.
func checkReplay(t *testing.T, store es.Store, m handlers.Module) map[es.StreamRef]final {
	t.Helper()
	ctx := context.Background()
	typ := m.StreamType()
	rng := rand.New(rand.NewPCG(uint64(len(typ)), 42))
	h := m.Kind.Handler(handlers.HandlerOptions{Store: store, SnapshotEvery: snapshotEvery})
	finals, total := map[es.StreamRef]final{}, 0
	for i := range streamsPerDomain {
		ref := es.StreamRef{Type: typ, ID: fmt.Sprintf("%s-%d", typ, i)}
		for range commandsPerTry {
			state, _, err := h.Load(ctx, ref)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = h.Handle(ctx, es.Meta{StreamID: ref.ID, Expected: es.AnyVersion, Actor: "ana"}, m.Kind.Random(rng, state))
		}
		envs, err := store.ReadStream(ctx, ref, es.ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for n, env := range envs {
			scratch, err := m.Kind.Fold(envs[:n+1])
			if err != nil {
				t.Fatal(err)
			}
			got, at, err := h.LoadAt(ctx, ref, env.Version)
			if err != nil {
				t.Fatal(err)
			}
			if at != env.Version || !testsupport.SameJSON(t, got, scratch) {
				t.Fatalf("%s at version %d: the fold from a snapshot (at %d) is\n%s\nfrom scratch\n%s", ref, env.Version, at, testsupport.JSON(t, got), testsupport.JSON(t, scratch))
			}
		}
		if len(envs) >= snapshotEvery {
			if _, ok, err := store.Snapshot(ctx, ref, int64(len(envs))); err != nil || !ok {
				t.Fatalf("%s: no snapshot after %d events (%v)", ref, len(envs), err)
			}
		}
		state, err := m.Kind.Fold(envs)
		if err != nil {
			t.Fatal(err)
		}
		finals[ref] = final{module: m, state: state, version: int64(len(envs))}
		total += len(envs)
	}
	// Random commands are often refused; enough must pass for the check to
	// mean something.
	if total < streamsPerDomain*3 {
		t.Fatalf("%s: only %d events from %d commands", typ, total, streamsPerDomain*commandsPerTry)
	}
	t.Logf("%s: %d events checked at every version", typ, total)
	return finals
}

// final is a stream's state after the random commands, folded from scratch.
type final struct {
	module  handlers.Module
	state   any
	version int64
}

func TestReplayFromSnapshotsAgreesWithFoldFromScratch(t *testing.T) {
	store := open(t)
	finals := map[es.StreamRef]final{}
	for _, m := range handlers.Modules() {
		for ref, f := range checkReplay(t, store, m) {
			finals[ref] = f
		}
	}

	// A fresh projector, fed by the store's feed, must reach the same
	// states in every module's read model.
	p := apptest.StartProjector(t, "replaytest", store.Feed(), store)
	heads := map[es.StreamRef]int64{}
	for ref, f := range finals {
		if f.version > 0 {
			heads[ref] = f.version
		}
	}
	p.WaitCaughtUp(t, heads, 20*time.Second, "replaying every module")
	read := p.Read
	for ref, want := range finals {
		if want.version == 0 {
			if _, ok, err := want.module.ReadState(t.Context(), read, ref.ID); ok || err != nil {
				t.Errorf("a read model of %s, which has no events", ref)
			}
			continue
		}
		got, ok, err := want.module.ReadState(t.Context(), read, ref.ID)
		if err != nil {
			t.Errorf("reading the read model of %s: %v", ref, err)
		} else if !ok {
			t.Errorf("no read model of %s", ref)
		} else if !testsupport.SameJSON(t, got, want.state) {
			t.Errorf("read model of %s:\n%s\nwant\n%s", ref, testsupport.JSON(t, got), testsupport.JSON(t, want.state))
		}
	}
}
