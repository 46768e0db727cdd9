package web_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/foldboard/foldboard/internal/apptest"
)

// A commandId is the actor's and its request's (contract.md, second round):
// the same id with another sku or on another route is 422
// IdempotencyKeyReused and appends nothing (from another actor, who may not
// see the cart, 409 IDTaken); the same request again answers its first
// result.
func TestACommandIDReusedForAnotherRequestIsRefused(t *testing.T) {
	for _, store := range apptest.Stores {
		t.Run(store, func(t *testing.T) {
			c := newClient(t, apptest.Start(t, apptest.Options{Store: store}))
			add := func(actor, sku string) response {
				t.Helper()
				return c.postJSONAs(actor, "/carts/c-key/items", `{"sku":"`+sku+`","qty":1,"price":"2.50","commandId":"key-1"}`)
			}
			first := add("ana", "s1")
			wantStatus(t, first, http.StatusCreated, "")
			wantStatus(t, add("ana", "s2"), http.StatusUnprocessableEntity, "IdempotencyKeyReused")
			wantStatus(t, c.postJSONAs("ana", "/carts/c-key/checkout", `{"commandId":"key-1"}`), http.StatusUnprocessableEntity, "IdempotencyKeyReused")
			// Ben may not see ana's cart: its id is taken, and no more is said.
			wantStatus(t, add("ben", "s1"), http.StatusConflict, "IDTaken")
			again := add("ana", "s1")
			wantStatus(t, again, http.StatusCreated, "")
			if a, b := first.json(t)["events"], again.json(t)["events"]; !jsonEqual(a, b) {
				t.Fatalf("the repeat answered other events:\n%v\n%v", a, b)
			}
			if v := streamVersion(t, c, "cart/c-key"); v != float64(1) {
				t.Fatalf("version %v after reused and repeated ids, want 1", v)
			}
		})
	}
}

// A stream the server names (POST /matches without matchId) is named from
// the command id, so the request sent again finds the match it started
// instead of starting another.
func TestAStartSentTwiceWithoutAnIDStartsOneMatch(t *testing.T) {
	for _, store := range apptest.Stores {
		t.Run(store, func(t *testing.T) {
			c := newClient(t, apptest.Start(t, apptest.Options{Store: store}))
			body := `{"venue":"Eden Park","homeTeam":"Lions","awayTeam":"Tigers","commandId":"start-1"}`
			first := c.postJSONAs("ana", "/matches", body)
			wantStatus(t, first, http.StatusCreated, "")
			again := c.postJSONAs("ana", "/matches", body)
			wantStatus(t, again, http.StatusCreated, "")
			s1, s2 := first.json(t)["stream"], again.json(t)["stream"]
			if s1 != s2 || !jsonEqual(first.json(t)["events"], again.json(t)["events"]) {
				t.Fatalf("sent twice, the start answered %v and %v: want one match, its first result", s1, s2)
			}
			wantStatus(t, c.postJSONAs("ana", "/matches", `{"venue":"Lord's","homeTeam":"Lions","awayTeam":"Tigers","commandId":"start-1"}`),
				http.StatusUnprocessableEntity, "IdempotencyKeyReused")

			// A form sent twice goes to the same match both times.
			form := url.Values{"venue": {"Basin"}, "homeTeam": {"A"}, "awayTeam": {"B"}, "commandId": {"start-form"}}
			r1, r2 := c.postFormAs("ana", "/matches", form), c.postFormAs("ana", "/matches", form)
			if r1.status != http.StatusSeeOther || r1.header.Get("Location") == "" || r1.header.Get("Location") != r2.header.Get("Location") {
				t.Fatalf("a form sent twice: %d %q then %d %q; want one match", r1.status, r1.header.Get("Location"), r2.status, r2.header.Get("Location"))
			}
			// Without a command id, every start is a match of its own.
			plain := `{"venue":"Eden Park","homeTeam":"Lions","awayTeam":"Tigers"}`
			if a, b := c.postJSON("/matches", plain).json(t)["stream"], c.postJSON("/matches", plain).json(t)["stream"]; a == b {
				t.Fatalf("two starts without ids both made %v", a)
			}
		})
	}
}

// A command id is its actor's: two people who happen to send the same id
// to start a stream the server names each start their own, and each resend
// finds its sender's.
func TestTheSameCommandIDFromTwoActorsStartsTwoStreams(t *testing.T) {
	for _, store := range apptest.Stores {
		t.Run(store, func(t *testing.T) {
			c := newClient(t, apptest.Start(t, apptest.Options{Store: store}))
			body := `{"venue":"Eden Park","homeTeam":"Lions","awayTeam":"Tigers","commandId":"start-shared"}`
			ana := c.postJSONAs("ana", "/matches", body)
			wantStatus(t, ana, http.StatusCreated, "")
			ben := c.postJSONAs("ben", "/matches", body)
			wantStatus(t, ben, http.StatusCreated, "")
			if a, b := ana.json(t)["stream"], ben.json(t)["stream"]; a == b {
				t.Fatalf("ana's and ben's starts with one command id both made %v", a)
			}
			for _, who := range []struct {
				actor string
				first response
			}{{"ana", ana}, {"ben", ben}} {
				again := c.postJSONAs(who.actor, "/matches", body)
				wantStatus(t, again, http.StatusCreated, "")
				if got, want := again.json(t)["stream"], who.first.json(t)["stream"]; got != want {
					t.Errorf("%s's resend answered %v, want its own %v", who.actor, got, want)
				}
			}
		})
	}
}
