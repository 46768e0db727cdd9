package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/foldboard/foldboard/internal/apptest"
)

func TestTimelineReplaysTheMatchToEachVersion(t *testing.T) {
	c := newClient(t, apptest.Start(t, apptest.Options{}))
	startMatch(t, c, "m-1")
	wantStatus(t, c.postJSON("/matches/m-1/innings", `{"innings":1,"runs":301,"wickets":10}`), 200, "")
	wantStatus(t, c.postJSON("/matches/m-1/innings", `{"innings":2,"runs":222,"wickets":8}`), 200, "")

	first := c.get("/streams/match/m-1/timeline?v=1")
	wantStatus(t, first, 200, "")
	for _, want := range []string{"Event 1: <span class=\"event-type\">MatchStarted", "No innings completed yet.", `id="tl-slider"`, `max="3"`} {
		if !strings.Contains(first.body, want) {
			t.Errorf("version 1 lacks %q", want)
		}
	}
	second := c.get("/streams/match/m-1/timeline?v=2").body
	if !strings.Contains(second, `<td class="runs">301</td>`) || strings.Contains(second, `<td class="runs">222</td>`) {
		t.Errorf("version 2 does not show the state after the first innings only")
	}
	if !strings.Contains(second, "<code>homeRuns</code>") || !strings.Contains(second, `<td class="after">301</td>`) {
		t.Errorf("version 2 does not show what the event changed")
	}
	latest := c.get("/streams/match/m-1/timeline").body
	if !strings.Contains(latest, `<td class="runs">222</td>`) || !strings.Contains(latest, `data-at="3"`) {
		t.Errorf("the timeline does not open at the latest version")
	}
	zero := c.get("/streams/match/m-1/timeline?v=0").body
	if !strings.Contains(zero, "Before the first event") {
		t.Errorf("version 0 is not the initial state")
	}
}

func TestTimelineFragmentIsOnlyTheSwappedPart(t *testing.T) {
	c := newClient(t, apptest.Start(t, apptest.Options{}))
	startMatch(t, c, "m-1")
	r := c.get("/streams/match/m-1/timeline?v=1&fragment=1")
	wantStatus(t, r, 200, "")
	if !strings.HasPrefix(r.body, `<div id="timeline-body"`) || strings.Contains(r.body, "<html") {
		t.Fatalf("the fragment is not just the timeline body: %.200s", r.body)
	}
}

func TestTimelineRefusesUnknownStreamsAndBadVersions(t *testing.T) {
	c := newClient(t, apptest.Start(t, apptest.Options{}))
	startMatch(t, c, "m-1")
	if r := c.get("/streams/match/nope/timeline"); r.status != http.StatusNotFound {
		t.Errorf("unknown stream: %d", r.status)
	}
	if r := c.get("/streams/widget/w-1/timeline"); r.status != http.StatusNotFound {
		t.Errorf("unknown stream type: %d", r.status)
	}
	if r := c.get("/streams/match/m-1/timeline?v=-1"); r.status != http.StatusBadRequest {
		t.Errorf("negative version: %d", r.status)
	}
	// A version past the end says how many there are and links them.
	r := c.get("/streams/match/m-1/timeline?v=99")
	if r.status != http.StatusNotFound || !strings.Contains(r.body, "match/m-1 has 1 event") ||
		!strings.Contains(r.body, `href="/streams/match/m-1/timeline?v=0"`) || !strings.Contains(r.body, `href="/streams/match/m-1/timeline?v=1"`) {
		t.Errorf("a version past the end: %d %s", r.status, r.body)
	}
}
