package sqlite_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/foldboard/foldboard/es"
)

// The log newest first, as the event browser pages it: every event once, in
// reverse position order, filtered by event type (its index) and by stream
// type (a bounded stretch a page, with a Next to go on), to the start.
func TestReadLogBackwardPagesNewestFirstWithFilters(t *testing.T) {
	s := open(t)
	now := time.Now().UTC()
	var all []es.Envelope
	for i := range 1500 {
		typ := "cart"
		if i%500 == 7 {
			typ = "match" // three matches among 1,500 carts
		}
		ref := es.StreamRef{Type: typ, ID: fmt.Sprintf("s-%d", i)}
		kind := []string{"A", "B", "C"}[i%3]
		res, err := s.Append(t.Context(), es.AppendRequest{
			Stream: ref, Expected: 0,
			Events: []es.Envelope{{ID: es.NewULID(now), Stream: ref, Version: 1, Type: kind, Time: now, Actor: "ana", Data: []byte(`{}`)}},
			State:  es.StateRecord{Version: 1, Schema: 1, Data: []byte(`{}`)},
		})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, res.Events...)
	}
	follow := func(q es.BackwardQuery) (got []es.Envelope, pages int) {
		t.Helper()
		for {
			pages++
			if pages > 100 {
				t.Fatalf("%+v: no end after 100 pages", q)
			}
			page, err := s.ReadLogBackward(t.Context(), q)
			if err != nil {
				t.Fatal(err)
			}
			if page.Total != int64(len(all)) || len(page.Events) > q.Limit {
				t.Fatalf("%+v: total %d, %d events; want %d, at most %d", q, page.Total, len(page.Events), len(all), q.Limit)
			}
			got = append(got, page.Events...)
			if page.Next == 0 {
				return got, pages
			}
			q.Before = page.Next
		}
	}
	want := func(keep func(es.Envelope) bool) []string {
		var ids []string
		for i := len(all) - 1; i >= 0; i-- {
			if keep(all[i]) {
				ids = append(ids, all[i].ID)
			}
		}
		return ids
	}
	ids := func(envs []es.Envelope) []string {
		out := make([]string, len(envs))
		for i, e := range envs {
			out[i] = e.ID
		}
		return out
	}
	for _, tc := range []struct {
		q    es.BackwardQuery
		keep func(es.Envelope) bool
	}{
		{es.BackwardQuery{Limit: 50}, func(es.Envelope) bool { return true }},
		{es.BackwardQuery{Limit: 50, Type: "B"}, func(e es.Envelope) bool { return e.Type == "B" }},
		{es.BackwardQuery{Limit: 50, StreamType: "match"}, func(e es.Envelope) bool { return e.Stream.Type == "match" }},
		{es.BackwardQuery{Limit: 2, Type: "B", StreamType: "match"}, func(e es.Envelope) bool { return e.Type == "B" && e.Stream.Type == "match" }},
		{es.BackwardQuery{Limit: 50, Type: "NoSuchType"}, func(es.Envelope) bool { return false }},
	} {
		got, pages := follow(tc.q)
		if w := want(tc.keep); fmt.Sprint(ids(got)) != fmt.Sprint(w) {
			t.Errorf("%+v: %d events in %d pages, want %d newest first", tc.q, len(got), pages, len(w))
		}
		if tc.q.StreamType == "match" && tc.q.Type == "" && pages < 2 {
			t.Errorf("a stream type filter read 1,500 rows in one page (%d pages)", pages)
		}
	}
}
