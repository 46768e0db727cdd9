package cart

import "github.com/foldboard/foldboard/es"

// SendReminder reminds the shopper of a cart left with items. Only a
// reaction sends it (Actor is a system actor: no person can be one, and no
// route offers it); the reaction decides when a cart has been quiet long
// enough, by its clock, and names the version it saw quiet, so that a cart
// that moved since refuses with a conflict. The decider takes no time: it
// checks only what the cart's events say.
type SendReminder struct {
	Actor string
}

// ReminderSent records a reminder; its payload is empty (docs/contract.md).
type ReminderSent struct{}

func (SendReminder) isCommand()        {}
func (ReminderSent) EventType() string { return "ReminderSent" }
func (ReminderSent) isEvent()          {}

// sendReminder accepts a reminder for a cart with items, not checked out,
// not reminded since its last change: once per quiet spell.
func sendReminder(c SendReminder, s State) ([]Event, error) {
	if !s.Exists {
		return nil, ErrCartNotFound.New("the cart does not exist")
	}
	if !es.IsSystemActor(c.Actor) {
		return nil, ErrRemindersBySystem.New("%.80q may not send reminders: only a reaction does", c.Actor)
	}
	if s.CheckedOut {
		return nil, ErrCartCheckedOut.New("the cart has been checked out")
	}
	if len(s.Lines) == 0 {
		return nil, ErrEmptyCart.New("the cart is empty")
	}
	if s.Reminded {
		return nil, ErrAlreadyReminded.New("a reminder was sent since the cart last changed")
	}
	return []Event{ReminderSent{}}, nil
}
