package bank

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/es/decidertest"
)

var (
	t0        = time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC)
	t1        = t0.Add(time.Hour)
	opened    = AccountOpened{InitialDeposit: 100_00, Owner: "ana", At: t0}
	openedNil = AccountOpened{Owner: "ana", At: t0}
	deposited = MoneyDeposited{Amount: 25_50, At: t1}
	withdrawn = MoneyWithdrawn{Amount: 125_50, At: t1}
	closed    = AccountClosed{At: t1}
)

type scenario = decidertest.Scenario[Command, Event]

func TestDecide(t *testing.T) {
	decidertest.Run(t, Decider(), []scenario{
		// OpenAccount
		{Name: "open with a deposit", When: OpenAccount{InitialDeposit: 100_00, Actor: "ana", At: t0}, Then: []Event{opened}},
		{Name: "open with nothing", When: OpenAccount{Actor: "ana", At: t0}, Then: []Event{openedNil}},
		{Name: "open with the most", When: OpenAccount{InitialDeposit: MaxAmount, Actor: "ana", At: t0}, Then: []Event{AccountOpened{InitialDeposit: MaxAmount, Owner: "ana", At: t0}}},
		{Name: "open with a negative deposit", When: OpenAccount{InitialDeposit: -1, Actor: "ana"}, Err: ErrBadAmount},
		{Name: "open with more than the most", When: OpenAccount{InitialDeposit: MaxAmount + 1, Actor: "ana"}, Err: ErrBadAmount},
		{Name: "open twice", Given: []Event{opened}, When: OpenAccount{Actor: "ana"}, Err: ErrAlreadyOpen},
		{Name: "open twice by someone else", Given: []Event{opened}, When: OpenAccount{Actor: "ben"}, Err: ErrAlreadyOpen},
		{Name: "open a closed account", Given: []Event{openedNil, closed}, When: OpenAccount{Actor: "ana"}, Err: ErrAccountClosed},
		{Name: "values are checked before the state", Given: []Event{opened}, When: OpenAccount{InitialDeposit: -5, Actor: "ana"}, Err: ErrBadAmount},

		// Deposit
		{Name: "deposit", Given: []Event{opened}, When: Deposit{Amount: 25_50, Actor: "ana", At: t1}, Then: []Event{deposited}},
		{Name: "deposit a cent", Given: []Event{opened}, When: Deposit{Amount: 1, Actor: "ana", At: t1}, Then: []Event{MoneyDeposited{Amount: 1, At: t1}}},
		{Name: "deposit the most at once", Given: []Event{AccountOpened{Owner: "ana"}}, When: Deposit{Amount: MaxAmount, Actor: "ana"}, Then: []Event{MoneyDeposited{Amount: MaxAmount}}},
		{Name: "deposit into an account never opened", When: Deposit{Amount: 1, Actor: "ana"}, Err: ErrAccountNotFound},
		{Name: "a missing account is found out before bad values", When: Deposit{Amount: -1, Actor: "ana"}, Err: ErrAccountNotFound},
		{Name: "deposit by someone else", Given: []Event{opened}, When: Deposit{Amount: 1, Actor: "ben"}, Err: ErrNotOwner},
		{Name: "the owner is checked before values", Given: []Event{opened}, When: Deposit{Amount: 0, Actor: "ben"}, Err: ErrNotOwner},
		{Name: "deposit nothing", Given: []Event{opened}, When: Deposit{Amount: 0, Actor: "ana"}, Err: ErrBadAmount},
		{Name: "deposit a negative amount", Given: []Event{opened}, When: Deposit{Amount: -1, Actor: "ana"}, Err: ErrBadAmount},
		{Name: "deposit more than the most", Given: []Event{opened}, When: Deposit{Amount: MaxAmount + 1, Actor: "ana"}, Err: ErrBadAmount},
		{Name: "deposit beyond the most a balance holds", Given: []Event{AccountOpened{InitialDeposit: 1, Owner: "ana"}, nearlyFull()}, When: Deposit{Amount: 2, Actor: "ana"}, Err: ErrBalanceTooLarge},
		{Name: "deposit into a closed account", Given: []Event{openedNil, closed}, When: Deposit{Amount: 1, Actor: "ana"}, Err: ErrAccountClosed},
		{Name: "values are checked before the account is closed", Given: []Event{openedNil, closed}, When: Deposit{Amount: 0, Actor: "ana"}, Err: ErrBadAmount},

		// Withdraw
		{Name: "withdraw some", Given: []Event{opened}, When: Withdraw{Amount: 40_00, Actor: "ana", At: t1}, Then: []Event{MoneyWithdrawn{Amount: 40_00, At: t1}}},
		{Name: "withdraw the whole balance", Given: []Event{opened, deposited}, When: Withdraw{Amount: 125_50, Actor: "ana", At: t1}, Then: []Event{withdrawn}},
		{Name: "withdraw a cent more than the balance", Given: []Event{opened, deposited}, When: Withdraw{Amount: 125_51, Actor: "ana"}, Err: ErrInsufficientFunds},
		{Name: "withdraw from nothing", Given: []Event{openedNil}, When: Withdraw{Amount: 1, Actor: "ana"}, Err: ErrInsufficientFunds},
		{Name: "withdraw nothing", Given: []Event{opened}, When: Withdraw{Amount: 0, Actor: "ana"}, Err: ErrBadAmount},
		{Name: "withdraw a negative amount", Given: []Event{opened}, When: Withdraw{Amount: -100, Actor: "ana"}, Err: ErrBadAmount},
		{Name: "withdraw from an account never opened", When: Withdraw{Amount: 1, Actor: "ana"}, Err: ErrAccountNotFound},
		{Name: "withdraw by someone else", Given: []Event{opened}, When: Withdraw{Amount: 1, Actor: "ben"}, Err: ErrNotOwner},
		{Name: "withdraw from a closed account", Given: []Event{openedNil, closed}, When: Withdraw{Amount: 1, Actor: "ana"}, Err: ErrAccountClosed},

		// CloseAccount
		{Name: "close at zero", Given: []Event{opened, deposited, withdrawn}, When: CloseAccount{Actor: "ana", At: t1}, Then: []Event{closed}},
		{Name: "close an account opened with nothing", Given: []Event{openedNil}, When: CloseAccount{Actor: "ana", At: t1}, Then: []Event{closed}},
		{Name: "close with money in it", Given: []Event{opened}, When: CloseAccount{Actor: "ana"}, Err: ErrBalanceNotZero},
		{Name: "close twice", Given: []Event{openedNil, closed}, When: CloseAccount{Actor: "ana"}, Err: ErrAccountClosed},
		{Name: "close an account never opened", When: CloseAccount{Actor: "ana"}, Err: ErrAccountNotFound},
		{Name: "close by someone else", Given: []Event{openedNil}, When: CloseAccount{Actor: "ben"}, Err: ErrNotOwner},

		// Not a command
		{Name: "a nil command", When: nil, Err: ErrUnknownCommand},
		{Name: "a pointer to a command", Given: []Event{opened}, When: &Deposit{Amount: 1, Actor: "ana"}, Err: ErrUnknownCommand},
	})
}

// nearlyFull deposits what takes a balance of 0.01 to MaxBalance - 0.01
// (more than MaxAmount at once: a history the decider would have refused
// piecewise, to test the bound without a million events).
func nearlyFull() Event { return MoneyDeposited{Amount: MaxBalance - 2} }

func TestInsufficientFundsCarriesTheBalance(t *testing.T) {
	s := es.Fold(Evolve, Initial(), []Event{opened, deposited})
	_, err := Decide(Withdraw{Amount: 200_00, Actor: "ana"}, s)
	var e *es.Error
	if !errors.As(err, &e) || e.Code != "InsufficientFunds" || e.Details["balance"] != "125.50" {
		t.Fatalf("err = %#v, want InsufficientFunds with balance 125.50", err)
	}
}

func TestEvolve(t *testing.T) {
	got := es.Fold(Evolve, Initial(), []Event{opened, deposited, withdrawn, closed})
	want := State{Exists: true, Open: false, Owner: "ana", Balance: 0, Transactions: 2, LastActivity: t1}
	if got != want {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	if s := es.Fold(Evolve, Initial(), []Event{opened, deposited}); s.Balance != 125_50 || s.Transactions != 1 || !s.Open {
		t.Errorf("after a deposit: %+v", s)
	}
}

func TestEvolveIgnoresForeignEvents(t *testing.T) {
	decidertest.IgnoresForeignEvents(t, Decider(), []Event{opened, deposited})
}

func TestEvolveDoesNotChangeItsState(t *testing.T) {
	base := es.Fold(Evolve, Initial(), []Event{opened})
	branches := decidertest.Branches(t, Decider(), base, []Event{deposited, withdrawn})
	if branches[0].Balance != 125_50 || base.Balance != 100_00 {
		t.Fatalf("branches %+v from %+v", branches, base)
	}
}

func TestStateRoundTripsThroughJSON(t *testing.T) {
	histories := [][]Event{nil, {opened}, {opened, deposited}, {opened, deposited, withdrawn, closed}}
	decidertest.RoundTrips(t, Decider(), histories, State{})
	b, _ := json.Marshal(es.Fold(Evolve, Initial(), []Event{opened, deposited}))
	want := `{"exists":true,"open":true,"owner":"ana","balance":"125.50","transactions":1,"lastActivity":"2026-06-01T10:00:00Z"}`
	if string(b) != want {
		t.Errorf("state JSON\n got %s\nwant %s", b, want)
	}
}

func TestEventsEncodeAsTheContractSays(t *testing.T) {
	decidertest.EncodesAs(t, Decider().Events, []decidertest.Encoding[Event]{
		{Event: opened, Name: "AccountOpened", Schema: 1, Data: `{"initialDeposit":"100.00","owner":"ana","at":"2026-06-01T09:00:00Z"}`},
		{Event: deposited, Name: "MoneyDeposited", Schema: 1, Data: `{"amount":"25.50","at":"2026-06-01T10:00:00Z"}`},
		{Event: withdrawn, Name: "MoneyWithdrawn", Schema: 1, Data: `{"amount":"125.50","at":"2026-06-01T10:00:00Z"}`},
		{Event: closed, Name: "AccountClosed", Schema: 1, Data: `{"at":"2026-06-01T10:00:00Z"}`},
	})
}

func TestParseMoney(t *testing.T) {
	for s, want := range map[string]Money{"0": 0, "5": 5_00, "0.5": 50, "19.99": 19_99, "1000000": MaxAmount, "007.10": 7_10} {
		if got, err := ParseMoney(s); err != nil || got != want {
			t.Errorf("ParseMoney(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"", ".5", "5.", "1.234", "-1", "+1", "1e3", " 1", "1,000", "1000000.01", "99999999999999999999", "١"} {
		if m, err := ParseMoney(s); !errors.Is(err, ErrBadAmount) {
			t.Errorf("ParseMoney(%q) = %v, %v; want BadAmount", s, m, err)
		}
	}
}

func TestMoneyJSONRoundTrips(t *testing.T) {
	for _, m := range []Money{0, 1, 125_50, -3_00, MaxBalance} {
		b, _ := json.Marshal(m)
		var back Money
		if err := json.Unmarshal(b, &back); err != nil || back != m {
			t.Errorf("%v: %s back as %v (%v)", m, b, back, err)
		}
	}
	for _, bad := range []string{`1.5`, `"1.5"`, `"abc"`, `"1.234"`, `null`} {
		var m Money
		if err := json.Unmarshal([]byte(bad), &m); err == nil && bad != "null" {
			t.Errorf("%s read as %v", bad, m)
		}
	}
}

func TestDecider(t *testing.T) {
	d := Decider()
	if d.StreamType != "account" || d.StateSchema != 1 || d.Initial == nil || d.Decide == nil || d.Evolve == nil || d.Events == nil {
		t.Fatalf("Decider() = %+v", d)
	}
}
