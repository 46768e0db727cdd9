package estest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/foldboard/foldboard/es"
)

// withFingerprint is req sent as the request fp.
func withFingerprint(req es.AppendRequest, fp string) es.AppendRequest {
	req.Fingerprint = fp
	return req
}

// head reads the stream's head and fails the test on an error.
func head(t *testing.T, h Harness, stream es.StreamRef) es.StateRecord {
	t.Helper()
	rec, err := h.Store.Head(ctx(t), stream)
	if err != nil {
		t.Fatalf("Head of %s: %v", stream, err)
	}
	return rec
}

func commandIDs(recent []es.CommandRecord) []string {
	ids := make([]string, len(recent))
	for i, c := range recent {
		ids[i] = c.ID
	}
	return ids
}

func testReusedCommandID(t *testing.T, h Harness) {
	stream := es.StreamRef{Type: "cart", ID: "c-reused"}
	first := mustAppend(t, h, withFingerprint(request(stream, 0, 2, "key-1"), "fp-add-sku-1"))

	for _, tc := range []struct {
		name     string
		expected int64
		recent   bool // send the head's recent ids, as es.Handler does
	}{
		{"at the current version", 2, false},
		{"at the current version, with the head's ids", 2, true},
		{"at a stale version", 1, false},
		{"as a new stream", 0, false},
	} {
		req := withFingerprint(request(stream, tc.expected, 1, "key-1"), "fp-add-sku-2")
		if tc.recent {
			req.Recent = head(t, h, stream).Commands
		}
		_, err := appendCopy(t, h, req)
		if !errors.Is(err, es.ErrCommandReused) {
			t.Fatalf("%s: the same id with another fingerprint: err = %v, want ErrCommandReused", tc.name, err)
		}
		if errors.Is(err, es.ErrDuplicateCommand) || errors.Is(err, es.ErrConflict) {
			t.Errorf("%s: a reused id also matches a duplicate or a conflict: %v", tc.name, err)
		}
		var reused *es.CommandReusedError
		if !errors.As(err, &reused) || reused.Stream != stream || reused.CommandID != "key-1" {
			t.Errorf("%s: err = %T %v, want a *es.CommandReusedError of %s key-1", tc.name, err, err, stream)
		}
	}
	sameEnvelopes(t, "the stream after reused ids", mustRead(t, h, stream, es.ReadOptions{}), first.Events)

	// The same fingerprint is the same request, whatever the version it names.
	for _, expected := range []int64{2, 1} {
		_, err := appendCopy(t, h, withFingerprint(request(stream, expected, 1, "key-1"), "fp-add-sku-1"))
		var dup *es.DuplicateCommandError
		if !errors.As(err, &dup) {
			t.Fatalf("the same request again at %d: err = %v, want a *es.DuplicateCommandError", expected, err)
		}
		sameEnvelopes(t, "the first result", dup.First.Events, first.Events)
	}
	if got := head(t, h, stream); got.Version != 2 {
		t.Errorf("head at version %d after repeats, want 2", got.Version)
	}
}

func testHeadKeepsRecentCommandIDs(t *testing.T, h Harness) {
	stream := es.StreamRef{Type: "post", ID: "p-recent"}
	at := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	var version int64
	send := func(id, fp string, n int, when time.Time, withRecent bool) es.AppendResult {
		t.Helper()
		req := withFingerprint(request(stream, version, n, id), fp)
		for i := range req.Events {
			req.Events[i].Time = when
		}
		if withRecent {
			req.Recent = head(t, h, stream).Commands
		}
		res := mustAppend(t, h, req)
		version = res.Version
		return res
	}
	// Commands with ids, and appends without one in between; some sent
	// with the head's recent ids and some without (the store mends those).
	var want []string
	for i := range es.RecentCommands + 2 {
		id := fmt.Sprintf("cmd-%d", i)
		send(id, "fp-"+id, 1+i%2, at.Add(time.Duration(i)*time.Minute), i%2 == 0)
		send("", "", 1, at.Add(time.Duration(i)*time.Minute), i%3 == 0)
		want = append(want, id)
	}
	want = want[len(want)-es.RecentCommands:]
	rec := head(t, h, stream)
	if got := commandIDs(rec.Commands); !slices.Equal(got, want) {
		t.Fatalf("head's recent command ids %v, want the newest %d: %v", got, es.RecentCommands, want)
	}
	last := rec.Commands[len(rec.Commands)-1]
	if last.Fingerprint != "fp-"+last.ID || last.To != last.From+1 || !last.At.Equal(at.Add(time.Duration(es.RecentCommands+1)*time.Minute)) {
		t.Errorf("newest record %+v: want its fingerprint, one version, its event's time", last)
	}
	for _, c := range rec.Commands {
		got := mustRead(t, h, stream, es.ReadOptions{From: c.From, Limit: int(c.To - c.From + 1)})
		for _, e := range got {
			if e.CommandID != c.ID {
				t.Errorf("record %s names versions %d-%d, but version %d is %q's", c.ID, c.From, c.To, e.Version, e.CommandID)
			}
		}
	}

	// Beyond the window of ids, an id is new again.
	if _, ok, err := h.Store.Command(ctx(t), stream, "cmd-0"); err != nil || ok {
		t.Errorf("Command of an id out of the window: found %v, err %v", ok, err)
	}
	before := version
	send("cmd-0", "fp-cmd-0", 1, at.Add(time.Hour), false)
	if version != before+1 {
		t.Errorf("an id out of the window appended nothing")
	}
	// Beyond the window of time, every older id goes at the next append.
	later := at.Add(time.Hour + es.RecentCommandsFor + time.Second)
	send("cmd-late", "fp-late", 1, later, true)
	if got := commandIDs(head(t, h, stream).Commands); !slices.Equal(got, []string{"cmd-late"}) {
		t.Errorf("recent ids a day later: %v, want only [cmd-late]", got)
	}
	// A head's recent ids are sent back as they came: a repeat is answered
	// from them, and nothing is appended.
	req := withFingerprint(request(stream, version, 1, "cmd-late"), "fp-late")
	for i := range req.Events {
		req.Events[i].Time = later.Add(time.Minute) // within its window
	}
	req.Recent = head(t, h, stream).Commands
	if _, err := appendCopy(t, h, req); !errors.Is(err, es.ErrDuplicateCommand) {
		t.Errorf("a repeat the recent ids show: err = %v, want ErrDuplicateCommand", err)
	}
	if got := head(t, h, stream).Version; got != version {
		t.Errorf("head at %d after a repeat, want %d", got, version)
	}
}

// testCommandIDsExpireWhenRead: an id's window holds at the append that
// sends it again, though the head was written nothing since (it still
// holds the id): within RecentCommandsFor the first result answers; past
// it the id is new, with the same fingerprint or another.
func testCommandIDsExpireWhenRead(t *testing.T, h Harness) {
	at := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	sendAt := func(stream es.StreamRef, expected int64, fp string, when time.Time) (es.AppendResult, error) {
		req := withFingerprint(request(stream, expected, 1, "key-day"), fp)
		for i := range req.Events {
			req.Events[i].Time = when
		}
		req.Recent = head(t, h, stream).Commands
		return appendCopy(t, h, req)
	}
	for _, tc := range []struct {
		name, fp string
	}{{"same request", "fp-1"}, {"another request", "fp-2"}} {
		stream := es.StreamRef{Type: "cart", ID: "c-window-" + tc.fp}
		if _, err := sendAt(stream, 0, "fp-1", at); err != nil {
			t.Fatal(err)
		}
		// Within the day: the first result, or reused.
		_, err := sendAt(stream, 1, tc.fp, at.Add(es.RecentCommandsFor-time.Minute))
		if want := map[string]error{"fp-1": es.ErrDuplicateCommand, "fp-2": es.ErrCommandReused}[tc.fp]; !errors.Is(err, want) {
			t.Errorf("%s within the window: err = %v, want %v", tc.name, err, want)
		}
		// A day and a second later, on a head still holding the id: new.
		res, err := sendAt(stream, 1, tc.fp, at.Add(es.RecentCommandsFor+time.Second))
		if err != nil {
			t.Fatalf("%s after the window: err = %v, want it appended as a new command", tc.name, err)
		}
		if res.Version != 2 {
			t.Errorf("%s after the window: version %d, want 2", tc.name, res.Version)
		}
		if got := head(t, h, stream).Commands; len(got) != 1 || got[0].From != 2 {
			t.Errorf("%s after the window: recent ids %+v, want only the new command's", tc.name, got)
		}
	}
}
