package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/foldboard/foldboard/internal/apptest"
)

// TestAccountRoutesAnswerJSONAsTheContractSays runs an account's life as a
// program would, with every refusal of the contract's "Bank accounts".
func TestAccountRoutesAnswerJSONAsTheContractSays(t *testing.T) {
	c := newClient(t, apptest.Start(t, apptest.Options{}))
	ana := func(path, body string) response { t.Helper(); return c.postJSONAs("ana", path, body) }

	r := ana("/accounts", `{"accountId":"a-1","initialDeposit":"100.00"}`)
	wantStatus(t, r, http.StatusCreated, "")
	if s := r.json(t)["state"].(map[string]any); s["open"] != true || s["balance"] != "100.00" || s["transactions"] != 0.0 || s["owner"] != "ana" {
		t.Fatalf("opened: state %v", s)
	}
	wantStatus(t, ana("/accounts", `{"accountId":"a-1","initialDeposit":"5"}`), http.StatusConflict, "AlreadyOpen")
	wantStatus(t, ana("/accounts/a-1/deposit", `{"amount":"25.50"}`), http.StatusOK, "")

	r = ana("/accounts/a-1/withdraw", `{"amount":"200"}`)
	wantStatus(t, r, http.StatusConflict, "InsufficientFunds")
	if e := r.json(t)["error"].(map[string]any); e["balance"] != "125.50" || e["message"] == "" {
		t.Errorf("InsufficientFunds error object %v, want the balance 125.50", e)
	}
	for _, bad := range []string{`"0"`, `"0.00"`, `"-5.00"`, `"1.234"`, `"1000000.01"`, `0`, `-1`} {
		wantStatus(t, ana("/accounts/a-1/deposit", `{"amount":`+bad+`}`), http.StatusUnprocessableEntity, "BadAmount")
		wantStatus(t, ana("/accounts/a-1/withdraw", `{"amount":`+bad+`}`), http.StatusUnprocessableEntity, "BadAmount")
	}
	wantStatus(t, ana("/accounts", `{"accountId":"a-2","initialDeposit":"-1"}`), http.StatusUnprocessableEntity, "BadAmount")
	wantStatus(t, ana("/accounts/a-1/deposit", `{"amount":"abc"}`), http.StatusBadRequest, "BadNumber")
	wantStatus(t, ana("/accounts/a-1/deposit", `{}`), http.StatusBadRequest, "MissingField")
	wantStatus(t, ana("/accounts/never/deposit", `{"amount":"1"}`), http.StatusNotFound, "AccountNotFound")
	wantStatus(t, c.getAs("ana", "/accounts/never"), http.StatusNotFound, "")
	wantStatus(t, c.postJSONAs("ben", "/accounts/a-1/withdraw", `{"amount":"1"}`), http.StatusForbidden, "NotOwner")
	wantStatus(t, c.postJSONAs("ben", "/accounts/a-1/close", `{}`), http.StatusForbidden, "NotOwner")

	r = ana("/accounts/a-1/close", `{}`)
	wantStatus(t, r, http.StatusConflict, "BalanceNotZero")
	wantStatus(t, ana("/accounts/a-1/withdraw", `{"amount":"125.50"}`), http.StatusOK, "")
	wantStatus(t, ana("/accounts/a-1/close", `{}`), http.StatusOK, "")
	for path, body := range map[string]string{
		"/accounts/a-1/deposit": `{"amount":"1"}`, "/accounts/a-1/withdraw": `{"amount":"1"}`,
		"/accounts/a-1/close": `{}`, "/accounts": `{"accountId":"a-1","initialDeposit":"0"}`,
	} {
		wantStatus(t, ana(path, body), http.StatusConflict, "AccountClosed")
	}

	// The state as the contract shows it; transactions count the deposit
	// and the withdrawal, not the opening.
	s := c.get("/streams/account/a-1/state").json(t)
	state := s["state"].(map[string]any)
	if s["version"] != 4.0 || state["open"] != false || state["balance"] != "0.00" || state["transactions"] != 2.0 || state["lastActivity"] == "" {
		t.Errorf("state %v", s)
	}
	if v := streamVersion(t, c, "account/a-1"); v != 4 {
		t.Errorf("the refusals appended: version %v, want 4", v)
	}
}

// TestAccountFormsRedirectAndShowARefusalByTheirForm runs the same life
// through the pages' forms.
func TestAccountFormsRedirectAndShowARefusalByTheirForm(t *testing.T) {
	c := newClient(t, apptest.Start(t, apptest.Options{}))
	r := c.postFormAs("ana", "/accounts", url.Values{"accountId": {"f-1"}, "initialDeposit": {"10.00"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/accounts/f-1" {
		t.Fatalf("open: %d to %q", r.status, r.header.Get("Location"))
	}
	r = c.postFormAs("ana", "/accounts/f-1/deposit", url.Values{"amount": {"2.50"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/accounts/f-1" {
		t.Fatalf("deposit: %d to %q", r.status, r.header.Get("Location"))
	}
	page := c.getAs("ana", "/accounts/f-1").body
	if !strings.Contains(page, `id="account-balance">12.50<`) {
		t.Errorf("the account page does not show the balance 12.50:\n%.2000s", page)
	}

	// A withdrawal beyond the balance: the page again, the problem by the
	// withdraw form, the amount typed still in it.
	r = c.postFormAs("ana", "/accounts/f-1/withdraw", url.Values{"amount": {"99.00"}})
	if r.status != http.StatusConflict {
		t.Fatalf("withdraw beyond: %d", r.status)
	}
	doc, err := html.Parse(strings.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	var form *html.Node
	walk(doc, func(n *html.Node) {
		if id, _ := attrOf(n, "id"); id == "withdraw-form" {
			form = n
		}
	})
	if form == nil {
		t.Fatalf("no withdraw form on the refused page:\n%.2000s", r.body)
	}
	var code, amount string
	walk(form, func(n *html.Node) {
		if c, ok := attrOf(n, "data-code"); ok {
			code = c + " " + textOf(n)
		}
		if name, _ := attrOf(n, "name"); name == "amount" {
			amount, _ = attrOf(n, "value")
		}
	})
	if !strings.HasPrefix(code, "InsufficientFunds") || !strings.Contains(code, "12.50") || amount != "99.00" {
		t.Errorf("by the withdraw form: problem %q, amount %q", code, amount)
	}

	// The list shows the account and its balance.
	list := c.getAs("ana", "/accounts").body
	if !strings.Contains(list, `data-account="f-1"`) || !strings.Contains(list, "12.50") {
		t.Errorf("the accounts list does not show f-1 at 12.50:\n%.3000s", list)
	}
}
