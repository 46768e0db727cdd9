package cart

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/foldboard/foldboard/es"
)

var (
	addTea    = ItemAdded{SKU: "tea-1", Qty: 2, Price: 1999}
	addCup    = ItemAdded{SKU: "cup.blue_2", Qty: 1, Price: 550}
	removeTea = ItemRemoved{SKU: "tea-1"}
	checked   = CheckedOut{Total: 4548, Items: 3}
)

// full is a cart of MaxLines distinct skus, the last "sku-999".
func full() []Event {
	events := make([]Event, MaxLines)
	for i := range events {
		events[i] = ItemAdded{SKU: fmt.Sprintf("sku-%d", i), Qty: 1, Price: 100}
	}
	return events
}

type scenario struct {
	name  string
	given []Event
	when  Command
	then  []Event   // the events decided, when err is nil
	err   *es.Error // the sentinel whose code and kind the error must have
}

func TestDecide(t *testing.T) {
	sku64 := strings.Repeat("A", 64)
	run(t, []scenario{
		// AddItem
		{name: "add to a new cart", when: AddItem{SKU: "tea-1", Qty: 2, Price: 1999}, then: []Event{addTea}},
		{name: "add another sku", given: []Event{addTea}, when: AddItem{SKU: "cup.blue_2", Qty: 1, Price: 550}, then: []Event{addCup}},
		{name: "add more of a sku at its price", given: []Event{addTea}, when: AddItem{SKU: "tea-1", Qty: 3, Price: 1999}, then: []Event{ItemAdded{SKU: "tea-1", Qty: 3, Price: 1999}}},
		{name: "add a free item", when: AddItem{SKU: "gift", Qty: 1, Price: 0}, then: []Event{ItemAdded{SKU: "gift", Qty: 1, Price: 0}}},
		{name: "add at the highest price", when: AddItem{SKU: "car", Qty: 1, Price: MaxPrice}, then: []Event{ItemAdded{SKU: "car", Qty: 1, Price: MaxPrice}}},
		{name: "add 9,999 at once", when: AddItem{SKU: "pin", Qty: 9_999, Price: 1}, then: []Event{ItemAdded{SKU: "pin", Qty: 9_999, Price: 1}}},
		{name: "add a sku of 64 characters", when: AddItem{SKU: sku64, Qty: 1, Price: 1}, then: []Event{ItemAdded{SKU: sku64, Qty: 1, Price: 1}}},
		{name: "add to a line up to 9,999", given: []Event{addTea}, when: AddItem{SKU: "tea-1", Qty: 9_997, Price: 1999}, then: []Event{ItemAdded{SKU: "tea-1", Qty: 9_997, Price: 1999}}},
		{name: "add again a removed sku at a new price", given: []Event{addTea, removeTea}, when: AddItem{SKU: "tea-1", Qty: 1, Price: 2500}, then: []Event{ItemAdded{SKU: "tea-1", Qty: 1, Price: 2500}}},
		{name: "skus differ by case", given: []Event{addTea}, when: AddItem{SKU: "TEA-1", Qty: 1, Price: 5}, then: []Event{ItemAdded{SKU: "TEA-1", Qty: 1, Price: 5}}},
		{name: "add more of a sku to a full cart", given: full(), when: AddItem{SKU: "sku-999", Qty: 4, Price: 100}, then: []Event{ItemAdded{SKU: "sku-999", Qty: 4, Price: 100}}},
		{name: "add a new sku to a full cart", given: full(), when: AddItem{SKU: "one-more", Qty: 1, Price: 100}, err: ErrCartFull},
		{name: "add a sku to a full cart after a removal", given: append(full(), ItemRemoved{SKU: "sku-0"}), when: AddItem{SKU: "one-more", Qty: 1, Price: 100}, then: []Event{ItemAdded{SKU: "one-more", Qty: 1, Price: 100}}},
		{name: "add without a sku", when: AddItem{SKU: "", Qty: 1, Price: 1}, err: ErrBadSKU},
		{name: "add a sku of 65 characters", when: AddItem{SKU: sku64 + "A", Qty: 1, Price: 1}, err: ErrBadSKU},
		{name: "add a sku with a space", when: AddItem{SKU: "tea 1", Qty: 1, Price: 1}, err: ErrBadSKU},
		{name: "add a sku with a slash", when: AddItem{SKU: "tea/1", Qty: 1, Price: 1}, err: ErrBadSKU},
		{name: "add a sku with a non-ASCII letter", when: AddItem{SKU: "thé", Qty: 1, Price: 1}, err: ErrBadSKU},
		{name: "add no items", when: AddItem{SKU: "tea-1", Qty: 0, Price: 1}, err: ErrBadQty},
		{name: "add a negative quantity", when: AddItem{SKU: "tea-1", Qty: -3, Price: 1}, err: ErrBadQty},
		{name: "add 10,000 at once", when: AddItem{SKU: "tea-1", Qty: 10_000, Price: 1}, err: ErrBadQty},
		{name: "add at a negative price", when: AddItem{SKU: "tea-1", Qty: 1, Price: -1}, err: ErrBadPrice},
		{name: "add above the highest price", when: AddItem{SKU: "tea-1", Qty: 1, Price: MaxPrice + 1}, err: ErrBadPrice},
		{name: "add more of a sku at another price", given: []Event{addTea}, when: AddItem{SKU: "tea-1", Qty: 1, Price: 1899}, err: ErrPriceMismatch},
		{name: "add to a line beyond 9,999", given: []Event{addTea}, when: AddItem{SKU: "tea-1", Qty: 9_998, Price: 1999}, err: ErrQtyTooLarge},
		{name: "add to a checked-out cart", given: []Event{addTea, addCup, checked}, when: AddItem{SKU: "tea-1", Qty: 1, Price: 1999}, err: ErrCartCheckedOut},
		{name: "bad values are invalid in a checked-out cart", given: []Event{addTea, checked}, when: AddItem{SKU: "tea-1", Qty: 0, Price: 1999}, err: ErrBadQty},

		// RemoveItem
		{name: "remove an item", given: []Event{addTea, addCup}, when: RemoveItem{SKU: "tea-1"}, then: []Event{removeTea}},
		{name: "remove the last item", given: []Event{addTea}, when: RemoveItem{SKU: "tea-1"}, then: []Event{removeTea}},
		{name: "remove from a cart that does not exist", when: RemoveItem{SKU: "tea-1"}, err: ErrCartNotFound},
		{name: "a missing cart is found out before a bad sku", when: RemoveItem{SKU: "no such sku!"}, err: ErrCartNotFound},
		{name: "remove a bad sku", given: []Event{addTea}, when: RemoveItem{SKU: "tea 1"}, err: ErrBadSKU},
		{name: "remove a sku not in the cart", given: []Event{addTea}, when: RemoveItem{SKU: "cup.blue_2"}, err: ErrItemNotInCart},
		{name: "remove a sku twice", given: []Event{addTea, addCup, removeTea}, when: RemoveItem{SKU: "tea-1"}, err: ErrItemNotInCart},
		{name: "remove from an emptied cart", given: []Event{addTea, removeTea}, when: RemoveItem{SKU: "tea-1"}, err: ErrItemNotInCart},
		{name: "remove from a checked-out cart", given: []Event{addTea, addCup, checked}, when: RemoveItem{SKU: "tea-1"}, err: ErrCartCheckedOut},

		// CheckOut
		{name: "check out", given: []Event{addTea, addCup}, when: CheckOut{}, then: []Event{checked}},
		{name: "check out counts every item", given: []Event{addTea, addCup, ItemAdded{SKU: "tea-1", Qty: 5, Price: 1999}}, when: CheckOut{},
			then: []Event{CheckedOut{Total: 7*1999 + 550, Items: 8}}},
		{name: "check out after a removal", given: []Event{addTea, addCup, removeTea}, when: CheckOut{}, then: []Event{CheckedOut{Total: 550, Items: 1}}},
		{name: "check out free items", given: []Event{ItemAdded{SKU: "gift", Qty: 3, Price: 0}}, when: CheckOut{}, then: []Event{CheckedOut{Total: 0, Items: 3}}},
		{name: "check out the largest cart", given: []Event{ItemAdded{SKU: "car", Qty: MaxQty, Price: MaxPrice}}, when: CheckOut{},
			then: []Event{CheckedOut{Total: MaxPrice * MaxQty, Items: MaxQty}}},
		{name: "check out a cart that does not exist", when: CheckOut{}, err: ErrCartNotFound},
		{name: "check out an emptied cart", given: []Event{addTea, removeTea}, when: CheckOut{}, err: ErrEmptyCart},
		{name: "check out twice", given: []Event{addTea, addCup, checked}, when: CheckOut{}, err: ErrCartCheckedOut},

		// Not a command
		{name: "a nil command", when: nil, err: ErrUnknownCommand},
		{name: "a pointer to a command", given: []Event{addTea}, when: &CheckOut{}, err: ErrUnknownCommand},
	})
}

func run(t *testing.T, scenarios []scenario) {
	t.Helper()
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			state := es.Fold(Evolve, Initial(), sc.given)
			before := clone(t, state)
			got, err := Decide(sc.when, state)
			if !reflect.DeepEqual(state, before) {
				t.Errorf("Decide changed its state:\n got %+v\nwant %+v", state, before)
			}
			if sc.err != nil {
				var de *es.Error
				if !errors.As(err, &de) {
					t.Fatalf("got events %+v, error %v; want error %s", got, err, sc.err.Code)
				}
				if de.Code != sc.err.Code || de.Kind != sc.err.Kind || de.Message == "" {
					t.Fatalf("got error %s (%s) %q, want %s (%s)", de.Code, de.Kind, de.Message, sc.err.Code, sc.err.Kind)
				}
				if !errors.Is(err, sc.err) || got != nil {
					t.Fatalf("errors.Is(%v, %v) = false, or events %v with the error", err, sc.err, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want events %+v", err, sc.then)
			}
			if !reflect.DeepEqual(got, sc.then) {
				t.Fatalf("got events %+v, want %+v", got, sc.then)
			}
		})
	}
}

// clone is a deep copy of s, through its stored form.
func clone(t *testing.T, s State) State {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var c State
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
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
	s := es.Fold(Evolve, Initial(), []Event{addTea})
	if got := Evolve(s, nil); !reflect.DeepEqual(got, s) {
		t.Fatalf("Evolve(s, nil) = %+v, want %+v", got, s)
	}
}

func TestEvolveDoesNotChangeItsState(t *testing.T) {
	base := es.Fold(Evolve, Initial(), []Event{addTea, addCup})
	// Room to grow in place: an append without a copy would write into it.
	base.Lines = append(make([]Line, 0, 8), base.Lines...)
	before := clone(t, base)

	branches := []State{
		Evolve(base, ItemAdded{SKU: "tea-1", Qty: 5, Price: 1999}),
		Evolve(base, ItemAdded{SKU: "pot", Qty: 1, Price: 3000}),
		Evolve(base, ItemAdded{SKU: "jar", Qty: 2, Price: 400}),
		Evolve(base, removeTea),
		Evolve(base, checked),
	}
	if !reflect.DeepEqual(base, before) {
		t.Fatalf("Evolve changed its state:\n got %+v\nwant %+v", base, before)
	}
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
	for _, h := range histories {
		s := es.Fold(Evolve, Initial(), h)
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		// Loaded as es.Handler loads it: into Initial(), and into a zero State.
		for _, into := range []State{Initial(), {}} {
			got := into
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, s) {
				t.Errorf("%.200s\nround-trips to %+v\nwant %+v", b, got, s)
			}
		}
	}
	b, _ := json.Marshal(es.Fold(Evolve, Initial(), []Event{addTea, addCup, checked}))
	want := `{"exists":true,"lines":[{"sku":"tea-1","qty":2,"price":"19.99"},{"sku":"cup.blue_2","qty":1,"price":"5.50"}],` +
		`"checkedOut":true,"total":"45.48","items":3}`
	if string(b) != want {
		t.Errorf("state JSON\n got %s\nwant %s", b, want)
	}
}

func TestEventsEncodeAsTheContractSays(t *testing.T) {
	reg := Decider().Events
	for _, tc := range []struct {
		event Event
		name  string
		data  string
	}{
		{addTea, "ItemAdded", `{"sku":"tea-1","qty":2,"price":"19.99"}`},
		{removeTea, "ItemRemoved", `{"sku":"tea-1"}`},
		{checked, "CheckedOut", `{"total":"45.48","items":3}`},
	} {
		name, schema, data, err := reg.Encode(tc.event)
		if err != nil {
			t.Fatal(err)
		}
		if name != tc.name || schema != 1 || string(data) != tc.data {
			t.Errorf("Encode(%+v) = %s v%d %s, want %s v1 %s", tc.event, name, schema, data, tc.name, tc.data)
		}
		back, err := reg.Decode(name, schema, data)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, tc.event) {
			t.Errorf("Decode gives %#v, want %#v", back, tc.event)
		}
	}
	if n := len(reg.Names()); n != 3 {
		t.Errorf("%d event types registered, want 3", n)
	}
	// A price written as a JSON number is read exactly.
	e, err := reg.Decode("ItemAdded", 1, json.RawMessage(`{"sku":"x","qty":1,"price":0.1}`))
	if err != nil || e != (ItemAdded{SKU: "x", Qty: 1, Price: 10}) {
		t.Errorf("Decode with a number price = %#v, %v", e, err)
	}
}

func TestDecider(t *testing.T) {
	d := Decider()
	if d.StreamType != "cart" || d.StateSchema != 1 || d.Initial == nil || d.Decide == nil || d.Evolve == nil || d.Events == nil {
		t.Fatalf("Decider() = %+v", d)
	}
}

func TestErrorCodesAreStable(t *testing.T) {
	for _, tc := range []struct {
		err  *es.Error
		code string
		kind es.Kind
	}{
		{ErrCartNotFound, "CartNotFound", es.Missing},
		{ErrCartCheckedOut, "CartCheckedOut", es.Refused},
		{ErrItemNotInCart, "ItemNotInCart", es.Refused},
		{ErrEmptyCart, "EmptyCart", es.Refused},
		{ErrPriceMismatch, "PriceMismatch", es.Refused},
		{ErrCartFull, "CartFull", es.Refused},
		{ErrBadSKU, "BadSKU", es.Invalid},
		{ErrBadQty, "BadQty", es.Invalid},
		{ErrQtyTooLarge, "QtyTooLarge", es.Invalid},
		{ErrBadPrice, "BadPrice", es.Invalid},
		{ErrUnknownCommand, "UnknownCommand", es.Invalid},
	} {
		if tc.err.Code != tc.code || tc.err.Kind != tc.kind {
			t.Errorf("%s is %s (%s), want %s (%s)", tc.err.Message, tc.err.Code, tc.err.Kind, tc.code, tc.kind)
		}
	}
	if !errors.Is(ErrCartNotFound, es.ErrNotFound) {
		t.Error("ErrCartNotFound does not match es.ErrNotFound")
	}
}
