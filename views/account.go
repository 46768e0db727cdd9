package views

import "github.com/foldboard/foldboard/domain/bank"

// The bank account module's routes.
const (
	RouteAccounts        = "/accounts"
	RouteAccount         = "/accounts/{id}"
	RouteAccountDeposit  = "/accounts/{id}/deposit"
	RouteAccountWithdraw = "/accounts/{id}/withdraw"
	RouteAccountClose    = "/accounts/{id}/close"
)

// accountStatus is an account's status in a word: open or closed.
func accountStatus(s bank.State) string {
	if s.Open {
		return "open"
	}
	return "closed"
}
