package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/playwright-community/playwright-go"

	"github.com/foldboard/foldboard/domain/cart"
	"github.com/foldboard/foldboard/domain/cricket"
	"github.com/foldboard/foldboard/internal/apptest"
	"github.com/foldboard/foldboard/internal/seed"
	"github.com/foldboard/foldboard/web"
)

func TestCommandFormsWorkWithoutJavaScript(t *testing.T) {
	app := apptest.Start(t, apptest.Options{Admins: []string{"ana"}}) // the rebuild is an admin's
	page := newPage(t, newContextWith(t, nil, playwright.BrowserNewContextOptions{JavaScriptEnabled: playwright.Bool(false)}))

	// Signing up, then a match from start to end: every answer is a page.
	signIn(t, page, app.URL, "ana")
	startMatchInBrowser(t, page, app.URL, "Kent", "Surrey")
	recordInnings(t, page, "240", "9")
	must(t, expect.Locator(page.Locator("#home-total")).ToHaveText("240"))
	must(t, page.Locator("#end-form").GetByLabel("Result").Fill("Kent won"))
	must(t, page.Locator("#end-form").GetByRole("button", playwright.LocatorGetByRoleOptions{Name: "End match"}).Click())
	must(t, expect.Locator(page.Locator("#scoreboard .result")).ToContainText("Kent won"))
	// No script ran: the live badge never left "connecting…".
	must(t, expect.Locator(page.Locator("#live-status")).ToHaveText("connecting…"))

	// A cart, filled and checked out.
	openNewCart(t, page, app.URL)
	addToCart(t, page, "mug", "2", "9.50", "19.00")
	checkOutCart(t, page)

	// A rebuild from the dashboard's button lands back on the dashboard,
	// which shows how it went at each reload.
	if _, err := page.Goto(app.URL + "/"); err != nil {
		t.Fatal(err)
	}
	must(t, page.GetByRole("button", playwright.PageGetByRoleOptions{Name: "Rebuild read models"}).Click())
	progress := page.Locator("#rebuild-progress")
	deadline := time.Now().Add(10 * time.Second)
	for {
		if text, _ := progress.TextContent(); strings.Contains(text, "Rebuilt") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the dashboard never said the rebuild was done")
		}
		if _, err := page.Reload(); err != nil {
			t.Fatal(err)
		}
	}
	// The match's three events, the cart's two, the match's report's two
	// (the match-report reaction's), and ana's account's two (registered,
	// signed in): the cart's and ana's are private to the dashboard, which
	// every watcher sees alike.
	must(t, expect.Locator(page.Locator("#total-events")).ToHaveAttribute("data-all", "9"))
	must(t, expect.Locator(page.Locator("#total-events")).ToHaveText("5"))
	must(t, expect.Locator(page.Locator("#private-events")).ToHaveText("4 private"))
}

func TestARebuildShowsOnTheDashboardLiveAndItsButtonWorks(t *testing.T) {
	// The seed's carts stay unreminded (they are days quiet); its ended
	// matches are reported: two events each.
	app := apptest.Start(t, apptest.Options{Admins: []string{"tester"}, Configure: func(d *web.Deps) { d.ReminderAfter = 1000 * time.Hour }})
	plan := seed.Plan(time.Now().UTC())
	sum, err := seed.Run(context.Background(), app.Store, plan)
	if err != nil {
		t.Fatal(err)
	}
	// Each seeded checkout earns its owner a cash-back deposit (loyalty).
	// And the tester's account's two (registered, signed in).
	total := strconv.Itoa(sum.Events + 2*endedMatches(plan) + checkouts(plan) + 2)
	page := newPage(t, newContext(t, app))
	if _, err := page.Goto(app.URL + "/"); err != nil {
		t.Fatal(err)
	}
	must(t, expect.Locator(page.Locator("#live-status")).ToHaveText("live"))
	must(t, expect.Locator(page.Locator("#projector-name")).ToHaveText("readmodels-v1"))

	// Someone else starts a rebuild: this page, never reloaded, sees it end
	// and the new read models in use.
	markPage(t, page)
	if err := app.Server.StartRebuild(); err != nil {
		t.Fatal(err)
	}
	must(t, expect.Locator(page.Locator("#rebuild-progress")).ToContainText("Rebuilt"))
	must(t, expect.Locator(page.Locator("#rebuild-progress")).ToContainText("events/s"))
	name := app.Server.Projector().Name()
	must(t, expect.Locator(page.Locator("#projector-name")).ToHaveText(name))
	must(t, expect.Locator(page.Locator("#total-events")).ToHaveAttribute("data-all", total))
	wantNoReload(t, page)

	// The button starts another, and the page follows it the same way.
	must(t, page.GetByRole("button", playwright.PageGetByRoleOptions{Name: "Rebuild read models"}).Click())
	must(t, expect.Locator(page.Locator("#projector-name")).Not().ToHaveText(name))
	must(t, expect.Locator(page.Locator("#rebuild-progress")).ToContainText("Rebuilt"))
	must(t, expect.Locator(page.Locator("#total-events")).ToHaveAttribute("data-all", total))
}

func TestKeyboardSkipsToTheContent(t *testing.T) {
	app := apptest.Start(t, apptest.Options{})
	page := newPage(t, newContext(t, app))
	if _, err := page.Goto(app.URL + "/matches"); err != nil {
		t.Fatal(err)
	}
	must(t, page.Keyboard().Press("Tab"))
	must(t, expect.Locator(page.GetByRole("link", playwright.PageGetByRoleOptions{Name: "Skip to content"})).ToBeFocused())
	must(t, page.Keyboard().Press("Enter"))
	must(t, page.Keyboard().Press("Tab"))
	// The next stop is the page's own first field, past the navigation.
	must(t, expect.Locator(page.Locator("#start-match").GetByLabel("Venue")).ToBeFocused())
}

// TestScreenshotsOfTheMainPages opens every main page full of seeded data,
// live, and saves its picture: into $FOLDBOARD_SCREENSHOTS (make screenshots,
// for the README), or else into a scratch directory, so that every run checks
// the pages still render and go live.
func TestScreenshotsOfTheMainPages(t *testing.T) {
	dir := os.Getenv("FOLDBOARD_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	app := apptest.Start(t, apptest.Options{})
	if _, err := seed.Run(context.Background(), app.Store, seed.Plan(time.Now().UTC())); err != nil {
		t.Fatal(err)
	}
	wait, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		lag, err := app.Server.Projector().Lag(wait, time.Now())
		if err == nil && lag.Events == 0 && app.Server.Projector().Catalogue().Stats().Events > 0 {
			break
		}
		if wait.Err() != nil {
			t.Fatalf("the projector did not catch up with the seed: %+v %v", lag, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	shots := []struct {
		name, path, ready string
		width, height     int
	}{
		{"dashboard", "/", "#total-events", 1200, 1000},
		{"match", "/matches/seed-match-1", "#scoreboard", 1200, 900},
		{"timeline", "/streams/match/seed-match-1/timeline?v=3", "#tl-slider", 1200, 900},
		{"carts", "/carts", "#cart-list", 1200, 800},
		{"cart", "/carts/seed-cart-open-1", "#cart", 1200, 900},
		{"sales", "/sales", "svg.sales-chart", 1200, 900},
		{"posts", "/posts", "main", 1200, 900},
		{"events", "/events", "main", 1200, 800},
		{"dashboard-phone", "/", "#total-events", 390, 844},
	}
	for _, s := range shots {
		page := newPage(t, newContextWith(t, app, playwright.BrowserNewContextOptions{
			Viewport: &playwright.Size{Width: s.width, Height: s.height},
		}))
		if _, err := page.Goto(app.URL + s.path); err != nil {
			t.Fatal(err)
		}
		must(t, expect.Locator(page.Locator(s.ready).First()).ToBeVisible())
		if n, _ := page.Locator("#live-status").Count(); n > 0 {
			must(t, expect.Locator(page.Locator("#live-status")).ToHaveText("live"))
		}
		path := filepath.Join(dir, s.name+".png")
		if _, err := page.Screenshot(playwright.PageScreenshotOptions{Path: playwright.String(path)}); err != nil {
			t.Fatalf("screenshot of %s: %v", s.path, err)
		}
		if fi, err := os.Stat(path); err != nil || fi.Size() < 1000 {
			t.Fatalf("no picture of %s at %s (%v)", s.path, path, err)
		}
		t.Logf("saved %s", path)
	}
}

// endedMatches counts the matches a seed plan ends.
func checkouts(plan []seed.Step) int {
	n := 0
	for _, s := range plan {
		if _, ok := s.Command.(cart.CheckOut); ok {
			n++
		}
	}
	return n
}

func endedMatches(plan []seed.Step) int {
	n := 0
	for _, s := range plan {
		if _, ok := s.Command.(cricket.EndMatch); ok {
			n++
		}
	}
	return n
}
