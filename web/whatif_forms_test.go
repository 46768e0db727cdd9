package web_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/handlers"
	"github.com/foldboard/foldboard/internal/apptest"
)

// tryForm is one of the timeline's "what if" forms, as a browser reads it.
type tryForm struct {
	command, action string
	fields          url.Values
}

// timelineTryForms are the "what if" forms of a stream's timeline at v.
func timelineTryForms(t *testing.T, c *client, ref es.StreamRef, v int64) []tryForm {
	t.Helper()
	r := c.do("GET", fmt.Sprintf("/streams/%s/timeline?v=%d", ref, v), "", "", map[string]string{"X-Actor": "admin"})
	wantStatus(t, r, http.StatusOK, "")
	var out []tryForm
	for _, f := range elements(parse(t, r.body), func(n *html.Node) bool { return n.Data == "form" && attrVal(n, "class") == "command try" }) {
		tf := tryForm{command: attrVal(f, "data-command"), action: attrVal(f, "action"), fields: url.Values{}}
		for _, in := range elements(f, byTag("input")) {
			tf.fields.Add(attrVal(in, "name"), attrVal(in, "value"))
		}
		out = append(out, tf)
	}
	return out
}

// twinAnswer is what a command did for real, on a twin of the stream at
// the version tried (the same commands up to it, under another id): what
// the try must answer.
type twinAnswer struct {
	status        int
	code, message string
	version       int64
	events        []es.Envelope
	state         string
	// from and to bound the command's run: the times it wrote ("at",
	// "lastActivity") are of it.
	from, to time.Time
}

// Every command of every module, tried through the timeline's own forms
// at every past version of the module's example life, on both stores,
// answers as the command does for real on a twin of the stream at that
// version (the same commands up to it, on another id): the same events
// (type, version, actor, data), the same state after, or the same domain
// error; on the page, the same outcome. And the tries leave the whole log
// and every head as they were.
func TestWhatIfThroughTheTimelinesFormsAnswersAsTheCommandDoesForReal(t *testing.T) {
	for _, store := range apptest.Stores {
		t.Run(store, func(t *testing.T) {
			app := apptest.Start(t, apptest.Options{Store: store})
			c := newClient(t, app)
			admin := func(method, path, contentType, body string, accept bool) response {
				t.Helper()
				h := map[string]string{"X-Actor": "admin"}
				if accept {
					h["Accept"] = "application/json"
				}
				return c.do(method, path, contentType, body, h)
			}
			type tryCase struct {
				ref    es.StreamRef
				v      int64
				form   tryForm
				twinID string
				want   twinAnswer
			}
			var cases []tryCase
			var ended []string // matches ended, whose reports the reaction writes
			never := []es.StreamRef{}
			for _, m := range handlers.Modules() {
				id := "wi-" + m.Name
				ref := es.StreamRef{Type: m.StreamType(), ID: id}
				versions := playLife(t, c, m, id, len(m.Examples))
				if m.StreamType() == "match" {
					ended = append(ended, id)
				}
				var paths []string // the routes with an example, each offered
				for _, ex := range m.Examples {
					if !slices.Contains(paths, ex.Path) {
						paths = append(paths, ex.Path)
					}
				}
				slices.Sort(paths)
				never = append(never, es.StreamRef{Type: m.StreamType(), ID: "never-" + m.Name})
				for k, v := range versions[:len(versions)-1] {
					forms := timelineTryForms(t, c, ref, v)
					var offered, commands []string
					formExample := map[string]handlers.Example{}
					for _, f := range forms {
						ex, ok := formsExample(m, f)
						if !ok || slices.Contains(commands, f.command) {
							t.Fatalf("%s at version %d: the %s form's fields %v are no one example's, or a second form for it", ref, v, f.command, f.fields)
						}
						formExample[f.command] = ex
						commands = append(commands, f.command)
						if !slices.Contains(offered, ex.Path) {
							offered = append(offered, ex.Path)
						}
					}
					slices.Sort(offered)
					if !slices.Equal(offered, paths) {
						t.Fatalf("%s at version %d offers %v to try, the routes of %v", ref, v, commands, paths)
					}
					for _, f := range forms {
						if want := fmt.Sprintf("/streams/%s/try?version=%d", ref, v); f.action != want || f.fields.Get("command") != f.command {
							t.Fatalf("%s at %d: the %s form posts to %q with command %q, want %q", ref, v, f.command, f.action, f.fields.Get("command"), want)
						}
						twin := fmt.Sprintf("tw%d-%s-%s", v, m.Name, strings.ToLower(f.command))
						playLife(t, c, m, twin, k)
						ex := formExample[f.command]
						want := runForReal(t, admin, ex, twin, f.fields)
						if f.command == "EndMatch" && want.status == http.StatusOK {
							ended = append(ended, twin)
						}
						// The twin's id, in its events and state, is the stream's.
						want.message = strings.ReplaceAll(want.message, twin, id)
						want.state = strings.ReplaceAll(want.state, twin, id)
						for i := range want.events {
							want.events[i].Data = json.RawMessage(strings.ReplaceAll(string(want.events[i].Data), twin, id))
						}
						cases = append(cases, tryCase{ref: ref, v: v, form: f, twinID: twin, want: want})
					}
				}
			}
			statuses := map[int]int{}
			for _, tc := range cases {
				statuses[tc.want.status]++
			}
			if statuses[http.StatusOK] == 0 || len(statuses) < 2 {
				t.Fatalf("the commands did not both succeed and fail: %v", statuses)
			}
			t.Logf("%d tries; the commands for real answered %v", len(cases), statuses)
			// The reactions to what the twins did (reports of ended matches)
			// are written before the store is looked at.
			for _, id := range ended {
				waitEvents(t, c, "post/report-"+id, 2)
			}
			before := quietImage(t, app.Store, never)

			for _, tc := range cases {
				name := fmt.Sprintf("%s at version %d, %s (%s)", tc.ref, tc.v, tc.form.command, tc.form.fields.Encode())
				w := tc.want
				// As a browser submits the form: the timeline at v with the outcome.
				from := time.Now()
				page := admin("POST", tc.form.action, "application/x-www-form-urlencoded", tc.form.fields.Encode(), false)
				at := span{from, time.Now()}
				if page.status != w.status && !(w.status == http.StatusCreated && page.status == http.StatusOK) {
					t.Errorf("%s: the page answers %d, the command %d %s", name, page.status, w.status, w.code)
					continue
				}
				checkTryOutcome(t, name, page.body, tc.form.command, w, at)
				// The same form, asking for JSON: as the command answered.
				from = time.Now()
				r := admin("POST", tc.form.action, "application/x-www-form-urlencoded", tc.form.fields.Encode(), true)
				at = span{from, time.Now()}
				if w.code != "" {
					if r.status != w.status || errorCodeOf(r) != w.code || errorMessageOf(r) != w.message {
						t.Errorf("%s: %d %s, want %d %s %q", name, r.status, r.body, w.status, w.code, w.message)
					}
					continue
				}
				var got struct {
					Version int64           `json:"version"`
					Events  []es.Envelope   `json:"events"`
					State   json.RawMessage `json:"state"`
				}
				if r.status != http.StatusOK || json.Unmarshal([]byte(r.body), &got) != nil {
					t.Errorf("%s: %d %s, want 200 with the events of %d", name, r.status, r.body, w.status)
					continue
				}
				if got.Version != w.version || len(got.Events) != len(w.events) || !sameEvents(got.Events, at, w, tc.ref) {
					t.Errorf("%s: the try makes version %d, events %s; the command made version %d, events %s", name, got.Version, eventsText(got.Events), w.version, eventsText(w.events))
				}
				if !sameAt([]byte(got.State), at, []byte(w.state), span{w.from, w.to}) {
					t.Errorf("%s: the state after the try %s, after the command %s", name, got.State, w.state)
				}
			}
			if after := storeImage(t, app.Store, append(logStreams(t, app.Store), never...)); after != before {
				t.Fatalf("a try changed the store:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

// playLife plays the first n commands of a module's example life on stream
// id and answers the stream's version before the first and after each.
func playLife(t *testing.T, c *client, m handlers.Module, id string, n int) []int64 {
	t.Helper()
	versions := []int64{0}
	for _, ex := range m.Examples[:n] {
		body, _ := json.Marshal(ex.FieldsFor(id))
		actor := ex.Actor
		if actor == "" {
			actor = "ana"
		}
		r := c.do("POST", ex.Target(id, ""), "application/json", string(body), map[string]string{"Accept": "application/json", "X-Actor": actor})
		if r.status/100 != 2 {
			t.Fatalf("%s example %s on %s: %d %s", m.Name, ex.Path, id, r.status, r.body)
		}
		versions = append(versions, int64(r.json(t)["version"].(float64)))
	}
	return versions
}

// runForReal sends a try form's fields to the command's own route for the
// stream twin, as the admin who tries: the route's placeholders in the
// path, the example's {id} fields naming the twin.
func runForReal(t *testing.T, admin func(method, path, contentType, body string, accept bool) response, ex handlers.Example, twin string, fields url.Values) twinAnswer {
	t.Helper()
	body := url.Values{}
	for k, vs := range fields {
		if k != "command" && !strings.Contains(ex.Path, "{"+k+"}") {
			body[k] = vs
		}
	}
	for k, v := range ex.Fields {
		if v == "{id}" {
			body.Set(k, twin)
		}
	}
	path := strings.ReplaceAll(ex.Path, "{id}", url.PathEscape(twin))
	for k := range ex.Params {
		path = strings.ReplaceAll(path, "{"+k+"}", url.PathEscape(fields.Get(k)))
	}
	from := time.Now()
	r := admin("POST", path, "application/x-www-form-urlencoded", body.Encode(), true)
	out := twinAnswer{status: r.status, from: from, to: time.Now()}
	if r.status/100 != 2 {
		out.code, out.message = errorCodeOf(r), errorMessageOf(r)
		if out.code == "" {
			t.Fatalf("%s on %s: %d %s", path, twin, r.status, r.body)
		}
		return out
	}
	var a struct {
		Version int64           `json:"version"`
		Events  []es.Envelope   `json:"events"`
		State   json.RawMessage `json:"state"`
	}
	if err := json.Unmarshal([]byte(r.body), &a); err != nil {
		t.Fatalf("%s on %s: %v %s", path, twin, err, r.body)
	}
	out.version, out.events, out.state = a.Version, a.Events, string(a.State)
	return out
}

// checkTryOutcome checks the timeline's outcome of a try against what the
// command did for real.
func checkTryOutcome(t *testing.T, name, body, command string, w twinAnswer, at span) {
	t.Helper()
	doc := parse(t, body)
	outcome := elements(doc, byAttr("id", "try-outcome"))
	if len(outcome) != 1 || attrVal(outcome[0], "data-command") != command {
		t.Errorf("%s: the page shows %d outcomes", name, len(outcome))
		return
	}
	if w.code != "" {
		if p := elements(outcome[0], byAttr("data-code", w.code)); len(p) != 1 || !strings.Contains(textOf(p[0]), w.message) {
			t.Errorf("%s: the page shows %q, want the refusal %s %q", name, textOf(outcome[0]), w.code, w.message)
		}
		return
	}
	heading := elements(outcome[0], byTag("h3"))
	wantHeading := fmt.Sprintf("%s would make %d event", command, len(w.events))
	if len(heading) != 1 || !strings.HasPrefix(textOf(heading[0]), wantHeading) || !strings.HasSuffix(textOf(heading[0]), fmt.Sprintf("to version %d", w.version)) {
		t.Errorf("%s: the page's outcome %q, want %q… to version %d", name, textOf(outcome[0]), wantHeading, w.version)
		return
	}
	items := elements(outcome[0], byTag("li"))
	if len(items) != len(w.events) {
		t.Errorf("%s: the page lists %d events, want %d", name, len(items), len(w.events))
		return
	}
	for i, li := range items {
		typ, payload := elements(li, byAttr("class", "event-type")), elements(li, byAttr("class", "payload"))
		if attrVal(li, "value") != fmt.Sprint(w.events[i].Version) || len(typ) != 1 || textOf(typ[0]) != w.events[i].Type ||
			len(payload) != 1 || !sameAt([]byte(textOf(payload[0])), at, w.events[i].Data, span{w.from, w.to}) {
			t.Errorf("%s: the page's event %d is %q, want %d %s %s", name, i, textOf(li), w.events[i].Version, w.events[i].Type, w.events[i].Data)
		}
	}
}

func errorMessageOf(r response) string {
	var m map[string]map[string]any
	_ = json.Unmarshal([]byte(r.body), &m)
	msg, _ := m["error"]["message"].(string)
	return msg
}

// sameEvents reports whether a try's events are the command's: of the
// stream, the same type, version, schema, actor and data (each made at
// its own time: the try's during the try).
func sameEvents(got []es.Envelope, at span, w twinAnswer, ref es.StreamRef) bool {
	for i := range got {
		g, e := got[i], w.events[i]
		if g.Time.Before(at.from.Truncate(time.Microsecond)) || g.Time.After(at.to) || g.Stream != ref || g.Type != e.Type || g.Version != e.Version || g.SchemaVersion != e.SchemaVersion || g.Actor != e.Actor ||
			!sameAt(g.Data, at, e.Data, span{w.from, w.to}) {
			return false
		}
	}
	return true
}

// span is when a request ran.
type span struct{ from, to time.Time }

// sameAt reports whether JSON a, made during span at, is b, made during
// span bt: the same but for the times each wrote, each within its span (a
// try decides now, as the command does).
func sameAt(a []byte, at span, b []byte, bt span) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	x, okA := timesOf(x, at)
	y, okB := timesOf(y, bt)
	return okA && okB && jsonEqual(x, y)
}

// timesOf is v with each time in it replaced by "<time>", and whether each
// is within the span (DynamoDB's and SQLite's clocks are this machine's).
func timesOf(v any, s span) (any, bool) {
	switch v := v.(type) {
	case map[string]any:
		ok := true
		for k, e := range v {
			var okE bool
			v[k], okE = timesOf(e, s)
			ok = ok && okE
		}
		return v, ok
	case []any:
		ok := true
		for i, e := range v {
			var okE bool
			v[i], okE = timesOf(e, s)
			ok = ok && okE
		}
		return v, ok
	case string:
		at, err := time.Parse(time.RFC3339Nano, v)
		if err != nil || len(v) < len("2006-01-02T15:04:05Z") {
			return v, true
		}
		return "<time>", !at.Before(s.from.Truncate(time.Microsecond)) && !at.After(s.to)
	}
	return v, true
}

func eventsText(envs []es.Envelope) string {
	var parts []string
	for _, e := range envs {
		parts = append(parts, fmt.Sprintf("%s v%d by %s at %s %s", e.Type, e.Version, e.Actor, e.Time.Format(time.RFC3339Nano), e.Data))
	}
	return "[" + strings.Join(parts, "; ") + "]"
}

// logStreams are the streams of every event in the log.
func logStreams(t *testing.T, store es.Store) []es.StreamRef {
	t.Helper()
	seen := map[es.StreamRef]bool{}
	var out []es.StreamRef
	for after := ""; ; {
		page, err := store.ReadLog(t.Context(), es.LogQuery{After: after, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Events {
			if !seen[e.Stream] {
				seen[e.Stream] = true
				out = append(out, e.Stream)
			}
		}
		if page.Next == "" || len(page.Events) == 0 {
			return out
		}
		after = page.Next
	}
}

// quietImage is the store's image (the whole log, every stream's head and
// those of more) once it has stayed the same for a moment: what the
// reactions wrote is in it.
func quietImage(t *testing.T, store es.Store, more []es.StreamRef) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	img := storeImage(t, store, append(logStreams(t, store), more...))
	for {
		time.Sleep(500 * time.Millisecond)
		again := storeImage(t, store, append(logStreams(t, store), more...))
		if again == img {
			return img
		}
		if time.Now().After(deadline) {
			t.Fatalf("the store did not stay still for half a second in 10 s")
		}
		img = again
	}
}

// formsExample is the example whose fields a try form offers: its route's
// placeholders and its fields but the stream's own id.
func formsExample(m handlers.Module, f tryForm) (handlers.Example, bool) {
	var found []handlers.Example
	for _, ex := range m.Examples {
		want := url.Values{"command": {f.command}}
		for k, v := range ex.Params {
			want.Set(k, v)
		}
		for k, v := range ex.Fields {
			if v == "{id}" {
				continue
			}
			text, ok := v.(string)
			if !ok {
				b, _ := json.Marshal(v)
				text = string(b)
			}
			want.Set(k, text)
		}
		if want.Encode() == f.fields.Encode() && !slices.ContainsFunc(found, func(e handlers.Example) bool { return e.Path == ex.Path }) {
			found = append(found, ex)
		}
	}
	if len(found) != 1 {
		return handlers.Example{}, false
	}
	return found[0], true
}
