package reactions_test

import (
	"testing"
	"time"

	"github.com/foldboard/foldboard/domain/bank"
	"github.com/foldboard/foldboard/domain/cart"
	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/reactions"
)

func TestLoyaltyTable(t *testing.T) {
	added := cart.ItemAdded{SKU: "tea", Qty: 1, Price: 19_999}
	deposit := func(owner string, cents bank.Money, at int) []es.IssuedCommand {
		return []es.IssuedCommand{{Stream: es.StreamRef{Type: "account", ID: owner},
			Command: bank.Deposit{Amount: cents, Actor: "system/loyalty", At: givenAt.Add(time.Duration(at) * time.Minute)}}}
	}
	runTable(t, reactions.LoyaltyReaction(), cart.Events(), []row[cart.Event]{
		{name: "a checkout earns 1% of its total, rounded down to the cent", stream: cartRef("c-1"), actor: "ana",
			given: []cart.Event{added, cart.CheckedOut{Total: 19_999, Items: 1}}, then: deposit("ana", 199, 1)},
		{name: "a checkout of exactly 1.00 earns a cent", stream: cartRef("c-2"), actor: "ana",
			given: []cart.Event{cart.ItemAdded{SKU: "x", Qty: 1, Price: 100}, cart.CheckedOut{Total: 100, Items: 1}}, then: deposit("ana", 1, 1)},
		{name: "a checkout under 1.00 earns nothing", stream: cartRef("c-3"), actor: "ana",
			given: []cart.Event{cart.ItemAdded{SKU: "x", Qty: 1, Price: 99}, cart.CheckedOut{Total: 99, Items: 1}}, then: nil},
		{name: "an owner whose name is no account id earns nothing", stream: cartRef("c-4"), actor: "ana maria",
			given: []cart.Event{added, cart.CheckedOut{Total: 19_999, Items: 1}}, then: nil},
		{name: "an item added is no checkout", stream: cartRef("c-5"), actor: "ana",
			given: []cart.Event{added}, then: nil},
	})
}

func cartRef(id string) es.StreamRef { return es.StreamRef{Type: "cart", ID: id} }
