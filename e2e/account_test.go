package e2e

import (
	"testing"

	"github.com/playwright-community/playwright-go"

	"github.com/foldboard/foldboard/internal/apptest"
)

// moveMoney fills one of an account page's money forms and sends it.
func moveMoney(t *testing.T, page playwright.Page, form, label, amount, button string) {
	t.Helper()
	f := page.Locator(form)
	must(t, f.GetByLabel(label).Fill(amount))
	must(t, f.GetByRole("button", playwright.LocatorGetByRoleOptions{Name: button}).Click())
}

func TestAnAccountsBalanceMovesLiveInAnotherPageAndItsTimelineStepsBack(t *testing.T) {
	app := apptest.Start(t, apptest.Options{})
	ctx := newContext(t, app)
	owner, watcher := newPage(t, ctx), newPage(t, ctx)

	// Open an account from the accounts page.
	if _, err := owner.Goto(app.URL + "/accounts"); err != nil {
		t.Fatal(err)
	}
	open := owner.Locator("#open-account")
	must(t, open.GetByLabel("Initial deposit").Fill("100.00"))
	must(t, open.GetByLabel("Account id").Fill("e2e-1"))
	must(t, open.GetByRole("button", playwright.LocatorGetByRoleOptions{Name: "Open account"}).Click())
	must(t, expect.Page(owner).ToHaveURL(app.URL+"/accounts/e2e-1"))
	must(t, expect.Locator(owner.Locator("#account-balance")).ToHaveText("100.00"))

	// A second page watches the balance.
	if _, err := watcher.Goto(app.URL + "/accounts/e2e-1"); err != nil {
		t.Fatal(err)
	}
	must(t, expect.Locator(watcher.Locator("#live-status")).ToHaveText("live"))
	markPage(t, watcher)

	moveMoney(t, owner, "#deposit-form", "Amount to deposit", "25.50", "Deposit")
	must(t, expect.Locator(owner.Locator("#account-balance")).ToHaveText("125.50"))
	must(t, expect.Locator(watcher.Locator("#account-balance")).ToHaveText("125.50"))

	// Beyond the balance: a clear error by the withdraw form, the amount
	// kept, the balance unchanged.
	moveMoney(t, owner, "#withdraw-form", "Amount to withdraw", "200", "Withdraw")
	problem := owner.Locator("#withdraw-form .problem")
	must(t, expect.Locator(problem).ToHaveAttribute("data-code", "InsufficientFunds"))
	must(t, expect.Locator(problem).ToContainText("125.50"))
	must(t, expect.Locator(owner.Locator("#withdraw-form").GetByLabel("Amount to withdraw")).ToHaveValue("200"))
	must(t, expect.Locator(owner.Locator("#account-balance")).ToHaveText("125.50"))

	moveMoney(t, owner, "#withdraw-form", "Amount to withdraw", "25.50", "Withdraw")
	must(t, expect.Locator(watcher.Locator("#account-balance")).ToHaveText("100.00"))
	must(t, expect.Locator(watcher.Locator("#account-transactions")).ToHaveText("2"))
	wantNoReload(t, watcher)

	// The timeline steps back through the balance.
	must(t, watcher.GetByRole("link", playwright.PageGetByRoleOptions{Name: "Timeline"}).Click())
	must(t, expect.Locator(watcher.Locator("#tl-at")).ToHaveText("3"))
	prev := watcher.GetByRole("link", playwright.PageGetByRoleOptions{Name: "Previous"})
	must(t, prev.Click())
	must(t, expect.Locator(watcher.Locator("#tl-at")).ToHaveText("2"))
	must(t, expect.Locator(watcher.Locator("#timeline-body #account-balance")).ToHaveText("125.50"))
	must(t, expect.Locator(watcher.Locator("#timeline-body #tl-event .event-type")).ToHaveText("MoneyDeposited"))
	must(t, prev.Click())
	must(t, expect.Locator(watcher.Locator("#tl-at")).ToHaveText("1"))
	must(t, expect.Locator(watcher.Locator("#timeline-body #account-balance")).ToHaveText("100.00"))
	must(t, expect.Locator(watcher.Locator("#timeline-body #account-transactions")).ToHaveText("0"))
}
