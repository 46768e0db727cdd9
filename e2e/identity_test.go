package e2e

import (
	"testing"

	"github.com/playwright-community/playwright-go"

	"github.com/foldboard/foldboard/internal/apptest"
)

// signInAgain signs an existing person in through the sign-in form.
func signInAgain(t *testing.T, page playwright.Page, base, name string) {
	t.Helper()
	if _, err := page.Goto(base + "/signin"); err != nil {
		t.Fatal(err)
	}
	must(t, page.Locator("#signin-name").Fill(name))
	must(t, page.Locator("#signin-password").Fill("password of "+name))
	must(t, button(page.Locator("#signin-form"), "Sign in").Click())
	must(t, expect.Locator(page.Locator("#who-name")).ToHaveText(name))
}

// TestADraftIsFoundByNoOneElseUntilPublishedAndSigningOutEverywhereEndsEverySession:
// ana signs up and writes a draft; ben, signed in too, finds it nowhere;
// ana publishes it and ben's posts page shows it live; from a second
// browser, ana signs out everywhere, and her first browser is signed out.
func TestADraftIsFoundByNoOneElseUntilPublishedAndSigningOutEverywhereEndsEverySession(t *testing.T) {
	app := apptest.Start(t, apptest.Options{SignInOnly: true})
	author, reader := newPage(t, anonymousContext(t)), newPage(t, anonymousContext(t))
	signIn(t, author, app.URL, "ana")
	signIn(t, reader, app.URL, "ben")

	form := author.Locator("#create-form")
	must(t, form.GetByLabel("Title").Fill("A secret plan"))
	must(t, form.GetByLabel("Post id").Fill("p-secret"))
	must(t, button(form, "Save draft").Click())
	must(t, expect.Locator(author.Locator("#post-title")).ToHaveText("A secret plan"))

	for _, path := range []string{"/posts/p-secret", "/posts", "/events", "/", "/streams/post/p-secret/events", "/streams/post/p-secret/state"} {
		if _, err := reader.Goto(app.URL + path); err != nil {
			t.Fatal(err)
		}
		must(t, expect.Locator(reader.Locator("body")).Not().ToContainText("A secret plan"))
	}
	if _, err := reader.Goto(app.URL + "/posts"); err != nil {
		t.Fatal(err)
	}
	must(t, expect.Locator(reader.Locator("#live-status")).ToHaveText("live"))
	must(t, button(author.Locator("#publish-form"), "Publish").Click())
	must(t, expect.Locator(reader.Locator("#post-list")).ToContainText("A secret plan"))

	// A second browser of ana's signs out everywhere: the first is signed out.
	second := newPage(t, anonymousContext(t))
	signInAgain(t, second, app.URL, "ana")
	if _, err := second.Goto(app.URL + "/me"); err != nil {
		t.Fatal(err)
	}
	must(t, button(second.Locator("#signout-everywhere-form"), "Sign out everywhere").Click())
	must(t, expect.Locator(second.Locator("#signin-link")).ToBeVisible())
	if _, err := author.Goto(app.URL + "/posts"); err != nil {
		t.Fatal(err)
	}
	must(t, expect.Locator(author.Locator("#signin-link")).ToBeVisible())
	must(t, expect.Locator(reader.Locator("#who-name")).ToHaveText("ben"))
}

// TestACartReachesItsOwnersPagesLiveAndNoOneElses: ben watches the carts
// list, the events and the page of a cart that does not exist yet; ana
// fills that cart in another browser. Ana's carts list shows her cart live;
// ben's pages are pushed the events' count, which counts ana's only as
// private, and never her cart.
func TestACartReachesItsOwnersPagesLiveAndNoOneElses(t *testing.T) {
	app := apptest.Start(t, apptest.Options{SignInOnly: true})
	anaCtx, benCtx := anonymousContext(t), anonymousContext(t)
	ana, anaList := newPage(t, anaCtx), newPage(t, anaCtx)
	benCart, benList, benEvents := newPage(t, benCtx), newPage(t, benCtx), newPage(t, benCtx)
	signIn(t, ana, app.URL, "ana")
	signIn(t, benCart, app.URL, "ben")

	for page, path := range map[playwright.Page]string{anaList: "/carts", benCart: "/carts/c-secret", benList: "/carts", benEvents: "/events"} {
		if _, err := page.Goto(app.URL + path); err != nil {
			t.Fatal(err)
		}
		must(t, expect.Locator(page.Locator("#live-status")).ToHaveText("live"))
		markPage(t, page)
	}
	private, err := benEvents.Locator("#events-total").GetAttribute("data-private")
	if err != nil {
		t.Fatal(err)
	}
	must(t, expect.Locator(benCart.Locator("#cart .empty")).ToHaveText("This cart is empty."))

	if _, err := ana.Goto(app.URL + "/carts/c-secret"); err != nil {
		t.Fatal(err)
	}
	addToCart(t, ana, "secret-sku", "2", "3.00", "6.00")
	must(t, expect.Locator(anaList.Locator("#cart-list")).ToContainText("c-secret"))
	wantNoReload(t, anaList)

	// Ben's count of private events moves past the cart's event live…
	must(t, expect.Locator(benEvents.Locator("#events-total")).Not().ToHaveAttribute("data-private", private))
	wantNoReload(t, benEvents)
	// …and the cart reached none of his pages.
	for _, page := range []playwright.Page{benCart, benList, benEvents} {
		must(t, expect.Locator(page.Locator("body")).Not().ToContainText("secret-sku"))
		wantNoReload(t, page)
	}
	must(t, expect.Locator(benCart.Locator("#cart .empty")).ToHaveText("This cart is empty."))
	must(t, expect.Locator(benList.Locator("body")).Not().ToContainText("c-secret"))
	must(t, expect.Locator(benEvents.Locator("#event-list")).Not().ToContainText("ItemAdded"))
}
