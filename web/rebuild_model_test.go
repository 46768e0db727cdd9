package web_test

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/internal/apptest"
	"github.com/foldboard/foldboard/projections"
)

// A saved scoreboard tampered with (98 runs for 99, and a match that never
// was) is repaired by rebuilding the matches read model alone from the
// /projections board: the page shows the fold of the log again, the
// invented match is gone from memory and from the store, every other saved
// document (carts, catalogue, event index) is byte for byte what it was,
// and later events reach the rebuilt model and a restart keeps it. Admins
// only; an unknown model 400 BadModel; while another rebuild runs 409
// RebuildRunning.
func TestRebuildingOneReadModelRepairsItAloneOnEveryStore(t *testing.T) {
	for _, store := range apptest.Stores {
		t.Run(store, func(t *testing.T) {
			app := apptest.Start(t, apptest.Options{Store: store})
			c := newClient(t, app)
			startMatch(t, c, "m-1")
			startMatch(t, c, "m-2")
			wantStatus(t, c.postJSON("/matches/m-2/innings", `{"innings":1,"runs":99,"wickets":3}`), http.StatusOK, "")
			wantStatus(t, c.postJSON("/carts/c-1/items", `{"sku":"sku-1","qty":2,"price":"1.50"}`), http.StatusCreated, "")
			waitApplied(t, app, "match/m-2", 2)
			waitApplied(t, app, "cart/c-1", 1)

			ctx := context.Background()
			rm := app.Store.(es.ReadModelStore)
			var cp string
			var docs map[string]json.RawMessage
			waitFor(t, func() bool {
				var err error
				cp, docs, err = rm.LoadReadModels(ctx, projections.DefaultName)
				return err == nil && strings.Contains(string(docs["match/m-2"]), `99`) && docs["cart/c-1"] != nil
			})
			ghost := strings.Replace(string(docs["match/m-1"]), `"m-1"`, `"ghost"`, 1)
			if err := rm.SaveReadModels(ctx, projections.DefaultName, cp, map[string]json.RawMessage{
				"match/m-2":   json.RawMessage(strings.NewReplacer(`"runs":99`, `"runs":98`, `"homeRuns":99`, `"homeRuns":98`).Replace(string(docs["match/m-2"]))),
				"match/ghost": json.RawMessage(ghost),
			}); err != nil {
				t.Fatal(err)
			}
			app.Stop()

			app = apptest.Start(t, app.Options)
			c = newClient(t, app)
			rm = app.Store.(es.ReadModelStore)
			if page := c.get("/matches/m-2").body; !strings.Contains(page, `id="home-total">98<`) {
				t.Fatalf("the restarted server does not serve the tampered scoreboard %s", docs["match/m-2"])
			}
			_, before, err := rm.LoadReadModels(ctx, projections.DefaultName)
			if err != nil {
				t.Fatal(err)
			}
			board := func(actor string) string {
				return c.do("GET", "/projections", "", "", map[string]string{"X-Actor": actor}).body
			}
			if !strings.Contains(board("admin"), `aria-label="Rebuild matches"`) || strings.Contains(board("someone"), `class="rebuild-model"`) {
				t.Fatal("the board offers the rebuild of one model to someone not an admin, or not to an admin")
			}
			rebuild := func(actor, body string) response {
				return c.do("POST", "/projections/rebuild", "application/json", body, map[string]string{"Accept": "application/json", "X-Actor": actor})
			}
			wantStatus(t, rebuild("someone", `{"model":"matches"}`), http.StatusForbidden, "AdminOnly")
			wantStatus(t, rebuild("admin", `{"model":"nope"}`), http.StatusBadRequest, "BadModel")
			wantStatus(t, rebuild("admin", `{}`), http.StatusBadRequest, "MissingField")
			// While a whole rebuild waits for its review: refused.
			wantStatus(t, c.do("POST", "/rebuild?review=1", "", "", map[string]string{"Accept": "application/json", "X-Actor": "admin"}), http.StatusAccepted, "")
			wantStatus(t, rebuild("admin", `{"model":"matches"}`), http.StatusConflict, "RebuildRunning")
			waitFor(t, func() bool { return strings.Contains(c.get("/").body, `id="rebuild-discard"`) })
			wantStatus(t, c.do("POST", "/rebuild/discard", "", "", map[string]string{"Accept": "application/json", "X-Actor": "admin"}), http.StatusOK, "")
			waitFor(t, func() bool { return !app.Server.Rebuilding() })

			// The board's button: a form, back to the board.
			r := c.do("POST", "/projections/rebuild", "application/x-www-form-urlencoded", url.Values{"model": {"matches"}}.Encode(), map[string]string{"X-Actor": "admin"})
			if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/projections") {
				t.Fatalf("the board's form: %d %q %s", r.status, r.header.Get("Location"), r.body)
			}
			waitFor(t, func() bool { return !app.Server.Rebuilding() })
			if got := board("admin"); !strings.Contains(got, "Rebuilt <code>"+projections.DefaultName+".matches</code>") {
				t.Fatalf("the board does not say the model was rebuilt:\n%s", got)
			}
			if page := c.get("/matches/m-2").body; !strings.Contains(page, `id="home-total">99<`) {
				t.Error("the rebuilt matches model does not show the fold of the log")
			}
			if page := c.get("/matches").body; strings.Contains(page, "ghost") || !strings.Contains(page, "m-1") {
				t.Error("the matches list after the rebuild: the invented match still there, or m-1 gone")
			}
			var after map[string]json.RawMessage
			waitFor(t, func() bool {
				_, after, err = rm.LoadReadModels(ctx, projections.DefaultName)
				return err == nil && after["match/ghost"] == nil && strings.Contains(string(after["match/m-2"]), `99`)
			})
			for _, key := range slices.Sorted(maps.Keys(before)) {
				if strings.HasPrefix(key, "match/") {
					continue
				}
				if string(after[key]) != string(before[key]) {
					t.Errorf("%s changed by the rebuild of matches alone:\n%s\nwas\n%s", key, after[key], before[key])
				}
			}
			for key := range after {
				if _, ok := before[key]; !ok {
					t.Errorf("the rebuild of matches saved a new document %s", key)
				}
			}
			if string(after["match/m-1"]) != string(before["match/m-1"]) {
				t.Errorf("match/m-1, folded alike, was written otherwise:\n%s\nwas\n%s", after["match/m-1"], before["match/m-1"])
			}

			// Later events reach the rebuilt model, and a restart keeps it.
			wantStatus(t, c.postJSON("/matches/m-1/innings", `{"innings":1,"runs":7,"wickets":1}`), http.StatusOK, "")
			waitApplied(t, app, "match/m-1", 2)
			if page := c.get("/matches/m-1").body; !strings.Contains(page, `id="home-total">7<`) {
				t.Error("a later event did not reach the rebuilt model")
			}
			app.Stop()
			c = newClient(t, apptest.Start(t, app.Options))
			if page := c.get("/matches/m-2").body; !strings.Contains(page, `id="home-total">99<`) {
				t.Error("after a restart the repaired scoreboard is gone")
			}
			if page := c.get("/matches/m-1").body; !strings.Contains(page, `id="home-total">7<`) {
				t.Error("after a restart the later innings is gone")
			}
		})
	}
}
