package e2e

import (
	"strconv"
	"testing"
	"time"

	"github.com/foldboard/foldboard/internal/apptest"
)

// Two people: a scorer records an innings while a watcher, in a browser of
// their own, has the match open. The watcher's page applies the pushed
// scoreboard and reports it; the dashboard then shows the browsers'
// append → applied figure beside the server's, within the interval the
// test saw from the command to the figure.
func TestTheDashboardShowsTheBrowsersAppendToAppliedLatency(t *testing.T) {
	app := apptest.Start(t, apptest.Options{})
	scorer, watcher := newPage(t, newContext(t, app)), newPage(t, anonymousContext(t)) // watching is open to anyone
	url := startMatchInBrowser(t, scorer, app.URL, "England", "India")
	if _, err := watcher.Goto(url); err != nil {
		t.Fatal(err)
	}
	must(t, expect.Locator(watcher.Locator("#live-status")).ToHaveText("live"))
	sent := time.Now()
	recordInnings(t, scorer, "287", "7")
	must(t, expect.Locator(watcher.Locator("#scoreboard tr[data-innings='1'] .runs")).ToHaveText("287"))

	if _, err := scorer.Goto(app.URL + "/"); err != nil {
		t.Fatal(err)
	}
	figures := scorer.Locator("#live-latency")
	// The dashboard's own page pushes itself every few seconds; its line
	// shows the report once the watcher's has come.
	must(t, expect.Locator(figures).ToContainText("append → applied in the page"))
	interval := time.Since(sent)
	attr := func(name string) int {
		v, err := figures.GetAttribute(name)
		if err != nil {
			t.Fatal(err)
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("%s=%q", name, v)
		}
		return n
	}
	n, p50, p99 := attr("data-page-n"), time.Duration(attr("data-page-p50-us"))*time.Microsecond, time.Duration(attr("data-page-p99-us"))*time.Microsecond
	if n < 1 || p50 <= 0 || p50 > p99 || p99 > interval || attr("data-page-refused") != 0 {
		t.Errorf("browser figures: %d reports, p50 %v, p99 %v, %d refused; want some, 0 < p50 ≤ p99 ≤ %v, none refused", n, p50, p99, attr("data-page-refused"), interval)
	}
	if server := attr("data-n"); server < n {
		t.Errorf("%d browser reports of %d writes", n, server)
	}
}
