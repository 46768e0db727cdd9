package bank

import (
	"testing"

	"github.com/foldboard/foldboard/es/decidertest"
)

func TestAReactionMayDepositIntoAnyAccountAndDoNothingElse(t *testing.T) {
	const loyalty = "system/loyalty"
	decidertest.Run(t, Decider(), []scenario{
		{Name: "a reaction's deposit", Given: []Event{opened}, When: Deposit{Amount: 1_99, Actor: loyalty, At: t1}, Then: []Event{MoneyDeposited{Amount: 1_99, At: t1}}},
		{Name: "a reaction's deposit into a closed account", Given: []Event{openedNil, closed}, When: Deposit{Amount: 1, Actor: loyalty, At: t1}, Err: ErrAccountClosed},
		{Name: "a reaction's deposit into no account", When: Deposit{Amount: 1, Actor: loyalty, At: t1}, Err: ErrAccountNotFound},
		{Name: "a reaction's withdrawal", Given: []Event{opened}, When: Withdraw{Amount: 1, Actor: loyalty, At: t1}, Err: ErrNotOwner},
		{Name: "a reaction's close", Given: []Event{openedNil}, When: CloseAccount{Actor: loyalty, At: t1}, Err: ErrNotOwner},
		{Name: "someone else's deposit", Given: []Event{opened}, When: Deposit{Amount: 1, Actor: "bo", At: t1}, Err: ErrNotOwner},
	})
}
