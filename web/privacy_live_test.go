package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/foldboard/foldboard/internal/apptest"
)

// watch opens a live connection for p on topics, or answers the handshake's
// status when the server refuses it.
func (p *person) watch(t *testing.T, ctx context.Context, app *apptest.App, topics ...string) (*websocket.Conn, int) {
	t.Helper()
	h := http.Header{}
	if p.cookie != "" {
		h.Set("Cookie", p.cookie)
	}
	conn, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(app.URL, "http")+"/ws?"+url.Values{"topic": topics}.Encode(),
		&websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		if resp == nil {
			t.Fatalf("dialling %v: %v", topics, err)
		}
		return nil, resp.StatusCode
	}
	conn.SetReadLimit(1 << 20)
	t.Cleanup(func() { conn.CloseNow() })
	return conn, http.StatusSwitchingProtocols
}

// fragments reads a connection's fragments into a channel until it closes.
func fragments(ctx context.Context, conn *websocket.Conn) <-chan string {
	out := make(chan string, 256)
	go func() {
		defer close(out)
		for {
			_, msg, err := conn.Read(ctx)
			if err != nil {
				return
			}
			out <- string(msg)
		}
	}()
	return out
}

// until reads fragments until one matches want, and answers every one
// read on the way, that one included.
func until(t *testing.T, who string, in <-chan string, want *regexp.Regexp) []string {
	t.Helper()
	var seen []string
	timeout := time.After(15 * time.Second)
	for {
		select {
		case f, ok := <-in:
			if !ok {
				t.Fatalf("%s: the connection closed before %s; read %q", who, want, seen)
			}
			seen = append(seen, f)
			if want.MatchString(f) {
				return seen
			}
		case <-timeout:
			t.Fatalf("%s: no fragment matched %s within 15 s; read %q", who, want, seen)
		}
	}
}

// TestLiveTopicsShowADraftAndACartOnlyToTheirOwnerAndAdmins watches, over
// real WebSockets on both stores, every topic that would carry ana's draft
// or cart, as ana, ben, someone signed out and an admin: the drafts topic
// is refused to the others; the others' fragments of the draft, the cart,
// their timelines, the carts list and the events' total show the streams as
// ones with no events, before the streams begin and after each change,
// while ana and the admin see every change live; once published, the post
// reaches everyone.
func TestLiveTopicsShowADraftAndACartOnlyToTheirOwnerAndAdmins(t *testing.T) {
	for _, store := range apptest.Stores {
		t.Run(store, func(t *testing.T) {
			app := apptest.Start(t, apptest.Options{Store: store, SignInOnly: true, Admins: []string{"root"}})
			c := newClient(t, app)
			ana, ben, root, nobody := signUp(t, c, "ana", "ana's password"), signUp(t, c, "ben", "ben's password"), signUp(t, c, "root", "root's password"), anonymous(c)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()

			// The drafts topic is its author's and the admins'.
			for _, p := range []*person{ana, root} {
				if _, status := p.watch(t, ctx, app, "drafts/ana"); status != http.StatusSwitchingProtocols {
					t.Errorf("%q watching ana's drafts: %d", p.name, status)
				}
			}
			for _, p := range []*person{ben, nobody} {
				if _, status := p.watch(t, ctx, app, "drafts/ana"); status != http.StatusBadRequest {
					t.Errorf("%q watching ana's drafts: %d, want 400", p.name, status)
				}
				// As for a name no one has.
				if _, status := p.watch(t, ctx, app, "drafts/nobody-at-all"); status != http.StatusBadRequest {
					t.Errorf("%q watching the drafts of no one: %d, want 400", p.name, status)
				}
			}

			// Everyone watches the streams before they begin.
			topics := []string{"post/p-1", "cart/c-1", "timeline/post/p-1", "timeline/cart/c-1", "carts", "events"}
			type watcher struct {
				*person
				label string
				sees  bool
				in    <-chan string
				// private is the count of private events last seen.
				private int
			}
			var ws []*watcher
			for _, w := range []*watcher{{person: ana, label: "ana", sees: true}, {person: root, label: "root", sees: true}, {person: ben, label: "ben"}, {person: nobody, label: "no one"}} {
				conn, status := w.watch(t, ctx, app, topics...)
				if status != http.StatusSwitchingProtocols {
					t.Fatalf("%s watching %v: %d", w.label, topics, status)
				}
				w.in = fragments(ctx, conn)
				w.private = privateCount(t, until(t, w.label, w.in, regexp.MustCompile(`id="events-total"`)))
				ws = append(ws, w)
			}

			wantStatus(t, ana.postJSON("/posts", `{"postId":"p-1","title":"Secret plans","body":"hush"}`), http.StatusCreated, "")
			wantStatus(t, ana.postJSON("/carts/c-1/items", `{"sku":"secret-sku","qty":1,"price":"2.50"}`), http.StatusCreated, "")
			wantStatus(t, ana.postJSON("/posts/p-1/title", `{"title":"More plans"}`), http.StatusOK, "")
			wantStatus(t, ana.postJSON("/carts/c-1/items", `{"sku":"second-sku","qty":2,"price":"1.00"}`), http.StatusOK, "")
			waitApplied(t, app, "post/p-1", 2)
			waitApplied(t, app, "cart/c-1", 2)

			secret := regexp.MustCompile(`Secret plans|More plans|secret-sku|second-sku|hush`)
			for _, w := range ws {
				if w.sees {
					// Every change reaches them: the last title, the last
					// item in the cart and in the carts list, the timelines.
					untilAll(t, w.label, w.in, `More plans`, `id="cart"[^>]*data-version="2"[\s\S]*second-sku`, `id="cart-list"[\s\S]*c-1`, `data-latest="2"`)
					continue
				}
				// The four events are counted only as private in their
				// total; up to then, nothing of them came.
				seen := untilPrivate(t, w.label, w.in, w.private+4)
				w.private += 4
				for _, f := range seen {
					if secret.MatchString(f) || regexp.MustCompile(`data-(version|latest)="[1-9]`).MatchString(f) {
						t.Errorf("%s was sent %q", w.label, f)
					}
				}
			}
			// To the others the streams are as streams that do not exist.
			for _, p := range []*person{ben, nobody} {
				conn, _ := p.watch(t, ctx, app, "cart/c-1", "post/p-1")
				got := readN(t, ctx, conn, 2)
				conn, _ = p.watch(t, ctx, app, "cart/c-none", "post/p-none")
				none := readN(t, ctx, conn, 2)
				for i := range got {
					if want := strings.ReplaceAll(strings.ReplaceAll(none[i], "c-none", "c-1"), "p-none", "p-1"); got[i] != want {
						t.Errorf("%q: another's stream live is\n%s\nnot as one that does not exist:\n%s", p.name, got[i], want)
					}
				}
			}

			// Published, the post is everyone's: it reaches them live,
			wantStatus(t, ana.postJSON("/posts/p-1/publish", `{}`), http.StatusOK, "")
			// and its events are no longer counted as private.
			for _, w := range ws {
				if w.sees {
					until(t, w.label, w.in, regexp.MustCompile(`More plans`))
					continue
				}
				w.private -= 2
				untilAll(t, w.label, w.in, `More plans`, fmt.Sprintf(`data-private="%d"`, w.private))
			}
			// The cart stays its owner's.
			for _, w := range ws[2:] {
				wantStatus(t, ana.postJSON("/carts/c-1/items", fmt.Sprintf(`{"sku":"sku-for-%d","qty":1,"price":"1.00"}`, len(w.label))), http.StatusOK, "")
				w.private++
				for _, f := range untilPrivate(t, w.label, w.in, w.private) {
					if strings.Contains(f, "sku") {
						t.Errorf("%s was sent %q", w.label, f)
					}
				}
			}
		})
	}
}

// readN reads n fragments.
func readN(t *testing.T, ctx context.Context, conn *websocket.Conn, n int) []string {
	t.Helper()
	out := make([]string, n)
	for i := range out {
		_, msg, err := conn.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = string(msg)
	}
	return out
}

var privateAttr = regexp.MustCompile(`data-private="(\d+)"`)

// privateCount is the count of private events in the last of fragments.
func privateCount(t *testing.T, fragments []string) int {
	t.Helper()
	m := privateAttr.FindStringSubmatch(fragments[len(fragments)-1])
	if m == nil {
		t.Fatalf("no count of private events in %q", fragments[len(fragments)-1])
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// untilPrivate reads fragments until the events' total counts n private.
func untilPrivate(t *testing.T, who string, in <-chan string, n int) []string {
	t.Helper()
	return until(t, who, in, regexp.MustCompile(fmt.Sprintf(`data-private="%d"`, n)))
}

// untilAll reads fragments until each of wants has matched one.
func untilAll(t *testing.T, who string, in <-chan string, wants ...string) {
	t.Helper()
	left := map[string]*regexp.Regexp{}
	for _, w := range wants {
		left[w] = regexp.MustCompile(w)
	}
	var seen []string
	timeout := time.After(15 * time.Second)
	for len(left) > 0 {
		select {
		case f, ok := <-in:
			if !ok {
				t.Fatalf("%s: the connection closed; read %q", who, seen)
			}
			seen = append(seen, f)
			for w, re := range left {
				if re.MatchString(f) {
					delete(left, w)
				}
			}
		case <-timeout:
			t.Fatalf("%s: within 15 s no fragment matched %v; read %q", who, left, seen)
		}
	}
}
