package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"unicode"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/handlers"
	"github.com/foldboard/foldboard/internal/apptest"
	"github.com/foldboard/foldboard/web"
)

// guardStore is the server's store, watched: it records any stream or
// command id that reaches it unvalidated (where it would become a key or a
// query), and counts the appends that succeed.
type guardStore struct {
	es.Store
	appends atomic.Int64

	mu  sync.Mutex
	bad []string
}

func (g *guardStore) guard(op string, ref es.StreamRef, commandID string) {
	if err := ref.Validate(); err != nil || commandID != "" && !es.ValidID(commandID) {
		g.mu.Lock()
		g.bad = append(g.bad, fmt.Sprintf("%s(%q, %q)", op, ref.String(), commandID))
		g.mu.Unlock()
	}
}

func (g *guardStore) Append(ctx context.Context, req es.AppendRequest) (es.AppendResult, error) {
	g.guard("Append", req.Stream, req.CommandID)
	res, err := g.Store.Append(ctx, req)
	// A reaction's appends (a report of an ended match) come on their own
	// time, not from the request at hand.
	if err == nil && !es.IsSystemActor(req.Events[0].Actor) {
		g.appends.Add(1)
	}
	return res, err
}

func (g *guardStore) Head(ctx context.Context, s es.StreamRef) (es.StateRecord, error) {
	g.guard("Head", s, "")
	return g.Store.Head(ctx, s)
}

func (g *guardStore) ReadStream(ctx context.Context, s es.StreamRef, o es.ReadOptions) ([]es.Envelope, error) {
	g.guard("ReadStream", s, "")
	return g.Store.ReadStream(ctx, s, o)
}

func (g *guardStore) Command(ctx context.Context, s es.StreamRef, id string) (es.AppendResult, bool, error) {
	g.guard("Command", s, id)
	return g.Store.Command(ctx, s, id)
}

func (g *guardStore) Snapshot(ctx context.Context, s es.StreamRef, v int64) (es.StateRecord, bool, error) {
	g.guard("Snapshot", s, "")
	return g.Store.Snapshot(ctx, s, v)
}

func (g *guardStore) unvalidated() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.bad)
}

// fuzzApp is one server for a fuzz target, with streams for the commands
// that need one: match m-1 started, cart c-1 holding an apple, post p-1
// written by ana.
type fuzzApp struct {
	app   *apptest.App
	store *guardStore
}

func startFuzzApp(f testing.TB, store string) *fuzzApp {
	fa := &fuzzApp{}
	fa.app = apptest.Start(f, apptest.Options{Store: store, Configure: func(d *web.Deps) {
		fa.store = &guardStore{Store: d.Store}
		d.Store = fa.store
	}})
	// Every module's stream that the routes name, started by its first
	// example.
	for _, m := range handlers.Modules() {
		id := exampleID(m, "1")
		first := m.Examples[0]
		body, err := json.Marshal(first.FieldsFor(id))
		if err != nil {
			f.Fatal(err)
		}
		if rec := fa.serve("POST", first.Target(id, ""), "application/json", "application/json", string(body)); rec.Code/100 != 2 {
			f.Fatalf("setting up %s: %d %s", first.Path, rec.Code, rec.Body)
		}
	}
	return fa
}

func (fa *fuzzApp) serve(method, target, contentType, accept, body string) *httptest.ResponseRecorder {
	req, err := http.NewRequest(method, target, strings.NewReader(body))
	if err != nil {
		return nil
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("Accept", accept)
	req.Header.Set("X-Actor", "ana")
	req.RemoteAddr = "127.0.0.1:1234" // apptest trusts X-Actor from loopback
	rec := httptest.NewRecorder()
	fa.app.Server.ServeHTTP(rec, req)
	return rec
}

// commandRoute is a command route of docs/contract.md, its stream ids by default,
// and its fields with a good value of each.
type commandRoute struct {
	path   string // with {id} and the route's other placeholders to fill in
	id     string
	fields map[string]any
	params map[string]string
}

// commandRoutes are every module's command routes, from its examples (on
// the stream startFuzzApp starts; a route that starts a stream names a new
// one), and the actor's.
var commandRoutes = func() []commandRoute {
	var out []commandRoute
	for _, m := range handlers.Modules() {
		for _, ex := range m.Examples {
			r := commandRoute{path: ex.Path, fields: ex.FieldsFor(exampleID(m, "new")), params: ex.Params}
			if strings.Contains(ex.Path, "{id}") {
				r.id = exampleID(m, "1")
			}
			out = append(out, r)
		}
	}
	return append(out, commandRoute{path: "/signout", fields: map[string]any{"back": "/matches"}})
}()

// target fills the route's placeholders: {id} with id, the others with
// their example values, or with id too when raw.
func (r commandRoute) target(id string, raw bool) string {
	ex := handlers.Example{Path: r.path, Params: r.params}
	if raw {
		ex.Params = nil
	}
	return ex.Target(id, id)
}

// Shapes of a fuzzed request, from its shape byte: the low bits pick the
// content type, 0x08 asks for a page instead of JSON, 0x10 puts the fuzzed id
// in the path instead of the route's own.
var contentTypes = []string{
	"application/json", "application/x-www-form-urlencoded", "text/plain", "",
	"application/json; charset=utf-8", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded; charset=utf-8", "application/xml",
}

const (
	shapeJSON  = 0
	shapeForm  = 1
	shapePage  = 0x08
	shapeRawID = 0x10
)

// contractStatuses are the statuses docs/contract.md allows a command.
var contractStatuses = []int{200, 201, 303, 400, 403, 404, 409, 413, 415, 422}

var stableCode = regexp.MustCompile(`^[A-Z][A-Za-z]{1,40}$`)

// FuzzCommandRoutes sends every command route bodies of every shape:
// malformed, oversized, wrongly typed, out of range, in forms and JSON, with
// ids in the path that are not ids. Each answer has one of the contract's
// statuses (never a 5xx), a refusal asked for as JSON carries a stable code,
// a redirect stays on the site, nothing is appended by a refused command,
// and no id reaches the store unvalidated.
func FuzzCommandRoutes(f *testing.F) {
	fa := startFuzzApp(f, "sqlite")
	seedCommandRoutes(func(route uint8, id string, body []byte, shape uint8) { f.Add(route, id, body, shape) })
	f.Fuzz(func(t *testing.T, route uint8, id string, body []byte, shape uint8) {
		checkCommand(t, fa, route, id, body, shape)
	})
}

// TestHostileCommandsOnEveryStore sends the fuzz target's seed corpus to a
// server on each other store (the fuzz target itself runs on SQLite).
func TestHostileCommandsOnEveryStore(t *testing.T) {
	for _, store := range apptest.Stores {
		if store == "sqlite" {
			continue // FuzzCommandRoutes runs the corpus there
		}
		t.Run(store, func(t *testing.T) {
			fa := startFuzzApp(t, store)
			// Every id in the path, and a quarter of the rest: the store
			// sees only what passed validation, the same on every store.
			n, sent := 0, 0
			seedCommandRoutes(func(route uint8, id string, body []byte, shape uint8) {
				if n++; n%4 == 0 || shape&shapeRawID != 0 {
					sent++
					checkCommand(t, fa, route, id, body, shape)
				}
			})
			t.Logf("%d hostile commands of the corpus's %d", sent, n)
		})
	}
}

// checkCommand sends one fuzzed command and checks its answer.
func checkCommand(t *testing.T, fa *fuzzApp, route uint8, id string, body []byte, shape uint8) {
	t.Helper()
	{
		r := commandRoutes[int(route)%len(commandRoutes)]
		target := r.target(r.id, false)
		if shape&shapeRawID != 0 {
			target = r.target(id, true)
		}
		accept := "application/json"
		if shape&shapePage != 0 {
			accept = "text/html"
		}
		ct := contentTypes[int(shape)%len(contentTypes)]
		before := fa.store.appends.Load()
		rec := fa.serve("POST", target, ct, accept, string(body))
		if rec == nil {
			return // not a request URL
		}
		appended := fa.store.appends.Load() - before
		if !slices.Contains(contractStatuses, rec.Code) {
			t.Fatalf("POST %s (%s, %d bytes): status %d is not the contract's: %.300s", target, ct, len(body), rec.Code, rec.Body)
		}
		ok := rec.Code < 400
		if !ok && appended != 0 {
			t.Fatalf("POST %s answered %d, yet appended %d events", target, rec.Code, appended)
		}
		if rec.Code == http.StatusSeeOther {
			if loc := rec.Header().Get("Location"); !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") || strings.ContainsFunc(loc, func(r rune) bool { return r <= ' ' || r == '\\' || r == 0x7f }) {
				t.Fatalf("POST %s redirects off the site: %q", target, loc)
			}
		}
		if ok && accept == "application/json" {
			if bad := unstorableText(rec.Body.Bytes()); bad != "" {
				t.Fatalf("POST %s stored text it should have refused: %q", target, bad)
			}
		}
		if !ok && accept == "application/json" {
			var e struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || !stableCode.MatchString(e.Error.Code) || e.Error.Code == "Internal" || e.Error.Message == "" {
				t.Fatalf("POST %s answered %d without a stable code: %.300s", target, rec.Code, rec.Body)
			}
		}
		if !ok && accept == "text/html" && !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
			t.Fatalf("POST %s asked for a page, answered %d as %q", target, rec.Code, rec.Header().Get("Content-Type"))
		}
		if bad := fa.store.unvalidated(); len(bad) > 0 {
			t.Fatalf("POST %s: ids reached the store unvalidated: %v", target, bad)
		}
	}
}

// seedCommandRoutes adds, for every route, good commands in both shapes and
// the ways each can go wrong: every field missing, of the wrong type, out of
// range, oversized; malformed bodies; ids that are not ids.
func seedCommandRoutes(add func(route uint8, id string, body []byte, shape uint8)) {
	bad := []any{
		nil, true, -1, 0, 10_001, json.Number("1e309"), json.Number("-0.0"), "99999999999999999999", 2.5, "", " ", strings.Repeat("x", 70_000),
		"<script>alert(1)</script>", "\xff\xfe", "a\x00b", map[string]any{"a": 1}, []any{1}, "1e3", "-0", "0x10", "١٢",
		"19.999", "-5.00", "1000000.01",
		// Text that must not be stored (BadText), numbers with signs or spaces.
		"\u202eevil", "a\u2066b", "\u200b", "\u3164", "a\tb", "a\nb", "\x1b[31m", "a\u0085b", " 1", "+5", "1 ",
	}
	ids := []string{"", "a b", strings.Repeat("x", 65), "é", "..", ".", "...", "a/b", "%2F", "a\x00b", "m-1", "<x>"}
	for i, r := range commandRoutes {
		route := uint8(i)
		for _, shape := range []uint8{shapeJSON, shapeForm, shapeJSON | shapePage, shapeForm | shapePage} {
			add(route, "", encode(r.fields, shape), shape)
			add(route, "", []byte(nil), shape)
		}
		for name := range r.fields {
			without := clone(r.fields)
			delete(without, name)
			add(route, "", encode(without, shapeJSON), uint8(shapeJSON))
			add(route, "", encode(without, shapeForm), uint8(shapeForm|shapePage))
			for j, v := range bad {
				with := clone(r.fields)
				with[name] = v
				shape := uint8(shapeJSON)
				if j%3 == 1 {
					shape = shapeForm
				}
				add(route, "", encode(with, shape), shape)
			}
		}
		for _, meta := range []map[string]any{
			{"expectedVersion": -1}, {"expectedVersion": "1"}, {"expectedVersion": 1e20}, {"expectedVersion": 0},
			{"commandId": "x y"}, {"commandId": strings.Repeat("c", 65)}, {"commandId": 7}, {"colour": "red"},
		} {
			with := clone(r.fields)
			for k, v := range meta {
				with[k] = v
			}
			add(route, "", encode(with, shapeJSON), uint8(shapeJSON))
			add(route, "", encode(with, shapeForm), uint8(shapeForm))
		}
		for _, body := range []string{
			"{", "[]", "null", "1", `"x"`, `{"a":1}{"b":2}`, `{"venue":"a","venue":"b"}`, "a=%zz&b", "&&==&", strings.Repeat("[", 20_000),
			`{"innings":1,"runs":250,"wickets":7,"innings":2}`, "\xef\xbb\xbf{}", `{"sku":"pear","qty":1,"price":{"$gt":""}}`,
			"venue=a&venue=b&homeTeam=A&awayTeam=B", "sku=pear&qty=1&qty=2&price=1", `{"title":"a","\u0074itle":"b"}`,
			"back=/%09/evil.example&name=Ana", "back=/%5C%5Cevil.example&name=Ana",
		} {
			add(route, "", []byte(body), uint8(shapeJSON))
			add(route, "", []byte(body), uint8(shapeForm|shapePage))
		}
		for _, id := range ids {
			add(route, id, encode(r.fields, shapeJSON), uint8(shapeJSON|shapeRawID))
			add(route, id, encode(r.fields, shapeForm), uint8(shapeForm|shapePage|shapeRawID))
		}
		for shape := range uint8(len(contentTypes)) {
			add(route, "", encode(r.fields, shapeJSON), shape)
		}
	}
	// Over the 1 MiB limit: 413.
	add(uint8(0), "", encode(map[string]any{"venue": strings.Repeat("v", 1<<20), "homeTeam": "A", "awayTeam": "B"}, shapeJSON), uint8(shapeJSON))
	add(uint8(0), "", []byte("venue="+strings.Repeat("v", 1<<20)+"&homeTeam=A&awayTeam=B"), uint8(shapeForm))
}

// unstorableText finds, in a command's JSON answer, a string that holds a
// control character (tab and line breaks only in a body), a bidirectional
// override or nothing but invisible characters; "" when none does.
func unstorableText(answer []byte) string {
	var walk func(key string, v any) string
	walk = func(key string, v any) string {
		switch v := v.(type) {
		case string:
			multiLine := key == "body"
			visible := v == ""
			for _, r := range v {
				switch {
				case (r < 0x20 || r >= 0x7f && r < 0xa0) && !(multiLine && strings.ContainsRune("\t\n\r", r)):
					return v
				case r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069:
					return v
				case r != 0x200b && r != 0x3164 && r != 0xfeff && r != 0x2060 && !unicode.IsSpace(r):
					visible = true
				}
			}
			if !visible {
				return v
			}
		case map[string]any:
			for k, e := range v {
				if bad := walk(k, e); bad != "" {
					return bad
				}
			}
		case []any:
			for _, e := range v {
				if bad := walk(key, e); bad != "" {
					return bad
				}
			}
		}
		return ""
	}
	var v any
	if json.Unmarshal(answer, &v) != nil {
		return ""
	}
	return walk("", v)
}

func clone(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// encode writes fields as JSON or as a form (each value as text).
func encode(fields map[string]any, shape uint8) []byte {
	if int(shape)%len(contentTypes) != shapeForm {
		b, err := json.Marshal(fields)
		if err != nil { // 1e309 and the like: write them as they are
			var parts []string
			for k, v := range fields {
				raw, err := json.Marshal(v)
				if err != nil {
					raw = fmt.Appendf(nil, "%v", v)
				}
				parts = append(parts, fmt.Sprintf("%q:%s", k, raw))
			}
			slices.Sort(parts)
			return []byte("{" + strings.Join(parts, ",") + "}")
		}
		return b
	}
	form := url.Values{}
	for k, v := range fields {
		switch v := v.(type) {
		case nil:
			form[k] = nil
		case string:
			form.Set(k, v)
		default:
			raw, _ := json.Marshal(v)
			form.Set(k, string(raw))
		}
	}
	return []byte(form.Encode())
}

// FuzzStreamReads asks the read routes that take a stream in the path, and
// the global log, for anything: each answers 200, 400 or 404, and no id
// reaches the store unvalidated.
func FuzzStreamReads(f *testing.F) {
	fa := startFuzzApp(f, "sqlite")
	for _, s := range []struct{ typ, id, what, query string }{
		{"match", "m-1", "events", ""}, {"match", "m-1", "events", "from=2&limit=1&reverse=true"},
		{"match", "m-1", "state", "version=1"}, {"match", "m-1", "timeline", "v=1"},
		{"match", "m-1", "events", "from=-1"}, {"match", "m-1", "events", "limit=100000"}, {"match", "m-1", "events", "from=99999999999999999999"},
		{"match", "m-1", "state", "version=abc"}, {"cart", "c-1", "state", ""}, {"post", "p-1", "timeline", "v=-3"},
		{"nope", "x", "state", ""}, {"ma tch", "m-1", "events", ""}, {"match", "a b", "events", ""}, {"match", strings.Repeat("x", 65), "state", ""},
		{"match", "..", "events", ""}, {"match", "é", "timeline", ""}, {"", "", "events", ""}, {"match", "m-1", "events", "from=1&from=2"},
		{"", "", "", "type=MatchStarted&limit=5"}, {"", "", "", "after=abc"}, {"", "", "", "after=-1"}, {"", "", "", "limit=0"},
		{"", "", "", "after=" + strings.Repeat("9", 30)}, {"", "", "", "type=%00&after=1"},
	} {
		f.Add(s.typ, s.id, s.what, s.query)
	}
	f.Fuzz(func(t *testing.T, typ, id, what, query string) {
		target := "/events?" + query
		if what != "" {
			target = fmt.Sprintf("/streams/%s/%s/%s?%s", url.PathEscape(typ), url.PathEscape(id), url.PathEscape(what), query)
		}
		for _, accept := range []string{"application/json", "text/html"} {
			rec := fa.serve("GET", target, "", accept, "")
			if rec == nil {
				return // not a request URL: nothing to serve
			}
			if rec.Code != 200 && rec.Code != 400 && rec.Code != 404 {
				t.Fatalf("GET %s (%s): status %d: %.300s", target, accept, rec.Code, rec.Body)
			}
			if bad := fa.store.unvalidated(); len(bad) > 0 {
				t.Fatalf("GET %s: ids reached the store unvalidated: %v", target, bad)
			}
		}
	})
}
