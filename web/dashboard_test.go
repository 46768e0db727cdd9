package web_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/internal/apptest"
)

// attr finds the value of an attribute of the element with an id.
func attr(t *testing.T, html, id, name string) string {
	t.Helper()
	re := regexp.MustCompile(`<[^>]*\bid="` + regexp.QuoteMeta(id) + `"[^>]*>`)
	tag := re.FindString(html)
	if tag == "" {
		t.Fatalf("no element #%s in the page", id)
	}
	m := regexp.MustCompile(`\b` + regexp.QuoteMeta(name) + `="([^"]*)"`).FindStringSubmatch(tag)
	if m == nil {
		t.Fatalf("#%s has no %s: %s", id, name, tag)
	}
	return m[1]
}

func text(t *testing.T, html, id string) string {
	t.Helper()
	m := regexp.MustCompile(`id="` + regexp.QuoteMeta(id) + `"[^>]*>([^<]*)<`).FindStringSubmatch(html)
	if m == nil {
		t.Fatalf("no element #%s with text in the page", id)
	}
	return strings.TrimSpace(m[1])
}

func TestDashboardShowsTotalsRateLagAndRecentEvents(t *testing.T) {
	app := apptest.Start(t, apptest.Options{})
	c := newClient(t, app)
	startMatch(t, c, "m-1")
	wantStatus(t, c.postJSON("/matches/m-1/innings", `{"innings":1,"runs":250,"wickets":10}`), http.StatusOK, "")
	waitApplied(t, app, "match/m-1", 2)

	r := c.get("/")
	wantStatus(t, r, http.StatusOK, "")
	if got := text(t, r.body, "total-events"); got != "2" {
		t.Errorf("total events %q, want 2", got)
	}
	// SQLite counts the backlog itself: caught up, nothing behind.
	if ev, ms := attr(t, r.body, "projector-lag", "data-events"), attr(t, r.body, "projector-lag", "data-ms"); ev != "0" || ms != "0" {
		t.Errorf("lag %s events, %s ms; want 0, 0", ev, ms)
	}
	if strings.Contains(r.body, "this instance's appends") {
		t.Error("the SQLite store's lag is labelled as an estimate")
	}
	// Newest first, each linked to its timeline at its version.
	i1 := strings.Index(r.body, `href="/streams/match/m-1/timeline?v=2"`)
	i2 := strings.Index(r.body, `href="/streams/match/m-1/timeline?v=1"`)
	if i1 < 0 || i2 < 0 || i1 > i2 {
		t.Errorf("recent events: the timeline links of v2 then v1 are missing or out of order")
	}
	// The two events happened this second: the chart's last bar has them.
	if !strings.Contains(r.body, `<svg class="rate-chart"`) || !regexp.MustCompile(`<rect class="bar"[^>]*><title>0\.4 events/s, 0s ago`).MatchString(r.body) {
		t.Errorf("the rate chart does not show 2 events in the last 5 s (0.4/s)")
	}
	for _, href := range []string{"/matches", "/carts", "/sales", "/posts", "/events"} {
		if !strings.Contains(r.body, `class="domain" href="`+href+`"`) {
			t.Errorf("no entry to %s", href)
		}
	}
	if !strings.Contains(r.body, "<title>Dashboard · foldboard</title>") {
		t.Error("the page's title does not say where it is")
	}
}

// waitApplied waits until the projector has applied stream up to version.
func waitApplied(t *testing.T, app *apptest.App, stream string, version int64) {
	t.Helper()
	ref := mustRef(t, stream)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if !app.Server.Projector().WaitFor(ctx, ref, version) {
		t.Fatalf("the projector did not reach %s v%d", stream, version)
	}
}

func mustRef(t *testing.T, s string) es.StreamRef {
	t.Helper()
	ref, err := es.ParseStreamRef(s)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

// The dashboard is pushed to every watcher alike: a draft's events are
// counted there only as private, for its author and for anyone else.
func TestTheDashboardCountsADraftOnlyAsPrivate(t *testing.T) {
	app := apptest.Start(t, apptest.Options{})
	c := newClient(t, app)
	startMatch(t, c, "m-1")
	createPost(t, c, "ana", "p-1", "Not yet")
	waitApplied(t, app, "post/p-1", 1)
	for _, actor := range []string{"ana", "ben", ""} {
		r := c.getAs(actor, "/")
		wantStatus(t, r, http.StatusOK, "")
		if got := text(t, r.body, "total-events"); got != "1" {
			t.Errorf("as %q: total events %q, want 1 (the match's)", actor, got)
		}
		if got := text(t, r.body, "private-events"); got != "1 private" {
			t.Errorf("as %q: private events %q, want 1 private (the draft's)", actor, got)
		}
		if strings.Contains(r.body, "Not yet") {
			t.Errorf("as %q: the draft's title is on the dashboard", actor)
		}
	}
}
