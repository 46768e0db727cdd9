package web_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/foldboard/foldboard/handlers"
	"github.com/foldboard/foldboard/internal/apptest"
)

// playExamples runs each module's example life on stream id as JSON and
// returns the paths it used, each with the id filled in.
func playExamples(t *testing.T, c *client, m handlers.Module, id string) []string {
	t.Helper()
	var paths []string
	for _, ex := range m.Examples {
		path, fields := ex.Target(id, ""), ex.FieldsFor(id)
		body, _ := json.Marshal(fields)
		actor := ex.Actor
		if actor == "" {
			actor = "ana"
		}
		r := c.do("POST", path, "application/json", string(body), map[string]string{"Accept": "application/json", "X-Actor": actor})
		if r.status/100 != 2 {
			t.Fatalf("%s example %s: %d %s", m.Name, path, r.status, r.body)
		}
		paths = append(paths, path)
	}
	return paths
}

func parse(t *testing.T, body string) *html.Node {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// elements are the elements of doc for which match holds.
func elements(doc *html.Node, match func(*html.Node) bool) []*html.Node {
	var out []*html.Node
	walk(doc, func(n *html.Node) {
		if n.Type == html.ElementNode && match(n) {
			out = append(out, n)
		}
	})
	return out
}

func byTag(tag string) func(*html.Node) bool {
	return func(n *html.Node) bool { return n.Data == tag }
}

func byAttr(key, val string) func(*html.Node) bool {
	return func(n *html.Node) bool { v, ok := attrOf(n, key); return ok && v == val }
}

func TestEveryCommandAddressOpensAPageWithGet(t *testing.T) {
	c := newClient(t, apptest.Start(t, apptest.Options{}))
	for _, m := range handlers.Modules() {
		id := "get-" + m.Name
		for _, path := range playExamples(t, c, m, id) {
			r := c.get(path)
			switch r.status {
			case http.StatusOK:
			case http.StatusSeeOther:
				loc := r.header.Get("Location")
				if page := c.get(loc); page.status != http.StatusOK {
					t.Errorf("GET %s leads to %s, which answers %d", path, loc, page.status)
				}
				if strings.Contains(path, id) && !strings.Contains(loc, id) {
					t.Errorf("GET %s leads to %s, not the page of %s", path, loc, id)
				}
			default:
				t.Errorf("GET %s (a command's address, as the address bar holds it after a form's error): %d", path, r.status)
			}
		}
	}
}

func TestAFormsProblemIsWrittenForPeopleAndTiedToItsField(t *testing.T) {
	c := newClient(t, apptest.Start(t, apptest.Options{}))
	startMatchSeen(t, c, "m-1")
	r := c.postForm("/matches/m-1/innings", url.Values{"innings": {"1"}, "runs": {"lots"}, "wickets": {"2"}})
	wantStatus(t, r, http.StatusBadRequest, "")
	doc := parse(t, r.body)
	problems := elements(doc, byAttr("data-code", "BadNumber"))
	if len(problems) != 1 {
		t.Fatalf("want one BadNumber problem, got %d: %s", len(problems), r.body)
	}
	p := problems[0]
	id, _ := attrOf(p, "id")
	if text := textOf(p); strings.Contains(text, "BadNumber") || !strings.Contains(text, "runs") {
		t.Errorf("the message shows the code, or not the field: %q", text)
	}
	runs := elements(doc, func(n *html.Node) bool { return n.Data == "input" && byAttr("name", "runs")(n) })
	if len(runs) != 1 {
		t.Fatalf("runs inputs: %d", len(runs))
	}
	if inv, _ := attrOf(runs[0], "aria-invalid"); inv != "true" {
		t.Errorf("runs is not marked invalid")
	}
	if by, _ := attrOf(runs[0], "aria-describedby"); by == "" || by != id {
		t.Errorf("runs is described by %q, the problem is %q", by, id)
	}
	wickets := elements(doc, func(n *html.Node) bool { return n.Data == "input" && byAttr("name", "wickets")(n) })
	if _, ok := attrOf(wickets[0], "aria-invalid"); ok {
		t.Errorf("wickets is marked invalid though the problem is about runs")
	}

	// A domain refusal names its field by its code (InningsOutOfOrder).
	r = c.postForm("/matches/m-1/innings", url.Values{"innings": {"3"}, "runs": {"10"}, "wickets": {"2"}})
	wantStatus(t, r, http.StatusConflict, "")
	doc = parse(t, r.body)
	innings := elements(doc, func(n *html.Node) bool { return n.Data == "input" && byAttr("name", "innings")(n) })
	if by, _ := attrOf(innings[0], "aria-describedby"); by != "innings-problem" {
		t.Errorf("innings is described by %q", by)
	}

	// A stale form's conflict says what happened in words, without the code.
	wantStatus(t, c.postJSON("/matches/m-1/innings", `{"innings":1,"runs":10,"wickets":2}`), http.StatusOK, "")
	r = c.postForm("/matches/m-1/end", url.Values{"result": {"a draw"}, "expectedVersion": {"1"}})
	wantStatus(t, r, http.StatusConflict, "")
	conflict := elements(parse(t, r.body), byAttr("data-code", "VersionConflict"))
	if len(conflict) != 1 {
		t.Fatalf("no conflict shown: %s", r.body)
	}
	if text := textOf(conflict[0]); strings.Contains(text, "VersionConflict") || !strings.Contains(text, "version 2") || !strings.Contains(text, "you saw version 1") {
		t.Errorf("the conflict reads %q", text)
	}
}

func TestTheSignUpFormShowsABadNameInPlaceAndKeepsIt(t *testing.T) {
	c := newClient(t, apptest.Start(t, apptest.Options{}))
	r := c.do("POST", "/signup", "application/x-www-form-urlencoded",
		url.Values{"name": {"ana<b>"}, "password": {"correct horse"}, "back": {"/matches"}}.Encode(), map[string]string{"X-Actor": ""})
	wantStatus(t, r, http.StatusUnprocessableEntity, "")
	if set := r.header.Get("Set-Cookie"); set != "" {
		t.Errorf("a refused name set a cookie: %s", set)
	}
	doc := parse(t, r.body)
	name := elements(doc, byAttr("id", "signup-name"))
	if v, _ := attrOf(name[0], "value"); v != "ana<b>" {
		t.Errorf("the name typed is not kept: %q", v)
	}
	if by, _ := attrOf(name[0], "aria-describedby"); by != "signup-problem" {
		t.Errorf("the name field is described by %q", by)
	}
	if pw, _ := attrOf(elements(doc, byAttr("id", "signup-password"))[0], "value"); pw != "" {
		t.Errorf("the password came back in the page: %q", pw)
	}
	problem := elements(doc, byAttr("id", "signup-problem"))
	if len(problem) != 1 || !strings.Contains(textOf(problem[0]), "1-40 letters") {
		t.Fatalf("no problem by the sign-up form: %s", r.body)
	}
	// A program gets the 422.
	jr := c.do("POST", "/signup", "application/json", `{"name":"ana<b>","password":"correct horse"}`, map[string]string{"Accept": "application/json", "X-Actor": ""})
	wantStatus(t, jr, http.StatusUnprocessableEntity, "BadActor")
}

func TestAnEndedMatchOffersNoCommands(t *testing.T) {
	c := newClient(t, apptest.Start(t, apptest.Options{}))
	startMatchSeen(t, c, "m-1")
	page := c.get("/matches/m-1")
	if !strings.Contains(page.body, "Complete innings") || !strings.Contains(page.body, "End match") {
		t.Fatalf("a match under way offers no commands: %s", page.body)
	}
	wantStatus(t, c.postJSON("/matches/m-1/end", `{"result":"abandoned"}`), http.StatusOK, "")
	waitFor(t, func() bool { page = c.get("/matches/m-1"); return strings.Contains(page.body, "abandoned") })
	if strings.Contains(page.body, "Complete innings") || strings.Contains(page.body, "End match") || strings.Contains(page.body, `id="innings-form"`) {
		t.Errorf("an ended match still offers its commands: %s", page.body)
	}
	if !strings.Contains(page.body, "This match has ended") {
		t.Errorf("an ended match does not say so")
	}
}

func TestTheTimelineHasOneH1AtEveryVersionAndVersionZeroIsBeforeTheFirstEvent(t *testing.T) {
	c := newClient(t, apptest.Start(t, apptest.Options{}))
	for _, m := range handlers.Modules() {
		id := "h1-" + m.Name
		n := len(playExamples(t, c, m, id))
		for v := 0; v <= n; v++ {
			path := fmt.Sprintf("/streams/%s/%s/timeline?v=%d", m.StreamType(), id, v)
			r := c.do("GET", path, "", "", map[string]string{"X-Actor": "ana"})
			wantStatus(t, r, http.StatusOK, "")
			doc := parse(t, r.body)
			if h1 := elements(doc, byTag("h1")); len(h1) != 1 {
				t.Errorf("%s: %d h1 headings", path, len(h1))
			}
			state := elements(doc, byAttr("id", "tl-state"))
			if len(state) != 1 {
				t.Fatalf("%s: no state panel", path)
			}
			before := strings.Contains(textOf(state[0]), "Before the first event")
			if before != (v == 0) {
				t.Errorf("%s: the state says before the first event: %v", path, before)
			}
			if v == 0 && len(elements(state[0], byTag("table"))) != 0 {
				t.Errorf("%s: version 0 draws a state: %s", path, textOf(state[0]))
			}
		}
	}
}

// startMatchSeen starts match id and waits until its page shows it (a JSON
// command does not wait for the read side).
func startMatchSeen(t *testing.T, c *client, id string) {
	t.Helper()
	startMatch(t, c, id)
	waitFor(t, func() bool { return c.get("/matches/"+id).status == http.StatusOK })
}
