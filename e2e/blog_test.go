package e2e

import (
	"testing"

	"github.com/playwright-community/playwright-go"

	"github.com/foldboard/foldboard/internal/apptest"
)

// signIn signs a new person up through the sign-in page's forms, from the
// posts page's "Sign in" link, and is back on the posts page as them (the
// page's context is of no one signed in: anonymousContext).
func signIn(t *testing.T, page playwright.Page, base, name string) {
	t.Helper()
	if _, err := page.Goto(base + "/posts"); err != nil {
		t.Fatal(err)
	}
	must(t, page.Locator("#signin-link").Click())
	must(t, page.Locator("#signup-name").Fill(name))
	must(t, page.Locator("#signup-password").Fill("password of "+name))
	must(t, page.Locator("#signup-form").GetByRole("button", playwright.LocatorGetByRoleOptions{Name: "Sign up"}).Click())
	must(t, expect.Locator(page.Locator("#who-name")).ToHaveText(name))
	must(t, expect.Locator(page.Locator("#posts-actor")).ToHaveText(name))
}

func TestPostPublishedInOnePageAppearsInAnothersList(t *testing.T) {
	app := apptest.Start(t, apptest.Options{})
	authorCtx, readerCtx := anonymousContext(t), anonymousContext(t)
	author, authorList, reader := newPage(t, authorCtx), newPage(t, authorCtx), newPage(t, readerCtx)

	signIn(t, author, app.URL, "ana maria")
	signIn(t, reader, app.URL, "bo")
	if _, err := authorList.Goto(app.URL + "/posts"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []playwright.Page{authorList, reader} {
		must(t, expect.Locator(p.Locator("#live-status")).ToHaveText("live"))
		markPage(t, p)
	}
	must(t, expect.Locator(reader.Locator("#post-list .empty")).ToHaveText("Nothing published yet."))

	form := author.Locator("#create-form")
	must(t, form.GetByLabel("Title").Fill("Hello from ana maria"))
	must(t, form.GetByLabel("Body").Fill("A first post.\nIn two lines."))
	must(t, form.GetByRole("button", playwright.LocatorGetByRoleOptions{Name: "Save draft"}).Click())
	must(t, expect.Locator(author.Locator("#post-status")).ToHaveText("draft"))

	// The draft reaches the author's other page, live, and not the reader's.
	must(t, expect.Locator(authorList.Locator("#draft-list li")).ToContainText("Hello from ana maria"))
	must(t, expect.Locator(reader.Locator("#draft-list li")).ToHaveCount(0))

	must(t, author.GetByRole("button", playwright.PageGetByRoleOptions{Name: "Publish"}).Click())
	must(t, expect.Locator(author.Locator("#post-status")).ToHaveText("published"))

	// Published: in the reader's list without a reload, out of the drafts.
	published := reader.Locator("#post-list li")
	must(t, expect.Locator(published).ToHaveCount(1))
	must(t, expect.Locator(published).ToContainText("Hello from ana maria"))
	must(t, expect.Locator(published).ToContainText("by ana maria"))
	must(t, expect.Locator(authorList.Locator("#draft-list .empty")).ToHaveText("No drafts."))
	wantNoReload(t, reader)
	wantNoReload(t, authorList)

	// The reader may read it, and is refused its forms' commands.
	must(t, published.GetByRole("link").Click())
	must(t, expect.Locator(reader.Locator("#post .post-body")).ToHaveText("A first post.\nIn two lines."))
	must(t, expect.Locator(reader.Locator("#title-form")).ToHaveCount(0))
	must(t, expect.Locator(reader.GetByText("Only ana maria, its author, and the admins may retitle or publish this post.")).ToBeVisible())
}
