package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/internal/apptest"
)

// logLength counts the events in the store.
func logLength(t *testing.T, app *apptest.App) int {
	t.Helper()
	n, after := 0, ""
	for {
		page, err := app.Store.ReadLog(context.Background(), es.LogQuery{After: after, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		n += len(page.Events)
		if len(page.Events) == 0 || page.Next == "" || page.Next == after {
			return n
		}
		after = page.Next
	}
}

// probe is one hostile request and the refusal it must get.
type probe struct {
	name, method, path, contentType, body string
	status                                int
	code                                  string
}

func (p probe) send(c *client) response {
	c.t.Helper()
	return c.do(p.method, p.path, p.contentType, p.body, map[string]string{"Accept": "application/json", "X-Actor": "ana"})
}

// runProbes sends each probe, checks its status and code, and that the log
// did not grow.
func runProbes(t *testing.T, app *apptest.App, probes []probe) {
	t.Helper()
	c := newClient(t, app)
	for _, p := range probes {
		t.Run(p.name, func(t *testing.T) {
			c.t = t
			before := logLength(t, app)
			r := p.send(c)
			wantStatus(t, r, p.status, p.code)
			if after := logLength(t, app); after != before {
				t.Errorf("a refused request appended %d events", after-before)
			}
		})
	}
}

const (
	jsonType = "application/json"
	formType = "application/x-www-form-urlencoded"
)

func match(venue string) string {
	return `{"venue":"` + venue + `","homeTeam":"England","awayTeam":"India"}`
}

func TestStreamIDsMadeOnlyOfDotsAreRefusedEverywhere(t *testing.T) {
	app := apptest.Start(t, apptest.Options{})
	c := newClient(t, app)
	startMatch(t, c, "m-1")
	var probes []probe
	for _, id := range []string{".", "..", "..."} {
		probes = append(probes,
			probe{"start " + id, "POST", "/matches", jsonType, `{"matchId":"` + id + `","venue":"V","homeTeam":"A","awayTeam":"B"}`, 400, "BadID"},
			probe{"post " + id, "POST", "/posts", formType, "postId=" + id + "&title=T", 400, "BadID"},
			probe{"add to cart " + id, "POST", "/carts/" + id + "/items", jsonType, `{"sku":"a","qty":1,"price":"1"}`, 400, "BadID"},
			probe{"innings " + id, "POST", "/matches/" + id + "/innings", jsonType, `{"innings":1,"runs":1,"wickets":1}`, 400, "BadID"},
			probe{"events " + id, "GET", "/streams/match/" + id + "/events", "", "", 400, "BadID"},
			probe{"state " + id, "GET", "/streams/match/" + id + "/state", "", "", 400, "BadID"},
			probe{"timeline " + id, "GET", "/streams/match/" + id + "/timeline", "", "", 400, "BadID"},
			probe{"stream type " + id, "GET", "/streams/" + id + "/m-1/events", "", "", 400, "BadID"},
			probe{"cart page " + id, "GET", "/carts/" + id, "", "", 400, "BadID"},
			probe{"live topic " + id, "GET", "/ws?topic=match/" + id, "", "", 400, ""},
			probe{"command id " + id, "POST", "/matches/m-1/innings", jsonType, `{"innings":1,"runs":1,"wickets":1,"commandId":"` + id + `"}`, 400, "BadCommandID"},
		)
	}
	runProbes(t, app, probes)
	// An id with dots among other characters is still an id.
	r := c.postJSON("/matches", `{"matchId":"v1.2","venue":"V","homeTeam":"A","awayTeam":"B"}`)
	wantStatus(t, r, http.StatusCreated, "")
}

func TestTextThatShouldNotBeStoredIsRefusedInEveryTextField(t *testing.T) {
	app := apptest.Start(t, apptest.Options{})
	c := newClient(t, app)
	startMatch(t, c, "m-1")
	r := c.postJSON("/posts", `{"postId":"p-1","title":"T","body":"B"}`)
	wantStatus(t, r, http.StatusCreated, "")
	bad := map[string]string{
		"NUL": `a\u0000b`, "bell": `a\u0007b`, "escape": `\u001b[31mred`, "DEL": "a\u007fb", "C1": `a\u0085b`,
		"tab": `a\tb`, "newline": `a\nb`,
		"right-to-left override": "abc\u202Edcb", "left-to-right embedding": "\u202Aab", "isolate": "a\u2066b\u2069",
		"zero-width space alone": "\u200B", "invisible among spaces": " \u200B\u2060 \uFEFF", "Hangul filler": "\u3164",
	}
	var probes []probe
	for name, s := range bad {
		probes = append(probes,
			probe{"venue " + name, "POST", "/matches", jsonType, match(s), 422, "BadText"},
			probe{"team " + name, "POST", "/matches", jsonType, `{"venue":"V","homeTeam":"` + s + `","awayTeam":"B"}`, 422, "BadText"},
			probe{"result " + name, "POST", "/matches/m-1/end", jsonType, `{"result":"` + s + `"}`, 422, "BadText"},
			probe{"sku " + name, "POST", "/carts/c-1/items", jsonType, `{"sku":"` + s + `","qty":1,"price":"1"}`, 422, "BadText"},
			probe{"title " + name, "POST", "/posts", jsonType, `{"title":"` + s + `"}`, 422, "BadText"},
			probe{"new title " + name, "POST", "/posts/p-1/title", jsonType, `{"title":"` + s + `"}`, 422, "BadText"},
		)
		if name != "tab" && name != "newline" {
			probes = append(probes, probe{"body " + name, "POST", "/posts", jsonType, `{"title":"T","body":"` + s + `"}`, 422, "BadText"})
		}
	}
	probes = append(probes,
		probe{"form venue NUL", "POST", "/matches", formType, "venue=a%00b&homeTeam=A&awayTeam=B", 422, "BadText"},
		probe{"form venue not UTF-8", "POST", "/matches", formType, "venue=a%FFb&homeTeam=A&awayTeam=B", 422, "BadText"},
		probe{"form venue override", "POST", "/matches", formType, "venue=a%E2%80%AEb&homeTeam=A&awayTeam=B", 422, "BadText"},
	)
	runProbes(t, app, probes)

	// Unicode is otherwise kept as typed: scripts, emoji joined by
	// zero-width joiners, a body's tabs and line breaks (CR LF from a form).
	venue := "Wankhede — मुंबई 👩‍👩‍👧 🏏"
	r = c.postJSON("/matches", `{"matchId":"m-2","venue":"`+venue+`","homeTeam":"Ελλάδα","awayTeam":"日本"}`)
	wantStatus(t, r, http.StatusCreated, "")
	if got := r.json(t)["state"].(map[string]any)["venue"]; got != venue {
		t.Errorf("venue stored as %q, want %q", got, venue)
	}
	r = c.do("POST", "/posts", formType, "postId=p-2&title=T&body=one%0D%0A%09two", map[string]string{"Accept": "application/json", "X-Actor": "ana"})
	wantStatus(t, r, http.StatusCreated, "")
	if got := r.json(t)["state"].(map[string]any)["body"]; got != "one\r\n\ttwo" {
		t.Errorf("body stored as %q", got)
	}
}

func TestAFieldSentTwiceIsRefused(t *testing.T) {
	app := apptest.Start(t, apptest.Options{})
	runProbes(t, app, []probe{
		{"JSON", "POST", "/matches", jsonType, `{"venue":"a","venue":"b","homeTeam":"A","awayTeam":"B"}`, 400, "DuplicateField"},
		{"JSON escaped name", "POST", "/matches", jsonType, `{"venue":"a","\u0076enue":"b","homeTeam":"A","awayTeam":"B"}`, 400, "DuplicateField"},
		{"JSON count", "POST", "/carts/c-1/items", jsonType, `{"sku":"a","qty":1,"qty":9,"price":"1"}`, 400, "DuplicateField"},
		{"JSON command id", "POST", "/carts/c-1/items", jsonType, `{"sku":"a","qty":1,"price":"1","commandId":"x","commandId":"y"}`, 400, "DuplicateField"},
		{"form", "POST", "/matches", formType, "venue=a&venue=b&homeTeam=A&awayTeam=B", 400, "DuplicateField"},
		{"form, one empty", "POST", "/carts/c-1/items", formType, "sku=a&qty=1&qty=&price=1", 400, "DuplicateField"},
		{"query", "GET", "/streams/match/m-1/events?limit=1&limit=10000", "", "", 400, "DuplicateField"},
	})
}

func TestNumbersWithSpacesOrSignsAreRefused(t *testing.T) {
	app := apptest.Start(t, apptest.Options{})
	runProbes(t, app, []probe{
		{"JSON price with a space", "POST", "/carts/c-1/items", jsonType, `{"sku":"a","qty":1,"price":" 1"}`, 400, "BadNumber"},
		{"JSON price with a plus", "POST", "/carts/c-1/items", jsonType, `{"sku":"a","qty":1,"price":"+1"}`, 400, "BadNumber"},
		{"form price with a space", "POST", "/carts/c-1/items", formType, "sku=a&qty=1&price=%201", 400, "BadNumber"},
		{"form price trailing space", "POST", "/carts/c-1/items", formType, "sku=a&qty=1&price=1%20", 400, "BadNumber"},
		{"form qty with a plus", "POST", "/carts/c-1/items", formType, "sku=a&qty=%2B5&price=1", 400, "BadNumber"},
		{"form qty with a space", "POST", "/carts/c-1/items", formType, "sku=a&qty=%205&price=1", 400, "BadNumber"},
		{"form qty a space only", "POST", "/carts/c-1/items", formType, "sku=a&qty=%20&price=1", 400, "BadNumber"},
		{"form expected version with a plus", "POST", "/carts/c-1/items", formType, "sku=a&qty=1&price=1&expectedVersion=%2B0", 400, "BadNumber"},
		{"query with a plus", "GET", "/streams/match/m-1/events?limit=%2B5", "", "", 400, "BadQuery"},
	})
	c := newClient(t, app)
	r := c.do("POST", "/carts/c-1/items", formType, "sku=a&qty=5&price=1.50", map[string]string{"Accept": "application/json"})
	wantStatus(t, r, http.StatusCreated, "")
}

func TestABadVersionIsExplainedWithoutAnInhumanNumber(t *testing.T) {
	app := apptest.Start(t, apptest.Options{})
	c := newClient(t, app)
	startMatch(t, c, "m-1")
	for path, words := range map[string]string{
		"/streams/match/m-1/timeline?v=abc":   "has 1 event",
		"/streams/match/m-1/state?version=-1": "0 or more",
	} {
		for _, accept := range []string{"text/html", "application/json"} {
			r := c.do("GET", path, "", "", map[string]string{"Accept": accept})
			if r.status != http.StatusBadRequest {
				t.Fatalf("%s: %d", path, r.status)
			}
			if strings.Contains(r.body, "4611686018427387904") || !strings.Contains(r.body, words) {
				t.Errorf("%s (%s) explains a bad version as %s", path, accept, r.body)
			}
		}
	}
}

func TestTheBackFieldOnlyLeadsToPagesOfThisSite(t *testing.T) {
	app := apptest.Start(t, apptest.Options{})
	c := newClient(t, app)
	// The back field as a form's body carries it (percent-encoded).
	for back, want := range map[string]string{
		"/matches": "/matches", "/carts/c-1%3Fx%3D1": "/carts/c-1?x=1",
		"/%09/evil.example": "/", "/%0A/evil.example": "/", "/%0D/evil.example": "/", "/%5Cevil.example": "/",
		"//evil.example": "/", "https://evil.example/": "/", "%20/evil": "/", "/%0D%0ASet-Cookie:x=1": "/",
		"/%00": "/", "": "/", "/x%E2%80%AE/": "/",
		// Escapes that stay escaped in the Location are paths of this site.
		"/%2509/evil.example": "/%09/evil.example",
	} {
		r := c.do("POST", "/signout", formType, "back="+back, nil)
		if r.status != http.StatusSeeOther {
			// A raw control character is BadText; that too goes nowhere.
			if r.status == http.StatusUnprocessableEntity && r.header.Get("Location") == "" {
				continue
			}
			t.Fatalf("back %q: %d %s", back, r.status, r.body)
		}
		if got := r.header.Get("Location"); got != want {
			t.Errorf("back %q: Location %q, want %q", back, got, want)
		}
	}
}
