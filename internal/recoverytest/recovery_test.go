package recoverytest

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/internal/apptest"
	"github.com/foldboard/foldboard/internal/testsupport"
)

// running is a projector running over a store.
type running = apptest.Projector

// start loads the read models saved under name and runs a projector over
// feed until stop (or the end of the test).
func start(t *testing.T, name string, feed es.Feed, rm es.ReadModelStore) *running {
	t.Helper()
	return apptest.StartProjector(t, name, feed, rm)
}

// TestProjectorRecoversWithNoLostOrDoubledEffect puts a projector through its
// ordeals while commands keep coming: its feed breaks, hands batches on twice
// or after they were applied; saves of its read models fail; it is stopped
// mid-stream and falls far behind; on DynamoDB the database itself goes away
// and comes back. Then its read models, those it saved (a restart loads them
// and catches up) and a fresh projector's full replay must all agree.
func TestProjectorRecoversWithNoLostOrDoubledEffect(t *testing.T) {
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) { testRecovery(t, s.open(t)) })
	}
}

func testRecovery(t *testing.T, f fixture) {
	const name = "readmodels"
	// A fault at every batch until nine have happened: DynamoDB's feed may
	// bring the whole run in a handful of batches, and each kind must occur.
	feed := &faultyFeed{Feed: f.feed, every: 1, max: 9}
	rm := &faultyReadModels{ReadModelStore: f.rm, every: 3, max: 6}
	w := newWriters(f)

	// Commands while the projector runs, with faults; stopped mid-stream.
	r1 := start(t, name, feed, rm)
	wrote := make(chan struct{})
	n := func(commands int) int { return commands * f.load / 100 }
	go func() { defer close(wrote); w.write(t, "a", n(240), 8) }()
	deadline := time.Now().Add(20 * time.Second)
	for r1.Status().Applied < 40 {
		if time.Now().After(deadline) {
			t.Fatalf("the projector applied %d events in 20 s, while commands came", r1.Status().Applied)
		}
		time.Sleep(5 * time.Millisecond)
	}
	r1.Stop()
	<-wrote

	// Far behind: many more commands while it is stopped (more than a
	// feed batch), then a new projector on what the first one saved, with
	// faults, and more commands; on DynamoDB, an outage in the middle.
	w.write(t, "b", n(720), 8)
	r2 := start(t, name, feed, rm)
	wrote = make(chan struct{})
	go func() { defer close(wrote); w.write(t, "c", n(320), 8) }()
	if f.outage != nil {
		time.Sleep(200 * time.Millisecond)
		f.outage(t, time.Second)
	}
	<-wrote
	// DynamoDB's feed may bring a whole phase in a few batches (a start
	// without a saved position reads the events table in one): a few
	// commands more at a time, each caught up, until each kind of feed
	// fault has happened (they come in turn, one a batch).
	deadline = time.Now().Add(60 * time.Second)
	for i := 0; feed.faults.Load() < 3; i++ {
		if time.Now().After(deadline) {
			t.Fatalf("only %d feed faults in 60 s of a few commands at a time", feed.faults.Load())
		}
		w.write(t, fmt.Sprintf("d%d", i), 2, 1)
		r2.WaitCaughtUp(t, w.heads(t), 30*time.Second, "between the faults")
	}
	heads := w.heads(t)
	caughtUp := r2.WaitCaughtUp(t, heads, 30*time.Second, "after its ordeal")
	r2.Stop()

	// What it saved is whole: a restart from it reaches every head.
	r3 := start(t, name, f.feed, f.rm)
	restart := r3.WaitCaughtUp(t, heads, 20*time.Second, "restarted from its saved read models (an effect that was never saved is lost)")
	// And equals a replay of the whole log from scratch.
	fresh := start(t, "fresh", f.feed, f.rm)
	replay := fresh.WaitCaughtUp(t, heads, 30*time.Second, "replaying from scratch")
	keys := savedKeys(t, f.rm, name, "fresh")
	compare(t, "after the ordeal", r2, fresh, keys, f.ordered)
	compare(t, "restarted from what was saved", r3, fresh, keys, f.ordered)

	var events int64
	for _, v := range heads {
		events += v
	}
	t.Logf("figures: %d events in %d streams; faults: %d feed breaks, %d batches handed on twice, %d saves failed, %d commands resent; "+
		"caught up %v after the last command, restart caught up in %v, full replay in %v",
		events, len(heads), feed.broke.Load(), feed.doubled.Load(), rm.failed, w.retried,
		caughtUp.Round(time.Millisecond), restart.Round(time.Millisecond), replay.Round(time.Millisecond))
	if feed.broke.Load() == 0 || feed.doubled.Load() == 0 || rm.failed == 0 {
		t.Errorf("not every fault happened: %d breaks, %d doubled batches, %d failed saves", feed.broke.Load(), feed.doubled.Load(), rm.failed)
	}
}

// savedKeys lists the document keys saved under any of the names.
func savedKeys(t *testing.T, rm es.ReadModelStore, names ...string) []string {
	t.Helper()
	seen := map[string]bool{}
	for _, name := range names {
		_, docs, err := rm.LoadReadModels(context.Background(), name)
		if err != nil {
			t.Fatal(err)
		}
		for k := range docs {
			seen[k] = true
		}
	}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// compare checks that two projectors hold the same documents. Where the feed
// has no global order, the event index is compared as a set and the rate
// (which counts recent events) is left out: both depend on the order across
// streams.
func compare(t *testing.T, what string, got, want *running, keys []string, ordered bool) {
	t.Helper()
	var gotIndex, wantIndex []json.RawMessage
	for _, key := range keys {
		g, err := got.Doc(key)
		if err != nil {
			t.Fatal(err)
		}
		w, err := want.Doc(key)
		if err != nil {
			t.Fatal(err)
		}
		if !ordered && strings.HasPrefix(key, "events/") {
			gotIndex, wantIndex = appendEntries(t, gotIndex, g), appendEntries(t, wantIndex, w)
			continue
		}
		if !ordered && key == "rate" {
			continue
		}
		if !sameJSON(t, g, w) {
			t.Errorf("%s: read model %s differs from a full replay:\ngot    %s\nreplay %s", what, key, clip(g), clip(w))
		}
	}
	if !ordered {
		sortRaw(gotIndex)
		sortRaw(wantIndex)
		if !reflect.DeepEqual(gotIndex, wantIndex) {
			t.Errorf("%s: the event index holds %d entries, a full replay %d, or others", what, len(gotIndex), len(wantIndex))
		}
	}
}

func appendEntries(t *testing.T, to []json.RawMessage, chunk json.RawMessage) []json.RawMessage {
	t.Helper()
	if chunk == nil {
		return to
	}
	var entries []json.RawMessage
	if err := json.Unmarshal(chunk, &entries); err != nil {
		t.Fatalf("event index chunk: %v", err)
	}
	return append(to, entries...)
}

func sortRaw(rs []json.RawMessage) {
	slices.SortFunc(rs, func(a, b json.RawMessage) int { return strings.Compare(string(a), string(b)) })
}

func sameJSON(t *testing.T, a, b json.RawMessage) bool { return testsupport.SameJSON(t, a, b) }

func clip(b []byte) string {
	if len(b) > 400 {
		return string(b[:400]) + "…"
	}
	return string(b)
}
