package e2e

import (
	"strings"
	"testing"

	"github.com/playwright-community/playwright-go"

	"github.com/foldboard/foldboard/internal/apptest"
)

// An admin rebuilds with a review: the dashboard says, live, that the caught
// up read models do not differ from the ones in use and offers the choice;
// the pages keep the old read models until the swap, and after it read the
// rebuilt ones.
func TestARebuildUnderReviewShowsItsDiffAndSwapsOnTheAdminsWord(t *testing.T) {
	app := apptest.Start(t, apptest.Options{Admins: []string{"tester"}})
	page := newPage(t, newContext(t, app))
	startMatchInBrowser(t, page, app.URL, "Kent", "Surrey")
	recordInnings(t, page, "240", "9")
	if _, err := page.Goto(app.URL + "/"); err != nil {
		t.Fatal(err)
	}
	must(t, expect.Locator(page.Locator("#live-status")).ToHaveText("live"))
	old := app.Server.Projector().Name()

	must(t, page.GetByLabel("Show how they differ before swapping them in").Check())
	must(t, page.GetByRole("button", playwright.PageGetByRoleOptions{Name: "Rebuild read models"}).Click())
	diff := page.Locator("#rebuild-diff")
	must(t, expect.Locator(diff).ToContainText("no difference from the read models in use"))
	// It waits for the admin: still the old read models in use.
	must(t, expect.Locator(page.GetByRole("button", playwright.PageGetByRoleOptions{Name: "Discard the rebuild"})).ToBeVisible())
	if got := app.Server.Projector().Name(); got != old {
		t.Fatalf("swapped in %s before the admin said so", got)
	}
	must(t, expect.Locator(page.Locator("#projector-name")).ToHaveText(old))

	must(t, page.GetByRole("button", playwright.PageGetByRoleOptions{Name: "Swap in the rebuilt read models"}).Click())
	must(t, expect.Locator(page.Locator("#rebuild-progress")).ToContainText("Rebuilt"))
	name := app.Server.Projector().Name()
	if name == old || !strings.HasPrefix(name, "readmodels-") {
		t.Fatalf("serving %s after the swap", name)
	}
	must(t, expect.Locator(page.Locator("#projector-name")).ToHaveText(name))
	must(t, expect.Locator(page.Locator("#rebuild-diff")).ToHaveCount(0))
}
