package web_test

import (
	"fmt"
	"net/url"
	"testing"

	"github.com/foldboard/foldboard/internal/apptest"
)

// GET /events (JSON) pages by type to an end: every page holds only events
// of the type and at most limit of them, and the last page's next is "", so
// a client's `while next` ends (issue 18.3).
func TestTheEventsLogPagesByTypeToAnEmptyCursor(t *testing.T) {
	for _, store := range apptest.Stores {
		t.Run(store, func(t *testing.T) {
			c := newClient(t, apptest.Start(t, apptest.Options{Store: store}))
			for i := range 7 {
				id := fmt.Sprintf("m-%d", i)
				startMatch(t, c, id)
				wantStatus(t, c.postJSON("/matches/"+id+"/innings", `{"innings":1,"runs":100,"wickets":3}`), 200, "")
			}
			page := func(typ, after string) (types []string, next string) {
				t.Helper()
				q := url.Values{"limit": {"2"}, "type": {typ}, "after": {after}}
				js := c.do("GET", "/events?"+q.Encode(), "", "", map[string]string{"Accept": "application/json"}).json(t)
				for _, e := range js["events"].([]any) {
					types = append(types, e.(map[string]any)["type"].(string))
				}
				return types, js["next"].(string)
			}
			for typ, want := range map[string]int{"InningsCompleted": 7, "MatchStarted": 7, "NoSuchType": 0} {
				n, after := 0, ""
				for requests := 1; ; requests++ {
					if requests > 30 {
						t.Fatalf("%s: next still not empty after %d requests", typ, requests)
					}
					types, next := page(typ, after)
					if len(types) > 2 {
						t.Errorf("%s: a page of %d events at limit 2", typ, len(types))
					}
					for _, got := range types {
						if got != typ {
							t.Errorf("%s: a page holds a %s", typ, got)
						}
					}
					n += len(types)
					if next == "" {
						break
					}
					after = next
				}
				if n != want {
					t.Errorf("%s: %d events paged, want %d", typ, n, want)
				}
			}
		})
	}
}
