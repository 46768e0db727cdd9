package bank

import "github.com/foldboard/foldboard/es"

// The bank account's domain errors: sentinels for errors.Is (an *es.Error
// matches another with the same code); Decide returns a fresh copy of one
// (es.Error.New) with a message about the command at hand.
var (
	// ErrAccountNotFound: any command but OpenAccount on an account never
	// opened.
	ErrAccountNotFound = &es.Error{Kind: es.Missing, Code: "AccountNotFound", Message: "the account does not exist"}
	// ErrNotOwner: a command by anyone but the actor who opened the account.
	ErrNotOwner = &es.Error{Kind: es.Forbidden, Code: "NotOwner", Message: "only the account's owner may do that"}
	// ErrAlreadyOpen: OpenAccount of an account that is open.
	ErrAlreadyOpen = &es.Error{Kind: es.Refused, Code: "AlreadyOpen", Message: "the account is already open"}
	// ErrAccountClosed: any command on a closed account.
	ErrAccountClosed = &es.Error{Kind: es.Refused, Code: "AccountClosed", Message: "the account is closed"}
	// ErrInsufficientFunds: Withdraw of more than the balance; its details
	// carry the balance.
	ErrInsufficientFunds = &es.Error{Kind: es.Refused, Code: "InsufficientFunds", Message: "the balance is less than the amount"}
	// ErrBalanceNotZero: CloseAccount of an account that holds money.
	ErrBalanceNotZero = &es.Error{Kind: es.Refused, Code: "BalanceNotZero", Message: "only an account with a zero balance may be closed"}
	// ErrBalanceTooLarge: Deposit that would take the balance above MaxBalance.
	ErrBalanceTooLarge = &es.Error{Kind: es.Refused, Code: "BalanceTooLarge", Message: "the balance would be more than an account may hold"}

	// ErrBadAmount: an amount that is zero (but an opening deposit's),
	// negative, above MaxAmount, or with more than 2 decimals.
	ErrBadAmount = &es.Error{Kind: es.Invalid, Code: "BadAmount", Message: "amount: want more than 0, at most 1000000, with at most 2 decimals"}
	// ErrUnknownCommand: a nil command, or a pointer to one.
	ErrUnknownCommand = &es.Error{Kind: es.Invalid, Code: "UnknownCommand", Message: "not a bank account command"}
)
