package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/net/html"

	"github.com/foldboard/foldboard/internal/apptest"
)

// client talks to a running foldboard without following redirects.
type client struct {
	t    *testing.T
	base string
	http *http.Client
}

func newClient(t *testing.T, app *apptest.App) *client {
	return &client{t: t, base: app.URL, http: &http.Client{
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       10 * time.Second,
	}}
}

type response struct {
	status int
	header http.Header
	body   string
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.body), &m); err != nil {
		t.Fatalf("answer is not JSON (%d): %q", r.status, r.body)
	}
	return m
}

// errorCode is the code of a JSON error answer.
func (r response) errorCode(t *testing.T) string {
	t.Helper()
	e, _ := r.json(t)["error"].(map[string]any)
	code, _ := e["code"].(string)
	return code
}

func (c *client) do(method, path, contentType, body string, header map[string]string) response {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	// Commands are made by someone: a test names its actor through the
	// X-Actor header that apptest's servers trust from loopback, "tester"
	// unless it says otherwise ("" for no one) or signs in (a session
	// cookie, a token).
	if header["Cookie"] == "" && header["Authorization"] == "" {
		req.Header.Set("X-Actor", "tester")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	if req.Header.Get("X-Actor") == "" {
		req.Header.Del("X-Actor")
	}
	res, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: string(b)}
}

func (c *client) postJSON(path, body string) response {
	c.t.Helper()
	return c.do("POST", path, "application/json", body, map[string]string{"Accept": "application/json"})
}

func (c *client) postForm(path string, form url.Values) response {
	c.t.Helper()
	return c.do("POST", path, "application/x-www-form-urlencoded", form.Encode(), nil)
}

func (c *client) get(path string) response {
	c.t.Helper()
	return c.do("GET", path, "", "", nil)
}

func wantStatus(t *testing.T, r response, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if code != "" {
		if got := r.errorCode(t); got != code {
			t.Fatalf("error code %q, want %q: %s", got, code, r.body)
		}
	}
}

func startMatch(t *testing.T, c *client, id string) {
	t.Helper()
	r := c.postJSON("/matches", `{"matchId":"`+id+`","venue":"Lord's","homeTeam":"England","awayTeam":"Australia"}`)
	wantStatus(t, r, http.StatusCreated, "")
}

func TestStartMatchAnswersJSONWithTheEnvelope(t *testing.T) {
	c := newClient(t, apptest.Start(t, apptest.Options{}))
	r := c.do("POST", "/matches", "application/json",
		`{"matchId":"m-1","venue":"Lord's","homeTeam":"England","awayTeam":"Australia","commandId":"c-1"}`,
		map[string]string{"Accept": "application/json", "X-Actor": "ana"})
	wantStatus(t, r, http.StatusCreated, "")
	body := r.json(t)
	if body["stream"] != "match/m-1" || body["version"] != float64(1) {
		t.Fatalf("stream/version: %v", body)
	}
	events := body["events"].([]any)
	if len(events) != 1 {
		t.Fatalf("want 1 event, got %v", events)
	}
	e := events[0].(map[string]any)
	for field, want := range map[string]any{
		"stream": "match/m-1", "version": float64(1), "type": "MatchStarted", "schemaVersion": float64(1),
		"actor": "ana", "commandId": "c-1", "correlationId": "c-1",
	} {
		if e[field] != want {
			t.Errorf("event %s = %v, want %v", field, e[field], want)
		}
	}
	if id, _ := e["id"].(string); len(id) != 26 {
		t.Errorf("event id %q is not a ULID", id)
	}
	data := e["data"].(map[string]any)
	if data["venue"] != "Lord's" || data["homeTeam"] != "England" || data["awayTeam"] != "Australia" {
		t.Errorf("data: %v", data)
	}
	if state := body["state"].(map[string]any); state["started"] != true {
		t.Errorf("state: %v", state)
	}
}

func TestCommandsAnswerTheContractsErrors(t *testing.T) {
	c := newClient(t, apptest.Start(t, apptest.Options{}))
	startMatch(t, c, "m-1")
	cases := []struct {
		name, path, body string
		status           int
		code             string
	}{
		{"already started", "/matches", `{"matchId":"m-1","venue":"V","homeTeam":"A","awayTeam":"B"}`, 409, "AlreadyStarted"},
		{"same teams", "/matches", `{"venue":"V","homeTeam":"A","awayTeam":"a"}`, 422, "SameTeams"},
		{"empty venue", "/matches", `{"venue":" ","homeTeam":"A","awayTeam":"B"}`, 422, "BadVenue"},
		{"missing venue", "/matches", `{"homeTeam":"A","awayTeam":"B"}`, 400, "MissingField"},
		{"bad id", "/matches", `{"matchId":"a b","venue":"V","homeTeam":"A","awayTeam":"B"}`, 400, "BadID"},
		{"unknown field", "/matches", `{"venue":"V","homeTeam":"A","awayTeam":"B","colour":"red"}`, 400, "UnknownField"},
		{"not an object", "/matches", `[1,2]`, 400, "BadJSON"},
		{"runs as a string", "/matches/m-1/innings", `{"innings":1,"runs":"250","wickets":10}`, 400, "BadNumber"},
		{"runs a fraction", "/matches/m-1/innings", `{"innings":1,"runs":2.5,"wickets":10}`, 400, "BadNumber"},
		{"negative runs", "/matches/m-1/innings", `{"innings":1,"runs":-1,"wickets":10}`, 422, "BadRuns"},
		{"eleven wickets", "/matches/m-1/innings", `{"innings":1,"runs":100,"wickets":11}`, 422, "BadWickets"},
		{"huge runs", "/matches/m-1/innings", `{"innings":1,"runs":99999999999999,"wickets":1}`, 422, "BadRuns"},
		{"innings out of order", "/matches/m-1/innings", `{"innings":2,"runs":100,"wickets":1}`, 409, "InningsOutOfOrder"},
		{"unknown match", "/matches/nope/innings", `{"innings":1,"runs":100,"wickets":1}`, 404, "MatchNotFound"},
		{"stale version", "/matches/m-1/innings", `{"innings":1,"runs":100,"wickets":1,"expectedVersion":0}`, 409, "VersionConflict"},
		{"bad command id", "/matches/m-1/end", `{"result":"draw","commandId":"x y"}`, 400, "BadCommandID"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantStatus(t, c.postJSON(tc.path, tc.body), tc.status, tc.code)
		})
	}
	// Nothing above appended anything.
	r := c.get("/streams/match/m-1/events")
	if v := r.json(t)["version"]; v != float64(1) {
		t.Fatalf("match/m-1 is at version %v after refused commands, want 1", v)
	}
}

func TestVersionConflictCarriesTheCurrentVersion(t *testing.T) {
	c := newClient(t, apptest.Start(t, apptest.Options{}))
	startMatch(t, c, "m-1")
	wantStatus(t, c.postJSON("/matches/m-1/innings", `{"innings":1,"runs":300,"wickets":10,"expectedVersion":1}`), 200, "")
	r := c.postJSON("/matches/m-1/innings", `{"innings":2,"runs":200,"wickets":10,"expectedVersion":1}`)
	wantStatus(t, r, http.StatusConflict, "VersionConflict")
	if cur := r.json(t)["error"].(map[string]any)["currentVersion"]; cur != float64(2) {
		t.Fatalf("currentVersion %v, want 2", cur)
	}
}

func TestBodiesOverTheLimitAndOtherMediaAreRefused(t *testing.T) {
	c := newClient(t, apptest.Start(t, apptest.Options{}))
	big := `{"venue":"` + strings.Repeat("x", 1<<20) + `","homeTeam":"A","awayTeam":"B"}`
	wantStatus(t, c.postJSON("/matches", big), http.StatusRequestEntityTooLarge, "BodyTooLarge")
	r := c.do("POST", "/matches", "text/plain", "venue=V", map[string]string{"Accept": "application/json"})
	wantStatus(t, r, http.StatusUnsupportedMediaType, "UnsupportedMediaType")
}

func TestRepeatedCommandIDAppendsOnce(t *testing.T) {
	c := newClient(t, apptest.Start(t, apptest.Options{}))
	startMatch(t, c, "m-1")
	body := `{"innings":1,"runs":300,"wickets":10,"commandId":"once"}`
	first := c.postJSON("/matches/m-1/innings", body)
	wantStatus(t, first, 200, "")
	again := c.postJSON("/matches/m-1/innings", body)
	wantStatus(t, again, 200, "")
	if a, b := first.json(t)["events"], again.json(t)["events"]; !jsonEqual(a, b) {
		t.Fatalf("the repeat answered other events:\n%v\n%v", a, b)
	}
	if v := c.get("/streams/match/m-1/events").json(t)["version"]; v != float64(2) {
		t.Fatalf("version %v after a repeated command, want 2", v)
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func TestFormPostRedirectsAndThePageShowsTheInnings(t *testing.T) {
	c := newClient(t, apptest.Start(t, apptest.Options{}))
	r := c.postForm("/matches", url.Values{"matchId": {"m-1"}, "venue": {"Eden Gardens"}, "homeTeam": {"India"}, "awayTeam": {"Pakistan"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/matches/m-1" {
		t.Fatalf("start: %d %q", r.status, r.header.Get("Location"))
	}
	r = c.postForm("/matches/m-1/innings", url.Values{"innings": {"1"}, "runs": {"287"}, "wickets": {"7"}, "expectedVersion": {"1"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("innings: %d %s", r.status, r.body)
	}
	page := c.get("/matches/m-1")
	for _, want := range []string{"India", "Pakistan", "Eden Gardens", `<td class="runs">287</td>`, `id="version-innings" value="2"`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("the match page lacks %q", want)
		}
	}
}

func TestRefusedFormShowsItsMessageOnThePage(t *testing.T) {
	c := newClient(t, apptest.Start(t, apptest.Options{}))
	startMatch(t, c, "m-1")
	waitFor(t, func() bool { return c.get("/matches/m-1").status == 200 })
	r := c.postForm("/matches/m-1/innings", url.Values{"innings": {"3"}, "runs": {"10"}, "wickets": {"1"}})
	if r.status != http.StatusConflict {
		t.Fatalf("status %d, want 409", r.status)
	}
	if !strings.Contains(r.body, `data-code="InningsOutOfOrder"`) || !strings.Contains(r.body, "the next innings is 1") {
		t.Fatalf("the page does not show the refusal:\n%s", r.body)
	}
	if !strings.Contains(r.body, `value="10"`) {
		t.Errorf("the form lost what was typed")
	}
}

// TestCrossOriginFormPostIsRefused sends every command route, and the
// sign-in form, from another site in each way a browser marks one: each is
// refused with 403 CrossOrigin before any handler runs, appends nothing and
// sets no cookie. The same requests from foldboard's own pages go through.
func TestCrossOriginFormPostIsRefused(t *testing.T) {
	for _, store := range apptest.Stores {
		t.Run(store, func(t *testing.T) {
			app := apptest.Start(t, apptest.Options{Store: store})
			c := newClient(t, app)
			startMatch(t, c, "m-1")
			events := func() int {
				return len(c.do("GET", "/events", "", "", map[string]string{"Accept": "application/json"}).json(t)["events"].([]any))
			}
			before := events()
			foreign := map[string]map[string]string{
				"cross-site":          {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
				"origin only":         {"Origin": "https://evil.example"},
				"fetch metadata only": {"Sec-Fetch-Site": "cross-site"},
				"same site":           {"Origin": "http://sub." + strings.TrimPrefix(app.URL, "http://"), "Sec-Fetch-Site": "same-site"},
				"opaque origin":       {"Origin": "null"},
			}
			for _, r := range commandRoutes {
				path := strings.NewReplacer("{id}", r.id, "{sku}", "apple").Replace(r.path)
				for name, headers := range foreign {
					for _, shape := range []uint8{shapeForm, shapeJSON} {
						h := map[string]string{"X-Actor": "ana"}
						for k, v := range headers {
							h[k] = v
						}
						ct := "application/x-www-form-urlencoded"
						if shape == shapeJSON {
							ct, h["Accept"] = "application/json", "application/json"
						}
						res := c.do("POST", path, ct, string(encode(r.fields, shape)), h)
						if res.status != http.StatusForbidden || !strings.Contains(res.body, "CrossOrigin") {
							t.Errorf("POST %s (%s, %s): %d %.200s", path, name, ct, res.status, res.body)
						}
						if cookie := res.header.Get("Set-Cookie"); cookie != "" {
							t.Errorf("POST %s (%s) set a cookie: %s", path, name, cookie)
						}
					}
				}
			}
			if n := events(); n != before {
				t.Fatalf("%d events appended by refused requests", n-before)
			}
			// From foldboard's own page, the same request goes through.
			own := map[string]string{"Origin": app.URL, "Sec-Fetch-Site": "same-origin"}
			if res := c.do("POST", "/matches/m-1/end", "application/x-www-form-urlencoded", "result=a+draw", own); res.status != http.StatusSeeOther {
				t.Fatalf("a same-origin form post: %d %.200s", res.status, res.body)
			}
		})
	}
}

// TestPagesCarrySecurityHeaders: every answer, pages, error pages, JSON and
// static files alike, carries a policy that allows only the site's own
// script and style (no inline ones) and no framing, and nosniff; no page
// holds an inline script or style. (e2e checks that the pages satisfy the
// policy in a real browser.)
func TestPagesCarrySecurityHeaders(t *testing.T) {
	c := newClient(t, apptest.Start(t, apptest.Options{}))
	paths := append(mainPages(t, c), "/static/app.js", "/streams/match/m-1/events", "/healthz")
	for _, path := range paths {
		r := c.get(path)
		csp := r.header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'", "form-action 'self'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: the policy %q lacks %s", path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-") {
			t.Errorf("%s: the policy allows %q", path, csp)
		}
		if r.header.Get("X-Content-Type-Options") != "nosniff" || r.header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s: nosniff %q, X-Frame-Options %q", path, r.header.Get("X-Content-Type-Options"), r.header.Get("X-Frame-Options"))
		}
		if !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") {
			continue
		}
		doc, err := html.Parse(strings.NewReader(r.body))
		if err != nil {
			t.Fatal(err)
		}
		walk(doc, func(n *html.Node) {
			if n.Type != html.ElementNode {
				return
			}
			if src, _ := attrOf(n, "src"); n.Data == "script" && (src == "" || n.FirstChild != nil) {
				t.Errorf("%s: an inline script", path)
			}
			if n.Data == "style" {
				t.Errorf("%s: an inline <style>", path)
			}
			if style, ok := attrOf(n, "style"); ok {
				t.Errorf("%s: <%s style=%q>", path, n.Data, style)
			}
		})
	}
}

func TestStreamStateReplaysToAVersion(t *testing.T) {
	c := newClient(t, apptest.Start(t, apptest.Options{}))
	startMatch(t, c, "m-1")
	wantStatus(t, c.postJSON("/matches/m-1/innings", `{"innings":1,"runs":300,"wickets":10}`), 200, "")
	wantStatus(t, c.postJSON("/matches/m-1/innings", `{"innings":2,"runs":250,"wickets":10}`), 200, "")
	r := c.get("/streams/match/m-1/state?version=2")
	wantStatus(t, r, 200, "")
	state := r.json(t)["state"].(map[string]any)
	if n := len(state["innings"].([]any)); n != 1 || state["homeRuns"] != float64(300) || state["awayRuns"] != float64(0) {
		t.Fatalf("state at version 2: %v", state)
	}
	latest := c.get("/streams/match/m-1/state").json(t)
	if latest["version"] != float64(3) || latest["state"].(map[string]any)["awayRuns"] != float64(250) {
		t.Fatalf("latest state: %v", latest)
	}
	rev := c.get("/streams/match/m-1/events?reverse=true&limit=2").json(t)
	evs := rev["events"].([]any)
	if len(evs) != 2 || evs[0].(map[string]any)["version"] != float64(3) || evs[1].(map[string]any)["version"] != float64(2) {
		t.Fatalf("reverse read: %v", evs)
	}
	wantStatus(t, c.do("GET", "/streams/match/nope/state", "", "", map[string]string{"Accept": "application/json"}), 404, "StreamNotFound")
	wantStatus(t, c.do("GET", "/streams/match/a%20b/events", "", "", map[string]string{"Accept": "application/json"}), 400, "BadID")
}

func TestLiveClientReceivesTheScoreboardAfterACommand(t *testing.T) {
	app := apptest.Start(t, apptest.Options{})
	c := newClient(t, app)
	startMatch(t, c, "m-1")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(app.URL, "http")+"/ws?topic=match/m-1", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	// First the current fragment, then the one after the innings.
	readUntil(t, ctx, conn, `id="scoreboard"`)
	wantStatus(t, c.postJSON("/matches/m-1/innings", `{"innings":1,"runs":321,"wickets":9}`), 200, "")
	readUntil(t, ctx, conn, `<td class="runs">321</td>`)
}

func readUntil(t *testing.T, ctx context.Context, conn *websocket.Conn, want string) string {
	t.Helper()
	for {
		_, msg, err := conn.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for a fragment with %q: %v", want, err)
		}
		if strings.Contains(string(msg), want) {
			return string(msg)
		}
	}
}

// TestWebSocketFromAnotherOriginIsRefused opens live connections with the
// Origin another site's page would send: refused with 403 (Go's cross-origin
// protection covers unsafe methods only, so the hub checks the upgrade's
// Origin itself). A page of foldboard's own, or a program that sends no
// Origin, is accepted.
func TestWebSocketFromAnotherOriginIsRefused(t *testing.T) {
	for _, store := range apptest.Stores {
		t.Run(store, func(t *testing.T) {
			app := apptest.Start(t, apptest.Options{Store: store})
			host := strings.TrimPrefix(app.URL, "http://")
			port := host[strings.LastIndex(host, ":"):]
			for origin, want := range map[string]int{
				"https://evil.example":             http.StatusForbidden,
				"http://" + host + ".evil.example": http.StatusForbidden,
				"http://evil.example" + port:       http.StatusForbidden,
				"http://localhost" + port:          http.StatusForbidden,
				"null":                             http.StatusForbidden,
				"http://" + strings.Replace(host, ":", "@evil.example:", 1): http.StatusForbidden,
				app.URL: http.StatusSwitchingProtocols,
				"":      http.StatusSwitchingProtocols,
			} {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				header := http.Header{}
				if origin != "" {
					header.Set("Origin", origin)
				}
				conn, res, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(app.URL, "http")+"/ws?topic=matches", &websocket.DialOptions{HTTPHeader: header})
				cancel()
				if res == nil || res.StatusCode != want {
					t.Errorf("Origin %q: %v %v, want %d", origin, res, err, want)
				}
				if conn != nil {
					conn.CloseNow()
				}
			}
		})
	}
}

func TestReadModelsSurviveARestart(t *testing.T) {
	db := t.TempDir() + "/foldboard.db"
	app := apptest.Start(t, apptest.Options{DB: db})
	c := newClient(t, app)
	startMatch(t, c, "m-1")
	wantStatus(t, c.postJSON("/matches/m-1/innings", `{"innings":1,"runs":123,"wickets":4}`), 200, "")
	// Give the projector the events before stopping, as a person would.
	waitFor(t, func() bool { return strings.Contains(c.get("/matches/m-1").body, `<td class="runs">123</td>`) })
	app.Stop()

	again := newClient(t, apptest.Start(t, apptest.Options{DB: db}))
	page := again.get("/matches/m-1")
	if page.status != 200 || !strings.Contains(page.body, `<td class="runs">123</td>`) {
		t.Fatalf("after a restart the match page is %d:\n%s", page.status, page.body)
	}
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 5 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
