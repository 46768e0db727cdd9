package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/playwright-community/playwright-go"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/internal/apptest"
	"github.com/foldboard/foldboard/projections"
)

// An admin repairs a scoreboard whose saved document went wrong (100 runs
// saved as 13) with the Rebuild button of the matches row on the
// projections board: back on the board it says the model was rebuilt, and
// the match's page shows the 100 runs the log holds.
func TestAnAdminRebuildsOneReadModelFromTheBoard(t *testing.T) {
	opts := apptest.Options{Admins: []string{"tester"}}
	app := apptest.Start(t, opts)
	playedMatch(t, app.URL, "mr-1", 100)
	ctx := context.Background()
	rm := app.Store.(es.ReadModelStore)
	var cp, doc string
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(doc, `"homeRuns":100`); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the scoreboard was never saved: %s", doc)
		}
		saved, docs, err := rm.LoadReadModels(ctx, projections.DefaultName)
		if err != nil {
			t.Fatal(err)
		}
		cp, doc = saved, string(docs["match/mr-1"])
	}
	wrong := strings.NewReplacer(`"runs":100`, `"runs":13`, `"homeRuns":100`, `"homeRuns":13`).Replace(doc)
	if err := rm.SaveReadModels(ctx, projections.DefaultName, cp, map[string]json.RawMessage{"match/mr-1": json.RawMessage(wrong)}); err != nil {
		t.Fatal(err)
	}
	app.Stop()
	app = apptest.Start(t, app.Options)

	page := newPage(t, newContext(t, app))
	if _, err := page.Goto(app.URL + "/matches/mr-1"); err != nil {
		t.Fatal(err)
	}
	must(t, expect.Locator(page.Locator("#home-total")).ToHaveText("13"))
	if _, err := page.Goto(app.URL + "/projections"); err != nil {
		t.Fatal(err)
	}
	row := page.Locator("tr[data-model='matches']").First()
	rebuild := row.GetByRole("button", playwright.LocatorGetByRoleOptions{Name: "Rebuild matches"})
	must(t, expect.Locator(rebuild).ToBeVisible())
	must(t, rebuild.Click())
	must(t, page.WaitForURL(app.URL+"/projections#rebuild-progress"))
	must(t, expect.Locator(page.Locator("#rebuild-progress")).ToContainText("Rebuilt "+projections.DefaultName+".matches"))
	if _, err := page.Goto(app.URL + "/matches/mr-1"); err != nil {
		t.Fatal(err)
	}
	must(t, expect.Locator(page.Locator("#home-total")).ToHaveText("100"))
}
