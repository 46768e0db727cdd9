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

// readByType follows a query by type from the start until the page that
// says End, and returns every event it gave; it fails the test when a page
// is over the limit, holds another type, or the pages do not end.
func readByType(t *testing.T, h Harness, typ string, limit, maxPages int) []es.Envelope {
	t.Helper()
	var got []es.Envelope
	after := ""
	for pages := 1; ; pages++ {
		if pages > maxPages {
			t.Fatalf("ReadLog by type %q: no End after %d pages", typ, maxPages)
		}
		page, err := h.Store.ReadLog(ctx(t), es.LogQuery{After: after, Limit: limit, Type: typ})
		if err != nil {
			t.Fatalf("ReadLog by type %q after %q: %v", typ, after, err)
		}
		if len(page.Events) > limit {
			t.Errorf("a page by type of %d events, limit %d", len(page.Events), limit)
		}
		for _, e := range page.Events {
			if e.Type != typ {
				t.Errorf("a page by type %q holds %s v%d of type %q", typ, e.Stream, e.Version, e.Type)
			}
		}
		got = append(got, page.Events...)
		if page.End {
			return got
		}
		if page.Next == "" || page.Next == after {
			t.Fatalf("ReadLog by type %q after %q: not the end, but Next %q goes nowhere", typ, after, page.Next)
		}
		after = page.Next
	}
}

func testReadLogByType(t *testing.T, h Harness) {
	streams := []es.StreamRef{{Type: "match", ID: "m-typed"}, {Type: "cart", ID: "c-typed"}, {Type: "post", ID: "p-typed"}}
	types := []string{"Scored", "Ticked", "Ticked", "Noted"}
	at := map[es.StreamRef]int64{}
	var all []es.Envelope
	for r := range 6 {
		for i, s := range streams {
			req := request(s, at[s], 1+(r+i)%2, "")
			for k := range req.Events {
				req.Events[k].Type = types[(r+i+k)%len(types)]
			}
			res := mustAppend(t, h, req)
			at[s] += int64(len(req.Events))
			all = append(all, res.Events...)
		}
	}
	for _, typ := range []string{"Scored", "Ticked", "Noted"} {
		var want []es.Envelope
		for _, e := range all {
			if e.Type == typ {
				want = append(want, e)
			}
		}
		got := readByType(t, h, typ, 2, len(all)+2)
		checkEachOnce(t, "ReadLog by type "+typ, got, want)
		for i := 1; i < len(got); i++ {
			if got[i].Stream == got[i-1].Stream && got[i].Version < got[i-1].Version {
				t.Errorf("ReadLog by type %s: %s v%d after v%d", typ, got[i].Stream, got[i].Version, got[i-1].Version)
			}
		}
	}
	if got := readByType(t, h, "NoSuchType", 1, len(all)+2); len(got) != 0 {
		t.Errorf("ReadLog by a type no event has: %d events", len(got))
	}

	// Unfiltered, the pages end too: End on the last, at the latest on an
	// empty page after it.
	after, n := "", 0
	for pages := 0; ; pages++ {
		if pages > len(all)+1 {
			t.Fatalf("ReadLog: no End after %d pages of %d events", pages, len(all))
		}
		page, err := h.Store.ReadLog(ctx(t), es.LogQuery{After: after, Limit: 5})
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.Events)
		if page.End {
			break
		}
		after = page.Next
	}
	if n != len(all) {
		t.Errorf("ReadLog to its End gave %d events, want %d", n, len(all))
	}
}
