package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/internal/apptest"
	"github.com/foldboard/foldboard/internal/testsupport"
	"github.com/foldboard/foldboard/projections"
)

func js(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

type docsPage struct {
	ReadModels string `json:"readModels"`
	Position   string `json:"position"`
	Docs       []struct {
		Key string          `json:"key"`
		Doc json.RawMessage `json:"doc"`
	} `json:"docs"`
	Next string `json:"next"`
}

// GET /projections/docs pages through the read models the instance serves:
// what it holds in memory (a saved document changed under it does not show
// through while it holds its own), every saved key once, greatest first,
// in pages of limit with a cursor, and a prefix keeps to its keys. Admins
// only (401 SignInRequired, 403 AdminOnly); a bad limit or key 400.
func TestModelDocsServeWhatTheInstanceHoldsPagedForAdminsOnlyOnEveryStore(t *testing.T) {
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
			var saved map[string]json.RawMessage
			waitFor(t, func() bool {
				var err error
				cp, saved, err = rm.LoadReadModels(ctx, projections.DefaultName)
				return err == nil && strings.Contains(string(saved["match/m-2"]), `99`) && saved["cart/c-1"] != nil
			})
			page := func(actor, query string) docsPage {
				t.Helper()
				r := c.do("GET", "/projections/docs?"+query, "", "", map[string]string{"X-Actor": actor})
				wantStatus(t, r, http.StatusOK, "")
				var p docsPage
				if err := json.Unmarshal([]byte(r.body), &p); err != nil {
					t.Fatalf("not a page of documents: %v in %s", err, r.body)
				}
				return p
			}
			// Every saved key once, greatest first, page after page; each
			// document as saved (the instance is quiet: what it holds is
			// what it saved).
			var keys []string
			pages := 0
			for q := (url.Values{"limit": {"3"}}); ; pages++ {
				p := page("admin", q.Encode())
				if p.ReadModels != projections.DefaultName || p.Position != cp {
					t.Fatalf("a page of %q at %q, want %q at %q", p.ReadModels, p.Position, projections.DefaultName, cp)
				}
				if len(p.Docs) > 3 {
					t.Fatalf("a page of %d documents for limit 3", len(p.Docs))
				}
				for _, d := range p.Docs {
					keys = append(keys, d.Key)
					if !testsupport.SameJSON(t, d.Doc, saved[d.Key]) {
						t.Errorf("%s served as %s, saved as %s", d.Key, d.Doc, saved[d.Key])
					}
				}
				if p.Next == "" {
					break
				}
				q.Set("before", p.Next)
			}
			want := slices.Sorted(func(yield func(string) bool) {
				for k := range saved {
					if !yield(k) {
						return
					}
				}
			})
			slices.Reverse(want)
			if !slices.Equal(keys, want) || pages < 2 {
				t.Fatalf("%d pages listed %v, want the saved keys greatest first %v", pages+1, keys, want)
			}
			if p := page("admin", "prefix=match/"); len(p.Docs) != 2 || p.Docs[0].Key != "match/m-2" || p.Docs[1].Key != "match/m-1" || p.Next != "" {
				t.Fatalf("the prefix match/ gave %s (next %q)", js(p.Docs), p.Next)
			}

			// The saved scoreboard changed under the running instance: it
			// serves what it holds (99), as its pages do, not the save.
			tampered := strings.NewReplacer(`"runs":99`, `"runs":98`, `"homeRuns":99`, `"homeRuns":98`).Replace(string(saved["match/m-2"]))
			if err := rm.SaveReadModels(ctx, projections.DefaultName, cp, map[string]json.RawMessage{"match/m-2": json.RawMessage(tampered)}); err != nil {
				t.Fatal(err)
			}
			if p := page("admin", "prefix=match/m-2"); len(p.Docs) != 1 || !testsupport.SameJSON(t, p.Docs[0].Doc, saved["match/m-2"]) {
				t.Fatalf("with the save changed to %s the instance serves %d documents %s, want what it holds %s", tampered, len(p.Docs), js(p.Docs), saved["match/m-2"])
			}
			if page := c.get("/matches/m-2").body; !strings.Contains(page, `id="home-total">99<`) {
				t.Fatalf("the scoreboard does not show what the instance holds:\n%s", page)
			}

			get := func(actor, query string) response {
				return c.do("GET", "/projections/docs?"+query, "", "", map[string]string{"X-Actor": actor, "Accept": "application/json"})
			}
			wantStatus(t, get("", ""), http.StatusUnauthorized, "SignInRequired")
			wantStatus(t, get("someone", ""), http.StatusForbidden, "AdminOnly")
			for _, q := range []string{"limit=0", "limit=101", "limit=x", "before=" + strings.Repeat("k", 1025), "prefix=%01"} {
				wantStatus(t, get("admin", q), http.StatusBadRequest, "BadQuery")
			}
			wantStatus(t, get("admin", "prefix=a&prefix=b"), http.StatusBadRequest, "DuplicateField")
		})
	}
}
