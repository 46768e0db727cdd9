// Package bank decides what happens to a bank account, the example of the
// event-sourcing guide every newcomer reads: an account is opened with an
// initial deposit, money is deposited and withdrawn, never beyond the
// balance, and it is closed only at a zero balance, after which nothing
// changes it. Amounts are exact (Money, in cents). Its owner is the actor
// who opened it, and only the owner may use it.
//
// Decide checks a command in a fixed order: that the account exists
// (Missing), that the actor owns it (Forbidden), the command's own values
// (Invalid), then the account's state (Refused). It is pure: the actor and
// the time arrive in the command.
package bank

import (
	"time"

	"github.com/foldboard/foldboard/es"
)

const (
	// StreamType is the type part of every account stream: "account/{id}".
	StreamType = "account"
	// StateSchema versions State as stored; bump it when State or Evolve changes.
	StateSchema = 1
)

// Command is one of OpenAccount, Deposit, Withdraw, CloseAccount (as values).
// Actor is who issues it; At is when, for the account's last activity.
type Command interface{ isCommand() }

// OpenAccount opens an account with InitialDeposit (0 or more) for Actor,
// its owner from then on.
type OpenAccount struct {
	InitialDeposit Money
	Actor          string
	At             time.Time
}

// Deposit adds Amount (more than 0) to the balance.
type Deposit struct {
	Amount Money
	Actor  string
	// Admin: an admin may do anything to any account.
	Admin bool
	At    time.Time
}

// Withdraw takes Amount (more than 0, at most the balance) from it.
type Withdraw struct {
	Amount Money
	Actor  string
	// Admin: an admin may do anything to any account.
	Admin bool
	At    time.Time
}

// CloseAccount closes an account whose balance is zero, for good.
type CloseAccount struct {
	Actor string
	Admin bool
	At    time.Time
}

func (OpenAccount) isCommand()  {}
func (Deposit) isCommand()      {}
func (Withdraw) isCommand()     {}
func (CloseAccount) isCommand() {}

// Event is one of AccountOpened, MoneyDeposited, MoneyWithdrawn,
// AccountClosed (as values); their type names are fixed.
type Event interface {
	es.Event
	isEvent()
}

// AccountOpened names the owner too: the state has no other way to know it.
type AccountOpened struct {
	InitialDeposit Money     `json:"initialDeposit"`
	Owner          string    `json:"owner"`
	At             time.Time `json:"at"`
}

type MoneyDeposited struct {
	Amount Money     `json:"amount"`
	At     time.Time `json:"at"`
}

type MoneyWithdrawn struct {
	Amount Money     `json:"amount"`
	At     time.Time `json:"at"`
}

type AccountClosed struct {
	At time.Time `json:"at"`
}

func (AccountOpened) EventType() string  { return "AccountOpened" }
func (MoneyDeposited) EventType() string { return "MoneyDeposited" }
func (MoneyWithdrawn) EventType() string { return "MoneyWithdrawn" }
func (AccountClosed) EventType() string  { return "AccountClosed" }

func (AccountOpened) isEvent()  {}
func (MoneyDeposited) isEvent() {}
func (MoneyWithdrawn) isEvent() {}
func (AccountClosed) isEvent()  {}

// State is an account as its events leave it; stored as JSON, it round-trips
// exactly.
type State struct {
	// Exists says the account was opened (it may be closed since).
	Exists  bool   `json:"exists"`
	Open    bool   `json:"open"`
	Owner   string `json:"owner"`
	Balance Money  `json:"balance"`
	// Transactions counts deposits and withdrawals, not the opening.
	Transactions int       `json:"transactions"`
	LastActivity time.Time `json:"lastActivity"`
}

// Initial is the state of an account stream with no events.
func Initial() State { return State{} }

// Decide returns the events cmd causes in state s, or a domain *es.Error.
func Decide(cmd Command, s State) ([]Event, error) {
	switch c := cmd.(type) {
	case OpenAccount:
		return open(c, s)
	case Deposit:
		if err := usable(s, depositor(c.Actor, s), c.Admin, &c.Amount); err != nil {
			return nil, err
		}
		if s.Balance > MaxBalance-c.Amount {
			return nil, ErrBalanceTooLarge.New("a balance of %s and %s more is over %s", s.Balance, c.Amount, MaxBalance)
		}
		return []Event{MoneyDeposited{Amount: c.Amount, At: c.At}}, nil
	case Withdraw:
		if err := usable(s, c.Actor, c.Admin, &c.Amount); err != nil {
			return nil, err
		}
		if c.Amount > s.Balance {
			return nil, ErrInsufficientFunds.New("the balance is %s, less than %s", s.Balance, c.Amount).WithDetail("balance", s.Balance.String())
		}
		return []Event{MoneyWithdrawn{Amount: c.Amount, At: c.At}}, nil
	case CloseAccount:
		if err := usable(s, c.Actor, c.Admin, nil); err != nil {
			return nil, err
		}
		if s.Balance != 0 {
			return nil, ErrBalanceNotZero.New("the balance is %s: withdraw it first", s.Balance).WithDetail("balance", s.Balance.String())
		}
		return []Event{AccountClosed{At: c.At}}, nil
	}
	return nil, ErrUnknownCommand.New("%T is not a bank account command", cmd)
}

func open(c OpenAccount, s State) ([]Event, error) {
	if c.InitialDeposit < 0 || c.InitialDeposit > MaxAmount {
		return nil, ErrBadAmount.New("initial deposit %s: want 0 to %s", c.InitialDeposit, MaxAmount)
	}
	if s.Exists && !s.Open {
		return nil, ErrAccountClosed.New("the account has been closed")
	}
	if s.Exists {
		return nil, ErrAlreadyOpen.New("the account is already open")
	}
	return []Event{AccountOpened{InitialDeposit: c.InitialDeposit, Owner: c.Actor, At: c.At}}, nil
}

// depositor is who a deposit counts as coming from: a reaction (a system
// actor, which no person can be: es.IsSystemActor) may deposit into anyone's
// account, as the loyalty reaction's cash back does, and counts as the
// owner; for a deposit only, never a withdrawal or a close.
func depositor(actor string, s State) string {
	if es.IsSystemActor(actor) {
		return s.Owner
	}
	return actor
}

// usable checks, in Decide's order, what every command but OpenAccount
// needs: that the account exists, that actor owns it, that the amount (of a
// command that has one) is more than 0 and at most MaxAmount, and that the
// account is open.
func usable(s State, actor string, admin bool, amount *Money) error {
	if !s.Exists {
		return ErrAccountNotFound.New("the account has never been opened")
	}
	if actor != s.Owner && !admin {
		return ErrNotOwner.New("the account is %s's", s.Owner)
	}
	if amount != nil && (*amount <= 0 || *amount > MaxAmount) {
		return ErrBadAmount.New("amount %s: want more than 0 and at most %s", *amount, MaxAmount)
	}
	if !s.Open {
		return ErrAccountClosed.New("the account has been closed")
	}
	return nil
}

// Evolve returns the state after event e. State holds no references, so the
// old state stands.
func Evolve(s State, e Event) State {
	switch e := e.(type) {
	case AccountOpened:
		s = State{Exists: true, Open: true, Owner: e.Owner, Balance: e.InitialDeposit, LastActivity: e.At}
	case MoneyDeposited:
		s.Balance += e.Amount
		s.Transactions++
		s.LastActivity = e.At
	case MoneyWithdrawn:
		s.Balance -= e.Amount
		s.Transactions++
		s.LastActivity = e.At
	case AccountClosed:
		s.Open = false
		s.LastActivity = e.At
	}
	return s
}

// Events is a registry of the account's event types, each at schema version 1.
func Events() *es.Registry[Event] {
	r := es.NewRegistry[Event]()
	es.Register[AccountOpened](r, 1)
	es.Register[MoneyDeposited](r, 1)
	es.Register[MoneyWithdrawn](r, 1)
	es.Register[AccountClosed](r, 1)
	return r
}

// Decider is the bank account decider, for es.Handler.
func Decider() es.Decider[State, Command, Event] {
	return es.Decider[State, Command, Event]{
		StreamType:  StreamType,
		StateSchema: StateSchema,
		Initial:     Initial,
		Decide:      Decide,
		Evolve:      Evolve,
		Events:      Events(),
	}
}
