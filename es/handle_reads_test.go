package es_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/foldboard/foldboard/es"
)

// callCounter counts the calls a handler makes of its store.
type callCounter struct {
	es.Store
	heads, commands, snapshots, reads, appends atomic.Int64
}

func (s *callCounter) Head(ctx context.Context, st es.StreamRef) (es.StateRecord, error) {
	s.heads.Add(1)
	return s.Store.Head(ctx, st)
}

func (s *callCounter) Command(ctx context.Context, st es.StreamRef, id string) (es.AppendResult, bool, error) {
	s.commands.Add(1)
	return s.Store.Command(ctx, st, id)
}

func (s *callCounter) Snapshot(ctx context.Context, st es.StreamRef, v int64) (es.StateRecord, bool, error) {
	s.snapshots.Add(1)
	return s.Store.Snapshot(ctx, st, v)
}

func (s *callCounter) ReadStream(ctx context.Context, st es.StreamRef, o es.ReadOptions) ([]es.Envelope, error) {
	s.reads.Add(1)
	return s.Store.ReadStream(ctx, st, o)
}

func (s *callCounter) Append(ctx context.Context, req es.AppendRequest) (es.AppendResult, error) {
	s.appends.Add(1)
	return s.Store.Append(ctx, req)
}

func (s *callCounter) calls() [5]int64 {
	return [5]int64{s.heads.Load(), s.commands.Load(), s.snapshots.Load(), s.reads.Load(), s.appends.Load()}
}

// A command that appends, with a command id as the pages' forms send, reads
// its stream's state once and writes once: the idempotency check is the
// append's own.
func TestHandleReadsOnceAndAppendsOnce(t *testing.T) {
	store := &callCounter{Store: openStore(t)}
	h := newHandler(store)
	for i, meta := range []es.Meta{
		{StreamID: "t-1", Expected: 0, CommandID: "c-1"},
		{StreamID: "t-1", Expected: es.AnyVersion, CommandID: "c-2"},
		{StreamID: "t-1", Expected: 2, CommandID: "c-3"},
	} {
		before := store.calls()
		if _, err := h.Handle(t.Context(), meta, tallyCmd{Add: []int{i + 1}}); err != nil {
			t.Fatal(err)
		}
		after := store.calls()
		if got := [5]int64{after[0] - before[0], after[1] - before[1], after[2] - before[2], after[3] - before[3], after[4] - before[4]}; got != [5]int64{1, 0, 0, 0, 1} {
			t.Errorf("command %d: heads, command lookups, snapshots, stream reads, appends = %v; want [1 0 0 0 1]", i+1, got)
		}
	}
	// A repeat with its stale expected version still gets its first result.
	again, err := h.Handle(t.Context(), es.Meta{StreamID: "t-1", Expected: 0, CommandID: "c-1"}, tallyCmd{Add: []int{1}})
	if err != nil || !again.Repeated || again.Version != 1 {
		t.Fatalf("repeat: {v%d repeated %v}, err %v; want the first result, v1", again.Version, again.Repeated, err)
	}
	// So does a repeat the decider would accept again.
	again, err = h.Handle(t.Context(), es.Meta{StreamID: "t-1", Expected: es.AnyVersion, CommandID: "c-2"}, tallyCmd{Add: []int{2}})
	if err != nil || !again.Repeated || again.Version != 2 {
		t.Fatalf("repeat: {v%d repeated %v}, err %v; want the first result, v2", again.Version, again.Repeated, err)
	}
	if head, _ := store.Head(t.Context(), es.StreamRef{Type: "tally", ID: "t-1"}); head.Version != 3 {
		t.Errorf("stream at version %d after the repeats, want 3", head.Version)
	}
}
