package sqlite_test

import (
	"context"
	"testing"

	"github.com/foldboard/foldboard/es"
)

func TestBacklogCountsTheEventsAfterACheckpoint(t *testing.T) {
	ctx := context.Background()
	s := open(t)
	feed, ok := s.Feed().(es.BacklogFeed)
	if !ok {
		t.Fatal("the SQLite feed does not implement es.BacklogFeed")
	}
	if b, err := feed.Backlog(ctx, ""); err != nil || b.Events != 0 || !b.Oldest.IsZero() {
		t.Fatalf("empty store: %+v, %v; want no events", b, err)
	}
	stream := es.StreamRef{Type: "tick", ID: "t-1"}
	var positions []string
	var times []es.Envelope
	for v := range int64(5) {
		res, err := s.Append(ctx, oneEvent(stream, v))
		if err != nil {
			t.Fatal(err)
		}
		positions = append(positions, res.Events[0].Position)
		times = append(times, res.Events[0])
	}
	for i, cp := range append([]string{""}, positions...) {
		b, err := feed.Backlog(ctx, cp)
		if err != nil {
			t.Fatal(err)
		}
		if want := int64(5 - i); b.Events != want {
			t.Errorf("after %q: %d events, want %d", cp, b.Events, want)
		}
		if i < 5 && !b.Oldest.Equal(times[i].Time) {
			t.Errorf("after %q: oldest %v, want %v", cp, b.Oldest, times[i].Time)
		}
		if i == 5 && !b.Oldest.IsZero() {
			t.Errorf("caught up: oldest %v, want zero", b.Oldest)
		}
	}
	if _, err := feed.Backlog(ctx, "not-a-position"); err == nil {
		t.Error("a malformed checkpoint was accepted")
	}
}
