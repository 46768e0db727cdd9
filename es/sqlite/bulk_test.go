package sqlite

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/foldboard/foldboard/es"
)

func pendingOf(ctx context.Context, req es.AppendRequest) *pendingAppend {
	return &pendingAppend{ctx: ctx, req: req, done: make(chan struct{}), lead: make(chan struct{})}
}

func groupCounts(s *Store) (bulk, retried int) {
	s.group.mu.Lock()
	defer s.group.mu.Unlock()
	return s.group.bulk, s.group.bulkRetried
}

// A group to as many streams is written in bulk and answers each append as
// the savepoint way does: the new and the moved heads written, a stale one a
// conflict, a repeated command its first result, a reused id refused, a
// caller gone not written; the log holds the written ones' events in the
// group's order, at the positions each was told, with their snapshots and
// command records.
func TestAGroupToAsManyStreamsIsWrittenInBulkAndEachAnswered(t *testing.T) {
	s := groupStore(t)
	ctx := context.Background()
	for _, req := range []es.AppendRequest{appendReq("old", 0, 2, "old-1"), appendReq("stale", 0, 1, ""), appendReq("rep", 0, 2, "rep-1")} {
		if _, err := s.Append(ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	withSnapshot := appendReq("snap", 0, 3, "")
	withSnapshot.Snapshot = &es.StateRecord{Version: 2, Schema: 1, Data: []byte(`{"at":2}`)}
	reused := appendReq("rep", 2, 1, "rep-1")
	reused.Fingerprint = "another"
	batch := []*pendingAppend{
		pendingOf(ctx, appendReq("new", 0, 2, "new-1")),       // written, a new head
		pendingOf(ctx, appendReq("old", 2, 1, "old-2")),       // written, the head moves
		pendingOf(ctx, appendReq("stale", 0, 1, "")),          // stale: at 1
		pendingOf(ctx, appendReq("rep", 2, 1, "rep-1")),       // repeated command
		pendingOf(cancelled, appendReq("gone", 0, 1, "")),     // its caller has gone
		pendingOf(ctx, withSnapshot),                          // written with its snapshot
		pendingOf(ctx, appendReq("big", 0, bulkEvents+5, "")), // more than one statement's events
	}
	s.writeGroup(batch)
	if bulk, retried := groupCounts(s); bulk != 1 || retried != 0 {
		t.Fatalf("%d groups in bulk, %d retried; want the group in bulk", bulk, retried)
	}

	wantVersion := []int64{2, 3, 0, 0, 0, 3, bulkEvents + 5}
	for i, p := range batch {
		if p.res.Version != wantVersion[i] {
			t.Errorf("append %d: version %d, want %d (err %v)", i, p.res.Version, wantVersion[i], p.err)
		}
	}
	var conflict *es.ConflictError
	if !errors.As(batch[2].err, &conflict) || conflict.Actual != 1 {
		t.Errorf("stale append: %v, want a conflict with the stream at 1", batch[2].err)
	}
	var dup *es.DuplicateCommandError
	if !errors.As(batch[3].err, &dup) || dup.First.Version != 2 || len(dup.First.Events) != 2 {
		t.Errorf("repeated command: %v, want its first result: version 2, 2 events", batch[3].err)
	}
	if !errors.Is(batch[4].err, context.Canceled) {
		t.Errorf("cancelled append: %v, want context.Canceled", batch[4].err)
	}
	for _, i := range []int{0, 1, 5, 6} {
		if batch[i].err != nil {
			t.Errorf("append %d: %v", i, batch[i].err)
		}
	}

	page, err := s.ReadLog(ctx, es.LogQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	at := map[string]string{}
	for _, e := range page.Events[5:] { // after the five appended before
		got = append(got, fmt.Sprintf("%s@%d", e.Stream.ID, e.Version))
		at[e.ID] = e.Position
	}
	want := []string{"new@1", "new@2", "old@3", "snap@1", "snap@2", "snap@3"}
	for v := 1; v <= bulkEvents+5; v++ {
		want = append(want, fmt.Sprintf("big@%d", v))
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("log after the group %v, want %v", got, want)
	}
	for i, p := range batch {
		for _, e := range p.res.Events {
			if e.Position == "" || at[e.ID] != e.Position {
				t.Errorf("append %d: event %s told position %q, the log has it at %q", i, e.ID, e.Position, at[e.ID])
			}
		}
		if p.err == nil && cap(p.res.Events) != len(p.res.Events) {
			t.Errorf("append %d: its events share room with the next append's", i)
		}
	}
	for id, want := range map[string]int64{"new": 2, "old": 3, "stale": 1, "rep": 2, "gone": 0, "snap": 3, "big": bulkEvents + 5} {
		if head, err := s.Head(ctx, es.StreamRef{Type: "tally", ID: id}); err != nil || head.Version != want {
			t.Errorf("head of %s: v%d (%v), want v%d", id, head.Version, err, want)
		}
	}
	for stream, cmd := range map[string]string{"new": "new-1", "old": "old-2"} {
		if _, ok, _ := s.Command(ctx, es.StreamRef{Type: "tally", ID: stream}, cmd); !ok {
			t.Errorf("command %s on %s: not recorded", cmd, stream)
		}
	}
	if sn, ok, err := s.Snapshot(ctx, es.StreamRef{Type: "tally", ID: "snap"}, 3); err != nil || !ok || sn.Version != 2 || string(sn.Data) != `{"at":2}` {
		t.Errorf("snapshot of snap: %+v %v %v, want the one at 2", sn, ok, err)
	}

	// The reused id, alone in a group with another append: refused in bulk.
	batch = []*pendingAppend{pendingOf(ctx, reused), pendingOf(ctx, appendReq("other", 0, 1, ""))}
	s.writeGroup(batch)
	if !errors.Is(batch[0].err, es.ErrCommandReused) || batch[1].err != nil {
		t.Errorf("reused id: %v, and the other append: %v; want ErrCommandReused and written", batch[0].err, batch[1].err)
	}
	if bulk, retried := groupCounts(s); bulk != 2 || retried != 0 {
		t.Errorf("%d groups in bulk, %d retried; want both groups in bulk", bulk, retried)
	}
}

// A bulk write that fails (an event id written twice) rolls back whole, and
// the group is written again the savepoint way: the append at fault is
// refused alone, the others written.
func TestAFailedBulkWriteIsWrittenAgainTheSavepointWay(t *testing.T) {
	s := groupStore(t)
	ctx := context.Background()
	first, second, third := appendReq("x", 0, 2, ""), appendReq("y", 0, 2, ""), appendReq("z", 0, 1, "")
	second.Events[1].ID = first.Events[0].ID
	batch := []*pendingAppend{pendingOf(ctx, first), pendingOf(ctx, second), pendingOf(ctx, third)}
	s.writeGroup(batch)
	if bulk, retried := groupCounts(s); bulk != 0 || retried != 1 {
		t.Fatalf("%d groups in bulk, %d retried; want the group retried", bulk, retried)
	}
	if batch[0].err != nil || batch[2].err != nil || batch[1].err == nil {
		t.Fatalf("outcomes %v, %v, %v; want the second alone refused", batch[0].err, batch[1].err, batch[2].err)
	}
	page, err := s.ReadLog(ctx, es.LogQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range page.Events {
		got = append(got, fmt.Sprintf("%s@%d", e.Stream.ID, e.Version))
	}
	if want := "[x@1 x@2 z@1]"; fmt.Sprint(got) != want {
		t.Errorf("log %v, want %s", got, want)
	}
	if head, _ := s.Head(ctx, es.StreamRef{Type: "tally", ID: "y"}); head.Version != 0 {
		t.Errorf("the refused append's head is at %d", head.Version)
	}
	for i, p := range []*pendingAppend{batch[0], batch[2]} {
		for _, e := range p.res.Events {
			if e.Position == "" {
				t.Errorf("written append %d: event %s has no position", i, e.ID)
			}
		}
	}
}
