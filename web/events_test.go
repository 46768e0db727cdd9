package web_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/foldboard/foldboard/internal/apptest"
)

func TestEventBrowserListsNewestFirstWithFiltersAndPages(t *testing.T) {
	c := newClient(t, apptest.Start(t, apptest.Options{}))
	for i := range 30 {
		startMatch(t, c, fmt.Sprintf("m-%02d", i))
		wantStatus(t, c.postJSON(fmt.Sprintf("/matches/m-%02d/innings", i), `{"innings":1,"runs":10,"wickets":1}`), 200, "")
	}
	waitFor(t, func() bool { return strings.Contains(c.get("/events").body, "60 events in all") })

	page := c.get("/events").body
	// 60 events, two per match: the newest 50 are those of m-05 … m-29.
	if !strings.Contains(page, "match/m-29") || !strings.Contains(page, "match/m-05") || strings.Contains(page, "match/m-04") {
		t.Fatalf("the first page does not hold exactly the newest 50 events")
	}
	if strings.Index(page, "match/m-29") > strings.Index(page, "match/m-28") {
		t.Errorf("the page is not newest first")
	}
	if !strings.Contains(page, `href="/events?before=10"`) {
		t.Errorf("no link to older events")
	}
	older := c.get("/events?before=10").body
	if !strings.Contains(older, "match/m-00") || !strings.Contains(older, "match/m-04") || strings.Contains(older, "match/m-05") {
		t.Errorf("the older page is not the oldest events")
	}
	started := c.get("/events?type=MatchStarted").body
	if strings.Contains(started, `<td class="type">InningsCompleted</td>`) || !strings.Contains(started, `<td class="type">MatchStarted</td>`) {
		t.Errorf("the type filter lets other types through")
	}
	if none := c.get("/events?streamType=cart").body; !strings.Contains(none, "No events match.") {
		t.Errorf("the stream type filter lets matches through")
	}
	if !strings.Contains(page, `href="/streams/match/m-29/timeline?v=2"`) {
		t.Errorf("rows do not link to their timeline at their version")
	}
	// Programs get the log in store order.
	js := c.do("GET", "/events?limit=3", "", "", map[string]string{"Accept": "application/json"}).json(t)
	evs := js["events"].([]any)
	if len(evs) != 3 || evs[0].(map[string]any)["stream"] != "match/m-00" {
		t.Fatalf("JSON log: %v", evs)
	}
}
