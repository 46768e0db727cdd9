package e2e

import (
	"testing"

	"github.com/playwright-community/playwright-go"

	"github.com/foldboard/foldboard/internal/apptest"
)

// signInAgain signs an existing person in through the sign-in form.
func signInAgain(t *testing.T, page playwright.Page, base, name string) {
	t.Helper()
	must(t, page.Context().SetExtraHTTPHeaders(map[string]string{}))
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
	author, reader := newPage(t, newContext(t)), newPage(t, newContext(t))
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
	second := newPage(t, newContext(t))
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
