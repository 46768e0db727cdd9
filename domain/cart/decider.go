// Package cart decides what happens to a shopping cart: items are added and
// removed by sku until the cart is checked out, after which it never changes.
// Amounts are exact (Money, in cents).
//
// Decide checks a command in a fixed order: that the cart exists (Missing),
// then the command's own values (Invalid), then the cart's state (Refused, and
// QtyTooLarge, which is Invalid but depends on the line's quantity).
// It is pure: no I/O, no clock, no randomness.
//
// Adding a sku the cart already holds adds to its line's quantity, at the same
// price only: a different price is refused (PriceMismatch) rather than taken,
// because a line has one price and the cart's total must be what the shopper
// was shown; a changed price usually means a stale page.
package cart

import (
	"slices"

	"github.com/foldboard/foldboard/es"
)

const (
	// StreamType is the type part of every cart stream: "cart/{id}".
	StreamType = "cart"
	// StateSchema versions State as stored; bump it when State or Evolve changes.
	StateSchema = 3

	MaxQty   = 9_999 // per AddItem, and per line
	MaxLines = 1_000 // distinct skus in one cart
)

// Command is one of AddItem, RemoveItem, CheckOut, SendReminder (as values).
type Command interface{ isCommand() }

// AddItem adds Qty of SKU at Price; the first AddItem creates the cart.
type AddItem struct {
	SKU   string
	Qty   int
	Price Money
	// Actor is who adds it: the first item's makes them the cart's owner,
	// the only one (with an Admin) who may change it or check it out.
	Actor string
	Admin bool
}

// RemoveItem removes SKU's whole line; by its owner or an admin.
type RemoveItem struct {
	SKU   string
	Actor string
	Admin bool
}

// CheckOut closes the cart: nothing changes it afterwards. By its owner or
// an admin.
type CheckOut struct {
	Actor string
	Admin bool
}

func (AddItem) isCommand()    {}
func (RemoveItem) isCommand() {}
func (CheckOut) isCommand()   {}

// Event is one of ItemAdded, ItemRemoved, CheckedOut, ReminderSent (as values). Their JSON is
// the payload of docs/contract.md (Money as a string); their type names are fixed.
type Event interface {
	es.Event
	isEvent()
}

// ItemAdded: Owner, beyond contract.md's fields, is on the cart's first
// ItemAdded only: who added it owns the cart (Evolve sees only events).
type ItemAdded struct {
	SKU   string `json:"sku"`
	Qty   int    `json:"qty"`
	Price Money  `json:"price"`
	Owner string `json:"owner,omitempty"`
}

type ItemRemoved struct {
	SKU string `json:"sku"`
}

// CheckedOut carries the cart's total and its number of items (the sum of the
// lines' quantities).
type CheckedOut struct {
	Total Money `json:"total"`
	Items int   `json:"items"`
}

func (ItemAdded) EventType() string   { return "ItemAdded" }
func (ItemRemoved) EventType() string { return "ItemRemoved" }
func (CheckedOut) EventType() string  { return "CheckedOut" }

func (ItemAdded) isEvent()   {}
func (ItemRemoved) isEvent() {}
func (CheckedOut) isEvent()  {}

// Line is one sku in a cart.
type Line struct {
	SKU   string `json:"sku"`
	Qty   int    `json:"qty"`
	Price Money  `json:"price"`
}

// Amount is the line's price times its quantity.
func (l Line) Amount() Money { return l.Price.Times(l.Qty) }

// State is a cart as its events leave it. It is stored as JSON (state items,
// snapshots) and round-trips exactly.
type State struct {
	// Exists says the cart has events: a cart whose lines were all removed
	// still exists.
	Exists bool `json:"exists"`
	// Owner added the first item ("" for a cart from before owners).
	Owner string `json:"owner,omitempty"`
	// Lines are in the order their skus were first added (a removed sku added
	// again goes to the end).
	Lines      []Line `json:"lines"`
	CheckedOut bool   `json:"checkedOut"`
	Total      Money  `json:"total"` // the sum of the lines' amounts
	Items      int    `json:"items"` // the sum of the lines' quantities
	// Reminded says a reminder was sent since the last item was added or
	// removed (ReminderSent, once per quiet spell).
	Reminded bool `json:"reminded,omitempty"`
}

// Line returns the cart's line for sku.
func (s State) Line(sku string) (Line, bool) {
	if i := s.index(sku); i >= 0 {
		return s.Lines[i], true
	}
	return Line{}, false
}

func (s State) index(sku string) int {
	return slices.IndexFunc(s.Lines, func(l Line) bool { return l.SKU == sku })
}

// ValidSKU reports whether sku is 1-64 characters of A-Z a-z 0-9 - _ .
// (case matters: "ab" and "AB" are different skus).
func ValidSKU(sku string) bool { return es.ValidID(sku) }

// Initial is the state of a cart stream with no events.
func Initial() State { return State{Lines: []Line{}} }

// Decide returns the events cmd causes in state s, or a domain *es.Error.
func Decide(cmd Command, s State) ([]Event, error) {
	switch c := cmd.(type) {
	case AddItem:
		return addItem(c, s)
	case RemoveItem:
		return removeItem(c, s)
	case CheckOut:
		return checkOut(c, s)
	case SendReminder:
		return sendReminder(c, s)
	}
	return nil, ErrUnknownCommand.New("%T is not a cart command", cmd)
}

func addItem(c AddItem, s State) ([]Event, error) {
	if err := ownerOnly(c.Actor, c.Admin, s); err != nil {
		return nil, err
	}
	if !ValidSKU(c.SKU) {
		return nil, ErrBadSKU.New("sku %.80q: want 1-64 characters of A-Z a-z 0-9 - _ .", c.SKU)
	}
	if c.Qty < 1 || c.Qty > MaxQty {
		return nil, ErrBadQty.New("qty %d: want 1-%d", c.Qty, MaxQty)
	}
	if c.Price < 0 || c.Price > MaxPrice {
		return nil, ErrBadPrice.New("price %s: want 0-%s", c.Price, MaxPrice)
	}
	if s.CheckedOut {
		return nil, ErrCartCheckedOut.New("the cart has been checked out")
	}
	if line, ok := s.Line(c.SKU); ok {
		if line.Price != c.Price {
			return nil, ErrPriceMismatch.New("%s is in the cart at %s, not %s", c.SKU, line.Price, c.Price)
		}
		if line.Qty+c.Qty > MaxQty {
			return nil, ErrQtyTooLarge.New("%s: %d in the cart and %d more is over %d", c.SKU, line.Qty, c.Qty, MaxQty)
		}
	} else if len(s.Lines) >= MaxLines {
		return nil, ErrCartFull.New("the cart holds %d different items, the most it may", len(s.Lines))
	}
	added := ItemAdded{SKU: c.SKU, Qty: c.Qty, Price: c.Price}
	if !s.Exists {
		added.Owner = c.Actor
	}
	return []Event{added}, nil
}

func removeItem(c RemoveItem, s State) ([]Event, error) {
	if !s.Exists {
		return nil, ErrCartNotFound.New("the cart does not exist")
	}
	if err := ownerOnly(c.Actor, c.Admin, s); err != nil {
		return nil, err
	}
	if !ValidSKU(c.SKU) {
		return nil, ErrBadSKU.New("sku %.80q: want 1-64 characters of A-Z a-z 0-9 - _ .", c.SKU)
	}
	if s.CheckedOut {
		return nil, ErrCartCheckedOut.New("the cart has been checked out")
	}
	if _, ok := s.Line(c.SKU); !ok {
		return nil, ErrItemNotInCart.New("%s is not in the cart", c.SKU)
	}
	return []Event{ItemRemoved{SKU: c.SKU}}, nil
}

func checkOut(c CheckOut, s State) ([]Event, error) {
	if !s.Exists {
		return nil, ErrCartNotFound.New("the cart does not exist")
	}
	if err := ownerOnly(c.Actor, c.Admin, s); err != nil {
		return nil, err
	}
	if s.CheckedOut {
		return nil, ErrCartCheckedOut.New("the cart has already been checked out")
	}
	if len(s.Lines) == 0 {
		return nil, ErrEmptyCart.New("the cart is empty")
	}
	total, items := sum(s.Lines)
	return []Event{CheckedOut{Total: total, Items: items}}, nil
}

// ownerOnly refuses anyone but the cart's owner and admins; a new cart is
// anyone's to start, and a cart from before owners anyone's.
func ownerOnly(actor string, admin bool, s State) error {
	if !s.Exists || s.Owner == "" || admin || actor == s.Owner {
		return nil
	}
	return ErrNotOwner.New("only %s, the cart's owner, may change it", s.Owner)
}

// Evolve returns the state after event e. It never changes s: replay to older
// versions keeps states that share a history.
func Evolve(s State, e Event) State {
	switch e := e.(type) {
	case ItemAdded:
		if !s.Exists {
			s.Owner = e.Owner
		}
		s.Exists = true
		s.Lines = slices.Clone(s.Lines)
		if i := s.index(e.SKU); i >= 0 {
			s.Lines[i].Qty += e.Qty
			s.Lines[i].Price = e.Price
		} else {
			s.Lines = append(s.Lines, Line{SKU: e.SKU, Qty: e.Qty, Price: e.Price})
		}
		s.Total, s.Items = sum(s.Lines)
		s.Reminded = false
	case ItemRemoved:
		s.Exists = true
		s.Reminded = false
		s.Lines = slices.DeleteFunc(slices.Clone(s.Lines), func(l Line) bool { return l.SKU == e.SKU })
		s.Total, s.Items = sum(s.Lines)
	case CheckedOut:
		s.Exists = true
		s.CheckedOut = true
		s.Total, s.Items = e.Total, e.Items
	case ReminderSent:
		s.Reminded = true
	}
	return s
}

func sum(lines []Line) (total Money, items int) {
	for _, l := range lines {
		total += l.Amount()
		items += l.Qty
	}
	return total, items
}

// Events is a registry of the cart's event types, each at schema version 1.
func Events() *es.Registry[Event] {
	r := es.NewRegistry[Event]()
	es.Register[ItemAdded](r, 1)
	es.Register[ItemRemoved](r, 1)
	es.Register[CheckedOut](r, 1)
	es.Register[ReminderSent](r, 1)
	return r
}

// Decider is the cart decider, for es.Handler.
func Decider() es.Decider[State, Command, Event] {
	return es.Decider[State, Command, Event]{
		StreamType:  StreamType,
		StateSchema: StateSchema,
		Initial:     Initial,
		Decide:      Decide,
		Evolve:      Evolve,
		Events:      Events(),
	}
}
