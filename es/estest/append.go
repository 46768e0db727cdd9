package estest

import (
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/foldboard/foldboard/es"
)

func testAppendKeepsEveryField(t *testing.T, h Harness) {
	stream := es.StreamRef{Type: "match", ID: "m-1"}
	// Nanoseconds, so a store that keeps less than milliseconds is caught.
	at := time.Date(2026, 3, 14, 15, 9, 26, 535_897_932, time.UTC)
	first := es.AppendRequest{
		Stream:    stream,
		Expected:  0,
		CommandID: "cmd-start",
		Events: []es.Envelope{
			{
				ID: es.NewULID(at), Stream: stream, Version: 1, Type: "MatchStarted", SchemaVersion: 3,
				Time: at, Actor: "ana", CorrelationID: "corr-1", CausationID: "cause-1", CommandID: "cmd-start",
				Data: json.RawMessage(`{"home":"Lions","away":"Tigers","overs":20,"venue":{"name":"Eden Park","city":"Auckland"},"note":"ünïcødé ✓ \"quoted\"","tags":["a","b"],"none":null}`),
			},
			{
				ID: es.NewULID(at), Stream: stream, Version: 2, Type: "TossWon", SchemaVersion: 1,
				Time: at.Add(time.Millisecond), Actor: "ana", CorrelationID: "corr-1", CausationID: "cause-1", CommandID: "cmd-start",
				Data: json.RawMessage(`{"team":"Lions","elected":"bat"}`),
			},
		},
		State: es.StateRecord{Version: 2, Schema: 4, Data: json.RawMessage(`{"status":"started"}`)},
	}
	later := at.Add(90 * time.Minute)
	second := es.AppendRequest{
		Stream:   stream,
		Expected: 2,
		Events: []es.Envelope{{
			ID: es.NewULID(later), Stream: stream, Version: 3, Type: "BallBowled", SchemaVersion: 2,
			Time: later, Actor: "ben", Data: json.RawMessage(`{"runs":4}`),
		}},
		State: es.StateRecord{Version: 3, Schema: 4, Data: json.RawMessage(`{"status":"in play","runs":4}`)},
	}

	res1 := mustAppend(t, h, first)
	res2 := mustAppend(t, h, second)
	if res1.Version != 2 || res2.Version != 3 {
		t.Errorf("append results at versions %d and %d, want 2 and 3", res1.Version, res2.Version)
	}
	// The result's events are the request's, with whatever positions the store gave.
	sameEnvelopes(t, "first append's result", res1.Events, first.Events)
	sameEnvelopes(t, "second append's result", res2.Events, second.Events)

	stored := append(slices.Clone(res1.Events), res2.Events...)
	got := mustRead(t, h, stream, es.ReadOptions{})
	sameEnvelopes(t, "read back", got, stored)
	if len(stored) == 3 {
		positions := []string{stored[0].Position, stored[1].Position, stored[2].Position}
		if slices.Contains(positions, "") && slices.ContainsFunc(positions, func(p string) bool { return p != "" }) {
			t.Errorf("some events have a position and some not: %q", positions)
		}
	}
}

func testReadForwards(t *testing.T, h Harness) {
	stream := es.StreamRef{Type: "cart", ID: "c-1"}
	other := es.StreamRef{Type: "cart", ID: "c-2"}
	// Appends of several sizes, with another stream's in between.
	var at int64
	for i, n := range []int{3, 3, 3, 1} {
		mustAppend(t, h, request(stream, at, n, ""))
		mustAppend(t, h, request(other, int64(i), 1, ""))
		at += int64(n)
	}
	for _, tc := range []struct {
		opts es.ReadOptions
		want []int64
	}{
		{es.ReadOptions{}, span(1, 10)},
		{es.ReadOptions{From: 1}, span(1, 10)},
		{es.ReadOptions{From: 4}, span(4, 10)},
		{es.ReadOptions{From: 4, Limit: 3}, span(4, 6)},
		{es.ReadOptions{Limit: 2}, span(1, 2)},
		{es.ReadOptions{From: 10}, span(10, 10)},
		{es.ReadOptions{From: 11}, nil},
		{es.ReadOptions{From: 9, Limit: 5}, span(9, 10)},
	} {
		got := mustRead(t, h, stream, tc.opts)
		if !slices.Equal(versions(got), tc.want) {
			t.Errorf("ReadStream %+v: versions %v, want %v", tc.opts, versions(got), tc.want)
		}
		for _, e := range got {
			if e.Stream != stream {
				t.Errorf("ReadStream %+v: event of %s", tc.opts, e.Stream)
			}
		}
	}
	if got := mustRead(t, h, es.StreamRef{Type: "cart", ID: "nobody"}, es.ReadOptions{}); len(got) != 0 {
		t.Errorf("ReadStream of an unknown stream: %d events, want none", len(got))
	}
}

func testReadReverse(t *testing.T, h Harness) {
	stream := es.StreamRef{Type: "post", ID: "p-1"}
	other := es.StreamRef{Type: "post", ID: "p-2"}
	mustAppend(t, h, request(stream, 0, 4, ""))
	mustAppend(t, h, request(other, 0, 3, ""))
	mustAppend(t, h, request(stream, 4, 6, ""))
	for _, tc := range []struct {
		opts es.ReadOptions
		want []int64
	}{
		{es.ReadOptions{Reverse: true}, span(10, 1)},
		{es.ReadOptions{Reverse: true, Limit: 3}, span(10, 8)},
		{es.ReadOptions{Reverse: true, From: 5, Limit: 2}, span(5, 4)},
		{es.ReadOptions{Reverse: true, From: 5}, span(5, 1)},
		{es.ReadOptions{Reverse: true, From: 1}, span(1, 1)},
		{es.ReadOptions{Reverse: true, From: 20, Limit: 2}, span(10, 9)},
		{es.ReadOptions{Reverse: true, From: 2, Limit: 10}, span(2, 1)},
	} {
		got := mustRead(t, h, stream, tc.opts)
		if !slices.Equal(versions(got), tc.want) {
			t.Errorf("ReadStream %+v: versions %v, want %v", tc.opts, versions(got), tc.want)
		}
		for _, e := range got {
			if e.Stream != stream {
				t.Errorf("ReadStream %+v: event of %s", tc.opts, e.Stream)
			}
		}
	}
	if got := mustRead(t, h, es.StreamRef{Type: "post", ID: "nobody"}, es.ReadOptions{Reverse: true, Limit: 5}); len(got) != 0 {
		t.Errorf("reverse ReadStream of an unknown stream: %d events, want none", len(got))
	}
}

func testHead(t *testing.T, h Harness) {
	stream := es.StreamRef{Type: "match", ID: "m-head"}
	other := es.StreamRef{Type: "match", ID: "m-other"}
	head, err := h.Store.Head(ctx(t), stream)
	if err != nil {
		t.Fatalf("Head of an unknown stream: %v", err)
	}
	if head.Version != 0 || len(head.Data) != 0 {
		t.Errorf("Head of an unknown stream = {%d %d %s}, want version 0 and no data", head.Version, head.Schema, head.Data)
	}

	mustAppend(t, h, request(stream, 0, 3, ""))
	mustAppend(t, h, request(other, 0, 1, ""))
	req := request(stream, 3, 2, "")
	req.State = es.StateRecord{Version: 5, Schema: 7, Data: json.RawMessage(`{"score":[1,2,3],"done":true}`)}
	mustAppend(t, h, req)

	head, err = h.Store.Head(ctx(t), stream)
	if err != nil {
		t.Fatalf("Head: %v", err)
	}
	sameState(t, "Head after two appends", head, req.State)
	head, err = h.Store.Head(ctx(t), other)
	if err != nil {
		t.Fatalf("Head: %v", err)
	}
	sameState(t, "Head of the other stream", head, es.StateRecord{Version: 1, Schema: 1, Data: stateData(other, 1)})
}

// refusedAppendLeavesNothing appends three events, then makes bad with
// Expected set by the caller, and checks that the append conflicts and writes
// none of its events, state, snapshot or command record.
func refusedAppendLeavesNothing(t *testing.T, h Harness, expected int64) {
	t.Helper()
	stream := es.StreamRef{Type: "match", ID: fmt.Sprintf("m-stale-%d", expected)}
	first := request(stream, 0, 3, "cmd-first")
	res := mustAppend(t, h, first)

	bad := request(stream, expected, 2, "cmd-late")
	bad.Snapshot = &es.StateRecord{Version: expected + 1, Schema: 1, Data: json.RawMessage(`{"snap":true}`)}
	_, err := appendCopy(t, h, bad)
	if !errors.Is(err, es.ErrConflict) {
		t.Fatalf("append at %d to a stream at 3: err = %v, want ErrConflict", expected, err)
	}
	if errors.Is(err, es.ErrDuplicateCommand) {
		t.Errorf("a conflict also matches ErrDuplicateCommand: %v", err)
	}
	var ce *es.ConflictError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %T %v, want a *es.ConflictError", err, err)
	}
	if ce.Stream != stream || ce.Expected != expected || (ce.Actual != 3 && ce.Actual != -1) {
		t.Errorf("ConflictError = %+v, want stream %s, expected %d, actual 3 (or -1)", *ce, stream, expected)
	}

	sameEnvelopes(t, "stream after the refused append", mustRead(t, h, stream, es.ReadOptions{}), res.Events)
	head, err := h.Store.Head(ctx(t), stream)
	if err != nil {
		t.Fatalf("Head: %v", err)
	}
	sameState(t, "Head after the refused append", head, first.State)
	if _, ok, err := h.Store.Command(ctx(t), stream, "cmd-late"); err != nil || ok {
		t.Errorf("Command of the refused append: found %v, err %v; want not found", ok, err)
	}
	if snap, ok, err := h.Store.Snapshot(ctx(t), stream, 100); err != nil || ok {
		t.Errorf("Snapshot after the refused append: found %v (version %d), err %v; want none", ok, snap.Version, err)
	}
	// The stream still takes the append it should.
	mustAppend(t, h, request(stream, 3, 1, "cmd-late"))
}

func testStaleExpected(t *testing.T, h Harness) {
	for _, expected := range []int64{1, 2, 4, 9} {
		t.Run(fmt.Sprintf("expected %d", expected), func(t *testing.T) {
			refusedAppendLeavesNothing(t, h, expected)
		})
	}
}

func testExpectedZeroOnExisting(t *testing.T, h Harness) {
	refusedAppendLeavesNothing(t, h, 0)
}

func testMisnumbered(t *testing.T, h Harness) {
	stream := es.StreamRef{Type: "cart", ID: "c-numbers"}
	mustAppend(t, h, request(stream, 0, 2, ""))

	gap := request(stream, 2, 2, "")
	gap.Events[0].Version, gap.Events[1].Version = 4, 5
	gap.State.Version = 5
	skip := request(stream, 2, 2, "")
	skip.Events[1].Version = 5
	skip.State.Version = 5
	elsewhere := request(stream, 2, 1, "")
	elsewhere.Events[0].Stream = es.StreamRef{Type: "cart", ID: "c-elsewhere"}
	empty := es.AppendRequest{Stream: stream, Expected: 2, State: es.StateRecord{Version: 2, Schema: 1, Data: stateData(stream, 2)}}

	for name, req := range map[string]es.AppendRequest{
		"events after a gap":         gap,
		"events skipping a version":  skip,
		"an event of another stream": elsewhere,
		"no events":                  empty,
	} {
		if _, err := appendCopy(t, h, req); err == nil {
			t.Errorf("append of %s succeeded, want an error", name)
		}
	}
	if got := mustRead(t, h, stream, es.ReadOptions{}); !slices.Equal(versions(got), span(1, 2)) {
		t.Errorf("stream after refused appends has versions %v, want [1 2]", versions(got))
	}
	if got := mustRead(t, h, es.StreamRef{Type: "cart", ID: "c-elsewhere"}, es.ReadOptions{}); len(got) != 0 {
		t.Errorf("another stream got %d events from a refused append", len(got))
	}
}

func testConcurrentAppenders(t *testing.T, h Harness) {
	const writers, each = 16, 25
	stream := es.StreamRef{Type: "match", ID: "m-hot"}
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if err := appendWithRetry(t, h, stream, fmt.Sprintf("w%d-%d", w, i)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}

	got := mustRead(t, h, stream, es.ReadOptions{})
	for i, e := range got {
		if e.Version != int64(i)+1 {
			t.Fatalf("event %d of %d has version %d: want versions 1…%d without gaps or repeats", i, len(got), e.Version, writers*each)
		}
	}
	if len(got) != writers*each {
		t.Fatalf("%d events, want %d", len(got), writers*each)
	}
	commands := map[string]int{}
	eventIDs := map[string]bool{}
	for _, e := range got {
		commands[e.CommandID]++
		if eventIDs[e.ID] {
			t.Errorf("event id %s stored twice", e.ID)
		}
		eventIDs[e.ID] = true
	}
	for w := range writers {
		for i := range each {
			if id := fmt.Sprintf("w%d-%d", w, i); commands[id] != 1 {
				t.Errorf("append %s stored %d times, want once", id, commands[id])
			}
		}
	}
	if head, err := h.Store.Head(ctx(t), stream); err != nil || head.Version != writers*each {
		t.Errorf("Head version %d (err %v), want %d", head.Version, err, writers*each)
	}
}

// appendWithRetry appends one event at whatever version the stream is at,
// re-reading and retrying on a conflict, as es.Handler does.
func appendWithRetry(t *testing.T, h Harness, stream es.StreamRef, commandID string) error {
	for attempt := 0; attempt < 10_000; attempt++ {
		head, err := h.Store.Head(ctx(t), stream)
		if err != nil {
			return fmt.Errorf("head of %s: %w", stream, err)
		}
		res, err := appendCopy(t, h, request(stream, head.Version, 1, commandID))
		if errors.Is(err, es.ErrConflict) {
			runtime.Gosched()
			continue
		}
		if err != nil {
			return fmt.Errorf("append %s to %s at %d: %w", commandID, stream, head.Version, err)
		}
		if h.Wake != nil {
			h.Wake(res)
		}
		return nil
	}
	return fmt.Errorf("append %s to %s: still conflicting after 10000 attempts", commandID, stream)
}

func testRepeatedCommand(t *testing.T, h Harness) {
	stream := es.StreamRef{Type: "cart", ID: "c-dup"}
	other := es.StreamRef{Type: "cart", ID: "c-dup-other"}
	first := mustAppend(t, h, request(stream, 0, 2, "cmd-1"))

	checkDuplicate := func(expected int64) {
		t.Helper()
		_, err := appendCopy(t, h, request(stream, expected, 1, "cmd-1"))
		if !errors.Is(err, es.ErrDuplicateCommand) {
			t.Fatalf("repeated command at %d: err = %v, want ErrDuplicateCommand", expected, err)
		}
		if errors.Is(err, es.ErrConflict) {
			t.Errorf("a repeated command also matches ErrConflict: %v", err)
		}
		var dup *es.DuplicateCommandError
		if !errors.As(err, &dup) {
			t.Fatalf("err = %T %v, want a *es.DuplicateCommandError", err, err)
		}
		if dup.Stream != stream || dup.CommandID != "cmd-1" || dup.First.Version != 2 {
			t.Errorf("DuplicateCommandError = {%s %s version %d}, want {%s cmd-1 version 2}", dup.Stream, dup.CommandID, dup.First.Version, stream)
		}
		sameEnvelopes(t, "the first append's events", dup.First.Events, first.Events)
	}

	checkDuplicate(2)
	if got := mustRead(t, h, stream, es.ReadOptions{}); !slices.Equal(versions(got), span(1, 2)) {
		t.Errorf("a repeated command appended: versions %v, want [1 2]", versions(got))
	}
	if head, err := h.Store.Head(ctx(t), stream); err != nil || head.Version != 2 {
		t.Errorf("Head version %d (err %v) after a repeated command, want 2", head.Version, err)
	}

	// The same id on another stream is another command.
	mustAppend(t, h, request(other, 0, 1, "cmd-1"))
	// Another id on the first stream is fine, and the first id stays taken.
	mustAppend(t, h, request(stream, 2, 1, "cmd-2"))
	checkDuplicate(3)
	if got := mustRead(t, h, stream, es.ReadOptions{}); !slices.Equal(versions(got), span(1, 3)) {
		t.Errorf("versions %v, want [1 2 3]", versions(got))
	}
}

func testCommandLookup(t *testing.T, h Harness) {
	stream := es.StreamRef{Type: "post", ID: "p-cmd"}
	other := es.StreamRef{Type: "post", ID: "p-cmd-other"}
	one := mustAppend(t, h, request(stream, 0, 2, "cmd-1"))
	mustAppend(t, h, request(stream, 2, 1, ""))
	two := mustAppend(t, h, request(stream, 3, 2, "cmd-2"))

	for id, want := range map[string]es.AppendResult{"cmd-1": one, "cmd-2": two} {
		got, ok, err := h.Store.Command(ctx(t), stream, id)
		if err != nil || !ok {
			t.Fatalf("Command(%s, %s): found %v, err %v", stream, id, ok, err)
		}
		if got.Version != want.Version {
			t.Errorf("Command(%s).Version = %d, want %d", id, got.Version, want.Version)
		}
		sameEnvelopes(t, "Command("+id+").Events", got.Events, want.Events)
	}
	for _, q := range []struct {
		stream es.StreamRef
		id     string
	}{{stream, "cmd-none"}, {other, "cmd-1"}, {es.StreamRef{Type: "post", ID: "nobody"}, "cmd-1"}} {
		if _, ok, err := h.Store.Command(ctx(t), q.stream, q.id); err != nil || ok {
			t.Errorf("Command(%s, %s): found %v, err %v; want not found and no error", q.stream, q.id, ok, err)
		}
	}
}

func testSnapshot(t *testing.T, h Harness) {
	stream := es.StreamRef{Type: "match", ID: "m-snap"}
	other := es.StreamRef{Type: "match", ID: "m-snap-other"}
	snapAt := func(v int64) es.StateRecord {
		return es.StateRecord{Version: v, Schema: 3, Data: json.RawMessage(fmt.Sprintf(`{"snap":%d}`, v))}
	}
	for v := int64(1); v <= 7; v++ {
		req := request(stream, v-1, 1, "")
		if v%2 == 0 {
			s := snapAt(v)
			req.Snapshot = &s
		}
		mustAppend(t, h, req)
	}
	otherReq := request(other, 0, 1, "")
	otherReq.Snapshot = &es.StateRecord{Version: 1, Schema: 3, Data: json.RawMessage(`{"other":true}`)}
	mustAppend(t, h, otherReq)

	for _, tc := range []struct{ atOrBelow, want int64 }{
		{0, 0}, {1, 0}, {2, 2}, {3, 2}, {4, 4}, {5, 4}, {6, 6}, {7, 6}, {100, 6},
	} {
		got, ok, err := h.Store.Snapshot(ctx(t), stream, tc.atOrBelow)
		if err != nil {
			t.Fatalf("Snapshot(%d): %v", tc.atOrBelow, err)
		}
		if tc.want == 0 {
			if ok {
				t.Errorf("Snapshot(%d) found version %d, want none", tc.atOrBelow, got.Version)
			}
			continue
		}
		if !ok {
			t.Errorf("Snapshot(%d) found none, want version %d", tc.atOrBelow, tc.want)
			continue
		}
		sameState(t, fmt.Sprintf("Snapshot(%d)", tc.atOrBelow), got, snapAt(tc.want))
	}
	if _, ok, err := h.Store.Snapshot(ctx(t), es.StreamRef{Type: "match", ID: "nobody"}, 10); err != nil || ok {
		t.Errorf("Snapshot of an unknown stream: found %v, err %v", ok, err)
	}
}
