package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/playwright-community/playwright-go"

	"github.com/foldboard/foldboard/internal/apptest"
	"github.com/foldboard/foldboard/internal/seed"
)

// seeded starts foldboard with the demo data applied to its read models.
func seeded(t *testing.T) *apptest.App {
	t.Helper()
	app := apptest.Start(t, apptest.Options{})
	if _, err := seed.Run(context.Background(), app.Store, seed.Plan(time.Now().UTC())); err != nil {
		t.Fatal(err)
	}
	wait, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		lag, err := app.Server.Projector().Lag(wait, time.Now())
		if err == nil && lag.Events == 0 && app.Server.Projector().Catalogue().Stats().Events > 0 {
			return app
		}
		if wait.Err() != nil {
			t.Fatalf("the projector did not catch up with the seed: %+v %v", lag, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// shot keeps a screenshot where FOLDBOARD_SCREENSHOTS says (for looking).
func shot(t *testing.T, page playwright.Page, name string) {
	t.Helper()
	dir := os.Getenv("FOLDBOARD_SCREENSHOTS")
	if dir == "" {
		return
	}
	if _, err := page.Screenshot(playwright.PageScreenshotOptions{Path: playwright.String(filepath.Join(dir, name+".png")), FullPage: playwright.Bool(true)}); err != nil {
		t.Logf("screenshot %s: %v", name, err)
	}
}

func backgroundOf(t *testing.T, page playwright.Page, selector string) string {
	t.Helper()
	v, err := page.Locator(selector).First().Evaluate("el => getComputedStyle(el).backgroundColor", nil)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := v.(string)
	return s
}

func TestThePagesFollowTheSystemsDarkMode(t *testing.T) {
	app := seeded(t)
	want := map[*playwright.ColorScheme]string{
		playwright.ColorSchemeLight: "rgb(246, 247, 249)",
		playwright.ColorSchemeDark:  "rgb(20, 23, 28)",
	}
	for scheme, bg := range want {
		page := newPage(t, newContextWith(t, app, playwright.BrowserNewContextOptions{
			ColorScheme: scheme, Viewport: &playwright.Size{Width: 1200, Height: 900},
		}))
		for _, path := range []string{"/", "/sales", "/events", "/matches/seed-match-1"} {
			if _, err := page.Goto(app.URL + path); err != nil {
				t.Fatal(err)
			}
			// Measured once the live fragments of the connection have come.
			must(t, expect.Locator(page.Locator("#live-status")).ToHaveText("live"))
			// Asserted with retries: a live fragment may replace a panel
			// while it is read (CI read one as "" once).
			if err := expect.Locator(page.Locator("html")).ToHaveCSS("background-color", bg); err != nil {
				t.Errorf("%s in %s: the page's background is %s, want %s (%v)", path, *scheme, backgroundOf(t, page, "html"), bg, err)
			}
			panel := map[string]string{"light": "rgb(255, 255, 255)", "dark": "rgb(29, 33, 40)"}[string(*scheme)]
			if err := expect.Locator(page.Locator(".panel").First()).ToHaveCSS("background-color", panel); err != nil {
				t.Errorf("%s in %s: a panel is %s, want %s (%v)", path, *scheme, backgroundOf(t, page, ".panel"), panel, err)
			}
			shot(t, page, "looks-"+string(*scheme)+"-"+strings.Trim(strings.ReplaceAll(path, "/", "-"), "-"))
		}
	}
}

func TestASalesBarShowsItsValueOnHoverAndFocus(t *testing.T) {
	app := seeded(t)
	page := newPage(t, newContextWith(t, app, playwright.BrowserNewContextOptions{Viewport: &playwright.Size{Width: 1200, Height: 900}}))
	if _, err := page.Goto(app.URL + "/sales"); err != nil {
		t.Fatal(err)
	}
	must(t, expect.Locator(page.Locator("svg.sales-chart text.tick").First()).ToHaveText("0"))
	bar := page.Locator("svg.sales-chart g.bar").Last()
	total, err := bar.GetAttribute("data-total")
	if err != nil {
		t.Fatal(err)
	}
	label, _ := bar.GetAttribute("aria-label")
	if label == "" {
		t.Fatal("a bar says nothing to a screen reader")
	}
	value := bar.Locator("text.value")
	must(t, expect.Locator(value).ToHaveText(total))
	if n, _ := bar.Locator("text.hover").Count(); n == 1 {
		// Many days: each value shows on hover, and on keyboard focus.
		must(t, expect.Locator(value).ToBeHidden())
		must(t, bar.Hover())
		must(t, expect.Locator(value).ToBeVisible())
		must(t, page.Mouse().Move(0, 0))
		must(t, expect.Locator(value).ToBeHidden())
		must(t, bar.Focus())
		must(t, expect.Locator(value).ToBeVisible())
	} else {
		must(t, expect.Locator(value).ToBeVisible())
	}
	shot(t, page, "looks-sales-hover")
}

func TestTheEventTableKeepsEachTimeAndStreamOnOneLine(t *testing.T) {
	app := seeded(t)
	for _, width := range []int{1200, 800} {
		page := newPage(t, newContextWith(t, app, playwright.BrowserNewContextOptions{Viewport: &playwright.Size{Width: width, Height: 900}}))
		if _, err := page.Goto(app.URL + "/events"); err != nil {
			t.Fatal(err)
		}
		must(t, expect.Locator(page.Locator("table.event-table td.when").First()).ToBeVisible())
		for _, sel := range []string{"td.when time", "td.stream a"} {
			heights, err := page.Locator("table.event-table " + sel).EvaluateAll("els => els.map(e => e.getBoundingClientRect().height)")
			if err != nil {
				t.Fatal(err)
			}
			line, _ := page.Locator("table.event-table td.type").First().Evaluate("el => parseFloat(getComputedStyle(el).lineHeight)", nil)
			lh, _ := line.(float64)
			for i, h := range heights.([]any) {
				if f, _ := h.(float64); lh > 0 && f > 1.5*lh {
					t.Errorf("width %d: %s of row %d is %.0f px high, more than a line (%.0f)", width, sel, i, f, lh)
					break
				}
			}
		}
		shot(t, page, "looks-events-"+map[int]string{1200: "wide", 800: "narrow"}[width])
	}
}
