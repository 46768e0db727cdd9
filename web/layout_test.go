package web_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/foldboard/foldboard/es/sqlite"
	"github.com/foldboard/foldboard/internal/apptest"
	"github.com/foldboard/foldboard/projections"
)

// Read models saved by a version before the lists were indexes in the store
// (layout 1: no layout document, no list index, no counts) showed empty
// lists after an upgrade. A server that loads them rebuilds them: the
// matches list shows every match again, from read models under a new name
// in this code's layout.
func TestReadModelsOfAnOlderLayoutAreRebuiltAtStart(t *testing.T) {
	db := filepath.Join(t.TempDir(), "foldboard.db")
	app := apptest.Start(t, apptest.Options{DB: db})
	c := newClient(t, app)
	for _, id := range []string{"old-1", "old-2"} {
		startMatch(t, c, id)
	}
	waitApplied(t, app, "match/old-2", 1)
	name := app.Server.Projector().Name()
	app.Stop()

	// As an older version saved them.
	ctx := context.Background()
	store, err := sqlite.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	cp, docs, err := store.LoadReadModels(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	gone := map[string]json.RawMessage{}
	for key := range docs {
		if key == "layout" || strings.HasPrefix(key, "lists/") || strings.HasPrefix(key, "counts/") {
			gone[key] = nil
		}
	}
	if _, ok := gone["layout"]; !ok || len(gone) < 3 {
		t.Fatalf("the saved read models hold no layout, list index or counts to take away: %v", gone)
	}
	if err := store.SaveReadModels(ctx, name, cp, gone); err != nil {
		t.Fatal(err)
	}
	store.Close()

	again := apptest.Start(t, apptest.Options{DB: db})
	c = newClient(t, again)
	waitFor(t, func() bool {
		body := c.get("/matches").body
		return strings.Contains(body, "old-1") && strings.Contains(body, "old-2")
	})
	p := again.Server.Projector()
	if p.Name() == name || p.Stale() || p.Catalogue().Layout() != projections.Layout {
		t.Fatalf("serving %q (was %q), layout %d, want a rebuild in layout %d", p.Name(), name, p.Catalogue().Layout(), projections.Layout)
	}
}
