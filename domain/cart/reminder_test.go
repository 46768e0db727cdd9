package cart

import (
	"testing"

	"github.com/foldboard/foldboard/es/decidertest"
)

func TestSendReminder(t *testing.T) {
	const system = "system/cart-reminder"
	remind := SendReminder{Actor: system}
	decidertest.Run(t, Decider(), []decidertest.Scenario[Command, Event]{
		{Name: "remind a cart with items", Given: []Event{addTea}, When: remind, Then: []Event{ReminderSent{}}},
		{Name: "remind once per quiet spell", Given: []Event{addTea, ReminderSent{}}, When: remind, Err: ErrAlreadyReminded},
		{Name: "an added item begins a new spell", Given: []Event{addTea, ReminderSent{}, addCup}, When: remind, Then: []Event{ReminderSent{}}},
		{Name: "a removed item begins a new spell", Given: []Event{addTea, addCup, ReminderSent{}, removeTea}, When: remind, Then: []Event{ReminderSent{}}},
		{Name: "remind a cart never started", When: remind, Err: ErrCartNotFound},
		{Name: "remind an emptied cart", Given: []Event{addTea, removeTea}, When: remind, Err: ErrEmptyCart},
		{Name: "remind a checked-out cart", Given: []Event{addTea, checked}, When: remind, Err: ErrCartCheckedOut},
		{Name: "a person may not send a reminder", Given: []Event{addTea}, When: SendReminder{Actor: "ana"}, Err: ErrRemindersBySystem},
		{Name: "nor may nobody", Given: []Event{addTea}, When: SendReminder{}, Err: ErrRemindersBySystem},
	})
}
