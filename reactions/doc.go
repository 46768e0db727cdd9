// Package reactions holds foldboard's reactions: the policies that answer
// an event of one domain with commands for another (docs/contract.md,
// "Reactions"). Each is a pure function, from an event (and the state of its
// stream at that event) or from a timed schedule and the time, to commands;
// es.Reactor runs them, exactly once per event, as the actor
// system/{reaction}.
//
// Who may do what, for identity's owner rules: a reaction's commands carry
// the actor es.SystemActor(name), which no person can sign in as. The rules
// a decider needs for them:
//   - match-report creates post/report-{id} with itself as the author, and
//     publishes it as that author: the ordinary author rule holds, nothing
//     special is needed;
//   - loyalty deposits into account/{owner}, someone else's account: the
//     account decider accepts a Deposit from any system actor as from the
//     owner (domain/bank's depositor), and nothing else from it: no
//     withdrawal, no close. The owner is the checkout's actor, so the
//     cart's owner rule (only the owner checks out) is what makes the cash
//     back go to the right account;
//   - cart-reminder's SendReminder is accepted from
//     es.SystemActor(CartReminder) only (no route offers it to people).
package reactions

import (
	"time"

	"github.com/foldboard/foldboard/es"
)

// The reactions' names: their actors are es.SystemActor(name).
const (
	MatchReport  = "match-report"
	Loyalty      = "loyalty"
	CartReminder = "cart-reminder"
)

// WithReminderAfter is rs with the cart reminder, if it is one of them,
// made anew to wait after (-reminder-after).
func WithReminderAfter(rs []es.Reaction, after time.Duration) []es.Reaction {
	out := make([]es.Reaction, len(rs))
	for i, r := range rs {
		if r.Name == CartReminder {
			r = CartReminderReaction(after)
		}
		out[i] = r
	}
	return out
}

// CauseTypes are the event types the reactions answer, for the read model
// of chains of causes (projections.Chains).
func CauseTypes(rs []es.Reaction) []string {
	var out []string
	for _, r := range rs {
		if r.Schedule == nil {
			out = append(out, r.Types...)
		}
	}
	return out
}
