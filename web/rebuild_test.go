package web_test

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/internal/apptest"
	"github.com/foldboard/foldboard/projections"
)

func TestRebuildSwapsInFreshReadModelsAndARestartKeepsThem(t *testing.T) {
	db := filepath.Join(t.TempDir(), "foldboard.db")
	app := apptest.Start(t, apptest.Options{DB: db})
	c := newClient(t, app)
	for _, id := range []string{"m-1", "m-2", "m-3"} {
		startMatch(t, c, id)
	}
	wantStatus(t, c.postJSON("/matches/m-2/innings", `{"innings":1,"runs":99,"wickets":3}`), http.StatusOK, "")
	waitApplied(t, app, "match/m-2", 2)
	old := app.Server.Projector()
	if old.Name() != projections.DefaultName {
		t.Fatalf("a new store's read models are %q, want %q", old.Name(), projections.DefaultName)
	}

	// A page that watches the dashboard sees the rebuild end.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(app.URL, "http")+"/ws?topic=dashboard", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	if _, _, err := conn.Read(ctx); err != nil { // the first fragment
		t.Fatal(err)
	}

	r := c.do("POST", "/rebuild", "", "", map[string]string{"Accept": "application/json", "X-Actor": "admin"})
	wantStatus(t, r, http.StatusAccepted, "")
	name, _ := r.json(t)["rebuild"].(map[string]any)["projector"].(string)
	if !strings.HasPrefix(name, "readmodels-") || name == old.Name() {
		t.Fatalf("rebuilding into %q", name)
	}
	for {
		_, msg, err := conn.Read(ctx)
		if err != nil {
			t.Fatalf("the dashboard never said the rebuild finished: %v", err)
		}
		if strings.Contains(string(msg), "Rebuilt <code>"+name+"</code>: 4 events") {
			break
		}
	}
	if got := app.Server.Projector().Name(); got != name {
		t.Fatalf("serving from %q after the rebuild, want %q", got, name)
	}
	// The pages read the new read models, and they hold the same.
	page := c.get("/matches/m-2")
	wantStatus(t, page, http.StatusOK, "")
	if !strings.Contains(page.body, `id="home-total">99<`) {
		t.Error("the rebuilt scoreboard lost the innings")
	}
	// New commands reach the new read models.
	startMatch(t, c, "m-4")
	waitApplied(t, app, "match/m-4", 1)
	// The replaced ones are dropped, the new name saved.
	waitFor(t, func() bool {
		_, docs, err := app.Store.(es.ReadModelStore).LoadReadModels(ctx, old.Name())
		return err == nil && len(docs) == 0
	})

	app.Stop()
	again := apptest.Start(t, apptest.Options{DB: db})
	if got := again.Server.Projector().Name(); got != name {
		t.Fatalf("after a restart, serving from %q, want the rebuilt %q", got, name)
	}
	if page := newClient(t, again).get("/matches/m-4"); page.status != http.StatusOK {
		t.Fatalf("after a restart, /matches/m-4: %d", page.status)
	}
}

func TestASecondRebuildWhileOneRunsIsRefused(t *testing.T) {
	app := apptest.Start(t, apptest.Options{})
	c := newClient(t, app)
	for _, id := range []string{"m-1", "m-2"} {
		startMatch(t, c, id)
	}
	if err := app.Server.StartRebuild(); err != nil {
		t.Fatal(err)
	}
	r := c.do("POST", "/rebuild", "", "", map[string]string{"Accept": "application/json", "X-Actor": "admin"})
	wantStatus(t, r, http.StatusConflict, "RebuildRunning")
	// A form post without JavaScript lands back on the dashboard.
	waitFor(t, func() bool { return !app.Server.Rebuilding() })
	r = c.do("POST", "/rebuild", "application/x-www-form-urlencoded", "", map[string]string{"X-Actor": "admin"})
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/") {
		t.Fatalf("form post: %d to %q", r.status, r.header.Get("Location"))
	}
}

// On DynamoDB the feed cannot count what is left, so a rebuild is done when
// its read models cover the ones in use, and the lag counts this instance's
// appends: both must end, and say so.
func TestRebuildAndLagOnEveryStore(t *testing.T) {
	for _, store := range apptest.Stores {
		t.Run(store, func(t *testing.T) {
			app := apptest.Start(t, apptest.Options{Store: store})
			c := newClient(t, app)
			for _, id := range []string{"m-1", "m-2", "m-3"} {
				startMatch(t, c, id)
			}
			wantStatus(t, c.postJSON("/matches/m-2/innings", `{"innings":1,"runs":77,"wickets":2}`), http.StatusOK, "")
			waitApplied(t, app, "match/m-2", 2)
			waitFor(t, func() bool {
				return attr(t, c.get("/").body, "projector-lag", "data-events") == "0"
			})
			estimate := strings.Contains(c.get("/").body, "this instance's appends")
			if estimate != (store != "sqlite") {
				t.Errorf("the lag labelled as this instance's appends: %v", estimate)
			}

			old := app.Server.Projector().Name()
			if err := app.Server.StartRebuild(); err != nil {
				t.Fatal(err)
			}
			waitFor(t, func() bool { return !app.Server.Rebuilding() })
			name := app.Server.Projector().Name()
			if name == old {
				t.Fatalf("still serving %s after the rebuild: %s", old, c.get("/").body)
			}
			if st := app.Server.Projector().Catalogue().Stats(); st.Events != 4 || st.Streams != 3 {
				t.Fatalf("the rebuilt read models hold %+v", st)
			}
			page := c.get("/matches/m-2")
			if !strings.Contains(page.body, `id="home-total">77<`) {
				t.Error("the rebuilt scoreboard lost the innings")
			}
			startMatch(t, c, "m-4")
			waitApplied(t, app, "match/m-4", 1)

			app.Stop()
			again := apptest.Start(t, app.Options)
			if got := again.Server.Projector().Name(); got != name {
				t.Fatalf("after a restart, serving %q, want %q", got, name)
			}
			waitApplied(t, again, "match/m-4", 1)
		})
	}
}
