package relay_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/es/relay"
	"github.com/foldboard/foldboard/internal/redistest"
)

func sameBatches(t *testing.T, got, want []es.Batch) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d batches, want %d:\n got %v\nwant %v", len(got), len(want), checkpoints(got), checkpoints(want))
	}
	for i := range want {
		if got[i].Checkpoint != want[i].Checkpoint {
			t.Errorf("batch %d: checkpoint %q, want %q", i, got[i].Checkpoint, want[i].Checkpoint)
		}
		if len(got[i].Events) != len(want[i].Events) {
			t.Errorf("batch %d: %d events, want %d", i, len(got[i].Events), len(want[i].Events))
			continue
		}
		for j := range want[i].Events {
			if !reflect.DeepEqual(got[i].Events[j], want[i].Events[j]) {
				t.Errorf("batch %d, event %d:\n got %#v\nwant %#v", i, j, got[i].Events[j], want[i].Events[j])
			}
		}
	}
}

func checkpoints(bs []es.Batch) []string {
	var out []string
	for _, b := range bs {
		out = append(out, b.Checkpoint)
	}
	return out
}

func TestFollowerGetsEveryBatchInOrderWithTheSameEnvelopes(t *testing.T) {
	url, prefix := redistest.URL(t), redistest.Prefix(t)
	holder := open(t, url, relay.Options{Prefix: prefix})
	var want []es.Batch
	want = append(want, publish(t, holder, 1, 0, 3))
	want = append(want, publish(t, holder, 1, 3, 3)) // empty: the checkpoint stays
	noPositions := es.Batch{Events: events(3, 5), Checkpoint: cp(5)}
	for i := range noPositions.Events {
		noPositions.Events[i].Position = ""
	}
	if err := holder.Publish(t.Context(), 1, cp(3), noPositions); err != nil {
		t.Fatal(err)
	}
	want = append(want, noPositions)
	want = append(want, publish(t, holder, 1, 5, 6))

	f := follow(t, open(t, url, relay.Options{Prefix: prefix}), "")
	got := f.waitFor(t, len(want))
	sameBatches(t, got, want)

	// And a batch published while it waits.
	want = append(want, publish(t, holder, 1, 6, 8))
	sameBatches(t, f.waitFor(t, len(want)), want)
}

func TestFollowResumesFromACheckpoint(t *testing.T) {
	url, prefix := redistest.URL(t), redistest.Prefix(t)
	holder := open(t, url, relay.Options{Prefix: prefix})
	publish(t, holder, 1, 0, 2)
	publish(t, holder, 1, 2, 4)
	want := []es.Batch{publish(t, holder, 1, 4, 5), publish(t, holder, 1, 5, 9)}

	f := follow(t, open(t, url, relay.Options{Prefix: prefix}), cp(4))
	sameBatches(t, f.waitFor(t, 2), want)
}

func TestFollowFromTheNewestCheckpointWaitsForTheNextBatch(t *testing.T) {
	url, prefix := redistest.URL(t), redistest.Prefix(t)
	holder := open(t, url, relay.Options{Prefix: prefix})
	publish(t, holder, 1, 0, 2)
	f := follow(t, open(t, url, relay.Options{Prefix: prefix}), cp(2))
	blocked(t, url, 1)
	want := []es.Batch{publish(t, holder, 1, 2, 3)}
	sameBatches(t, f.waitFor(t, 1), want)
}

func TestFollowOnAnEmptyRedisTakesTheFirstBatchThatContinues(t *testing.T) {
	url, prefix := redistest.URL(t), redistest.Prefix(t)
	holder := open(t, url, relay.Options{Prefix: prefix})
	f := follow(t, open(t, url, relay.Options{Prefix: prefix}), cp(4))
	blocked(t, url, 1)
	want := []es.Batch{publish(t, holder, 1, 4, 6), publish(t, holder, 1, 6, 7)}
	sameBatches(t, f.waitFor(t, 2), want)
}

func TestFollowOnAnEmptyRedisRefusesAFirstBatchThatDoesNotContinue(t *testing.T) {
	url, prefix := redistest.URL(t), redistest.Prefix(t)
	holder := open(t, url, relay.Options{Prefix: prefix})
	f := follow(t, open(t, url, relay.Options{Prefix: prefix}), cp(4))
	blocked(t, url, 1)
	publish(t, holder, 1, 5, 6)
	if err := f.result(t); !errors.Is(err, relay.ErrBehind) {
		t.Fatalf("Follow = %v, want ErrBehind", err)
	}
	if got := f.got(); len(got) != 0 {
		t.Fatalf("applied %v, want nothing", checkpoints(got))
	}
}

func TestABatchThatDoesNotContinueIsNeverApplied(t *testing.T) {
	url, prefix := redistest.URL(t), redistest.Prefix(t)
	holder := open(t, url, relay.Options{Prefix: prefix})
	want := []es.Batch{publish(t, holder, 1, 0, 2), publish(t, holder, 1, 2, 5)}
	// A new holder, started from an older saved checkpoint: its batches
	// begin elsewhere.
	publish(t, holder, 2, 2, 4)
	publish(t, holder, 2, 4, 6)

	f := follow(t, open(t, url, relay.Options{Prefix: prefix}), "")
	err := f.result(t)
	if !errors.Is(err, relay.ErrBehind) {
		t.Fatalf("Follow = %v, want ErrBehind", err)
	}
	sameBatches(t, f.got(), want)
	t.Logf("Follow: %v", err)

	// Reloaded at the new holder's checkpoint, it follows the new batches.
	g := follow(t, open(t, url, relay.Options{Prefix: prefix}), cp(4))
	sameBatches(t, g.waitFor(t, 1), []es.Batch{{Events: events(4, 6), Checkpoint: cp(6)}})
}

func TestACheckpointNotRetainedIsBehind(t *testing.T) {
	url, prefix := redistest.URL(t), redistest.Prefix(t)
	holder := open(t, url, relay.Options{Prefix: prefix})
	publish(t, holder, 1, 0, 2)
	for _, from := range []string{"never-published", cp(1)} {
		t.Run(from, func(t *testing.T) {
			f := follow(t, open(t, url, relay.Options{Prefix: prefix}), from)
			if err := f.result(t); !errors.Is(err, relay.ErrBehind) {
				t.Fatalf("Follow from %q = %v, want ErrBehind", from, err)
			}
			if got := f.got(); len(got) != 0 {
				t.Fatalf("applied %v, want nothing", checkpoints(got))
			}
		})
	}
}

func TestACheckpointTrimmedAwayIsBehind(t *testing.T) {
	url, prefix := redistest.URL(t), redistest.Prefix(t)
	const maxLen = 10
	holder := open(t, url, relay.Options{Prefix: prefix, MaxLen: maxLen})
	for n := range 300 {
		publish(t, holder, 1, n, n+1)
	}
	f := follow(t, open(t, url, relay.Options{Prefix: prefix}), cp(1))
	if err := f.result(t); !errors.Is(err, relay.ErrBehind) {
		t.Fatalf("Follow from a trimmed checkpoint = %v, want ErrBehind", err)
	}
	// The newest are retained, and the index is as bounded as the stream.
	g := follow(t, open(t, url, relay.Options{Prefix: prefix}), cp(299))
	sameBatches(t, g.waitFor(t, 1), []es.Batch{{Events: events(299, 300), Checkpoint: cp(300)}})
	raw := rawClient(t, url)
	tag := "{" + prefix + "relay}:"
	if n := raw.HLen(t.Context(), tag+"index").Val(); n > maxLen {
		t.Errorf("index holds %d checkpoints, want at most %d", n, maxLen)
	}
	if n := raw.XLen(t.Context(), tag+"applied").Val(); n > 3*maxLen+200 {
		t.Errorf("stream holds %d entries with MaxLen %d", n, maxLen)
	}
}

func TestAFollowerTrimmedPastWhileItWasSlowIsBehind(t *testing.T) {
	url, prefix := redistest.URL(t), redistest.Prefix(t)
	holder := open(t, url, relay.Options{Prefix: prefix, MaxLen: 5})
	publish(t, holder, 1, 0, 1)
	release := make(chan struct{})
	var applied []string
	done := make(chan error, 1)
	follower := open(t, url, relay.Options{Prefix: prefix})
	go func() {
		done <- follower.Feed().Follow(t.Context(), "", func(_ context.Context, b es.Batch) error {
			applied = append(applied, b.Checkpoint)
			<-release // slow: the stream is trimmed past it meanwhile
			return nil
		})
	}()
	for n := 1; n < 500; n++ {
		publish(t, holder, 1, n, n+1)
	}
	close(release)
	select {
	case err := <-done:
		if !errors.Is(err, relay.ErrBehind) {
			t.Fatalf("Follow = %v, want ErrBehind", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Follow did not return")
	}
	// What it applied is a prefix: 1, then only checkpoints that continue.
	for i, c := range applied {
		if c != cp(i+1) {
			t.Fatalf("applied %v: not a prefix of the log", applied)
		}
	}
}

func TestARunFromOneCheckpointIsFollowedFromItsFirstEntry(t *testing.T) {
	url, prefix := redistest.URL(t), redistest.Prefix(t)
	holder := open(t, url, relay.Options{Prefix: prefix})
	publish(t, holder, 1, 0, 2)
	// The holder's feed handed on events without moving its checkpoint.
	stay := es.Batch{Events: events(2, 3), Checkpoint: cp(2)}
	for range 2 {
		if err := holder.Publish(t.Context(), 1, cp(2), stay); err != nil {
			t.Fatal(err)
		}
	}
	// What the holder's feed handed on after those.
	if err := holder.Publish(t.Context(), 1, cp(2), es.Batch{Events: events(3, 5), Checkpoint: cp(5)}); err != nil {
		t.Fatal(err)
	}
	publish(t, holder, 1, 5, 6)

	f := follow(t, open(t, url, relay.Options{Prefix: prefix}), cp(2))
	got := f.waitFor(t, 4)
	if got[0].Checkpoint != cp(2) || got[1].Checkpoint != cp(2) || got[2].Checkpoint != cp(5) || got[3].Checkpoint != cp(6) {
		t.Fatalf("applied %v; want the run from %s (twice) first, then %s, %s", checkpoints(got), cp(2), cp(5), cp(6))
	}
}

func TestAnIndexedEntryTrimmedAwayIsBehindEvenIfTheNextContinues(t *testing.T) {
	url, prefix := redistest.URL(t), redistest.Prefix(t)
	holder := open(t, url, relay.Options{Prefix: prefix, MaxLen: 10})
	publish(t, holder, 1, 0, 1)
	// A long run of batches that hand on events without moving the
	// checkpoint: the index keeps the run's first entry, which is trimmed.
	for n := 1; n < 300; n++ {
		if err := holder.Publish(t.Context(), 1, cp(1), es.Batch{Events: events(n, n+1), Checkpoint: cp(1)}); err != nil {
			t.Fatal(err)
		}
	}
	f := follow(t, open(t, url, relay.Options{Prefix: prefix}), cp(1))
	if err := f.result(t); !errors.Is(err, relay.ErrBehind) {
		t.Fatalf("Follow = %v, want ErrBehind (the run's first events are gone)", err)
	}
	if got := f.got(); len(got) != 0 {
		t.Fatalf("applied %d batches, want none", len(got))
	}
}

func TestTheSameBatchPublishedTwiceIsWrittenOnce(t *testing.T) {
	url, prefix := redistest.URL(t), redistest.Prefix(t)
	holder := open(t, url, relay.Options{Prefix: prefix})
	b := publish(t, holder, 1, 0, 2)
	if err := holder.Publish(t.Context(), 1, "", b); err != nil { // a retry whose first answer was lost
		t.Fatal(err)
	}
	next := publish(t, holder, 1, 2, 3)
	if n := rawClient(t, url).XLen(t.Context(), streamKey(prefix)).Val(); n != 2 {
		t.Fatalf("stream holds %d entries, want 2", n)
	}
	f := follow(t, open(t, url, relay.Options{Prefix: prefix}), "")
	sameBatches(t, f.waitFor(t, 2), []es.Batch{b, next})
}

func TestAStaleEpochCannotPublish(t *testing.T) {
	url, prefix := redistest.URL(t), redistest.Prefix(t)
	holder := open(t, url, relay.Options{Prefix: prefix})
	publish(t, holder, 7, 0, 1)
	err := holder.Publish(t.Context(), 6, cp(1), es.Batch{Events: events(1, 2), Checkpoint: cp(2)})
	if !errors.Is(err, relay.ErrStaleEpoch) {
		t.Fatalf("Publish with epoch 6 after 7 = %v, want ErrStaleEpoch", err)
	}
	if n := rawClient(t, url).XLen(t.Context(), streamKey(prefix)).Val(); n != 1 {
		t.Fatalf("stream holds %d entries, want 1", n)
	}
	publish(t, holder, 8, 1, 2) // a newer one can
}

func TestABigBatchTravelsInPartsAndIsAppliedWhole(t *testing.T) {
	url, prefix := redistest.URL(t), redistest.Prefix(t)
	holder := open(t, url, relay.Options{Prefix: prefix, MaxEntryBytes: 2 << 10})
	small := publish(t, holder, 1, 0, 1)
	big := publish(t, holder, 1, 1, 61)
	after := publish(t, holder, 1, 61, 62)
	entries := rawClient(t, url).XLen(t.Context(), streamKey(prefix)).Val()
	if entries < 5 {
		t.Fatalf("stream holds %d entries for 62 events in at most 2 KiB each, want many parts", entries)
	}
	f := follow(t, open(t, url, relay.Options{Prefix: prefix}), "")
	sameBatches(t, f.waitFor(t, 3), []es.Batch{small, big, after})
	// And from the middle of the log.
	g := follow(t, open(t, url, relay.Options{Prefix: prefix}), cp(1))
	sameBatches(t, g.waitFor(t, 2), []es.Batch{big, after})
}

func TestABatchOverTheCapIsRefusedWhole(t *testing.T) {
	url, prefix := redistest.URL(t), redistest.Prefix(t)
	holder := open(t, url, relay.Options{Prefix: prefix, MaxBatchBytes: 4 << 10})
	err := holder.Publish(t.Context(), 1, "", es.Batch{Events: events(0, 100), Checkpoint: cp(100)})
	if !errors.Is(err, relay.ErrTooLarge) {
		t.Fatalf("Publish of 100 events over 4 KiB = %v, want ErrTooLarge", err)
	}
	if n := rawClient(t, url).XLen(t.Context(), streamKey(prefix)).Val(); n != 0 {
		t.Fatalf("stream holds %d entries, want none", n)
	}
}

func TestFollowEndsWhenItsContextEndsOrTheRelayCloses(t *testing.T) {
	// A blocked read that would wait a minute on its own: Follow ending
	// well within it ended because its context did, whatever the load.
	relay.SetBlockFor(t, time.Minute)
	url, prefix := redistest.URL(t), redistest.Prefix(t)
	publish(t, open(t, url, relay.Options{Prefix: prefix}), 1, 0, 1)
	f := follow(t, open(t, url, relay.Options{Prefix: prefix}), cp(1))
	time.Sleep(100 * time.Millisecond) // blocked in XREAD by now
	begin := time.Now()
	f.cancel()
	if err := f.result(t); err != nil {
		t.Fatalf("Follow after its context ended = %v, want nil", err)
	}
	if d := time.Since(begin); d > 30*time.Second {
		t.Errorf("Follow took %v to end after its context did: it waited out its blocked read", d)
	}

	r := open(t, url, relay.Options{Prefix: prefix})
	g := follow(t, r, cp(1))
	time.Sleep(100 * time.Millisecond)
	r.Close()
	if err := g.result(t); err != nil {
		t.Fatalf("Follow after Close = %v, want nil", err)
	}
}

func TestApplyFailureEndsFollowWithItsError(t *testing.T) {
	url, prefix := redistest.URL(t), redistest.Prefix(t)
	publish(t, open(t, url, relay.Options{Prefix: prefix}), 1, 0, 1)
	boom := errors.New("boom")
	err := open(t, url, relay.Options{Prefix: prefix}).Feed().Follow(t.Context(), "", func(context.Context, es.Batch) error { return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("Follow = %v, want the apply's error", err)
	}
}

func TestOpenRefusesBadConfiguration(t *testing.T) {
	url := redistest.URL(t)
	for name, c := range map[string]struct {
		url    string
		prefix string
	}{
		"not a redis URL": {url: "http://localhost:6379", prefix: "p."},
		"brace in prefix": {url: url, prefix: "p{x}."},
		"nobody there":    {url: "redis://127.0.0.1:1/0", prefix: "p."},
	} {
		t.Run(name, func(t *testing.T) {
			r, err := relay.Open(t.Context(), c.url, relay.Options{Prefix: c.prefix, Logger: quiet})
			if err == nil {
				r.Close()
				t.Fatalf("Open(%q, prefix %q) succeeded", c.url, c.prefix)
			}
			t.Logf("Open: %v", err)
		})
	}
}

func TestAHeartbeatReadBeforeABatchIsSentAtThatBatch(t *testing.T) {
	url, prefix := redistest.URL(t), redistest.Prefix(t)
	holder := open(t, url, relay.Options{Prefix: prefix})
	publish(t, holder, 1, 0, 2)
	f := follow(t, open(t, url, relay.Options{Prefix: prefix}), cp(2))
	blocked(t, url, 1)
	publish(t, holder, 1, 2, 4)
	// A heartbeat at the checkpoint read before the batch above went out.
	if err := holder.Publish(t.Context(), 1, cp(2), es.Batch{Checkpoint: cp(2)}); err != nil {
		t.Fatal(err)
	}
	publish(t, holder, 1, 4, 5)
	got := f.waitFor(t, 3)
	if cps := checkpoints(got); !reflect.DeepEqual(cps, []string{cp(4), cp(4), cp(5)}) {
		t.Fatalf("applied %v, want %s, the heartbeat at %s, then %s", cps, cp(4), cp(4), cp(5))
	}
}

func TestAHeartbeatAfterAFailedPublishShowsTheGap(t *testing.T) {
	url, prefix := redistest.URL(t), redistest.Prefix(t)
	holder := open(t, url, relay.Options{Prefix: prefix})
	publish(t, holder, 1, 0, 2)
	f := follow(t, open(t, url, relay.Options{Prefix: prefix}), cp(2))
	blocked(t, url, 1)
	gone, cancel := context.WithCancel(t.Context())
	cancel()
	if err := holder.Publish(gone, 1, cp(2), es.Batch{Events: events(2, 4), Checkpoint: cp(4)}); err == nil {
		t.Fatal("Publish with an ended context succeeded")
	}
	// The holder, idle, at its checkpoint: the followers learn they missed it.
	if err := holder.Publish(t.Context(), 1, cp(4), es.Batch{Checkpoint: cp(4)}); err != nil {
		t.Fatal(err)
	}
	if err := f.result(t); !errors.Is(err, relay.ErrBehind) {
		t.Fatalf("Follow = %v, want ErrBehind", err)
	}
}
