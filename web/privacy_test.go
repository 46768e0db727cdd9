package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/foldboard/foldboard/internal/apptest"
)

// TestADraftAndACartAreSeenOnlyByTheirOwnerAndAdminsOnEveryPath: ana's
// draft and ana's cart, read on every path by ana, by ben, by someone
// signed out and by an admin: only ana and the admin find them; to the
// others they are streams that do not exist.
func TestADraftAndACartAreSeenOnlyByTheirOwnerAndAdminsOnEveryStore(t *testing.T) {
	for _, store := range apptest.Stores {
		t.Run(store, func(t *testing.T) {
			app := apptest.Start(t, apptest.Options{Store: store, SignInOnly: true, Admins: []string{"root"}})
			c := newClient(t, app)
			ana, ben, root, nobody := signUp(t, c, "ana", "ana's password"), signUp(t, c, "ben", "ben's password"), signUp(t, c, "root", "root's password"), anonymous(c)
			wantStatus(t, ana.postJSON("/posts", `{"postId":"p-1","title":"Secret plans","body":"hush"}`), http.StatusCreated, "")
			wantStatus(t, ana.postJSON("/carts/c-1/items", `{"sku":"secret-sku","qty":1,"price":"2.50"}`), http.StatusCreated, "")
			waitApplied(t, app, "cart/c-1", 1)
			waitApplied(t, app, "post/p-1", 1)

			type seen struct {
				who  *person
				sees bool
			}
			for _, s := range []seen{{ana, true}, {root, true}, {ben, false}, {nobody, false}} {
				name := s.who.name
				if name == "" {
					name = "no one"
				}
				for _, stream := range []string{"post/p-1", "cart/c-1"} {
					r := s.who.get("/streams/" + stream + "/events")
					events, _ := r.json(t)["events"].([]any)
					if got := len(events) == 1 && r.json(t)["version"] == float64(1); got != s.sees {
						t.Errorf("%s: %s/events: %s", name, stream, r.body)
					}
					if !s.sees && (len(events) != 0 || r.json(t)["version"] != float64(0) || r.status != http.StatusOK) {
						t.Errorf("%s: %s/events is not a stream that does not exist: %d %s", name, stream, r.status, r.body)
					}
					for _, path := range []string{"/streams/" + stream + "/state", "/streams/" + stream + "/timeline"} {
						r := s.who.get(path)
						if (r.status == http.StatusOK) != s.sees || !s.sees && (r.status != http.StatusNotFound || r.errorCode(t) != "StreamNotFound") {
							t.Errorf("%s: %s: %d %s", name, path, r.status, r.body)
						}
					}
				}
				post := s.who.page("/posts/p-1")
				if (post.status == http.StatusOK) != s.sees {
					t.Errorf("%s: the draft's page: %d", name, post.status)
				}
				if !s.sees {
					// Answered as a post never written.
					wantStatus(t, s.who.get("/posts/p-1"), http.StatusNotFound, "StreamNotFound")
					wantStatus(t, s.who.get("/posts/never"), http.StatusNotFound, "StreamNotFound")
				}
				cart := s.who.page("/carts/c-1")
				if strings.Contains(cart.body, "secret-sku") != s.sees || cart.status != http.StatusOK {
					t.Errorf("%s: the cart's page shows its item: %v (%d)", name, strings.Contains(cart.body, "secret-sku"), cart.status)
				}
				for _, path := range []string{"/events", "/carts", "/"} {
					body := s.who.page(path).body
					if strings.Contains(body, "secret-sku") || strings.Contains(body, "Secret plans") {
						if !s.sees || path == "/" {
							t.Errorf("%s: %s shows the draft or the cart", name, path)
						}
					}
				}
				log := s.who.get("/events?limit=100").body
				if strings.Contains(log, "hush") != s.sees || strings.Contains(log, "secret-sku") != s.sees {
					t.Errorf("%s: /events in JSON: %s", name, log)
				}
				if !s.sees && !strings.Contains(log, `"private":`) {
					t.Errorf("%s: /events does not count the private events: %s", name, log)
				}
			}
			// A command on another's draft or cart is answered as on a
			// stream that does not exist.
			wantStatus(t, ben.postJSON("/posts/p-1/publish", `{}`), http.StatusNotFound, "PostNotFound")
			wantStatus(t, ben.postJSON("/posts/nothing/publish", `{}`), http.StatusNotFound, "PostNotFound")
			wantStatus(t, ben.postJSON("/carts/c-1/checkout", `{}`), http.StatusNotFound, "CartNotFound")

			// Published, the post is everyone's to read.
			wantStatus(t, ana.postJSON("/posts/p-1/publish", `{}`), http.StatusOK, "")
			for _, p := range []*person{ben, nobody} {
				if r := p.get("/streams/post/p-1/state"); r.status != http.StatusOK {
					t.Errorf("a published post's state: %d", r.status)
				}
			}
		})
	}
}
