package web_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/foldboard/foldboard/internal/apptest"
)

// The main pages, each with a little in it.
func mainPages(t *testing.T, c *client) []string {
	t.Helper()
	startMatch(t, c, "m-1")
	wantStatus(t, c.postJSON("/carts/c-1/items", `{"sku":"mug","qty":1,"price":"9.50"}`), http.StatusCreated, "")
	r := c.do("POST", "/posts", "application/json", `{"postId":"p-1","title":"Hello","body":"World"}`,
		map[string]string{"Accept": "application/json", "X-Actor": "ana"})
	wantStatus(t, r, http.StatusCreated, "")
	r = c.do("POST", "/posts/p-1/publish", "application/json", `{}`, map[string]string{"Accept": "application/json", "X-Actor": "ana"})
	wantStatus(t, r, http.StatusOK, "")
	pages := []string{
		"/", "/matches", "/matches/m-1", "/carts", "/carts/c-1", "/sales", "/posts", "/posts/p-1",
		"/events", "/streams/match/m-1/timeline", "/nowhere",
	}
	// And every module's pages, filled by its example life.
	for _, p := range runExamples(t, c, "ana", "ex") {
		if !slices.Contains(pages, p) {
			pages = append(pages, p)
		}
	}
	return pages
}

func attrOf(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

func walk(n *html.Node, visit func(*html.Node)) {
	visit(n)
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, visit)
	}
}

func textOf(n *html.Node) string {
	var b strings.Builder
	walk(n, func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
	})
	return strings.TrimSpace(b.String())
}

func TestEveryFieldHasALabelAndEveryPageATitleSayingWhere(t *testing.T) {
	app := apptest.Start(t, apptest.Options{})
	c := newClient(t, app)
	titles := map[string]string{}
	fields := 0
	for _, path := range mainPages(t, c) {
		// As an admin, who sees every stream the examples made.
		r := c.do("GET", path, "", "", map[string]string{"X-Actor": "admin"})
		doc, err := html.Parse(strings.NewReader(r.body))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		labelled := map[string]bool{} // ids named by a label's for
		walk(doc, func(n *html.Node) {
			if n.Type == html.ElementNode && n.Data == "label" {
				if id, ok := attrOf(n, "for"); ok {
					labelled[id] = true
				}
			}
		})
		var title string
		var visit func(n *html.Node, inLabel bool)
		visit = func(n *html.Node, inLabel bool) {
			if n.Type == html.ElementNode {
				switch n.Data {
				case "title":
					if n.Parent != nil && n.Parent.Data == "head" {
						title = textOf(n)
					}
				case "label":
					inLabel = true
				case "input", "select", "textarea":
					typ, _ := attrOf(n, "type")
					id, _ := attrOf(n, "id")
					_, aria := attrOf(n, "aria-label")
					_, ariaBy := attrOf(n, "aria-labelledby")
					if typ != "hidden" && typ != "submit" {
						fields++
					}
					if typ != "hidden" && typ != "submit" && !inLabel && !labelled[id] && !aria && !ariaBy {
						name, _ := attrOf(n, "name")
						t.Errorf("%s: a %s (name %q, id %q) has no label", path, n.Data, name, id)
					}
				case "form":
					method, _ := attrOf(n, "method")
					action, _ := attrOf(n, "action")
					if action == "" {
						t.Errorf("%s: a form with no action: it needs a script to work", path)
					}
					if method != "post" && method != "get" {
						t.Errorf("%s: a form to %s with method %q", path, action, method)
					}
				}
			}
			for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
				visit(ch, inLabel)
			}
		}
		visit(doc, false)
		if !strings.HasSuffix(title, " · foldboard") {
			t.Errorf("%s: title %q", path, title)
		}
		if other, ok := titles[title]; ok {
			t.Errorf("%s and %s share the title %q", path, other, title)
		}
		titles[title] = path
	}
	if fields < 15 {
		t.Fatalf("only %d fields seen on the main pages", fields)
	}
	for path, want := range map[string]string{
		"/matches/m-1": "England v Australia · Matches · foldboard",
		"/carts/c-1":   "Cart c-1 · Carts · foldboard",
		"/":            "Dashboard · foldboard",
	} {
		if titles[want] != path {
			t.Errorf("%s: no title %q (titles: %v)", path, want, titles)
		}
	}
}
