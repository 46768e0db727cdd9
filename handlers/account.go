package handlers

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/a-h/templ"
	"github.com/go-chi/chi/v5"

	"github.com/foldboard/foldboard/domain/bank"
	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/projections"
	"github.com/foldboard/foldboard/views"
)

// Accounts is the bank account module, the event-sourcing guide's example:
// accounts opened, money deposited and withdrawn, closed at zero; only the
// actor who opened an account may use it.
func Accounts() Module {
	return Module{
		Name: "account",
		Kind: NewKind(bank.Decider(), func(id string, v int64, s bank.State) templ.Component {
			return views.AccountView(views.Account{ID: id, Version: v, State: s})
		}, accountRoutes, randomAccountCommand),
		Page: views.RouteAccount,
		Sections: []views.Section{{ID: "accounts", Path: views.RouteAccounts, Label: "Accounts",
			Card: "Bank accounts", Blurb: "Open an account, deposit, withdraw"}},
		ReadModels: []projections.ReadModel{{Name: projections.TopicAccounts, New: func() projections.Model { return projections.NewAccounts() }}},
		Topics: []Topic{{Name: projections.TopicAccounts, Throttle: listThrottle, Fragment: func(a *App) templ.Component {
			return lazy(func(ctx context.Context) (templ.Component, error) {
				accounts, total, err := a.accounts().Newest(ctx, projections.ListLimit)
				return views.AccountList(accounts, total), err
			})
		}}},
		StreamTopic: func(a *App, id string) templ.Component {
			return lazy(func(ctx context.Context) (templ.Component, error) {
				acc, ok, err := a.accounts().Get(ctx, id)
				if !ok || err != nil {
					return templ.NopComponent, err
				}
				return views.AccountLive(acc), nil
			})
		},
		ReadState: func(ctx context.Context, rs *projections.ReadSide, id string) (any, bool, error) {
			acc, ok, err := projections.ModelOf[*projections.Accounts](rs, projections.TopicAccounts).Get(ctx, id)
			return acc.State, ok, err
		},
		Seed: seedAccounts,
		Load: []LoadWork{{Name: "account", Life: 10, Next: loadAccount}},
		Examples: []Example{
			{Path: views.RouteAccounts, Fields: map[string]any{"accountId": "{id}", "initialDeposit": "100.00"}},
			{Path: views.RouteAccountDeposit, Fields: map[string]any{"amount": "25.50"}},
			{Path: views.RouteAccountWithdraw, Fields: map[string]any{"amount": "125.50"}},
			{Path: views.RouteAccountClose, Fields: map[string]any{}},
		},
	}
}

func (a *App) accounts() *projections.Accounts {
	return projections.ModelOf[*projections.Accounts](a.read(), projections.TopicAccounts)
}

type accountHandler = *es.Handler[bank.State, bank.Command, bank.Event]

func accountRoutes(a *App, h accountHandler, r chi.Router) {
	r.Get(views.RouteAccounts, a.Handle(a.accountsPage).ServeHTTP)
	r.Post(views.RouteAccounts, a.Handle(a.openAccount(h)).ServeHTTP)
	r.Get(views.RouteAccount, a.Handle(a.accountPageRoute).ServeHTTP)
	r.Post(views.RouteAccountDeposit, a.Handle(a.moveMoney(h, "deposit")).ServeHTTP)
	r.Post(views.RouteAccountWithdraw, a.Handle(a.moveMoney(h, "withdraw")).ServeHTTP)
	r.Post(views.RouteAccountClose, a.Handle(a.closeAccount(h)).ServeHTTP)
}

// accountsPage is GET /accounts: every account, and the form to open one.
func (a *App) accountsPage(w http.ResponseWriter, r *http.Request) error {
	a.render(w, r, http.StatusOK, a.accountsList(r, views.Form{Name: "open", CommandID: newCommandID()}))
	return nil
}

func (a *App) accountsList(r *http.Request, f views.Form) templ.Component {
	p := a.page(r, "Accounts")
	p.Section, p.Topics, p.Path = "accounts", []string{projections.TopicAccounts}, views.RouteAccounts
	accounts, total, err := a.accounts().Newest(r.Context(), projections.ListLimit)
	if err != nil {
		return failed(err)
	}
	return views.AccountsPage(p, accounts, total, f)
}

// accountPageRoute is GET /accounts/{id}: the live account and its forms.
func (a *App) accountPageRoute(w http.ResponseWriter, r *http.Request) error {
	id := chi.URLParam(r, "id")
	if err := validStreamID(id); err != nil {
		return err
	}
	page := a.accountPage(r, id, views.Form{CommandID: newCommandID()})
	if page == nil {
		return errStreamNotFound(es.StreamRef{Type: bank.StreamType, ID: id})
	}
	a.render(w, r, http.StatusOK, page)
	return nil
}

// accountPage is the page of account id with the state of a form; nil for
// an account never opened.
func (a *App) accountPage(r *http.Request, id string, f views.Form) templ.Component {
	acc, ok, err := a.accounts().Get(r.Context(), id)
	if err != nil {
		return failed(err)
	}
	if !ok {
		return nil
	}
	p := a.page(r, "Account "+id)
	p.Section, p.Path = "accounts", accountLocation(id)
	p.Topics = []string{es.StreamRef{Type: bank.StreamType, ID: id}.String()}
	return views.AccountPage(p, acc, f)
}

func accountLocation(id string) string { return views.Path(views.RouteAccount, id) }

// clockOf is the time a command of h happens at: its clock's, else now.
func clockOf(h accountHandler) time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

// openAccount is POST /accounts: the owner is the request's actor.
func (a *App) openAccount(h accountHandler) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		c := command[bank.State, bank.Command, bank.Event]{
			handler: h, form: "open", location: accountLocation,
			decode: func(in *input) (bank.Command, error) {
				deposit, err := readAmount(in, "initialDeposit")
				if err != nil {
					return nil, err
				}
				actor, err := a.actor(r)
				return bank.OpenAccount{InitialDeposit: deposit, Actor: actor, At: clockOf(h)}, err
			},
			page: func(r *http.Request, _ string, f views.Form) templ.Component { return a.accountsList(r, f) },
		}
		return c.run(a, w, r, newID("accountId"))
	}
}

// moveMoney is POST /accounts/{id}/deposit or /withdraw (form names which).
func (a *App) moveMoney(h accountHandler, form string) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		c := command[bank.State, bank.Command, bank.Event]{
			handler: h, form: form, location: accountLocation, page: a.accountPage,
			decode: func(in *input) (bank.Command, error) {
				amount, err := readAmount(in, "amount")
				if err != nil {
					return nil, err
				}
				actor, err := a.actor(r)
				if form == "withdraw" {
					return bank.Withdraw{Amount: amount, Actor: actor, At: clockOf(h)}, err
				}
				return bank.Deposit{Amount: amount, Actor: actor, At: clockOf(h)}, err
			},
		}
		return c.run(a, w, r, routeID(r))
	}
}

// closeAccount is POST /accounts/{id}/close.
func (a *App) closeAccount(h accountHandler) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		c := command[bank.State, bank.Command, bank.Event]{
			handler: h, form: "close", location: accountLocation, page: a.accountPage,
			decode: func(*input) (bank.Command, error) {
				actor, err := a.actor(r)
				return bank.CloseAccount{Actor: actor, At: clockOf(h)}, err
			},
		}
		return c.run(a, w, r, routeID(r))
	}
}

// readAmount reads an exact amount: something that is not a decimal at all
// is a malformed request (400 BadNumber); a decimal the bank cannot take
// (negative, too large, 3 decimals) is a bad value (422 BadAmount).
func readAmount(in *input, name string) (bank.Money, error) {
	s, ok, err := in.decimal(name)
	if err != nil {
		return 0, err
	}
	if !ok || s == "" {
		return 0, badRequest("MissingField", name, "%s is required", name)
	}
	if !plainDecimal.MatchString(s) {
		return 0, badRequest("BadNumber", name, "%s must be a decimal amount such as 19.99", name)
	}
	if s[0] == '-' {
		return 0, bank.ErrBadAmount.New("%s %s: want more than 0", name, s)
	}
	return bank.ParseMoney(s)
}

// randomAccountCommand is a command an account might get next, by its owner
// or someone else, often one it refuses.
func randomAccountCommand(r *rand.Rand, s bank.State) bank.Command {
	who := pick(r, "ana", "ana", "ana", "bo")
	amount := bank.Money(pick(r, 0, 1, 5_00, 19_99, 120_00, -1))
	at := time.Date(2026, 6, 1, 0, 0, r.IntN(86_400), 0, time.UTC)
	switch r.IntN(10) {
	case 0:
		return bank.OpenAccount{InitialDeposit: amount, Actor: who, At: at}
	case 1:
		return bank.CloseAccount{Actor: who, At: at}
	case 2, 3, 4:
		return bank.Withdraw{Amount: amount, Actor: who, At: at}
	case 5:
		return bank.Withdraw{Amount: s.Balance, Actor: who, At: at}
	default:
		return bank.Deposit{Amount: amount, Actor: who, At: at}
	}
}

// seedAccounts plans an account for each of the demo's people, opened a
// fortnight ago (before any seeded checkout) as account/{name}, where the
// loyalty reaction pays the cash back of their checkouts, with a deposit or
// withdrawal most days; and one account opened and closed.
func seedAccounts(p *SeedPlan) {
	for i, who := range seedActors {
		id := who
		balance := bank.Money(100_00 * (i + 1))
		p.Add(p.Day(-14, 9, 10*i), bank.StreamType, id, "open", who, bank.OpenAccount{InitialDeposit: balance, Actor: who, At: p.Day(-14, 9, 10*i)})
		for d := -12; d <= -1; d++ {
			if p.Rand.IntN(3) == 0 {
				continue
			}
			at := p.Day(d, 8+p.Rand.IntN(10), p.Rand.IntN(60))
			amount := bank.Money(1_00 + p.Rand.IntN(150_00))
			if p.Rand.IntN(2) == 0 && amount <= balance {
				p.Add(at, bank.StreamType, id, fmt.Sprintf("withdraw-%d", -d), who, bank.Withdraw{Amount: amount, Actor: who, At: at})
				balance -= amount
			} else {
				p.Add(at, bank.StreamType, id, fmt.Sprintf("deposit-%d", -d), who, bank.Deposit{Amount: amount, Actor: who, At: at})
				balance += amount
			}
		}
	}
	at := p.Ago(3 * time.Minute)
	p.Add(at, bank.StreamType, "seed-account-closed", "open", "eve", bank.OpenAccount{Actor: "eve", At: at})
	p.Add(at.Add(time.Minute), bank.StreamType, "seed-account-closed", "close", "eve", bank.CloseAccount{Actor: "eve", At: at.Add(time.Minute)})
}

// loadAccount is an account's life for the load generator: opened, four
// deposits and four withdrawals that never go beyond the balance, closed
// at zero.
func loadAccount(id string, v int64, _ int, _ int, _ *rand.Rand, b []byte) (string, []byte) {
	switch {
	case v == 0:
		b = fmt.Appendf(b, `"accountId":%q,"initialDeposit":"10.00"`, id)
		return views.RouteAccounts, b
	case v <= 4:
		b = append(b, `"amount":"2.50"`...)
		return views.Path(views.RouteAccountDeposit, id), b
	case v <= 8:
		b = append(b, `"amount":"5.00"`...)
		return views.Path(views.RouteAccountWithdraw, id), b
	default:
		return views.Path(views.RouteAccountClose, id), b
	}
}
