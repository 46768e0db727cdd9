package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/internal/apptest"
	"github.com/foldboard/foldboard/projections"
)

// reviewStatus is the rebuild's status in a JSON answer.
func reviewStatus(t *testing.T, r response) map[string]any {
	t.Helper()
	st, _ := r.json(t)["rebuild"].(map[string]any)
	if st == nil {
		t.Fatalf("no rebuild in %s", r.body)
	}
	return st
}

var adminJSON = map[string]string{"Accept": "application/json", "X-Actor": "admin"}

// A rebuild under review that finds read models equal to the ones in use
// says so, waits, and swaps in on the admin's word; a second word finds none
// waiting.
func TestARebuildUnderReviewWithNoDifferenceSaysSoAndSwapsWhenTold(t *testing.T) {
	app := apptest.Start(t, apptest.Options{})
	c := newClient(t, app)
	for _, id := range []string{"m-1", "m-2"} {
		startMatch(t, c, id)
	}
	wantStatus(t, c.postJSON("/matches/m-2/innings", `{"innings":1,"runs":99,"wickets":3}`), http.StatusOK, "")
	waitApplied(t, app, "match/m-2", 2)
	old := app.Server.Projector().Name()

	wantStatus(t, c.do("POST", "/rebuild?review=2", "", "", adminJSON), http.StatusBadRequest, "BadQuery")
	wantStatus(t, c.do("POST", "/rebuild/swap", "", "", adminJSON), http.StatusConflict, "NoRebuildUnderReview")
	r := c.do("POST", "/rebuild?review=1", "", "", adminJSON)
	wantStatus(t, r, http.StatusAccepted, "")
	name, _ := reviewStatus(t, r)["projector"].(string)
	waitFor(t, func() bool { return strings.Contains(c.get("/").body, `id="rebuild-diff"`) })
	page := c.get("/").body
	if !strings.Contains(page, "no difference from the read models in use") || attr(t, page, "rebuild-diff", "data-differ") != "0" {
		t.Fatalf("the dashboard does not say the rebuild found no difference: %s", page)
	}
	if n := attr(t, page, "rebuild-diff", "data-compared"); n == "0" {
		t.Fatal("no document compared")
	}
	// It waits: the pages still read the old ones, a second rebuild is refused.
	if got := app.Server.Projector().Name(); got != old {
		t.Fatalf("swapped in %s before the admin said so", got)
	}
	wantStatus(t, c.do("POST", "/rebuild", "", "", adminJSON), http.StatusConflict, "RebuildRunning")
	// Written meanwhile: the swap still brings it.
	startMatch(t, c, "m-3")
	waitApplied(t, app, "match/m-3", 1)

	r = c.do("POST", "/rebuild/swap", "", "", adminJSON)
	wantStatus(t, r, http.StatusOK, "")
	waitFor(t, func() bool { return !app.Server.Rebuilding() })
	if got := app.Server.Projector().Name(); got != name {
		t.Fatalf("serving %s after the swap, want %s", got, name)
	}
	if page := c.get("/matches/m-3"); page.status != http.StatusOK {
		t.Fatalf("a match started while the rebuild waited: %d", page.status)
	}
	if !strings.Contains(c.get("/matches/m-2").body, `id="home-total">99<`) {
		t.Error("the rebuilt scoreboard lost the innings")
	}
	wantStatus(t, c.do("POST", "/rebuild/discard", "", "", adminJSON), http.StatusConflict, "NoRebuildUnderReview")
}

// Read models in use that went wrong (a document saved with a wrong score,
// as a bug would leave it): the rebuild under review counts the document that
// differs and shows the field, in use and rebuilt; a discard keeps the read
// models in use and drops the rebuilt ones.
func TestARebuildUnderReviewShowsWhatDiffersAndADiscardKeepsTheReadModelsInUse(t *testing.T) {
	db := filepath.Join(t.TempDir(), "foldboard.db")
	app := apptest.Start(t, apptest.Options{DB: db})
	c := newClient(t, app)
	for _, id := range []string{"m-1", "m-2", "m-3"} {
		startMatch(t, c, id)
	}
	wantStatus(t, c.postJSON("/matches/m-2/innings", `{"innings":1,"runs":99,"wickets":3}`), http.StatusOK, "")
	waitApplied(t, app, "match/m-2", 2)

	// The saved scoreboard of m-2 says 98 runs (written while the server is
	// quiet, then read at its next start).
	ctx := context.Background()
	rm := app.Store.(es.ReadModelStore)
	var cp, doc string
	waitFor(t, func() bool {
		saved, docs, err := rm.LoadReadModels(ctx, projections.DefaultName)
		cp, doc = saved, string(docs["match/m-2"])
		return err == nil && strings.Contains(doc, `99`)
	})
	wrong := strings.Replace(doc, `99`, `98`, 1)
	if err := rm.SaveReadModels(ctx, projections.DefaultName, cp, map[string]json.RawMessage{"match/m-2": json.RawMessage(wrong)}); err != nil {
		t.Fatal(err)
	}
	app.Stop()

	app = apptest.Start(t, apptest.Options{DB: db})
	rm = app.Store.(es.ReadModelStore)
	c = newClient(t, app)
	r := c.do("POST", "/rebuild", "application/x-www-form-urlencoded", "review=1", map[string]string{"X-Actor": "admin"})
	if r.status != http.StatusSeeOther {
		t.Fatalf("form post: %d %s", r.status, r.body)
	}
	name := app.Server.RebuildName()
	waitFor(t, func() bool { return strings.Contains(c.get("/").body, `id="rebuild-diff"`) })
	page := c.get("/").body
	if got := attr(t, page, "rebuild-diff", "data-differ"); got != "1" {
		t.Fatalf("%s documents differ, want 1: %s", got, page)
	}
	for _, want := range []string{"1 of ", "<code>match/m-2</code>", "<code>98</code>", "<code>99</code>", "Swap in the rebuilt read models", "Discard the rebuild"} {
		if !strings.Contains(page, want) {
			t.Errorf("the dashboard's difference lacks %q", want)
		}
	}

	r = c.do("POST", "/rebuild/discard", "", "", adminJSON)
	wantStatus(t, r, http.StatusOK, "")
	st := reviewStatus(t, r)
	diff, _ := st["diff"].(map[string]any)
	first, _ := diff["first"].([]any)
	if diff["differ"] != float64(1) || len(first) == 0 {
		t.Fatalf("the JSON difference: %v", st)
	}
	d0 := first[0].(map[string]any)
	if d0["doc"] != "match/m-2" || d0["inUse"] != "98" || d0["rebuilt"] != "99" || !strings.Contains(d0["field"].(string), ".") {
		t.Errorf("first difference %v", d0)
	}
	waitFor(t, func() bool { return !app.Server.Rebuilding() })
	if got := app.Server.Projector().Name(); got != projections.DefaultName {
		t.Fatalf("serving %s after a discard", got)
	}
	if !strings.Contains(c.get("/").body, "was discarded") {
		t.Error("the dashboard does not say the rebuild was discarded")
	}
	waitFor(t, func() bool {
		_, docs, err := rm.LoadReadModels(ctx, name)
		return err == nil && len(docs) == 0
	})
	app.Stop()
	if got := apptest.Start(t, apptest.Options{DB: db}).Server.Projector().Name(); got != projections.DefaultName {
		t.Fatalf("after a discard and a restart, serving %s", got)
	}
}
