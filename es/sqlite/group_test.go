package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/foldboard/foldboard/es"
)

func groupStore(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "group.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var groupIDs struct {
	sync.Mutex
	n int
}

// appendReq is an append of n events to stream id at expected.
func appendReq(id string, expected int64, n int, commandID string) es.AppendRequest {
	ref := es.StreamRef{Type: "tally", ID: id}
	req := es.AppendRequest{Stream: ref, Expected: expected, CommandID: commandID,
		State: es.StateRecord{Version: expected + int64(n), Schema: 1, Data: []byte(`{}`)}}
	for i := range n {
		groupIDs.Lock()
		groupIDs.n++
		eid := fmt.Sprintf("evt-%06d", groupIDs.n)
		groupIDs.Unlock()
		req.Events = append(req.Events, es.Envelope{ID: eid, Stream: ref, Version: expected + int64(i) + 1,
			Type: "Added", SchemaVersion: 1, Time: time.Unix(1, 0), Data: []byte(`{"n":1}`)})
	}
	return req
}

// One group: the appends that may be written are, the refused ones are rolled
// back alone, each learns its own outcome, and the log holds exactly the
// written ones, in the group's order.
func TestAGroupWritesWhatItMayAndRefusesTheRestAlone(t *testing.T) {
	s := groupStore(t)
	ctx := context.Background()
	if _, err := s.Append(ctx, appendReq("b", 0, 2, "first")); err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	batch := []*pendingAppend{
		{ctx: ctx, req: appendReq("a", 0, 2, "a-1")},    // written
		{ctx: ctx, req: appendReq("b", 1, 1, "")},       // stale: b is at 2
		{ctx: ctx, req: appendReq("b", 2, 1, "first")},  // repeated command
		{ctx: ctx, req: appendReq("c", 0, 1, "")},       // written
		{ctx: ctx, req: appendReq("c", 0, 1, "")},       // c was started just before, in this group
		{ctx: cancelled, req: appendReq("d", 0, 1, "")}, // its caller has gone
		{ctx: ctx, req: appendReq("a", 2, 1, "a-2")},    // after the group's own first append to a
		{ctx: ctx, req: appendReq("b", 0, 1, "stale")},  // stale, its command recorded before the check
	}
	s.writeGroup(batch)

	wantVersion := []int64{2, 0, 0, 1, 0, 0, 3, 0}
	for i, p := range batch {
		if p.res.Version != wantVersion[i] {
			t.Errorf("append %d: version %d, want %d (err %v)", i, p.res.Version, wantVersion[i], p.err)
		}
	}
	var conflict *es.ConflictError
	if !errors.As(batch[1].err, &conflict) || conflict.Actual != 2 {
		t.Errorf("stale append: %v, want a conflict with b at 2", batch[1].err)
	}
	var dup *es.DuplicateCommandError
	if !errors.As(batch[2].err, &dup) || dup.First.Version != 2 {
		t.Errorf("repeated command: %v, want its first result, version 2", batch[2].err)
	}
	if !errors.As(batch[4].err, &conflict) || conflict.Actual != 1 {
		t.Errorf("second start of c: %v, want a conflict with c at 1", batch[4].err)
	}
	if !errors.As(batch[7].err, &conflict) {
		t.Errorf("stale append with a command id: %v, want a conflict", batch[7].err)
	}
	if _, ok, _ := s.Command(ctx, es.StreamRef{Type: "tally", ID: "b"}, "stale"); ok {
		t.Error("a refused append's command record was kept: its savepoint was not rolled back")
	}
	if !errors.Is(batch[5].err, context.Canceled) {
		t.Errorf("cancelled append: %v, want context.Canceled", batch[5].err)
	}
	for _, i := range []int{0, 3, 6} {
		if batch[i].err != nil {
			t.Errorf("append %d: %v", i, batch[i].err)
		}
	}

	page, err := s.ReadLog(ctx, es.LogQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range page.Events {
		got = append(got, fmt.Sprintf("%s@%d", e.Stream.ID, e.Version))
	}
	if want := "[b@1 b@2 a@1 a@2 c@1 a@3]"; fmt.Sprint(got) != want {
		t.Errorf("log %v, want %s", got, want)
	}
	for id, want := range map[string]int64{"a": 3, "b": 2, "c": 1, "d": 0} {
		head, err := s.Head(ctx, es.StreamRef{Type: "tally", ID: id})
		if err != nil || head.Version != want {
			t.Errorf("head of %s: v%d (%v), want v%d", id, head.Version, err, want)
		}
	}
	if _, ok, _ := s.Command(ctx, es.StreamRef{Type: "tally", ID: "a"}, "a-2"); !ok {
		t.Error("the command record of a written append in a group is missing")
	}
}

// Appends that queue while another is written are grouped, and every one of
// them is answered with its own outcome.
func TestConcurrentAppendsAreGroupedAndEachAnswered(t *testing.T) {
	s := groupStore(t)
	ctx := context.Background()
	const writers, each = 16, 40
	var wg sync.WaitGroup
	var mu sync.Mutex
	conflicts := 0
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				// Each writer on a stream of its own, and all of them now and
				// then on one shared stream, where the losers conflict.
				if i%5 == 4 {
					head, err := s.Head(ctx, es.StreamRef{Type: "tally", ID: "shared"})
					if err != nil {
						t.Error(err)
						return
					}
					_, err = s.Append(ctx, appendReq("shared", head.Version, 1, ""))
					var c *es.ConflictError
					if errors.As(err, &c) {
						mu.Lock()
						conflicts++
						mu.Unlock()
					} else if err != nil {
						t.Error(err)
					}
					continue
				}
				id := fmt.Sprintf("w%d", w)
				res, err := s.Append(ctx, appendReq(id, int64(i-i/5), 1, ""))
				if err != nil || res.Version != int64(i-i/5)+1 {
					t.Errorf("writer %d append %d: v%d, %v", w, i, res.Version, err)
				}
			}
		})
	}
	wg.Wait()
	s.group.mu.Lock()
	groups := s.group.groups
	s.group.mu.Unlock()
	t.Logf("%d appends in %d groups", writers*each, groups)
	if groups >= writers*each {
		t.Errorf("%d appends by %d writers at once in %d groups: none was grouped", writers*each, writers, groups)
	}
	shared, _ := s.Head(ctx, es.StreamRef{Type: "tally", ID: "shared"})
	if got, want := int(shared.Version)+conflicts, writers*each/5; got != want {
		t.Errorf("shared stream: %d written + %d conflicts, want %d attempts", shared.Version, conflicts, want)
	}
	page, err := s.ReadLog(ctx, es.LogQuery{Limit: writers * each})
	if err != nil {
		t.Fatal(err)
	}
	if want := writers*each*4/5 + int(shared.Version); len(page.Events) != want {
		t.Errorf("%d events in the log, want %d", len(page.Events), want)
	}
}

// A group whose writing panics fails its appends and hands the lead on: the
// appends after it are written, none waits forever.
func TestAPanickingGroupFailsItsAppendsAndHandsTheLeadOn(t *testing.T) {
	s := groupStore(t)
	pending := func(ctx context.Context, id string) *pendingAppend {
		return &pendingAppend{ctx: ctx, req: appendReq(id, 0, 1, ""), done: make(chan struct{}), lead: make(chan struct{})}
	}
	//lint:ignore SA1012 a nil context is how this test makes writing panic
	bad, good := pending(nil, "x"), pending(context.Background(), "y")
	s.group.leading = true
	s.group.queue = []*pendingAppend{bad, good}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("the panic was not passed on to the leader")
			}
		}()
		s.leadGroup()
	}()
	for _, p := range []*pendingAppend{bad, good} {
		select {
		case <-p.done:
			if p.err == nil {
				t.Errorf("append to %s: no error after the group panicked", p.req.Stream.ID)
			}
		default:
			t.Errorf("append to %s was never answered", p.req.Stream.ID)
		}
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.Append(context.Background(), appendReq("z", 0, 1, ""))
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("the append after the panic: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the append after the panic waited 5 s: the lead was never handed on")
	}
}

// A panic while an append is written, inside its transaction, rolls the
// transaction back: the one writer connection is free for the appends after
// it, alone or in a group.
func TestAPanicInsideTheTransactionLeavesTheWriterFree(t *testing.T) {
	s := groupStore(t)
	testHookAppendIn = func(req es.AppendRequest) {
		if req.Stream.ID == "boom" {
			panic("boom")
		}
	}
	t.Cleanup(func() { testHookAppendIn = nil })
	appendWithin := func(id string) {
		t.Helper()
		done := make(chan error, 1)
		go func() {
			_, err := s.Append(context.Background(), appendReq(id, 0, 1, ""))
			done <- err
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("append to %s after the panic: %v", id, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("append to %s after the panic waited 5 s: the writer was left in a transaction", id)
		}
	}
	// Alone: appendOne's transaction.
	func() {
		defer func() {
			if recover() == nil {
				t.Error("no panic")
			}
		}()
		s.Append(context.Background(), appendReq("boom", 0, 1, ""))
	}()
	appendWithin("after-one")
	// Second in a group: the group's transaction has begun and written the first.
	pending := func(id string) *pendingAppend {
		return &pendingAppend{ctx: context.Background(), req: appendReq(id, 0, 1, ""), done: make(chan struct{}), lead: make(chan struct{})}
	}
	first, bad := pending("first"), pending("boom")
	s.group.mu.Lock()
	s.group.leading = true
	s.group.queue = []*pendingAppend{first, bad}
	s.group.mu.Unlock()
	func() {
		defer func() {
			if recover() == nil {
				t.Error("no panic from the group")
			}
		}()
		s.leadGroup()
	}()
	appendWithin("after-group")
	// The group's first append was rolled back with it: not in the file.
	if envs, err := s.ReadStream(context.Background(), es.StreamRef{Type: "tally", ID: "first"}, es.ReadOptions{}); err != nil || len(envs) != 0 {
		t.Errorf("the panicked group's first append: %d events (%v), want none", len(envs), err)
	}
}
