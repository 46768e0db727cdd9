package e2e

import (
	"testing"

	"github.com/playwright-community/playwright-go"

	"github.com/foldboard/foldboard/internal/apptest"
)

// markPage leaves a mark in a page's window that a reload would wipe out.
func markPage(t *testing.T, page playwright.Page) {
	t.Helper()
	if _, err := page.Evaluate(`() => { window.foldboardMark = true }`); err != nil {
		t.Fatal(err)
	}
}

// wantNoReload wants the mark still there: what changed came live.
func wantNoReload(t *testing.T, page playwright.Page) {
	t.Helper()
	if v, err := page.Evaluate(`() => window.foldboardMark === true`); err != nil || v != true {
		t.Fatalf("the page reloaded (mark %v, %v)", v, err)
	}
}

// openNewCart starts a cart from the carts page's link.
func openNewCart(t *testing.T, page playwright.Page, base string) {
	t.Helper()
	if _, err := page.Goto(base + "/carts"); err != nil {
		t.Fatal(err)
	}
	must(t, page.GetByRole("link", playwright.PageGetByRoleOptions{Name: "Start a new cart"}).Click())
	must(t, expect.Locator(page.Locator("#cart .empty")).ToHaveText("This cart is empty."))
}

func addToCart(t *testing.T, page playwright.Page, sku, qty, price, total string) {
	t.Helper()
	form := page.Locator("#add-form")
	must(t, form.GetByLabel("SKU").Fill(sku))
	must(t, form.GetByLabel("Quantity").Fill(qty))
	must(t, form.GetByLabel("Unit price").Fill(price))
	must(t, form.GetByRole("button", playwright.LocatorGetByRoleOptions{Name: "Add to cart"}).Click())
	must(t, expect.Locator(page.Locator("#cart-total")).ToHaveText(total))
}

func checkOutCart(t *testing.T, page playwright.Page) {
	t.Helper()
	must(t, page.Locator("#checkout-form").GetByRole("button", playwright.LocatorGetByRoleOptions{Name: "Check out"}).Click())
	must(t, expect.Locator(page.Locator("#cart-status")).ToHaveText("checked out"))
}

func TestCheckoutInOnePageMovesTheSalesChartInAnother(t *testing.T) {
	app := apptest.Start(t, apptest.Options{})
	ctx := newContext(t, app)
	shopper, sales, sameCart := newPage(t, ctx), newPage(t, ctx), newPage(t, ctx)

	if _, err := sales.Goto(app.URL + "/sales"); err != nil {
		t.Fatal(err)
	}
	must(t, expect.Locator(sales.Locator("#live-status")).ToHaveText("live"))
	must(t, expect.Locator(sales.Locator("#sales .empty")).ToContainText("No sales yet"))
	markPage(t, sales)

	openNewCart(t, shopper, app.URL)
	addToCart(t, shopper, "tea", "2", "19.99", "39.98")
	addToCart(t, shopper, "cup", "1", "0.52", "40.50")
	// Another page on the same cart, to see the checkout arrive there too.
	if _, err := sameCart.Goto(shopper.URL()); err != nil {
		t.Fatal(err)
	}
	must(t, expect.Locator(sameCart.Locator("#live-status")).ToHaveText("live"))
	must(t, expect.Locator(sameCart.Locator("#add-form")).ToBeVisible())
	checkOutCart(t, shopper)

	// The chart and the table move without a reload.
	bar := sales.Locator("#sales svg.sales-chart g.bar")
	must(t, expect.Locator(bar).ToHaveCount(1))
	must(t, expect.Locator(bar).ToHaveAttribute("data-total", "40.50"))
	must(t, expect.Locator(sales.Locator("#sales tbody tr td.money")).ToHaveText("40.50"))
	// The other page of the cart shows it checked out, and its forms go.
	must(t, expect.Locator(sameCart.Locator("#cart-status")).ToHaveText("checked out"))
	must(t, expect.Locator(sameCart.Locator("#add-form")).ToBeHidden())

	// A second cart adds to the same day.
	openNewCart(t, shopper, app.URL)
	addToCart(t, shopper, "pot", "1", "10", "10.00")
	checkOutCart(t, shopper)
	must(t, expect.Locator(bar).ToHaveAttribute("data-total", "50.50"))
	must(t, expect.Locator(sales.Locator("#sales tbody tr td.qty")).ToHaveText("2"))
	wantNoReload(t, sales)
}

func TestRefusedCartCommandShowsItsMessageByTheForm(t *testing.T) {
	app := apptest.Start(t, apptest.Options{})
	page := newPage(t, newContext(t, app))
	openNewCart(t, page, app.URL)
	addToCart(t, page, "tea", "1", "2.50", "2.50")

	// The same sku at another price: refused, said by the form, the typed
	// values kept.
	form := page.Locator("#add-form")
	must(t, form.GetByLabel("SKU").Fill("tea"))
	must(t, form.GetByLabel("Unit price").Fill("2.75"))
	must(t, form.GetByRole("button", playwright.LocatorGetByRoleOptions{Name: "Add to cart"}).Click())
	must(t, expect.Locator(form.Locator(".problem")).ToHaveAttribute("data-code", "PriceMismatch"))
	must(t, expect.Locator(form.GetByLabel("Unit price")).ToHaveValue("2.75"))
	must(t, expect.Locator(page.Locator("#cart-total")).ToHaveText("2.50"))
}
