package e2e

import (
	"testing"

	"github.com/playwright-community/playwright-go"

	"github.com/foldboard/foldboard/internal/apptest"
)

// TestEndedMatchIsReportedOnAnotherPageAndItsCauseLinksBack ends a match in
// one person's page; the match report appears in another person's posts
// list without a reload; from the report's timeline its causation link
// leads back to the match's end, which links forward to the report.
func TestEndedMatchIsReportedOnAnotherPageAndItsCauseLinksBack(t *testing.T) {
	app := apptest.Start(t, apptest.Options{})
	playedMatch(t, app.URL, "m-1", 325, 416)
	scorer, reader := newPage(t, newContext(t, app)), newPage(t, newContext(t, app))
	if _, err := scorer.Goto(app.URL + "/matches/m-1"); err != nil {
		t.Fatal(err)
	}
	if _, err := reader.Goto(app.URL + "/posts"); err != nil {
		t.Fatal(err)
	}
	must(t, expect.Locator(reader.Locator("#live-status")).ToHaveText("live"))
	markPage(t, reader)
	must(t, expect.Locator(reader.Locator("#post-list .empty")).ToHaveText("Nothing published yet."))

	end := scorer.Locator("#end-form")
	must(t, end.GetByLabel("Result").Fill("Australia won by 91 runs"))
	must(t, end.GetByRole("button", playwright.LocatorGetByRoleOptions{Name: "End match"}).Click())
	must(t, expect.Locator(scorer.Locator("#scoreboard .result")).ToContainText("Australia won by 91 runs"))

	// The report, made by the reaction, reaches the reader live.
	report := reader.Locator("#post-list li")
	must(t, expect.Locator(report).ToHaveCount(1))
	must(t, expect.Locator(report).ToContainText("England v Australia: Australia won by 91 runs"))
	must(t, expect.Locator(report).ToContainText("system/match-report"))
	wantNoReload(t, reader)

	must(t, report.GetByRole("link").First().Click())
	must(t, expect.Locator(reader.Locator("#post .post-body")).ToContainText("Innings 2: Australia 416/10"))
	must(t, reader.GetByRole("link", playwright.PageGetByRoleOptions{Name: "Timeline", Exact: playwright.Bool(true)}).Click())
	// The timeline opens at the publication: the reaction's second command.
	must(t, expect.Locator(reader.Locator("#tl-event h2")).ToContainText("Event 2: PostPublished"))
	cause := reader.Locator("#tl-cause a")
	must(t, expect.Locator(cause).ToContainText("MatchEnded on match/m-1 v4"))
	must(t, cause.Click())
	must(t, expect.Locator(reader.Locator("#tl-event h2")).ToContainText("Event 4: MatchEnded"))
	must(t, expect.Locator(reader.Locator("#tl-effects li")).ToHaveCount(2))
	must(t, expect.Locator(reader.Locator("#tl-effects li").First()).ToContainText("PostCreated on post/report-m-1 v1"))

	// And the correlation, followed across both streams.
	must(t, reader.Locator("#tl-correlation").Click())
	must(t, expect.Locator(reader.Locator("#correlation li")).ToHaveCount(3))
}
