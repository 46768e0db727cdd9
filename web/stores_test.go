package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/foldboard/foldboard/internal/apptest"
)

// TestTheWalkingSkeletonBehavesAlikeOnEveryStore runs the match flow —
// commands in both shapes, refusals, conflicts, idempotency, live updates and
// a restart — on SQLite and on DynamoDB Local.
func TestTheWalkingSkeletonBehavesAlikeOnEveryStore(t *testing.T) {
	for _, store := range apptest.Stores {
		t.Run(store, func(t *testing.T) {
			app := apptest.Start(t, apptest.Options{Store: store})
			c := newClient(t, app)

			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			startMatch(t, c, "m-1")
			conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(app.URL, "http")+"/ws?topic=match/m-1", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.CloseNow()
			readUntil(t, ctx, conn, `id="scoreboard"`)

			wantStatus(t, c.postJSON("/matches/m-1/innings", `{"innings":1,"runs":250,"wickets":10,"expectedVersion":1,"commandId":"i-1"}`), 200, "")
			readUntil(t, ctx, conn, `<td class="runs">250</td>`)
			// The same command id again: the first answer, nothing appended.
			wantStatus(t, c.postJSON("/matches/m-1/innings", `{"innings":1,"runs":250,"wickets":10,"expectedVersion":1,"commandId":"i-1"}`), 200, "")
			// A stale version: 409 with the current one.
			r := c.postJSON("/matches/m-1/innings", `{"innings":2,"runs":10,"wickets":1,"expectedVersion":1}`)
			wantStatus(t, r, http.StatusConflict, "VersionConflict")
			if cur := r.json(t)["error"].(map[string]any)["currentVersion"]; cur != float64(2) {
				t.Errorf("currentVersion %v, want 2", cur)
			}
			wantStatus(t, c.postJSON("/matches/m-1/innings", `{"innings":3,"runs":10,"wickets":1}`), http.StatusConflict, "InningsOutOfOrder")
			wantStatus(t, c.postJSON("/matches/m-1/innings", `{"innings":2,"runs":10,"wickets":11}`), http.StatusUnprocessableEntity, "BadWickets")
			// A browser's form: 303 to the page, which shows the innings.
			f := c.postForm("/matches/m-1/innings", url.Values{"innings": {"2"}, "runs": {"199"}, "wickets": {"9"}, "expectedVersion": {"2"}})
			if f.status != http.StatusSeeOther || f.header.Get("Location") != "/matches/m-1" {
				t.Fatalf("form post: %d %q", f.status, f.header.Get("Location"))
			}
			if page := c.get("/matches/m-1").body; !strings.Contains(page, `<td class="runs">199</td>`) {
				t.Errorf("the page after the redirect lacks the innings")
			}
			readUntil(t, ctx, conn, `<td class="runs">199</td>`)

			events := c.get("/streams/match/m-1/events").json(t)
			if events["version"] != float64(3) || len(events["events"].([]any)) != 3 {
				t.Fatalf("the stream holds %v events at version %v, want 3", len(events["events"].([]any)), events["version"])
			}
			state := c.get("/streams/match/m-1/state?version=2").json(t)["state"].(map[string]any)
			if state["homeRuns"] != float64(250) || state["awayRuns"] != float64(0) {
				t.Errorf("state at version 2: %v", state)
			}

			// Stopped and started again, on the same store: all still there.
			app.Stop()
			again := newClient(t, apptest.Start(t, app.Options))
			if page := again.get("/matches/m-1").body; !strings.Contains(page, `<td class="runs">199</td>`) {
				t.Errorf("after a restart the match page lacks the innings")
			}
			wantStatus(t, again.postJSON("/matches/m-1/end", `{"result":"England won","expectedVersion":3}`), 200, "")
		})
	}
}

// TestCartsSalesAndPostsBehaveAlikeOnEveryStore runs the cart, sales and blog
// flows on SQLite and on DynamoDB Local.
func TestCartsSalesAndPostsBehaveAlikeOnEveryStore(t *testing.T) {
	for _, store := range apptest.Stores {
		t.Run(store, func(t *testing.T) {
			c := newClient(t, apptest.Start(t, apptest.Options{Store: store}))

			addItem(t, c, "c-1", "apple", 2, "1.25")
			addItem(t, c, "c-1", "pear", 1, "19.99")
			wantStatus(t, c.postJSON("/carts/c-1/items/pear/remove", ``), 200, "")
			wantStatus(t, c.postJSON("/carts/c-1/items/pear/remove", ``), http.StatusConflict, "ItemNotInCart")
			wantStatus(t, c.postJSON("/carts/c-1/items", `{"sku":"fig","qty":1,"price":"1.001"}`), http.StatusUnprocessableEntity, "BadPrice")
			day := checkOut(t, c, "c-1")
			wantStatus(t, c.postJSON("/carts/c-1/checkout", ``), http.StatusConflict, "CartCheckedOut")
			waitFor(t, func() bool {
				r := c.do("GET", "/sales", "", "", map[string]string{"Accept": "application/json"}).json(t)
				days, _ := r["days"].([]any)
				return len(days) == 1 && jsonEqual(days[0], map[string]any{"day": day, "total": "2.50", "count": 1})
			})

			createPost(t, c, "ana", "p-1", "Hello")
			// Another's draft is a post that does not exist.
			wantStatus(t, c.postJSONAs("bo", "/posts/p-1/publish", ``), http.StatusNotFound, "PostNotFound")
			wantStatus(t, c.postJSONAs("ana", "/posts/p-2/publish", ``), http.StatusNotFound, "PostNotFound")
			wantStatus(t, c.postJSONAs("ana", "/posts/p-1/title", `{"title":"Hello, world"}`), 200, "")
			r := c.postJSONAs("ana", "/posts/p-1/publish", ``)
			wantStatus(t, r, 200, "")
			if actor := r.json(t)["events"].([]any)[0].(map[string]any)["actor"]; actor != "ana" {
				t.Errorf("the publish event's actor is %v", actor)
			}
			wantStatus(t, c.postJSONAs("ana", "/posts/p-1/publish", ``), http.StatusConflict, "AlreadyPublished")
			waitFor(t, func() bool { return strings.Contains(c.getAs("bo", "/posts").body, "Hello, world") })
		})
	}
}
