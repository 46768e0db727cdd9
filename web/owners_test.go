package web_test

import (
	"net/http"
	"testing"

	"github.com/foldboard/foldboard/internal/apptest"
)

// TestOwnersRolesAndAdminsAreDecidedOnEveryStore: a match is scored by who
// started it, a cart changed by who added its first item, a post published
// and retitled by its author; an admin may do each; someone signed out is
// asked to sign in; and a refusal appends nothing.
func TestOwnersRolesAndAdminsAreDecidedOnEveryStore(t *testing.T) {
	for _, store := range apptest.Stores {
		t.Run(store, func(t *testing.T) {
			app := apptest.Start(t, apptest.Options{Store: store, SignInOnly: true, Admins: []string{"root"}})
			c := newClient(t, app)
			ana, ben, root, nobody := signUp(t, c, "ana", "ana's password"), signUp(t, c, "ben", "ben's password"), signUp(t, c, "root", "root's password"), anonymous(c)

			wantStatus(t, ana.postJSON("/matches", `{"matchId":"m-1","venue":"V","homeTeam":"A","awayTeam":"B"}`), http.StatusCreated, "")
			wantStatus(t, ana.postJSON("/carts/c-1/items", `{"sku":"tea","qty":1,"price":"2.50"}`), http.StatusCreated, "")
			wantStatus(t, ana.postJSON("/posts", `{"postId":"p-1","title":"Mine"}`), http.StatusCreated, "")
			for _, tc := range []struct {
				name, path, body string
				// What ben gets: 403 on a stream he sees; on ana's cart
				// and draft, what a stream that does not exist gets (404),
				// or, for a command that would start one, that its id is
				// taken.
				status int
				code   string
			}{
				{"score the match", "/matches/m-1/innings", `{"innings":1,"runs":100,"wickets":3}`, 403, "NotScorer"},
				{"end the match", "/matches/m-1/end", `{"result":"a draw"}`, 403, "NotScorer"},
				{"add to the cart", "/carts/c-1/items", `{"sku":"cup","qty":1,"price":"1.00"}`, 409, "IDTaken"},
				{"remove from the cart", "/carts/c-1/items/tea/remove", `{}`, 404, "CartNotFound"},
				{"check the cart out", "/carts/c-1/checkout", `{}`, 404, "CartNotFound"},
				{"retitle the post", "/posts/p-1/title", `{"title":"Yours"}`, 404, "PostNotFound"},
				{"publish the post", "/posts/p-1/publish", `{}`, 404, "PostNotFound"},
				{"write a post of the draft's id", "/posts", `{"postId":"p-1","title":"Yours"}`, 409, "IDTaken"},
			} {
				wantStatus(t, nobody.postJSON(tc.path, tc.body), http.StatusUnauthorized, "SignInRequired")
				wantStatus(t, ben.postJSON(tc.path, tc.body), tc.status, tc.code)
			}
			wantStatus(t, ben.postJSON("/matches/m-1/innings", `{"innings":1,"runs":100,"wickets":3}`), http.StatusForbidden, "NotScorer")
			for stream, want := range map[string]float64{"match/m-1": 1, "cart/c-1": 1, "post/p-1": 1} {
				if v := streamVersion(t, c, stream); v != want && v != 0 {
					t.Errorf("%s at version %v after refusals, want %v", stream, v, want)
				}
			}
			// The owner may; and an admin may too.
			wantStatus(t, ana.postJSON("/matches/m-1/innings", `{"innings":1,"runs":100,"wickets":3}`), http.StatusOK, "")
			wantStatus(t, root.postJSON("/matches/m-1/innings", `{"innings":2,"runs":90,"wickets":10}`), http.StatusOK, "")
			wantStatus(t, ana.postJSON("/carts/c-1/items", `{"sku":"cup","qty":1,"price":"1.00"}`), http.StatusOK, "")
			wantStatus(t, root.postJSON("/carts/c-1/checkout", `{}`), http.StatusOK, "")
			wantStatus(t, root.postJSON("/posts/p-1/title", `{"title":"Edited"}`), http.StatusOK, "")
			wantStatus(t, ana.postJSON("/posts/p-1/publish", `{}`), http.StatusOK, "")
			// A published post is seen by ben, and still not his to change.
			wantStatus(t, ben.postJSON("/posts/p-1/title", `{"title":"Yours"}`), http.StatusForbidden, "NotAuthor")
		})
	}
}
