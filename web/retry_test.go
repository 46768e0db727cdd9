package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/internal/apptest"
)

// POST /projections/retry re-applies a parked stream: admins only, a
// stream that is not parked is refused, and one whose event still cannot be
// applied is parked again at the same event, nothing appended. (That a
// fixed stream is then applied once: projections' TestARetriedParkedStream…)
func TestRetryingAParkedStream(t *testing.T) {
	for _, store := range apptest.Stores {
		t.Run(store, func(t *testing.T) {
			app := apptest.Start(t, apptest.Options{Store: store})
			c := newClient(t, app)
			startMatch(t, c, "r-1")
			startMatch(t, c, "r-ok")
			ref := es.StreamRef{Type: "match", ID: "r-1"}
			appendRaw(t, app.Store, ref, "BogusHappened", `{}`)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			p := app.Server.Projector()
			if !p.WaitFor(ctx, ref, 2) || !p.WaitFor(ctx, es.StreamRef{Type: "match", ID: "r-ok"}, 1) {
				t.Fatal("the projector neither applied nor parked the streams")
			}
			retry := func(actor, body string) response {
				h := map[string]string{"Accept": "application/json"}
				if actor != "" {
					h["X-Actor"] = actor
				}
				return c.do("POST", "/projections/retry", "application/json", body, h)
			}
			wantStatus(t, retry("someone", `{"stream":"match/r-1"}`), http.StatusForbidden, "AdminOnly")
			wantStatus(t, retry("admin", `{"stream":"match"}`), http.StatusBadRequest, "BadStream")
			wantStatus(t, retry("admin", `{}`), http.StatusBadRequest, "MissingField")
			wantStatus(t, retry("admin", `{"stream":"match/r-ok"}`), http.StatusConflict, "NotParked")

			before, _ := app.Store.Head(ctx, ref)
			r := retry("admin", `{"stream":"match/r-1"}`)
			wantStatus(t, r, http.StatusOK, "")
			got := r.json(t)["retry"].(map[string]any)
			if got["stream"] != "match/r-1" || got["applied"] != 0.0 || got["version"] != 1.0 ||
				!strings.Contains(got["parked"].(string), `unknown event type "BogusHappened"`) {
				t.Errorf("retry answered %v; want nothing applied, at 1, parked again on BogusHappened", got)
			}
			info, _, _ := p.Catalogue().Stream(t.Context(), ref)
			if info.ParkedVersion != 2 || info.Version != 1 {
				t.Errorf("after the retry: %+v; want parked at 2 again, applied 1", info)
			}
			if after, _ := app.Store.Head(ctx, ref); after.Version != before.Version {
				t.Errorf("the retry appended: version %d, was %d", after.Version, before.Version)
			}
			// The board offers the retry to admins only.
			if page := c.do("GET", "/projections", "", "", map[string]string{"X-Actor": "admin"}).body; !strings.Contains(page, `action="/projections/retry"`) {
				t.Errorf("the board offers an admin no retry of the parked stream")
			}
			if page := c.get("/projections").body; strings.Contains(page, `action="/projections/retry"`) {
				t.Errorf("the board offers a retry to someone who may not")
			}
			// A form is sent back to the board.
			r = c.do("POST", "/projections/retry", "application/x-www-form-urlencoded", "stream=match%2Fr-1", map[string]string{"X-Actor": "admin"})
			if r.status != http.StatusSeeOther || r.header.Get("Location") != "/projections" {
				t.Errorf("a form's retry: %d to %q; want 303 to /projections", r.status, r.header.Get("Location"))
			}
		})
	}
}
