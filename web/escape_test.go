package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/foldboard/foldboard/handlers"
	"github.com/foldboard/foldboard/internal/apptest"
	"github.com/foldboard/foldboard/views"
)

// refusedAny stands for any 4xx refusal.
const refusedAny = -1

// Markup people might type to run script in other people's pages.
var hostileText = []string{
	`<script>alert(1)</script>`,
	`"><img src=x onerror=alert(1)>`,
	`' autofocus onfocus='alert(2)`,
	`javascript:alert(3)`,
}

// TestMarkupTypedIntoAnyFieldIsShownAsText types markup into every text
// field of every domain (names, venue, teams, result, titles, body, and the
// fields a refused form shows again: sku, price, runs, the signed-in name),
// then reads every page and the live fragments: each is parsed as a browser
// would, and no script, event handler or javascript: link came from the
// markup, which reads as the text typed.
func TestMarkupTypedIntoAnyFieldIsShownAsText(t *testing.T) {
	s, img, attr, js := hostileText[0], hostileText[1], hostileText[2], hostileText[3]
	for _, store := range apptest.Stores {
		t.Run(store, func(t *testing.T) {
			app := apptest.Start(t, apptest.Options{Store: store})
			c := newClient(t, app)
			as := map[string]string{"Cookie": signIn(t, c, "ana")}
			post := func(path string, form url.Values, want int) response {
				t.Helper()
				r := c.do("POST", path, "application/x-www-form-urlencoded", form.Encode(), as)
				if r.status != want && !(want == refusedAny && r.status/100 == 4) {
					t.Fatalf("POST %s: %d, want %d: %.300s", path, r.status, want, r.body)
				}
				return r
			}
			post("/matches", url.Values{"matchId": {"x1"}, "venue": {s}, "homeTeam": {img}, "awayTeam": {attr}}, http.StatusSeeOther)
			post("/matches/x1/innings", url.Values{"innings": {"1"}, "runs": {"12"}, "wickets": {"3"}}, http.StatusSeeOther)
			post("/matches/x1/end", url.Values{"result": {js + " " + s}}, http.StatusSeeOther)
			post("/posts", url.Values{"postId": {"p1"}, "title": {img}, "body": {s + "\n" + attr}}, http.StatusSeeOther)
			post("/posts/p1/title", url.Values{"title": {s}}, http.StatusSeeOther)
			post("/posts/p1/publish", nil, http.StatusSeeOther)
			post("/posts", url.Values{"postId": {"p2"}, "title": {attr}, "body": {img}}, http.StatusSeeOther)
			post("/carts/k1/items", url.Values{"sku": {"apple"}, "qty": {"1"}, "price": {"1.00"}}, http.StatusSeeOther)
			post("/carts/k1/checkout", nil, http.StatusSeeOther)

			// Refused forms show what was typed again, by the form.
			refused := map[string]response{
				"refused sku":     post("/carts/k2/items", url.Values{"sku": {img}, "qty": {"1"}, "price": {"1.00"}}, refusedAny),
				"refused price":   post("/carts/k2/items", url.Values{"sku": {"pear"}, "qty": {"1"}, "price": {s}}, refusedAny),
				"refused runs":    post("/matches/x1/innings", url.Values{"innings": {"2"}, "runs": {img}, "wickets": {"1"}}, refusedAny),
				"refused title":   post("/posts/p1/title", url.Values{"title": {strings.Repeat(s, 20)}}, refusedAny),
				"refused name":    refusedName(t, c, as, s),
				"refused venue":   post("/matches", url.Values{"venue": {img}, "homeTeam": {attr}, "awayTeam": {attr}}, refusedAny),
				"refused cart id": post("/carts/"+url.PathEscape(s)+"/items", url.Values{"sku": {"pear"}, "qty": {"1"}, "price": {"1.00"}}, refusedAny),
			}
			for name, r := range refused {
				checkNoScriptFromText(t, name, r.body, nil)
			}
			waitFor(t, func() bool { return strings.Contains(c.do("GET", "/posts", "", "", as).body, "p2") })

			pages := map[string][]string{
				"/":                               {},
				"/matches":                        {s, img, attr},
				"/matches/x1":                     {s, img, attr, js + " " + s},
				"/streams/match/x1/timeline":      {s, img, attr},
				"/streams/match/x1/timeline?v=1":  {s, img, attr},
				"/events":                         {},
				"/posts":                          {s, attr},
				"/posts/p1":                       {s, attr},
				"/posts/p2":                       {attr, img},
				"/streams/post/p1/timeline?v=2":   {s},
				"/carts":                          {},
				"/carts/k1":                       {},
				"/sales":                          {},
				"/matches/" + url.PathEscape(img): {},
			}
			for path, want := range pages {
				r := c.do("GET", path, "", "", as)
				if r.status != http.StatusOK && r.status != http.StatusBadRequest && r.status != http.StatusNotFound {
					t.Errorf("GET %s: %d", path, r.status)
				}
				checkNoScriptFromText(t, path, r.body, want)
			}

			// Every module's text fields, through its example life typed
			// into forms: its pages and timeline show the markup as text.
			topics := []string{"match/x1", "matches", "posts", "post/p1", "dashboard", "timeline/match/x1"}
			for _, m := range handlers.Modules() {
				id := exampleID(m, "x")
				n := 0
				for _, ex := range m.Examples {
					form := exampleForm(ex, id, func(string) string { n++; return hostileText[n%len(hostileText)] })
					post(ex.Target(id, ""), form, http.StatusSeeOther)
				}
				ref := m.StreamType() + "/" + id
				waitFor(t, func() bool { return c.do("GET", "/streams/"+ref+"/state", "", "", as).status == http.StatusOK })
				paths := []string{views.Path(m.Page, id), "/streams/" + ref + "/timeline", "/streams/" + ref + "/timeline?v=1"}
				for _, sec := range m.Sections {
					paths = append(paths, sec.Path)
				}
				for _, path := range paths {
					r := c.do("GET", path, "", "", as)
					if r.status != http.StatusOK {
						t.Errorf("GET %s: %d", path, r.status)
					}
					checkNoScriptFromText(t, path, r.body, nil)
				}
				topics = append(topics, ref, "timeline/"+ref)
				for _, tp := range m.Topics {
					topics = append(topics, tp.Name)
				}
			}

			slices.Sort(topics)
			topics = slices.Compact(topics)

			// The live fragments are the same components, pushed (a
			// connection takes a few topics at most: several of them).
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			for chunk := range slices.Chunk(topics, 8) {
				q := url.Values{"topic": chunk}
				conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(app.URL, "http")+"/ws?"+q.Encode(),
					&websocket.DialOptions{HTTPHeader: http.Header{"Cookie": {as["Cookie"]}}})
				if err != nil {
					t.Fatal(err)
				}
				for range chunk {
					_, msg, err := conn.Read(ctx)
					if err != nil {
						t.Fatalf("reading the live fragments of %v: %v", chunk, err)
					}
					checkNoScriptFromText(t, "a live fragment", string(msg), nil)
				}
				conn.CloseNow()
			}
		})
	}
}

// checkNoScriptFromText fails the test if the page (or fragment) holds
// script foldboard did not write, or one of want does not read as text.
func checkNoScriptFromText(t *testing.T, where, page string, want []string) {
	t.Helper()
	for _, p := range scriptProblems(page, want) {
		t.Errorf("%s: %s", where, p)
	}
}

// scriptProblems parses a page as a browser would and lists the script in
// it that foldboard did not write: a script element other than its own
// files, an event-handler attribute, a javascript: URL, the injected image;
// and each of want that does not read as text.
func scriptProblems(page string, want []string) []string {
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		return []string{err.Error()}
	}
	var problems []string
	var text strings.Builder
	for n := range doc.Descendants() {
		switch n.Type {
		case html.TextNode:
			text.WriteString(n.Data)
			continue
		case html.ElementNode:
		default:
			continue
		}
		if n.DataAtom == atom.Script {
			src, _ := attrOf(n, "src")
			if !strings.HasPrefix(src, "/static/") || n.FirstChild != nil {
				problems = append(problems, fmt.Sprintf("a script that is not one of foldboard's files (src %q)", src))
			}
		}
		if src, _ := attrOf(n, "src"); n.DataAtom == atom.Img && src == "x" {
			problems = append(problems, "the typed <img> became an element")
		}
		for _, a := range n.Attr {
			text.WriteString(" " + a.Val + " ")
			if strings.HasPrefix(strings.ToLower(a.Key), "on") || a.Key == "autofocus" && n.DataAtom != atom.Input {
				problems = append(problems, fmt.Sprintf("<%s> has the attribute %s=%q", n.Data, a.Key, a.Val))
			}
			switch a.Key {
			case "href", "src", "action", "formaction", "xlink:href":
				if strings.HasPrefix(strings.ToLower(strings.TrimSpace(a.Val)), "javascript:") {
					problems = append(problems, fmt.Sprintf("<%s %s=%q>", n.Data, a.Key, a.Val))
				}
			}
		}
	}
	for _, w := range want {
		if !strings.Contains(text.String(), w) {
			problems = append(problems, fmt.Sprintf("%q does not read as text", w))
		}
	}
	return problems
}

// TestTheEscapingCheckSeesInjectedScript shows the check above is not
// vacuous: each payload pasted unescaped into a page is caught.
func TestTheEscapingCheckSeesInjectedScript(t *testing.T) {
	s, img, attr, js := hostileText[0], hostileText[1], hostileText[2], hostileText[3]
	for _, page := range []string{
		"<p>" + s + "</p>",
		"<p>" + img + "</p>",
		`<input value="` + img + `">`,
		`<input value='` + attr + `'>`,
		`<a href="` + js + `">x</a>`,
	} {
		if len(scriptProblems(page, nil)) == 0 {
			t.Errorf("%s: not caught", page)
		}
	}
	for _, p := range hostileText {
		escaped := "<p>" + html.EscapeString(p) + `</p><input value="` + html.EscapeString(p) + `">`
		if problems := scriptProblems(escaped, []string{p}); len(problems) != 0 {
			t.Errorf("escaped %q was taken for script: %v", p, problems)
		}
	}
}

// refusedName sends the sign-up form a name it refuses: the page it
// answers shows the name as typed by the form.
func refusedName(t *testing.T, c *client, as map[string]string, name string) response {
	t.Helper()
	r := c.do("POST", "/signup", "application/x-www-form-urlencoded", url.Values{"name": {name}, "password": {"correct horse"}, "back": {"/matches"}}.Encode(), as)
	if r.status/100 != 4 {
		t.Fatalf("POST /signup with %q: %d, want a refusal: %.300s", name, r.status, r.body)
	}
	return r
}
