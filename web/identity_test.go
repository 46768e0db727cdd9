package web_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/handlers"
	"github.com/foldboard/foldboard/internal/apptest"
	"github.com/foldboard/foldboard/web"
)

// person is someone signed in through the forms of the sign-in routes: the
// session cookie (or token) they send.
type person struct {
	c      *client
	name   string
	cookie string // "foldboard_session=…"
	token  string
}

func (p *person) header(extra map[string]string) map[string]string {
	h := map[string]string{"X-Actor": "", "Accept": "application/json"}
	if p.cookie != "" {
		h["Cookie"] = p.cookie
	}
	if p.token != "" {
		h["Authorization"] = "Bearer " + p.token
	}
	for k, v := range extra {
		h[k] = v
	}
	return h
}

func (p *person) postJSON(path, body string) response {
	p.c.t.Helper()
	return p.c.do("POST", path, "application/json", body, p.header(nil))
}

func (p *person) get(path string) response {
	p.c.t.Helper()
	return p.c.do("GET", path, "", "", p.header(nil))
}

func (p *person) page(path string) response {
	p.c.t.Helper()
	return p.c.do("GET", path, "", "", p.header(map[string]string{"Accept": "text/html"}))
}

// me is who GET /me says the person is: a name, or "" for no one.
func (p *person) me() string {
	p.c.t.Helper()
	r := p.get("/me")
	wantStatus(p.c.t, r, http.StatusOK, "")
	name, _ := r.json(p.c.t)["actor"].(string)
	return name
}

// anonymous is a client with no session, token or trusted header.
func anonymous(c *client) *person { return &person{c: c} }

// signUp signs name up by JSON and wants a session.
func signUp(t *testing.T, c *client, name, password string) *person {
	t.Helper()
	r := c.do("POST", "/signup", "application/json", jsonOf(t, map[string]string{"name": name, "password": password}),
		map[string]string{"X-Actor": "", "Accept": "application/json"})
	wantStatus(t, r, http.StatusCreated, "")
	if got := r.json(t)["actor"]; got != name {
		t.Fatalf("signed up as %v, want %s", got, name)
	}
	return &person{c: c, name: name, cookie: sessionCookie(t, r)}
}

// signInAs signs name in by JSON and answers as the server did.
func signInAs(c *client, name, password string) response {
	c.t.Helper()
	return c.do("POST", "/signin", "application/json", jsonOf(c.t, map[string]string{"name": name, "password": password}),
		map[string]string{"X-Actor": "", "Accept": "application/json"})
}

func sessionCookie(t *testing.T, r response) string {
	t.Helper()
	for _, ck := range (&http.Response{Header: r.header}).Cookies() {
		if ck.Name == "foldboard_session" && ck.Value != "" {
			return ck.Name + "=" + ck.Value
		}
	}
	t.Fatalf("no session cookie in %v", r.header)
	return ""
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// forged is a session cookie's value with another account in it and the
// same signature.
func forged(cookie string) string {
	value := strings.TrimPrefix(cookie, "foldboard_session=")
	_, rest, _ := strings.Cut(value, ".")
	return base64.RawURLEncoding.EncodeToString([]byte("ben")) + "." + rest
}

func TestSignUpSignInAndSignOutOnEveryStore(t *testing.T) {
	for _, store := range apptest.Stores {
		t.Run(store, func(t *testing.T) {
			app := apptest.Start(t, apptest.Options{Store: store, SignInOnly: true, Configure: func(d *web.Deps) {
				d.Identity.SignInRate = handlers.RateLimit{Every: time.Millisecond, Burst: 100}
			}})
			c := newClient(t, app)
			if name := anonymous(c).me(); name != "" {
				t.Fatalf("no one is %q", name)
			}
			ana := signUp(t, c, "ana", "correct horse")
			if ana.me() != "ana" {
				t.Fatalf("after signing up, /me is %q", ana.me())
			}
			// The name is taken, in any case; the rules hold.
			for _, tc := range []struct {
				name, password string
				status         int
				code           string
			}{
				{"ana", "another password", 409, "NameTaken"},
				{"ANA", "another password", 409, "NameTaken"},
				{"anonymous", "another password", 409, "NameTaken"},
				{"ben", "seven77", 422, "BadPassword"},
				{"ben", strings.Repeat("p", 257), 422, "BadPassword"},
				{"<b>ben</b>", "a good password", 422, "BadActor"},
				{"system/loyalty", "a good password", 422, "BadActor"},
			} {
				r := c.do("POST", "/signup", "application/json", jsonOf(t, map[string]string{"name": tc.name, "password": tc.password}),
					map[string]string{"X-Actor": "", "Accept": "application/json"})
				wantStatus(t, r, tc.status, tc.code)
			}

			// Signing in makes a new session; the first stays live.
			r := signInAs(c, "ana", "correct horse")
			wantStatus(t, r, http.StatusOK, "")
			again := &person{c: c, name: "ana", cookie: sessionCookie(t, r)}
			if again.cookie == ana.cookie || again.me() != "ana" || ana.me() != "ana" {
				t.Fatalf("sign-in: a new session %v, both live %q %q", again.cookie != ana.cookie, again.me(), ana.me())
			}
			wrongPassword, unknownName := signInAs(c, "ana", "wrong horse"), signInAs(c, "nobody", "correct horse")
			wantStatus(t, wrongPassword, http.StatusUnauthorized, "BadCredentials")
			wantStatus(t, unknownName, http.StatusUnauthorized, "BadCredentials")
			if wrongPassword.body != unknownName.body {
				t.Errorf("a wrong password and an unknown name answer differently:\n%s\n%s", wrongPassword.body, unknownName.body)
			}
			// A name in another case signs in to the same account.
			wantStatus(t, signInAs(c, "Ana", "correct horse"), http.StatusOK, "")

			// Signing out ends that session only, on the server.
			wantStatus(t, again.postJSON("/signout", `{}`), http.StatusOK, "")
			if again.me() != "" || ana.me() != "ana" {
				t.Fatalf("after signing out: that session is %q, the other %q", again.me(), ana.me())
			}
			// A forged cookie is no one.
			if (&person{c: c, cookie: "foldboard_session=" + forged(ana.cookie)}).me() != "" {
				t.Fatal("a forged cookie was believed")
			}
		})
	}
}

func TestTheSessionCookieIsHttpOnlyLaxAndSecureBehindTLS(t *testing.T) {
	for _, secure := range []bool{false, true} {
		app := apptest.Start(t, apptest.Options{SignInOnly: true, Configure: func(d *web.Deps) { d.Identity.SecureCookies = secure }})
		c := newClient(t, app)
		r := c.do("POST", "/signup", "application/x-www-form-urlencoded", url.Values{"name": {"ana"}, "password": {"correct horse"}, "back": {"/posts"}}.Encode(), map[string]string{"X-Actor": ""})
		if r.status != http.StatusSeeOther || r.header.Get("Location") != "/posts" {
			t.Fatalf("a form's sign-up: %d %q", r.status, r.header.Get("Location"))
		}
		ck := (&http.Response{Header: r.header}).Cookies()[0]
		if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Secure != secure || ck.Path != "/" || ck.MaxAge != 7*24*3600 {
			t.Errorf("secure=%v: cookie %+v", secure, ck)
		}
		// back is a path on this site, never another.
		r = c.do("POST", "/signin", "application/x-www-form-urlencoded", url.Values{"name": {"ana"}, "password": {"correct horse"}, "back": {"//evil.example"}}.Encode(), map[string]string{"X-Actor": ""})
		if r.status != http.StatusSeeOther || r.header.Get("Location") != "/" {
			t.Errorf("a sign-in back to another site: %d %q", r.status, r.header.Get("Location"))
		}
	}
}

// sessionAt is ana's session cookie re-signed as last used at t, as only
// someone with the server's secret could.
func sessionAt(cookie, secret string, t time.Time) string {
	value := strings.TrimPrefix(cookie, "foldboard_session=")
	body, _, _ := strings.Cut(value, "~")
	rest, _, _ := strings.Cut(body, "!")
	body = rest + "!" + strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("session:" + body))
	return "foldboard_session=" + body + "~" + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func TestASessionEndsAfterItsIdleTimeAndUseRenewsIt(t *testing.T) {
	const idle = time.Hour
	app := apptest.Start(t, apptest.Options{SignInOnly: true, Secret: "test-secret", Configure: func(d *web.Deps) { d.Identity.SessionIdle = idle }})
	c := newClient(t, app)
	ana := signUp(t, c, "ana", "correct horse")
	stale := &person{c: c, cookie: sessionAt(ana.cookie, "test-secret", time.Now().Add(-idle-time.Minute))}
	if stale.me() != "" {
		t.Fatal("a session idle for longer than its idle time is still signed in")
	}
	used := &person{c: c, cookie: sessionAt(ana.cookie, "test-secret", time.Now().Add(-idle+time.Minute))}
	r := used.get("/me")
	if name, _ := r.json(t)["actor"].(string); name != "ana" {
		t.Fatalf("a session used within its idle time: %q", name)
	}
	renewed := &person{c: c, cookie: sessionCookie(t, r)}
	if renewed.cookie == used.cookie || renewed.me() != "ana" {
		t.Fatal("a request on a session near its idle time did not renew its cookie")
	}
}

func TestSessionsAndTokensSurviveARestart(t *testing.T) {
	app := apptest.Start(t, apptest.Options{SignInOnly: true})
	c := newClient(t, app)
	ana := signUp(t, c, "ana", "correct horse")
	r := ana.postJSON("/tokens", `{}`)
	wantStatus(t, r, http.StatusCreated, "")
	token, _ := r.json(t)["token"].(string)
	app.Stop()
	again := apptest.Start(t, app.Options)
	c2 := newClient(t, again)
	if (&person{c: c2, cookie: ana.cookie}).me() != "ana" || (&person{c: c2, token: token}).me() != "ana" {
		t.Fatal("after a restart, the session or the token is no one")
	}
}

func TestTokensActForTheirPersonUntilRevoked(t *testing.T) {
	app := apptest.Start(t, apptest.Options{SignInOnly: true})
	c := newClient(t, app)
	ana := signUp(t, c, "ana", "correct horse")
	wantStatus(t, anonymous(c).postJSON("/tokens", `{}`), http.StatusUnauthorized, "SignInRequired")
	r := ana.postJSON("/tokens", `{}`)
	wantStatus(t, r, http.StatusCreated, "")
	token, _ := r.json(t)["token"].(string)
	id, _ := r.json(t)["id"].(string)
	program := &person{c: c, token: token}
	r = program.postJSON("/matches", `{"matchId":"m-1","venue":"V","homeTeam":"A","awayTeam":"B"}`)
	wantStatus(t, r, http.StatusCreated, "")
	if actor := r.json(t)["events"].([]any)[0].(map[string]any)["actor"]; actor != "ana" {
		t.Errorf("a token's command was made by %v, want ana", actor)
	}
	// The token is stored as a hash only.
	events, err := app.Store.ReadStream(t.Context(), es.StreamRef{Type: "user", ID: "ana"}, es.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	secret := token[strings.LastIndexByte(token, '.')+1:]
	for _, e := range events {
		if strings.Contains(string(e.Data), secret) {
			t.Fatalf("%s holds the token's secret: %s", e.Type, e.Data)
		}
	}
	// Revoked, it is nobody: 401 for anything it asks.
	wantStatus(t, ana.postJSON("/tokens/"+id+"/revoke", `{}`), http.StatusOK, "")
	wantStatus(t, program.get("/me"), http.StatusUnauthorized, "BadToken")
	wantStatus(t, (&person{c: c, token: "fbt.bm9ib2R5.x"}).get("/me"), http.StatusUnauthorized, "BadToken")
}

func TestSignOutEverywhereEndsEverySessionAndToken(t *testing.T) {
	app := apptest.Start(t, apptest.Options{SignInOnly: true})
	c := newClient(t, app)
	laptop := signUp(t, c, "ana", "correct horse")
	phone := &person{c: c, name: "ana", cookie: sessionCookie(t, signInAs(c, "ana", "correct horse"))}
	r := laptop.postJSON("/tokens", `{}`)
	program := &person{c: c, token: r.json(t)["token"].(string)}
	if phone.me() != "ana" || program.me() != "ana" {
		t.Fatal("set-up: a session or the token is no one")
	}
	wantStatus(t, phone.postJSON("/signout", `{"everywhere":true}`), http.StatusOK, "")
	if laptop.me() != "" || phone.me() != "" {
		t.Error("a session outlived signing out everywhere")
	}
	wantStatus(t, program.get("/me"), http.StatusUnauthorized, "BadToken")
	// The password still signs in.
	wantStatus(t, signInAs(c, "ana", "correct horse"), http.StatusOK, "")
}

func TestCommandsNeedASignedInActor(t *testing.T) {
	app := apptest.Start(t, apptest.Options{SignInOnly: true})
	c := newClient(t, app)
	wantStatus(t, anonymous(c).postJSON("/matches", `{"matchId":"m-1","venue":"V","homeTeam":"A","awayTeam":"B"}`), http.StatusUnauthorized, "SignInRequired")
	page := c.do("POST", "/posts", "application/x-www-form-urlencoded", "title=Hello", map[string]string{"X-Actor": ""})
	if page.status != http.StatusUnauthorized || !strings.Contains(page.body, `href="/signin"`) {
		t.Errorf("a signed-out form post: %d, with a sign-in link: %v", page.status, strings.Contains(page.body, `href="/signin"`))
	}
	// X-Actor is no one's name on a server that trusts no proxy.
	wantStatus(t, c.do("POST", "/matches", "application/json", `{"matchId":"m-2","venue":"V","homeTeam":"A","awayTeam":"B"}`,
		map[string]string{"X-Actor": "ana", "Accept": "application/json"}), http.StatusUnauthorized, "SignInRequired")
	if v := streamVersion(t, c, "match/m-1") + streamVersion(t, c, "match/m-2"); v != 0 {
		t.Errorf("a refused command appended: versions add up to %v", v)
	}
}

func TestRebuildIsForAdminsOnly(t *testing.T) {
	app := apptest.Start(t, apptest.Options{SignInOnly: true, Admins: []string{"root"}})
	c := newClient(t, app)
	wantStatus(t, anonymous(c).postJSON("/rebuild", ``), http.StatusUnauthorized, "SignInRequired")
	wantStatus(t, signUp(t, c, "ana", "correct horse").postJSON("/rebuild", ``), http.StatusForbidden, "AdminOnly")
	root := signUp(t, c, "root", "correct horse")
	if r := root.get("/me"); r.json(t)["admin"] != true {
		t.Errorf("/me of an admin: %s", r.body)
	}
	wantStatus(t, root.postJSON("/rebuild", ``), http.StatusAccepted, "")
	waitFor(t, func() bool { return !app.Server.Rebuilding() })
}

func TestTheActorHeaderIsTakenFromTrustedProxiesOnly(t *testing.T) {
	start := func(trusted string) *client {
		return newClient(t, apptest.Start(t, apptest.Options{SignInOnly: true, Configure: func(d *web.Deps) {
			d.Identity.ActorHeader = "X-Forwarded-User"
			d.Identity.TrustedProxies = []netip.Prefix{netip.MustParsePrefix(trusted)}
		}}))
	}
	as := func(c *client, h map[string]string) string {
		r := c.do("GET", "/me", "", "", h)
		name, _ := r.json(t)["actor"].(string)
		return name
	}
	// The test connects from 127.0.0.1.
	trusted, untrusted := start("127.0.0.0/8"), start("10.0.0.0/8")
	base := map[string]string{"X-Actor": "", "Accept": "application/json", "X-Forwarded-User": "ana"}
	if got := as(trusted, base); got != "ana" {
		t.Errorf("from a trusted range: %q, want ana", got)
	}
	if got := as(untrusted, base); got != "" {
		t.Errorf("from outside the trusted range: %q, want no one", got)
	}
	spoofed := map[string]string{"X-Actor": "", "Accept": "application/json", "X-Forwarded-User": "ana", "X-Forwarded-For": "10.1.2.3"}
	if got := as(untrusted, spoofed); got != "" {
		t.Errorf("X-Forwarded-For made an untrusted connection trusted: %q", got)
	}
	// Only the configured header: X-Actor is nothing even from the range.
	if got := as(trusted, map[string]string{"X-Actor": "ben", "Accept": "application/json"}); got != "" {
		t.Errorf("X-Actor was taken for the configured header: %q", got)
	}
	r := trusted.do("POST", "/matches", "application/json", `{"matchId":"m-1","venue":"V","homeTeam":"A","awayTeam":"B"}`, base)
	wantStatus(t, r, http.StatusCreated, "")
	if actor := r.json(t)["events"].([]any)[0].(map[string]any)["actor"]; actor != "ana" {
		t.Errorf("the proxy's actor made %v's command", actor)
	}
}

func TestSignInIsRateLimitedPerAddressAndName(t *testing.T) {
	app := apptest.Start(t, apptest.Options{SignInOnly: true, Configure: func(d *web.Deps) {
		d.Identity.SignInRate = handlers.RateLimit{Every: time.Hour, Burst: 3}
	}})
	c := newClient(t, app)
	signUp(t, c, "ana", "correct horse")
	wantStatus(t, signInAs(c, "ana", "wrong horse"), http.StatusUnauthorized, "BadCredentials")
	wantStatus(t, signInAs(c, "ana", "wrong horse"), http.StatusUnauthorized, "BadCredentials")
	r := signInAs(c, "ana", "correct horse")
	wantStatus(t, r, http.StatusTooManyRequests, "RateLimited")
	if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 || s > 3600 {
		t.Errorf("Retry-After %q", r.header.Get("Retry-After"))
	}
	r = c.do("POST", "/signup", "application/json", `{"name":"ben","password":"correct horse"}`, map[string]string{"X-Actor": "", "Accept": "application/json"})
	wantStatus(t, r, http.StatusTooManyRequests, "RateLimited")
}

var phcForm = regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)

func TestPasswordsAreKeptAsArgon2idAndNoPathShowsTheHash(t *testing.T) {
	app := apptest.Start(t, apptest.Options{SignInOnly: true, Admins: []string{"ana"}})
	c := newClient(t, app)
	ana := signUp(t, c, "ana", "correct horse")
	ref := es.StreamRef{Type: "user", ID: "ana"}
	events, err := app.Store.ReadStream(t.Context(), ref, es.ReadOptions{})
	if err != nil || len(events) != 2 || events[0].Type != "Registered" || events[1].Type != "SessionStarted" {
		t.Fatalf("ana's stream: %v %+v", err, events)
	}
	var reg struct{ PasswordHash string }
	_ = json.Unmarshal(events[0].Data, &reg)
	if !phcForm.MatchString(reg.PasswordHash) {
		t.Fatalf("the stored hash %q is not argon2id in PHC form with OWASP's parameters", reg.PasswordHash)
	}
	salt := strings.Split(reg.PasswordHash, "$")[4]
	session := strings.TrimPrefix(ana.cookie, "foldboard_session=")
	session = session[strings.IndexByte(session, '.')+1 : strings.IndexByte(session, '!')]
	for _, e := range events {
		if strings.Contains(string(e.Data), "correct horse") || strings.Contains(string(e.Data), session) {
			t.Fatalf("%s holds the password or the session id: %s", e.Type, e.Data)
		}
	}
	waitFor(t, func() bool { return strings.Contains(ana.page("/events").body, "Registered") })
	for _, path := range []string{"/streams/user/ana/events", "/streams/user/ana/state", "/events", "/streams/user/ana/timeline?v=1", "/events?streamType=user"} {
		for _, r := range []response{ana.get(path), ana.page(path)} {
			if r.status != http.StatusOK || strings.Contains(r.body, salt) || !strings.Contains(r.body, "(hidden)") {
				t.Errorf("%s: %d, shows the salt %v:\n%.600s", path, r.status, strings.Contains(r.body, salt), r.body)
			}
		}
	}
}

// TestAWrongNameCostsWhatAWrongPasswordDoes measures sign-ins with a wrong
// password and with a name that has no account, interleaved, and compares
// the two: without the dummy hash, an unknown name would answer in a
// fraction of the time (no argon2id at all).
func TestAWrongNameCostsWhatAWrongPasswordDoes(t *testing.T) {
	app := apptest.Start(t, apptest.Options{SignInOnly: true, Configure: func(d *web.Deps) {
		d.Identity.SignInRate = handlers.RateLimit{Every: time.Millisecond, Burst: 1000}
	}})
	signUp(t, newClient(t, app), "ana", "correct horse")
	try := func(name string) time.Duration {
		req := httptest.NewRequest("POST", "http://localhost/signin", strings.NewReader(`{"name":"`+name+`","password":"wrong horse"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		rec := httptest.NewRecorder()
		start := time.Now()
		app.Server.ServeHTTP(rec, req)
		took := time.Since(start)
		if rec.Code != http.StatusUnauthorized {
			t.Fatalf("%s: %d %s", name, rec.Code, rec.Body)
		}
		return took
	}
	var wrongPassword, unknownName []time.Duration
	for i := range 15 {
		wrongPassword = append(wrongPassword, try("ana"))
		unknownName = append(unknownName, try(fmt.Sprintf("nobody-%d", i)))
	}
	wp, un := spread(wrongPassword), spread(unknownName)
	t.Logf("wrong password: median %v, quartiles %v-%v; unknown name: median %v, quartiles %v-%v", wp.median, wp.q1, wp.q3, un.median, un.q1, un.q3)
	// The medians must sit within each other's spread, give or take half a median.
	diff := max(wp.median-un.median, un.median-wp.median)
	if allowed := max(wp.q3-wp.q1, un.q3-un.q1) + wp.median/2; diff > allowed {
		t.Errorf("a wrong name and a wrong password differ by %v in the median, more than %v", diff, allowed)
	}
}

type quartiles struct{ q1, median, q3 time.Duration }

func spread(d []time.Duration) quartiles {
	s := slices.Clone(d)
	slices.Sort(s)
	return quartiles{s[len(s)/4], s[len(s)/2], s[3*len(s)/4]}
}

// TestEveryOperationIsForAdminsOnly walks every route: each POST that is
// neither a module's domain command, a sign-in route nor the what-if (which
// appends nothing) is an operation, and answers 401 SignInRequired to
// someone signed out and 403 AdminOnly to someone signed in who is not an
// admin. A new operation mounted outside the routes' ops router fails it.
func TestEveryOperationIsForAdminsOnly(t *testing.T) {
	app := apptest.Start(t, apptest.Options{SignInOnly: true, Admins: []string{"root"}})
	c := newClient(t, app)
	ben := signUp(t, c, "ben", "ben's password")
	notOperations := map[string]bool{
		"/signin": true, "/signup": true, "/signout": true, "/tokens": true, "/tokens/{id}/revoke": true,
		"/streams/{type}/{id}/try": true,
		"/static/*":                true, // the files, served to any method
	}
	for _, p := range app.Server.CommandRoutes() {
		notOperations[p] = true
	}
	placeholder := regexp.MustCompile(`\{[^}]*\}`)
	var operations []string
	err := chi.Walk(app.Server.Routes(), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if method == http.MethodPost && !notOperations[route] {
			operations = append(operations, route)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(operations, "/rebuild") {
		t.Fatalf("the walk found no /rebuild among %v", operations)
	}
	for _, route := range operations {
		path := placeholder.ReplaceAllString(route, "x")
		wantStatus(t, anonymous(c).postJSON(path, `{}`), http.StatusUnauthorized, "SignInRequired")
		wantStatus(t, ben.postJSON(path, `{}`), http.StatusForbidden, "AdminOnly")
	}
	t.Logf("operations: %v", operations)
}
