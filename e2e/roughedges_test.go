package e2e

import (
	"strings"
	"sync/atomic"
	"testing"

	"github.com/playwright-community/playwright-go"

	"github.com/foldboard/foldboard/internal/apptest"
)

func button(l playwright.Locator, name string) playwright.Locator {
	return l.GetByRole("button", playwright.LocatorGetByRoleOptions{Name: name})
}

// Two scorers on one match: the one typing is not renumbered under them by
// the other's innings; they are told, and choose.
func TestALiveUpdateDoesNotRenumberAHalfTypedForm(t *testing.T) {
	app := apptest.Start(t, apptest.Options{})
	a, b := newPage(t, newContext(t, app)), newPage(t, newContext(t, app))
	url := startMatchInBrowser(t, a, app.URL, "England", "India")
	if _, err := b.Goto(url); err != nil {
		t.Fatal(err)
	}
	must(t, expect.Locator(b.Locator("#live-status")).ToHaveText("live"))
	form := b.Locator("#innings-form")
	must(t, form.GetByLabel("Runs").Fill("55"))
	must(t, form.GetByLabel("Wickets").Fill("6"))

	recordInnings(t, a, "287", "7")
	must(t, expect.Locator(b.Locator("#home-total")).ToHaveText("287"))
	// b's form is as b left it, and says the match moved.
	notice := form.Locator(".stale-notice")
	must(t, expect.Locator(notice).ToContainText("version 2"))
	must(t, expect.Locator(form.GetByLabel("Innings")).ToHaveValue("1"))
	must(t, expect.Locator(b.Locator("#version-innings")).ToHaveValue("1"))
	must(t, expect.Locator(form.GetByLabel("Runs")).ToHaveValue("55"))

	// b takes the new version: the innings and version move, b's runs stay.
	must(t, button(notice, "Use the new version").Click())
	must(t, expect.Locator(notice).ToHaveCount(0))
	must(t, expect.Locator(form.GetByLabel("Innings")).ToHaveValue("2"))
	must(t, expect.Locator(b.Locator("#version-innings")).ToHaveValue("2"))
	must(t, expect.Locator(form.GetByLabel("Runs")).ToHaveValue("55"))
	must(t, button(form, "Complete innings").Click())
	must(t, expect.Locator(b.Locator("#scoreboard tr[data-innings='2'] .runs")).ToHaveText("55"))

	// Again, and this time b keeps what they typed: the server, checking
	// the version b saw, refuses it, and nothing is recorded.
	must(t, expect.Locator(a.Locator("#away-total")).ToHaveText("55"))
	form = b.Locator("#innings-form")
	must(t, form.GetByLabel("Runs").Fill("10"))
	must(t, form.GetByLabel("Wickets").Fill("1"))
	recordInnings(t, a, "100", "3")
	must(t, expect.Locator(b.Locator("#scoreboard tr[data-innings='3'] .runs")).ToHaveText("100"))
	notice = form.Locator(".stale-notice")
	must(t, button(notice, "Keep what I typed").Click())
	must(t, expect.Locator(form.GetByLabel("Innings")).ToHaveValue("3"))
	must(t, button(form, "Complete innings").Click())
	problem := b.Locator("#innings-form .problem")
	must(t, expect.Locator(problem).ToHaveAttribute("data-code", "VersionConflict"))
	must(t, expect.Locator(problem).Not().ToContainText("VersionConflict"))
	must(t, expect.Locator(b.Locator("#scoreboard tr[data-innings='4']")).ToHaveCount(0))
}

func TestAnEndedMatchTakesItsFormsAwayLive(t *testing.T) {
	app := apptest.Start(t, apptest.Options{})
	a, b := newPage(t, newContext(t, app)), newPage(t, newContext(t, app))
	url := startMatchInBrowser(t, a, app.URL, "Kent", "Surrey")
	if _, err := b.Goto(url); err != nil {
		t.Fatal(err)
	}
	must(t, expect.Locator(b.Locator("#live-status")).ToHaveText("live"))
	must(t, a.Locator("#end-form").GetByLabel("Result").Fill("Rain"))
	must(t, button(a.Locator("#end-form"), "End match").Click())
	for _, p := range []playwright.Page{a, b} {
		must(t, expect.Locator(p.Locator("#match-over")).ToBeVisible())
		must(t, expect.Locator(button(p.Locator("main"), "End match")).ToHaveCount(0))
		must(t, expect.Locator(button(p.Locator("main"), "Complete innings")).ToHaveCount(0))
	}
}

// After a form's error the address bar names a page that opens: with
// script, the page's own address; without, the command's address opens it.
func TestAfterAFormsErrorTheAddressOpensAPage(t *testing.T) {
	app := apptest.Start(t, apptest.Options{})
	for _, js := range []bool{true, false} {
		page := newPage(t, newContextWith(t, app, playwright.BrowserNewContextOptions{JavaScriptEnabled: playwright.Bool(js)}))
		url := startMatchInBrowser(t, page, app.URL, "Otago", "Canterbury")
		must(t, page.Locator("#innings-form").GetByLabel("Innings").Fill("3"))
		recordInnings(t, page, "120", "4")
		must(t, expect.Locator(page.Locator("#innings-form .problem")).ToHaveAttribute("data-code", "InningsOutOfOrder"))
		if js {
			must(t, expect.Page(page).ToHaveURL(url))
		}
		// Enter in the address bar, or a bookmark of it.
		res, err := page.Goto(page.URL())
		if err != nil {
			t.Fatal(err)
		}
		if res.Status() != 200 {
			t.Errorf("js %v: opening %s after the error: %d", js, page.URL(), res.Status())
		}
		must(t, expect.Locator(page.Locator("#scoreboard")).ToBeVisible())
		must(t, expect.Page(page).ToHaveURL(url))
	}
}

func TestABadNameOnTheSignUpFormIsRefusedInPlace(t *testing.T) {
	app := apptest.Start(t, apptest.Options{})
	page := newPage(t, anonymousContext(t))
	if _, err := page.Goto(app.URL + "/signin"); err != nil {
		t.Fatal(err)
	}
	must(t, page.Locator("#signup-name").Fill("ana<b>"))
	must(t, page.Locator("#signup-password").Fill("correct horse"))
	must(t, button(page.Locator("#signup-form"), "Sign up").Click())
	must(t, expect.Locator(page.Locator("#signup-problem")).ToContainText("1-40 letters"))
	must(t, expect.Locator(page.Locator("#signup-name")).ToHaveValue("ana<b>"))
	must(t, expect.Locator(page.Locator("#signup-name")).ToHaveAttribute("aria-invalid", "true"))
	must(t, expect.Locator(page.Locator("#signin-link")).ToBeVisible())
}

func TestTheTimelineSliderFetchesEachVersionOnce(t *testing.T) {
	app := apptest.Start(t, apptest.Options{})
	playedMatch(t, app.URL, "m-1", 100, 200, 300)
	page := newPage(t, newContext(t, app))
	var fetches atomic.Int32
	page.OnRequest(func(r playwright.Request) {
		if strings.Contains(r.URL(), "fragment=1") {
			fetches.Add(1)
		}
	})
	if _, err := page.Goto(app.URL + "/streams/match/m-1/timeline"); err != nil {
		t.Fatal(err)
	}
	must(t, expect.Locator(page.Locator("h1")).ToHaveCount(1))
	must(t, page.Locator("#tl-slider").Focus())
	for _, want := range []string{"3", "2"} {
		must(t, page.Keyboard().Press("ArrowLeft"))
		must(t, expect.Locator(page.Locator("#timeline-body")).ToHaveAttribute("data-at", want))
	}
	// The slider's value is set before its fetch returns; a second fetch
	// of the same step would have started by now.
	must(t, page.Keyboard().Press("ArrowLeft"))
	must(t, expect.Locator(page.Locator("#timeline-body")).ToHaveAttribute("data-at", "1"))
	if n := fetches.Load(); n != 3 {
		t.Errorf("three arrow keys fetched %d times", n)
	}
	must(t, expect.Locator(page.Locator("h1")).ToHaveCount(1))
}

func TestATimelineVersionThatIsNotOneSaysHowManyThereAre(t *testing.T) {
	app := apptest.Start(t, apptest.Options{})
	playedMatch(t, app.URL, "m-1", 100, 200, 300)
	page := newPage(t, newContext(t, app))
	for _, v := range []string{"abc", "99"} {
		if _, err := page.Goto(app.URL + "/streams/match/m-1/timeline?v=" + v); err != nil {
			t.Fatal(err)
		}
		must(t, expect.Locator(page.Locator("main .problem")).ToContainText("has 4 events"))
	}
	must(t, page.GetByRole("link", playwright.PageGetByRoleOptions{Name: "0 (before the first event)"}).Click())
	must(t, expect.Locator(page.Locator("#tl-state h2")).ToHaveText("Before the first event"))
	must(t, expect.Locator(page.Locator("#tl-state #scoreboard")).ToHaveCount(0))
}

// A person tries a command on the past from the timeline: they see what it
// would do, and nothing is written.
func TestWhatIfOnTheTimelineShowsWhatACommandWouldDo(t *testing.T) {
	app := apptest.Start(t, apptest.Options{})
	playedMatch(t, app.URL, "m-1", 100, 200)
	page := newPage(t, newContext(t, app))
	if _, err := page.Goto(app.URL + "/streams/match/m-1/timeline?v=1"); err != nil {
		t.Fatal(err)
	}
	form := page.Locator("form.try[data-command='CompleteInnings']")
	must(t, form.GetByLabel("runs").Fill("77"))
	must(t, form.GetByLabel("innings").Fill("1"))
	must(t, button(form, "Try CompleteInnings").Click())
	outcome := page.Locator("#try-outcome")
	must(t, expect.Locator(outcome).ToContainText("CompleteInnings would make 1 event, to version 2"))
	must(t, expect.Locator(outcome.Locator("table.diff")).ToContainText("77"))
	must(t, expect.Page(page).ToHaveURL(app.URL+"/streams/match/m-1/timeline?v=1"))
	// Refused at the latest version, in words.
	if _, err := page.Goto(app.URL + "/streams/match/m-1/timeline"); err != nil {
		t.Fatal(err)
	}
	form = page.Locator("form.try[data-command='CompleteInnings']")
	must(t, form.GetByLabel("innings").Fill("1"))
	must(t, button(form, "Try CompleteInnings").Click())
	must(t, expect.Locator(page.Locator("#try-outcome .problem")).ToHaveAttribute("data-code", "InningsOutOfOrder"))
	// Nothing was written: the match still has its two innings.
	if _, err := page.Goto(app.URL + "/matches/m-1"); err != nil {
		t.Fatal(err)
	}
	must(t, expect.Locator(page.Locator("#scoreboard tr[data-innings]")).ToHaveCount(2))
	must(t, expect.Locator(page.Locator("#home-total")).ToHaveText("100"))
}

// Stepping the timeline shows each read model's row as it was after that
// event: a checkout's day of sales, counted to that moment.
func TestTheSliderShowsEveryReadModelsRowAsItWas(t *testing.T) {
	app := apptest.Start(t, apptest.Options{})
	postJSON(t, app.URL+"/carts/k-1/items", `{"sku":"tea","qty":2,"price":"5.00"}`)
	postJSON(t, app.URL+"/carts/k-1/checkout", `{}`)
	postJSON(t, app.URL+"/carts/k-2/items", `{"sku":"pot","qty":1,"price":"20.00"}`)
	postJSON(t, app.URL+"/carts/k-2/checkout", `{}`)
	page := newPage(t, newContext(t, app))
	if _, err := page.Goto(app.URL + "/streams/cart/k-2/timeline?v=2"); err != nil {
		t.Fatal(err)
	}
	rows := page.Locator("#tl-read-models")
	must(t, expect.Locator(rows.Locator("[data-model='sales'] .row-json")).ToContainText(`"total": "30.00"`))
	must(t, expect.Locator(rows.Locator("[data-model='sales'] table.diff")).ToContainText(`"10.00"`))
	must(t, expect.Locator(rows.Locator("[data-key='cart/k-2'] table.diff")).ToContainText("checkedOut"))
	// One step back: the item added; no sales row, the cart's row at v1.
	must(t, page.Locator("#tl-slider").Focus())
	must(t, page.Keyboard().Press("ArrowLeft"))
	must(t, expect.Locator(page.Locator("#timeline-body")).ToHaveAttribute("data-at", "1"))
	must(t, expect.Locator(rows.Locator("[data-model='sales']")).ToHaveCount(0))
	must(t, expect.Locator(rows.Locator("[data-key='cart/k-2'] h3 small")).ToHaveText("(new)"))
}

// The projections board counts another person's commands as they happen.
func TestTheProjectionsBoardCountsLive(t *testing.T) {
	app := apptest.Start(t, apptest.Options{})
	playedMatch(t, app.URL, "m-1", 100)
	page := newPage(t, anonymousContext(t)) // watching is open to anyone
	if _, err := page.Goto(app.URL + "/projections"); err != nil {
		t.Fatal(err)
	}
	applied := page.Locator("tr[data-model='matches'] td.applied")
	must(t, expect.Locator(applied).ToHaveText("2"))
	postJSON(t, app.URL+"/matches/m-1/innings", `{"innings":2,"runs":50,"wickets":3}`)
	must(t, expect.Locator(applied).ToHaveText("3"))
	must(t, expect.Locator(page.Locator("tr[data-model='sales'] td.behind")).ToHaveText("0"))
}
