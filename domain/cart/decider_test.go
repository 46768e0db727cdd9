package cart

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/es/decidertest"
)

var (
	addTea    = ItemAdded{SKU: "tea-1", Qty: 2, Price: 1999}
	addCup    = ItemAdded{SKU: "cup.blue_2", Qty: 1, Price: 550}
	removeTea = ItemRemoved{SKU: "tea-1"}
	checked   = CheckedOut{Total: 4548, Items: 3}
	anasTea   = ItemAdded{SKU: "tea-1", Qty: 2, Price: 1999, Owner: "ana"}
)

// full is a cart of MaxLines distinct skus, the last "sku-999".
func full() []Event {
	events := make([]Event, MaxLines)
	for i := range events {
		events[i] = ItemAdded{SKU: fmt.Sprintf("sku-%d", i), Qty: 1, Price: 100}
	}
	return events
}

type scenario = decidertest.Scenario[Command, Event]

func TestDecide(t *testing.T) {
	sku64 := strings.Repeat("A", 64)
	decidertest.Run(t, Decider(), []scenario{
		// Owners: whoever adds the first item; only they, and admins, after.
		{Name: "the first item makes its adder the owner", When: AddItem{SKU: "tea-1", Qty: 2, Price: 1999, Actor: "ana"},
			Then: []Event{ItemAdded{SKU: "tea-1", Qty: 2, Price: 1999, Owner: "ana"}}},
		{Name: "the owner adds more, with no owner on the event", Given: []Event{anasTea}, When: AddItem{SKU: "cup.blue_2", Qty: 1, Price: 550, Actor: "ana"}, Then: []Event{addCup}},
		{Name: "someone else adds to the owner's cart", Given: []Event{anasTea}, When: AddItem{SKU: "cup.blue_2", Qty: 1, Price: 550, Actor: "ben"}, Err: ErrNotOwner},
		{Name: "someone else removes from it", Given: []Event{anasTea}, When: RemoveItem{SKU: "tea-1", Actor: "ben"}, Err: ErrNotOwner},
		{Name: "someone else checks it out", Given: []Event{anasTea}, When: CheckOut{Actor: "ben"}, Err: ErrNotOwner},
		{Name: "the owner's name must match exactly", Given: []Event{anasTea}, When: CheckOut{Actor: "Ana"}, Err: ErrNotOwner},
		{Name: "no one is not the owner", Given: []Event{anasTea}, When: CheckOut{}, Err: ErrNotOwner},
		{Name: "an admin adds to it", Given: []Event{anasTea}, When: AddItem{SKU: "cup.blue_2", Qty: 1, Price: 550, Actor: "root", Admin: true}, Then: []Event{addCup}},
		{Name: "an admin checks it out", Given: []Event{anasTea}, When: CheckOut{Actor: "root", Admin: true}, Then: []Event{CheckedOut{Total: 3998, Items: 2}}},
		{Name: "the owner checks out", Given: []Event{anasTea}, When: CheckOut{Actor: "ana"}, Then: []Event{CheckedOut{Total: 3998, Items: 2}}},
		{Name: "a missing cart is missing before it is anyone's", When: RemoveItem{SKU: "tea-1", Actor: "ben"}, Err: ErrCartNotFound},
		{Name: "someone else is refused before the values", Given: []Event{anasTea}, When: AddItem{SKU: "", Qty: 0, Actor: "ben"}, Err: ErrNotOwner},
		{Name: "a cart from before owners is anyone's", Given: []Event{addTea}, When: CheckOut{Actor: "ben"}, Then: []Event{CheckedOut{Total: 3998, Items: 2}}},
		// AddItem
		{Name: "add to a new cart", When: AddItem{SKU: "tea-1", Qty: 2, Price: 1999}, Then: []Event{addTea}},
		{Name: "add another sku", Given: []Event{addTea}, When: AddItem{SKU: "cup.blue_2", Qty: 1, Price: 550}, Then: []Event{addCup}},
		{Name: "add more of a sku at its price", Given: []Event{addTea}, When: AddItem{SKU: "tea-1", Qty: 3, Price: 1999}, Then: []Event{ItemAdded{SKU: "tea-1", Qty: 3, Price: 1999}}},
		{Name: "add a free item", When: AddItem{SKU: "gift", Qty: 1, Price: 0}, Then: []Event{ItemAdded{SKU: "gift", Qty: 1, Price: 0}}},
		{Name: "add at the highest price", When: AddItem{SKU: "car", Qty: 1, Price: MaxPrice}, Then: []Event{ItemAdded{SKU: "car", Qty: 1, Price: MaxPrice}}},
		{Name: "add 9,999 at once", When: AddItem{SKU: "pin", Qty: 9_999, Price: 1}, Then: []Event{ItemAdded{SKU: "pin", Qty: 9_999, Price: 1}}},
		{Name: "add a sku of 64 characters", When: AddItem{SKU: sku64, Qty: 1, Price: 1}, Then: []Event{ItemAdded{SKU: sku64, Qty: 1, Price: 1}}},
		{Name: "add to a line up to 9,999", Given: []Event{addTea}, When: AddItem{SKU: "tea-1", Qty: 9_997, Price: 1999}, Then: []Event{ItemAdded{SKU: "tea-1", Qty: 9_997, Price: 1999}}},
		{Name: "add again a removed sku at a new price", Given: []Event{addTea, removeTea}, When: AddItem{SKU: "tea-1", Qty: 1, Price: 2500}, Then: []Event{ItemAdded{SKU: "tea-1", Qty: 1, Price: 2500}}},
		{Name: "skus differ by case", Given: []Event{addTea}, When: AddItem{SKU: "TEA-1", Qty: 1, Price: 5}, Then: []Event{ItemAdded{SKU: "TEA-1", Qty: 1, Price: 5}}},
		{Name: "add more of a sku to a full cart", Given: full(), When: AddItem{SKU: "sku-999", Qty: 4, Price: 100}, Then: []Event{ItemAdded{SKU: "sku-999", Qty: 4, Price: 100}}},
		{Name: "add a new sku to a full cart", Given: full(), When: AddItem{SKU: "one-more", Qty: 1, Price: 100}, Err: ErrCartFull},
		{Name: "add a sku to a full cart after a removal", Given: append(full(), ItemRemoved{SKU: "sku-0"}), When: AddItem{SKU: "one-more", Qty: 1, Price: 100}, Then: []Event{ItemAdded{SKU: "one-more", Qty: 1, Price: 100}}},
		{Name: "add without a sku", When: AddItem{SKU: "", Qty: 1, Price: 1}, Err: ErrBadSKU},
		{Name: "add a sku of 65 characters", When: AddItem{SKU: sku64 + "A", Qty: 1, Price: 1}, Err: ErrBadSKU},
		{Name: "add a sku with a space", When: AddItem{SKU: "tea 1", Qty: 1, Price: 1}, Err: ErrBadSKU},
		{Name: "add a sku with a slash", When: AddItem{SKU: "tea/1", Qty: 1, Price: 1}, Err: ErrBadSKU},
		{Name: "add a sku with a non-ASCII letter", When: AddItem{SKU: "thé", Qty: 1, Price: 1}, Err: ErrBadSKU},
		{Name: "add no items", When: AddItem{SKU: "tea-1", Qty: 0, Price: 1}, Err: ErrBadQty},
		{Name: "add a negative quantity", When: AddItem{SKU: "tea-1", Qty: -3, Price: 1}, Err: ErrBadQty},
		{Name: "add 10,000 at once", When: AddItem{SKU: "tea-1", Qty: 10_000, Price: 1}, Err: ErrBadQty},
		{Name: "add at a negative price", When: AddItem{SKU: "tea-1", Qty: 1, Price: -1}, Err: ErrBadPrice},
		{Name: "add above the highest price", When: AddItem{SKU: "tea-1", Qty: 1, Price: MaxPrice + 1}, Err: ErrBadPrice},
		{Name: "add more of a sku at another price", Given: []Event{addTea}, When: AddItem{SKU: "tea-1", Qty: 1, Price: 1899}, Err: ErrPriceMismatch},
		{Name: "add to a line beyond 9,999", Given: []Event{addTea}, When: AddItem{SKU: "tea-1", Qty: 9_998, Price: 1999}, Err: ErrQtyTooLarge},
		{Name: "add to a checked-out cart", Given: []Event{addTea, addCup, checked}, When: AddItem{SKU: "tea-1", Qty: 1, Price: 1999}, Err: ErrCartCheckedOut},
		{Name: "bad values are invalid in a checked-out cart", Given: []Event{addTea, checked}, When: AddItem{SKU: "tea-1", Qty: 0, Price: 1999}, Err: ErrBadQty},

		// RemoveItem
		{Name: "remove an item", Given: []Event{addTea, addCup}, When: RemoveItem{SKU: "tea-1"}, Then: []Event{removeTea}},
		{Name: "remove the last item", Given: []Event{addTea}, When: RemoveItem{SKU: "tea-1"}, Then: []Event{removeTea}},
		{Name: "remove from a cart that does not exist", When: RemoveItem{SKU: "tea-1"}, Err: ErrCartNotFound},
		{Name: "a missing cart is found out before a bad sku", When: RemoveItem{SKU: "no such sku!"}, Err: ErrCartNotFound},
		{Name: "remove a bad sku", Given: []Event{addTea}, When: RemoveItem{SKU: "tea 1"}, Err: ErrBadSKU},
		{Name: "remove a sku not in the cart", Given: []Event{addTea}, When: RemoveItem{SKU: "cup.blue_2"}, Err: ErrItemNotInCart},
		{Name: "remove a sku twice", Given: []Event{addTea, addCup, removeTea}, When: RemoveItem{SKU: "tea-1"}, Err: ErrItemNotInCart},
		{Name: "remove from an emptied cart", Given: []Event{addTea, removeTea}, When: RemoveItem{SKU: "tea-1"}, Err: ErrItemNotInCart},
		{Name: "remove from a checked-out cart", Given: []Event{addTea, addCup, checked}, When: RemoveItem{SKU: "tea-1"}, Err: ErrCartCheckedOut},

		// CheckOut
		{Name: "check out", Given: []Event{addTea, addCup}, When: CheckOut{}, Then: []Event{checked}},
		{Name: "check out counts every item", Given: []Event{addTea, addCup, ItemAdded{SKU: "tea-1", Qty: 5, Price: 1999}}, When: CheckOut{},
			Then: []Event{CheckedOut{Total: 7*1999 + 550, Items: 8}}},
		{Name: "check out after a removal", Given: []Event{addTea, addCup, removeTea}, When: CheckOut{}, Then: []Event{CheckedOut{Total: 550, Items: 1}}},
		{Name: "check out free items", Given: []Event{ItemAdded{SKU: "gift", Qty: 3, Price: 0}}, When: CheckOut{}, Then: []Event{CheckedOut{Total: 0, Items: 3}}},
		{Name: "check out the largest cart", Given: []Event{ItemAdded{SKU: "car", Qty: MaxQty, Price: MaxPrice}}, When: CheckOut{},
			Then: []Event{CheckedOut{Total: MaxPrice * MaxQty, Items: MaxQty}}},
		{Name: "check out a cart that does not exist", When: CheckOut{}, Err: ErrCartNotFound},
		{Name: "check out an emptied cart", Given: []Event{addTea, removeTea}, When: CheckOut{}, Err: ErrEmptyCart},
		{Name: "check out twice", Given: []Event{addTea, addCup, checked}, When: CheckOut{}, Err: ErrCartCheckedOut},

		// Not a command
		{Name: "a nil command", When: nil, Err: ErrUnknownCommand},
		{Name: "a pointer to a command", Given: []Event{addTea}, When: &CheckOut{}, Err: ErrUnknownCommand},
	})
}

func TestEvolve(t *testing.T) {
	for _, tc := range []struct {
		name  string
		given []Event
		want  State
	}{
		{"no events", nil, State{Lines: []Line{}}},
		{"one item", []Event{addTea}, State{Exists: true, Lines: []Line{{"tea-1", 2, 1999}}, Total: 3998, Items: 2}},
		{"lines keep the order of insertion", []Event{addTea, addCup, ItemAdded{SKU: "tea-1", Qty: 1, Price: 1999}},
			State{Exists: true, Lines: []Line{{"tea-1", 3, 1999}, {"cup.blue_2", 1, 550}}, Total: 6547, Items: 4}},
		{"a removed line goes", []Event{addTea, addCup, removeTea}, State{Exists: true, Lines: []Line{{"cup.blue_2", 1, 550}}, Total: 550, Items: 1}},
		{"an emptied cart still exists", []Event{addTea, removeTea}, State{Exists: true, Lines: []Line{}}},
		{"a sku added again goes to the end", []Event{addTea, addCup, removeTea, ItemAdded{SKU: "tea-1", Qty: 1, Price: 2000}},
			State{Exists: true, Lines: []Line{{"cup.blue_2", 1, 550}, {"tea-1", 1, 2000}}, Total: 2550, Items: 2}},
		{"checked out", []Event{addTea, addCup, checked},
			State{Exists: true, Lines: []Line{{"tea-1", 2, 1999}, {"cup.blue_2", 1, 550}}, CheckedOut: true, Total: 4548, Items: 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := es.Fold(Evolve, Initial(), tc.given); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestStateLine(t *testing.T) {
	s := es.Fold(Evolve, Initial(), []Event{addTea, addCup})
	if l, ok := s.Line("cup.blue_2"); !ok || l != (Line{"cup.blue_2", 1, 550}) || l.Amount() != 550 {
		t.Errorf("Line(cup.blue_2) = %+v, %v", l, ok)
	}
	if l, ok := s.Line("nope"); ok {
		t.Errorf("Line(nope) = %+v, true", l)
	}
}

func TestEvolveIgnoresForeignEvents(t *testing.T) {
	decidertest.IgnoresForeignEvents(t, Decider(), []Event{addTea})
}

func TestEvolveDoesNotChangeItsState(t *testing.T) {
	base := es.Fold(Evolve, Initial(), []Event{addTea, addCup})
	// Room to grow in place: an append without a copy would write into it.
	base.Lines = append(make([]Line, 0, 8), base.Lines...)

	branches := decidertest.Branches(t, Decider(), base, []Event{
		ItemAdded{SKU: "tea-1", Qty: 5, Price: 1999},
		ItemAdded{SKU: "pot", Qty: 1, Price: 3000},
		ItemAdded{SKU: "jar", Qty: 2, Price: 400},
		removeTea,
		checked,
	})
	if got := branches[0].Lines[0].Qty; got != 7 {
		t.Errorf("branch 0: tea-1 qty %d, want 7", got)
	}
	if got := branches[1].Lines[2].SKU; got != "pot" {
		t.Errorf("branch 1: third line %q, want pot (branches share lines)", got)
	}
	if got := branches[3].Lines; len(got) != 1 || got[0].SKU != "cup.blue_2" {
		t.Errorf("branch 3: lines %+v", got)
	}
}

func TestStateRoundTripsThroughJSON(t *testing.T) {
	histories := [][]Event{
		nil,
		{addTea},
		{addTea, removeTea},
		{addTea, addCup, checked},
		{ItemAdded{SKU: "car", Qty: MaxQty, Price: MaxPrice}, CheckedOut{Total: MaxPrice * MaxQty, Items: MaxQty}},
		full(),
	}
	// Loaded as es.Handler loads it: into Initial(), and into a zero State.
	decidertest.RoundTrips(t, Decider(), histories, State{})
	b, _ := json.Marshal(es.Fold(Evolve, Initial(), []Event{addTea, addCup, checked}))
	want := `{"exists":true,"lines":[{"sku":"tea-1","qty":2,"price":"19.99"},{"sku":"cup.blue_2","qty":1,"price":"5.50"}],` +
		`"checkedOut":true,"total":"45.48","items":3}`
	if string(b) != want {
		t.Errorf("state JSON\n got %s\nwant %s", b, want)
	}
}

func TestEventsEncodeAsTheContractSays(t *testing.T) {
	reg := Decider().Events
	decidertest.EncodesAs(t, reg, []decidertest.Encoding[Event]{
		{Event: addTea, Name: "ItemAdded", Schema: 1, Data: `{"sku":"tea-1","qty":2,"price":"19.99"}`},
		{Event: removeTea, Name: "ItemRemoved", Schema: 1, Data: `{"sku":"tea-1"}`},
		{Event: checked, Name: "CheckedOut", Schema: 1, Data: `{"total":"45.48","items":3}`},
		{Event: ReminderSent{}, Name: "ReminderSent", Schema: 1, Data: `{}`},
	})
	// A price written as a JSON number is read exactly.
	e, err := reg.Decode("ItemAdded", 1, json.RawMessage(`{"sku":"x","qty":1,"price":0.1}`))
	if err != nil || e != (ItemAdded{SKU: "x", Qty: 1, Price: 10}) {
		t.Errorf("Decode with a number price = %#v, %v", e, err)
	}
}

func TestDecider(t *testing.T) {
	d := Decider()
	if d.StreamType != "cart" || d.StateSchema != 3 || d.Initial == nil || d.Decide == nil || d.Evolve == nil || d.Events == nil {
		t.Fatalf("Decider() = %+v", d)
	}
}

func TestErrorCodesAreStable(t *testing.T) {
	decidertest.ErrorCodes(t, []decidertest.Code{
		{Err: ErrCartNotFound, Code: "CartNotFound", Kind: es.Missing},
		{Err: ErrCartCheckedOut, Code: "CartCheckedOut", Kind: es.Refused},
		{Err: ErrItemNotInCart, Code: "ItemNotInCart", Kind: es.Refused},
		{Err: ErrAlreadyReminded, Code: "AlreadyReminded", Kind: es.Refused},
		{Err: ErrRemindersBySystem, Code: "RemindersBySystem", Kind: es.Forbidden},
		{Err: ErrEmptyCart, Code: "EmptyCart", Kind: es.Refused},
		{Err: ErrPriceMismatch, Code: "PriceMismatch", Kind: es.Refused},
		{Err: ErrCartFull, Code: "CartFull", Kind: es.Refused},
		{Err: ErrBadSKU, Code: "BadSKU", Kind: es.Invalid},
		{Err: ErrBadQty, Code: "BadQty", Kind: es.Invalid},
		{Err: ErrQtyTooLarge, Code: "QtyTooLarge", Kind: es.Invalid},
		{Err: ErrBadPrice, Code: "BadPrice", Kind: es.Invalid},
		{Err: ErrUnknownCommand, Code: "UnknownCommand", Kind: es.Invalid},
	})
	if !errors.Is(ErrCartNotFound, es.ErrNotFound) {
		t.Error("ErrCartNotFound does not match es.ErrNotFound")
	}
}
