package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/foldboard/foldboard/internal/apptest"
)

// TestThePagesShowEachPersonTheFormsTheyMayUse: every page with forms, as
// the owner of its stream, another person, someone signed out and an
// admin: the owner and the admin get the forms, the other person is told
// who may use them, and someone signed out gets a link to sign in where
// the forms would be.
func TestThePagesShowEachPersonTheFormsTheyMayUse(t *testing.T) {
	app := apptest.Start(t, apptest.Options{SignInOnly: true, Admins: []string{"root"}})
	c := newClient(t, app)
	ana, ben, root, nobody := signUp(t, c, "ana", "ana's password"), signUp(t, c, "ben", "ben's password"), signUp(t, c, "root", "root's password"), anonymous(c)
	wantStatus(t, ana.postJSON("/matches", `{"matchId":"m-1","venue":"V","homeTeam":"A","awayTeam":"B"}`), http.StatusCreated, "")
	wantStatus(t, ana.postJSON("/carts/c-1/items", `{"sku":"tea","qty":1,"price":"2.50"}`), http.StatusCreated, "")
	wantStatus(t, ana.postJSON("/posts", `{"postId":"p-1","title":"Mine"}`), http.StatusCreated, "")
	wantStatus(t, ana.postJSON("/posts/p-1/publish", `{}`), http.StatusOK, "")
	wantStatus(t, ana.postJSON("/accounts", `{"accountId":"a-1","initialDeposit":"10.00"}`), http.StatusCreated, "")
	for stream, version := range map[string]int64{"match/m-1": 1, "cart/c-1": 1, "post/p-1": 2, "account/a-1": 1} {
		waitApplied(t, app, stream, version)
	}

	const owner, other, signedOut = 0, 1, 2
	for _, tc := range []struct {
		path string
		// The ids on the page of its owner (and an admin), of another
		// person, of someone signed out.
		want [3][]string
	}{
		{"/matches", [3][]string{{`id="start-match"`}, {`id="start-match"`}, {`id="start-match-signin"`}}},
		{"/matches/m-1", [3][]string{{`id="innings-form"`, `id="end-form"`}, {`id="match-scorer"`}, {`id="score-signin"`}}},
		// Another's cart is a cart with no events to him, as its forms.
		{"/carts/c-1", [3][]string{{`id="add-form"`, `id="checkout-form"`, `>tea<`}, {`id="add-form"`, `id="checkout-form"`}, {`id="cart-signin"`}}},
		{"/posts", [3][]string{{`id="create-form"`, `id="draft-list"`}, {`id="create-form"`, `id="draft-list"`}, {`id="write-signin"`}}},
		{"/posts/p-1", [3][]string{{`id="title-form"`}, {`id="post-author"`}, {`id="post-signin"`}}},
		{"/accounts", [3][]string{{`id="open-account"`}, {`id="open-account"`}, {`id="open-account-signin"`}}},
		{"/accounts/a-1", [3][]string{{`id="deposit-form"`, `id="withdraw-form"`, `id="close-form"`}, {`id="account-owner"`}, {`id="account-signin"`}}},
	} {
		all := map[string]bool{}
		for _, ids := range tc.want {
			for _, id := range ids {
				all[id] = true
			}
		}
		for _, r := range []struct {
			who  *person
			role int
		}{{ana, owner}, {root, owner}, {ben, other}, {nobody, signedOut}} {
			page := r.who.page(tc.path)
			if page.status != http.StatusOK {
				t.Errorf("%q: %s: %d", r.who.name, tc.path, page.status)
				continue
			}
			want := map[string]bool{}
			for _, id := range tc.want[r.role] {
				want[id] = true
			}
			for id := range all {
				if got := strings.Contains(page.body, id); got != want[id] {
					t.Errorf("%q: %s: %s shown: %v, want %v", r.who.name, tc.path, id, got, want[id])
				}
			}
			if r.role == signedOut && !strings.Contains(page.body, `href="/signin?back=`+strings.ReplaceAll(tc.path, "/", "%2F")+`"`) {
				t.Errorf("%s for someone signed out: no link to sign in and come back", tc.path)
			}
		}
	}
}
