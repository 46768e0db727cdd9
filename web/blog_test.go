package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/foldboard/foldboard/internal/apptest"
)

// as is a request by a named actor (X-Actor, as programs name themselves).
func (c *client) as(actor, method, path, contentType, body string, json bool) response {
	c.t.Helper()
	h := map[string]string{"X-Actor": actor}
	if json {
		h["Accept"] = "application/json"
	}
	return c.do(method, path, contentType, body, h)
}

func (c *client) postJSONAs(actor, path, body string) response {
	c.t.Helper()
	return c.as(actor, "POST", path, "application/json", body, true)
}

func (c *client) postFormAs(actor, path string, form url.Values) response {
	c.t.Helper()
	return c.as(actor, "POST", path, "application/x-www-form-urlencoded", form.Encode(), false)
}

func (c *client) getAs(actor, path string) response {
	c.t.Helper()
	return c.as(actor, "GET", path, "", "", false)
}

// createPost creates a draft by JSON and wants it to succeed.
func createPost(t *testing.T, c *client, actor, id, title string) {
	t.Helper()
	wantStatus(t, c.postJSONAs(actor, "/posts", `{"postId":"`+id+`","title":"`+title+`","body":"Some text."}`), http.StatusCreated, "")
}

// signIn signs a new person up as the sign-in page's form does, and
// returns their session cookie ("foldboard_session=…").
func signIn(t *testing.T, c *client, name string) string {
	t.Helper()
	r := c.do("POST", "/signup", "application/x-www-form-urlencoded",
		url.Values{"name": {name}, "password": {"password of " + name}, "back": {"/posts"}}.Encode(), map[string]string{"X-Actor": ""})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/posts" {
		t.Fatalf("signing up: %d %s", r.status, r.body)
	}
	for _, ck := range (&http.Response{Header: r.header}).Cookies() {
		if ck.Name == "foldboard_session" {
			return ck.Name + "=" + ck.Value
		}
	}
	t.Fatal("no session cookie")
	return ""
}

func TestCreatePostRecordsTheActorAsItsAuthor(t *testing.T) {
	c := newClient(t, apptest.Start(t, apptest.Options{}))
	r := c.postJSONAs("ana maria", "/posts", `{"postId":"p-1","title":"  Hello  ","body":"First post.","commandId":"c-1"}`)
	wantStatus(t, r, http.StatusCreated, "")
	body := r.json(t)
	e := body["events"].([]any)[0].(map[string]any)
	if body["stream"] != "post/p-1" || e["type"] != "PostCreated" || e["actor"] != "ana maria" ||
		!jsonEqual(e["data"], map[string]any{"title": "Hello", "body": "First post.", "author": "ana maria"}) {
		t.Fatalf("create: %v", body)
	}
	if state := body["state"].(map[string]any); state["author"] != "ana maria" || state["published"] != false {
		t.Errorf("state: %v", state)
	}
	// Without an id, the server makes a ULID.
	r = c.postJSONAs("ana", "/posts", `{"title":"No id"}`)
	wantStatus(t, r, http.StatusCreated, "")
	if s, _ := r.json(t)["stream"].(string); !strings.HasPrefix(s, "post/") || len(s) != len("post/")+26 {
		t.Errorf("stream %q", s)
	}
	wantStatus(t, c.postJSONAs("ana maria", "/posts/p-1/title", `{"title":"Hello, world","expectedVersion":1}`), 200, "")
	r = c.postJSONAs("ana maria", "/posts/p-1/publish", ``)
	wantStatus(t, r, 200, "")
	if state := r.json(t)["state"].(map[string]any); state["published"] != true || state["title"] != "Hello, world" {
		t.Errorf("after publishing: %v", state)
	}
}

func TestPostCommandsAnswerTheContractsErrors(t *testing.T) {
	c := newClient(t, apptest.Start(t, apptest.Options{}))
	createPost(t, c, "ana", "draft", "A draft")
	createPost(t, c, "ana", "out", "Out")
	wantStatus(t, c.postJSONAs("ana", "/posts/out/publish", ``), 200, "")
	long := strings.Repeat("x", 64<<10+1)
	cases := []struct {
		name, actor, path, body string
		status                  int
		code                    string
	}{
		{"title missing", "ana", "/posts", `{"body":"b"}`, 400, "MissingField"},
		{"title a number", "ana", "/posts", `{"title":7}`, 400, "BadField"},
		{"body a number", "ana", "/posts", `{"title":"T","body":7}`, 400, "BadField"},
		{"bad post id", "ana", "/posts", `{"postId":"a b","title":"T"}`, 400, "BadID"},
		{"unknown field", "ana", "/posts", `{"title":"T","tags":["x"]}`, 400, "UnknownField"},
		{"bad actor", "<b>", "/posts", `{"title":"T"}`, 400, "BadActor"},
		{"blank title", "ana", "/posts", `{"title":"   "}`, 422, "BadTitle"},
		{"title too long", "ana", "/posts", `{"title":"` + strings.Repeat("t", 201) + `"}`, 422, "BadTitle"},
		{"body too long", "ana", "/posts", `{"title":"T","body":"` + long + `"}`, 422, "BodyTooLong"},
		{"post exists", "bo", "/posts", `{"postId":"out","title":"Mine"}`, 409, "PostExists"},
		// Another's draft's id is taken, and no more is said.
		{"another's draft's id", "bo", "/posts", `{"postId":"draft","title":"Mine"}`, 409, "IDTaken"},
		// Another's draft is a post that does not exist.
		{"publish another's draft", "bo", "/posts/draft/publish", ``, 404, "PostNotFound"},
		{"retitle another's post", "bo", "/posts/out/title", `{"title":"Mine"}`, 403, "NotAuthor"},
		{"no one may publish", "", "/posts/draft/publish", ``, 401, "SignInRequired"},
		{"publish an unknown post", "ana", "/posts/nope/publish", ``, 404, "PostNotFound"},
		{"retitle an unknown post", "ana", "/posts/nope/title", `{"title":"T"}`, 404, "PostNotFound"},
		{"publish twice", "ana", "/posts/out/publish", ``, 409, "AlreadyPublished"},
		{"retitle to nothing", "ana", "/posts/draft/title", `{"title":""}`, 422, "BadTitle"},
		{"stale version", "ana", "/posts/draft/title", `{"title":"T","expectedVersion":0}`, 409, "VersionConflict"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantStatus(t, c.postJSONAs(tc.actor, tc.path, tc.body), tc.status, tc.code)
		})
	}
	for stream, want := range map[string]float64{"post/draft": 1, "post/out": 2, "post/nope": 0} {
		if v := streamVersion(t, c, stream); v != want {
			t.Errorf("%s is at version %v after refused commands, want %v", stream, v, want)
		}
	}
}

func TestPostFormsShowTheirProblemsOnThePage(t *testing.T) {
	c := newClient(t, apptest.Start(t, apptest.Options{}))
	createPost(t, c, "ana", "draft", "A draft")
	createPost(t, c, "ana", "out", "Out")
	wantStatus(t, c.postJSONAs("ana", "/posts/out/publish", ``), 200, "")
	waitFor(t, func() bool { return strings.Contains(c.get("/posts").body, `data-post="out"`) })

	long := strings.Repeat("x", 64<<10+1)
	cases := []struct {
		name, actor, path string
		form              url.Values
		status            int
		code, in          string
	}{
		{"title missing", "ana", "/posts", url.Values{"body": {"b"}}, 400, "MissingField", "create-form"},
		{"bad post id", "ana", "/posts", url.Values{"postId": {"a b"}, "title": {"T"}}, 400, "BadID", "create-form"},
		{"blank title", "ana", "/posts", url.Values{"title": {" "}}, 422, "BadTitle", "create-form"},
		{"body too long", "ana", "/posts", url.Values{"title": {"T"}, "body": {long}}, 422, "BodyTooLong", "create-form"},
		{"body not UTF-8", "ana", "/posts", url.Values{"title": {"T"}, "body": {"caf\xe9"}}, 422, "BadText", "create-form"},
		{"post exists", "bo", "/posts", url.Values{"postId": {"out"}, "title": {"Mine"}}, 409, "PostExists", "create-form"},
		{"retitle to nothing", "ana", "/posts/draft/title", url.Values{"title": {""}}, 422, "BadTitle", "title-form"},
		{"stale version", "ana", "/posts/draft/title", url.Values{"title": {"T"}, "expectedVersion": {"0"}}, 409, "VersionConflict", "title-form"},
		{"retitle another's post", "bo", "/posts/out/title", url.Values{"title": {"Mine"}}, 403, "NotAuthor", "title-form"},
		{"publish another's post", "bo", "/posts/out/publish", nil, 403, "NotAuthor", "publish-form"},
		{"publish twice", "ana", "/posts/out/publish", nil, 409, "AlreadyPublished", "publish-form"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := c.postFormAs(tc.actor, tc.path, tc.form)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %.500s", r.status, tc.status, r.body)
			}
			problemInForm(t, r.body, tc.in, tc.code)
			if title := tc.form.Get("title"); strings.TrimSpace(title) != "" && !strings.Contains(r.body, `value="`+title+`"`) {
				t.Errorf("the form lost the title typed")
			}
		})
	}
	// Where the actor may not see the post, there is no page to show the
	// form on: the error page says why, and nothing of the draft.
	for _, tc := range []struct {
		name, actor, path string
		status            int
		code              string
	}{
		{"publish another's draft", "bo", "/posts/draft/publish", 404, "PostNotFound"},
		{"publish an unknown post", "ana", "/posts/nope/publish", 404, "PostNotFound"},
		{"retitle an unknown post", "ana", "/posts/nope/title", 404, "PostNotFound"},
	} {
		r := c.postFormAs(tc.actor, tc.path, url.Values{"title": {"T"}})
		if r.status != tc.status || !strings.Contains(r.body, tc.code) || strings.Contains(r.body, "A draft") {
			t.Errorf("%s: %d %.300s", tc.name, r.status, r.body)
		}
	}
}

func TestDraftsAreSeenOnlyByTheirAuthor(t *testing.T) {
	c := newClient(t, apptest.Start(t, apptest.Options{}))
	createPost(t, c, "ana maria", "p-1", "Work in progress")
	waitFor(t, func() bool { return strings.Contains(c.getAs("ana maria", "/posts").body, `data-post="p-1"`) })

	mine := c.getAs("ana maria", "/posts")
	drafts := mine.body[strings.Index(mine.body, `id="draft-list"`):]
	if !strings.Contains(drafts, `<li data-post="p-1">`) || !strings.Contains(mine.body, `data-topics="posts drafts/ana%20maria"`) {
		t.Fatalf("the author's posts page:\n%s", mine.body)
	}
	if page := c.getAs("ana maria", "/posts/p-1"); page.status != 200 || !strings.Contains(page.body, `id="publish-form"`) {
		t.Fatalf("the author's draft page: %d", page.status)
	}
	if theirs := c.getAs("bo", "/posts"); strings.Contains(theirs.body, "p-1") || strings.Contains(theirs.body, "Work in progress") {
		t.Errorf("bo's posts page shows ana maria's draft")
	}
	if page := c.getAs("bo", "/posts/p-1"); page.status != 404 || strings.Contains(page.body, "Work in progress") {
		t.Errorf("bo's view of the draft: %d", page.status)
	}
	r := c.as("bo", "GET", "/posts/p-1", "", "", true)
	wantStatus(t, r, http.StatusNotFound, "StreamNotFound")
	wantStatus(t, c.as("bo", "GET", "/posts/never", "", "", true), http.StatusNotFound, "StreamNotFound")
	wantStatus(t, c.as("bo", "GET", "/posts/a%20b", "", "", true), http.StatusBadRequest, "BadID")

	// Published, it is everyone's, and only its author has the forms.
	wantStatus(t, c.postJSONAs("ana maria", "/posts/p-1/publish", ``), 200, "")
	waitFor(t, func() bool {
		list := c.getAs("bo", "/posts").body
		return strings.Contains(list[strings.Index(list, `id="post-list"`):], `<li data-post="p-1">`)
	})
	page := c.getAs("bo", "/posts/p-1")
	if strings.Contains(page.body, `id="title-form"`) || !strings.Contains(page.body, "Only ana maria, its author, and the admins may") {
		t.Errorf("a reader's view of a published post:\n%s", page.body)
	}
	list := c.getAs("bo", "/posts").body
	if !strings.Contains(list[strings.Index(list, `id="post-list"`):], `<li data-post="p-1">`) {
		t.Errorf("the published post is not listed for bo")
	}
	if mine := c.getAs("ana maria", "/posts").body; strings.Contains(mine[strings.Index(mine, `id="draft-list"`):strings.Index(mine, `id="post-list"`)], "p-1") {
		t.Errorf("a published post is still among the drafts")
	}
}

func TestPostFormsRedirectAndTheSignedNameIsTheAuthor(t *testing.T) {
	c := newClient(t, apptest.Start(t, apptest.Options{}))
	cookie := signIn(t, c, "Zoë O'Brien")
	form := func(path string, v url.Values) response {
		return c.do("POST", path, "application/x-www-form-urlencoded", v.Encode(), map[string]string{"Cookie": cookie})
	}
	r := form("/posts", url.Values{"postId": {"p-1"}, "title": {"Hello"}, "body": {"Line one.\nLine two."}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/posts/p-1" {
		t.Fatalf("create: %d %q %s", r.status, r.header.Get("Location"), r.body)
	}
	get := func(path string) response { return c.do("GET", path, "", "", map[string]string{"Cookie": cookie}) }
	page := get("/posts/p-1")
	for _, want := range []string{`<h1 id="post-title">Hello</h1>`, `<span class="author">Zoë O&#39;Brien</span>`, "Line one.\nLine two.", `id="version-title" value="1"`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("the draft's page lacks %q", want)
		}
	}
	if r := form("/posts/p-1/title", url.Values{"title": {"Hello again"}, "expectedVersion": {"1"}}); r.status != http.StatusSeeOther {
		t.Fatalf("retitle: %d %s", r.status, r.body)
	}
	if r := form("/posts/p-1/publish", url.Values{"expectedVersion": {"2"}}); r.status != http.StatusSeeOther {
		t.Fatalf("publish: %d %s", r.status, r.body)
	}
	page = get("/posts/p-1")
	if !strings.Contains(page.body, "Hello again") || !strings.Contains(page.body, `data-status="published"`) || strings.Contains(page.body, `id="publish-form"`) {
		t.Errorf("the published post's page:\n%s", page.body)
	}
	// A hand-made cookie is nobody: the post's forms ask them to sign in.
	r = c.do("POST", "/posts/p-1/title", "application/x-www-form-urlencoded", "title=Mine",
		map[string]string{"Cookie": "foldboard_session=" + forged(cookie), "Accept": "application/json"})
	wantStatus(t, r, http.StatusUnauthorized, "SignInRequired")
}

func TestLivePostListsFollowDraftsAndPublishing(t *testing.T) {
	app := apptest.Start(t, apptest.Options{})
	c := newClient(t, app)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dial := func(topics ...string) (*websocket.Conn, *http.Response, error) {
		q := url.Values{"topic": topics}
		// The drafts' topic is its author's to watch.
		h := http.Header{"X-Actor": {"ana maria"}}
		return websocket.Dial(ctx, "ws"+strings.TrimPrefix(app.URL, "http")+"/ws?"+q.Encode(), &websocket.DialOptions{HTTPHeader: h})
	}
	conn, _, err := dial("posts", "drafts/ana%20maria", "post/p-1")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	readAll(t, ctx, conn, "Nothing published yet", "No drafts")
	createPost(t, c, "ana maria", "p-1", "Fresh")
	readAll(t, ctx, conn, `<li data-post="p-1"><a href="/posts/p-1">Fresh</a>`, `<h1 id="post-title">Fresh</h1>`)
	wantStatus(t, c.postJSONAs("ana maria", "/posts/p-1/publish", ``), 200, "")
	readAll(t, ctx, conn, `id="post-list"`, "No drafts", `data-status="published"`)

	// Only the topics DraftsTopic makes, for names that may sign in.
	for _, topic := range []string{"drafts/ana maria", "drafts/%3Cb%3E", "drafts/"} {
		if _, res, err := dial(topic); err == nil || res == nil || res.StatusCode != http.StatusBadRequest {
			t.Errorf("topic %q: %v %v", topic, err, res)
		}
	}
}
