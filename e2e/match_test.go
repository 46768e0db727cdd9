package e2e

import (
	"testing"

	"github.com/playwright-community/playwright-go"

	"github.com/foldboard/foldboard/internal/apptest"
)

// startMatchInBrowser starts a match through the matches page's form and
// returns the match page's URL.
func startMatchInBrowser(t *testing.T, page playwright.Page, base, home, away string) string {
	t.Helper()
	if _, err := page.Goto(base + "/matches"); err != nil {
		t.Fatal(err)
	}
	form := page.Locator("#start-match")
	must(t, form.GetByLabel("Venue").Fill("The Oval"))
	must(t, form.GetByLabel("Home team").Fill(home))
	must(t, form.GetByLabel("Away team").Fill(away))
	must(t, form.GetByRole("button", playwright.LocatorGetByRoleOptions{Name: "Start match"}).Click())
	must(t, expect.Locator(page.Locator("#scoreboard h1")).ToContainText(home+" v "+away))
	return page.URL()
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func recordInnings(t *testing.T, page playwright.Page, runs, wickets string) {
	t.Helper()
	form := page.Locator("#innings-form")
	must(t, form.GetByLabel("Runs").Fill(runs))
	must(t, form.GetByLabel("Wickets").Fill(wickets))
	must(t, form.GetByRole("button", playwright.LocatorGetByRoleOptions{Name: "Complete innings"}).Click())
}

func TestInningsRecordedInOnePageAppearsLiveInAnother(t *testing.T) {
	for _, store := range apptest.Stores {
		t.Run(store, func(t *testing.T) { inningsAppearLive(t, store) })
	}
}

func inningsAppearLive(t *testing.T, store string) {
	app := apptest.Start(t, apptest.Options{Store: store})
	ctx := newContext(t, app)
	scorer, watcher := newPage(t, ctx), newPage(t, ctx)

	url := startMatchInBrowser(t, scorer, app.URL, "England", "India")
	if _, err := watcher.Goto(url); err != nil {
		t.Fatal(err)
	}
	must(t, expect.Locator(watcher.Locator("#live-status")).ToHaveText("live"))

	recordInnings(t, scorer, "287", "7")
	must(t, expect.Locator(scorer.Locator("#scoreboard tr[data-innings='1'] .runs")).ToHaveText("287"))
	// The watcher never reloads: the scoreboard arrives over the WebSocket.
	must(t, expect.Locator(watcher.Locator("#scoreboard tr[data-innings='1'] .runs")).ToHaveText("287"))
	must(t, expect.Locator(watcher.Locator("#home-total")).ToHaveText("287"))
	// Its forms moved on with the match: the next innings is 2, at version 2.
	must(t, expect.Locator(watcher.Locator("#innings-form input[name=innings]")).ToHaveValue("2"))
	must(t, expect.Locator(watcher.Locator("#version-innings")).ToHaveValue("2"))

	// And the watcher can score the next innings from its live page.
	recordInnings(t, watcher, "301", "10")
	must(t, expect.Locator(scorer.Locator("#away-total")).ToHaveText("301"))
}

func TestRefusedCommandShowsItsMessageByTheForm(t *testing.T) {
	app := apptest.Start(t, apptest.Options{})
	ctx := newContext(t, app)
	// Counts the live fragments each page has swapped in.
	must(t, ctx.AddInitScript(playwright.Script{Content: playwright.String(
		`document.addEventListener("foldboard:swapped", function () { window.swaps = (window.swaps || 0) + 1; });`)}))
	page := newPage(t, ctx)
	startMatchInBrowser(t, page, app.URL, "Kent", "Surrey")

	must(t, page.Locator("#innings-form").GetByLabel("Innings").Fill("3"))
	recordInnings(t, page, "120", "4")
	problem := page.Locator("#innings-form .problem")
	must(t, expect.Locator(problem).ToHaveAttribute("data-code", "InningsOutOfOrder"))
	must(t, expect.Locator(problem).ToContainText("the next innings is 1"))
	// Written for people, the code kept for programs, and tied to its field.
	must(t, expect.Locator(problem).Not().ToContainText("InningsOutOfOrder"))
	innings := page.Locator("#innings-form").GetByLabel("Innings")
	must(t, expect.Locator(innings).ToHaveAttribute("aria-invalid", "true"))
	must(t, expect.Locator(innings).ToHaveAttribute("aria-describedby", "innings-problem"))
	must(t, expect.Locator(page.Locator("#innings-problem")).ToContainText("the next innings is 1"))
	// The page's live connection, opening, brings the match as it is: it
	// does not undo what the person sent, nor say the match moved.
	if _, err := page.WaitForFunction("() => window.swaps >= 1", nil); err != nil {
		t.Fatal(err)
	}
	must(t, expect.Locator(innings).ToHaveValue("3"))
	must(t, expect.Locator(page.Locator("#innings-form .stale-notice")).ToHaveCount(0))
	// Nothing was recorded.
	must(t, expect.Locator(page.Locator("#scoreboard .empty")).ToHaveText("No innings completed yet."))

	// Wickets beyond ten: the browser's own check lets a script through, the
	// server refuses it with 422 and says why.
	eval(t, page.Locator("#innings-form input[name=wickets]"), "el => el.removeAttribute('max')")
	must(t, page.Locator("#innings-form").GetByLabel("Innings").Fill("1"))
	recordInnings(t, page, "120", "11")
	must(t, expect.Locator(page.Locator("#innings-form .problem")).ToHaveAttribute("data-code", "BadWickets"))
}

func TestAStalePageGetsAConflictNotAnOverwrite(t *testing.T) {
	app := apptest.Start(t, apptest.Options{})
	ctx := newContext(t, app)
	a, b := newPage(t, ctx), newPage(t, ctx)
	url := startMatchInBrowser(t, a, app.URL, "Otago", "Canterbury")
	if _, err := b.Goto(url); err != nil {
		t.Fatal(err)
	}
	recordInnings(t, a, "200", "10")
	must(t, expect.Locator(b.Locator("#home-total")).ToHaveText("200"))

	// b's form claims the version b was first rendered at, as a page whose
	// live connection had dropped would.
	must(t, b.Locator("#end-form").GetByLabel("Result").Fill("Otago won"))
	if _, err := b.Evaluate(`document.querySelector("#end-form input[name=expectedVersion]").value = "1"`); err != nil {
		t.Fatal(err)
	}
	must(t, b.Locator("#end-form").GetByRole("button", playwright.LocatorGetByRoleOptions{Name: "End match"}).Click())
	must(t, expect.Locator(b.Locator("#end-form .problem")).ToHaveAttribute("data-code", "VersionConflict"))
}

func eval(t *testing.T, l playwright.Locator, js string) {
	t.Helper()
	if _, err := l.Evaluate(js, nil); err != nil {
		t.Fatal(err)
	}
}
