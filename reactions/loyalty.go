package reactions

import (
	"github.com/foldboard/foldboard/domain/bank"
	"github.com/foldboard/foldboard/domain/cart"
	"github.com/foldboard/foldboard/es"
)

// LoyaltyReaction answers CheckedOut on a cart by depositing 1% of its
// total, rounded down to the cent, into account/{owner}, as system/loyalty:
// once per checkout (its command id comes from the checkout's event). The
// owner is the checkout's actor (only a cart's owner may check it out). An
// account that was never opened, or is closed, refuses the deposit: the
// refusal is the reaction's outcome. Nothing is deposited for a total under
// 1.00 (1% of it rounds down to nothing), nor for an owner whose name is
// not a stream id (a name with a space, say: no account can bear it). The
// deposit's time is the checkout's, so that a replay asks for the same
// deposit.
func LoyaltyReaction() es.Reaction {
	return es.OnEvent(Loyalty, cart.Events(), []string{"CheckedOut"}, loyalty)
}

// CashBack is what a checkout of total earns: 1%, rounded down to the cent.
func CashBack(total cart.Money) bank.Money { return bank.Money(total / 100) }

func loyalty(env es.Envelope, e cart.Event) []es.IssuedCommand {
	out, ok := e.(cart.CheckedOut)
	if !ok || env.Stream.Type != cart.StreamType {
		return nil
	}
	back := CashBack(out.Total)
	account := es.StreamRef{Type: bank.StreamType, ID: env.Actor}
	if back <= 0 || account.Validate() != nil {
		return nil
	}
	return []es.IssuedCommand{{Stream: account, Command: bank.Deposit{Amount: back, Actor: es.SystemActor(Loyalty), At: env.Time}}}
}
