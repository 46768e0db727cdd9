package e2e

import (
	"testing"

	"github.com/foldboard/foldboard/internal/apptest"
)

// On a match's timeline, the scoreboard line of the matches list is shown
// as it was after each event, with its diff: stepping back from the second
// innings to the first shows the first innings' total, not today's.
func TestTheSliderShowsTheMatchesListLineAsItWas(t *testing.T) {
	app := apptest.Start(t, apptest.Options{})
	playedMatch(t, app.URL, "m-1", 250, 300)
	page := newPage(t, newContext(t, app))
	if _, err := page.Goto(app.URL + "/streams/match/m-1/timeline?v=3"); err != nil {
		t.Fatal(err)
	}
	row := page.Locator("#tl-read-models [data-key='match/m-1']")
	must(t, expect.Locator(row.Locator("table.diff")).ToContainText("state.awayRuns"))
	must(t, expect.Locator(row.Locator(".row-json")).ToContainText(`"awayRuns": 300`))
	must(t, page.Locator("#tl-slider").Focus())
	must(t, page.Keyboard().Press("ArrowLeft"))
	must(t, expect.Locator(page.Locator("#timeline-body")).ToHaveAttribute("data-at", "2"))
	must(t, expect.Locator(row.Locator("table.diff")).ToContainText("state.homeRuns"))
	must(t, expect.Locator(row.Locator(".row-json")).ToContainText(`"homeRuns": 250`))
	must(t, expect.Locator(row.Locator(".row-json")).ToContainText(`"awayRuns": 0`))
}
