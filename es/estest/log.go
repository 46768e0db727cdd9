package estest

import (
	"errors"
	"testing"

	"github.com/foldboard/foldboard/es"
)

// appendSeveral makes interleaved appends of 1 to 3 events to the streams,
// continuing each from the version given in at (updated), and returns the
// events stored in the order appended.
func appendSeveral(t *testing.T, h Harness, streams []es.StreamRef, at map[es.StreamRef]int64, rounds int) []es.Envelope {
	t.Helper()
	var all []es.Envelope
	for r := range rounds {
		for i, s := range streams {
			n := 1 + (r+i)%3
			res := mustAppend(t, h, request(s, at[s], n, ""))
			at[s] += int64(n)
			all = append(all, res.Events...)
		}
	}
	return all
}

func testReadLog(t *testing.T, h Harness) {
	streams := []es.StreamRef{{Type: "match", ID: "m-log"}, {Type: "cart", ID: "c-log"}, {Type: "post", ID: "p-log"}}
	all := appendSeveral(t, h, streams, map[es.StreamRef]int64{}, 4)

	const limit = 4
	var got []es.Envelope
	var cursors []string // cursors[i] is where page i began
	var starts []int     // starts[i] is the index in got of page i's first event
	after := ""
	for pages := 0; ; pages++ {
		if pages > len(all) {
			t.Fatalf("ReadLog still returning events after %d pages of %d events", pages, len(all))
		}
		page, err := h.Store.ReadLog(ctx(t), es.LogQuery{After: after, Limit: limit})
		if err != nil {
			t.Fatalf("ReadLog after %q: %v", after, err)
		}
		if len(page.Events) == 0 {
			if page.Next != "" {
				t.Errorf("an empty page has Next %q, want \"\"", page.Next)
			}
			break
		}
		if len(page.Events) > limit {
			t.Errorf("page of %d events, limit %d", len(page.Events), limit)
		}
		if page.Next == "" {
			t.Fatalf("page of %d events has no Next cursor", len(page.Events))
		}
		cursors = append(cursors, after)
		starts = append(starts, len(got))
		got = append(got, page.Events...)
		after = page.Next
	}
	checkEachOnce(t, "ReadLog", got, all)
	checkStreamOrder(t, "ReadLog", got, true)

	// Every event's Position is a cursor too, continuing right after it.
	for i, e := range got {
		if e.Position == "" {
			t.Fatalf("ReadLog event %d (%s v%d) has no position", i, e.Stream, e.Version)
		}
		page, err := h.Store.ReadLog(ctx(t), es.LogQuery{After: e.Position, Limit: 1})
		if err != nil {
			t.Fatalf("ReadLog after event %d's position %q: %v", i, e.Position, err)
		}
		switch {
		case i == len(got)-1 && len(page.Events) != 0:
			t.Errorf("ReadLog after the last event's position gave %s v%d", page.Events[0].Stream, page.Events[0].Version)
		case i < len(got)-1 && (len(page.Events) != 1 || page.Events[0].ID != got[i+1].ID):
			t.Errorf("ReadLog after event %d's position gave %d events, want event %d (%s v%d)", i, len(page.Events), i+1, got[i+1].Stream, got[i+1].Version)
		}
	}

	// A cursor stays valid: reading again from the middle gives the same rest.
	if len(cursors) < 3 {
		t.Fatalf("only %d pages for %d events at limit %d", len(cursors), len(all), limit)
	}
	var rest []es.Envelope
	for after := cursors[2]; ; {
		page, err := h.Store.ReadLog(ctx(t), es.LogQuery{After: after, Limit: limit})
		if err != nil {
			t.Fatalf("ReadLog after %q: %v", after, err)
		}
		if len(page.Events) == 0 {
			break
		}
		rest = append(rest, page.Events...)
		after = page.Next
	}
	sameEnvelopes(t, "ReadLog again from the third page", rest, got[starts[2]:])

	// What is not a cursor is refused as such, never taken for the start.
	for _, bad := range []string{"not a cursor", "-1", "\x00"} {
		if _, err := h.Store.ReadLog(ctx(t), es.LogQuery{After: bad, Limit: 1}); !errors.Is(err, es.ErrBadCursor) {
			t.Errorf("ReadLog after %q: %v, want an error matching es.ErrBadCursor", bad, err)
		}
	}
}
