package cart

import "github.com/foldboard/foldboard/es"

// The cart's domain errors. Each is a sentinel for errors.Is (an *es.Error
// matches another with the same code); Decide returns a fresh copy of one with
// a message about the command at hand.
var (
	// ErrCartNotFound: RemoveItem or CheckOut on a cart with no events.
	ErrCartNotFound = &es.Error{Kind: es.Missing, Code: "CartNotFound", Message: "the cart does not exist"}
	// ErrNotOwner: a command on a cart by anyone but its owner or an admin.
	ErrNotOwner = &es.Error{Kind: es.Forbidden, Code: "NotOwner", Message: "only the cart's owner may change it"}
	// ErrCartCheckedOut: any command on a cart that has been checked out.
	ErrCartCheckedOut = &es.Error{Kind: es.Refused, Code: "CartCheckedOut", Message: "the cart has been checked out"}
	// ErrItemNotInCart: RemoveItem of a sku the cart does not hold.
	ErrItemNotInCart = &es.Error{Kind: es.Refused, Code: "ItemNotInCart", Message: "the item is not in the cart"}
	// ErrEmptyCart: CheckOut of a cart with no lines.
	ErrEmptyCart = &es.Error{Kind: es.Refused, Code: "EmptyCart", Message: "the cart is empty"}
	// ErrPriceMismatch: AddItem of a sku already in the cart at another price.
	ErrPriceMismatch = &es.Error{Kind: es.Refused, Code: "PriceMismatch", Message: "the item is in the cart at another price"}
	// ErrCartFull: AddItem of a new sku to a cart of MaxLines skus.
	ErrCartFull = &es.Error{Kind: es.Refused, Code: "CartFull", Message: "the cart holds as many items as it may"}
	// ErrAlreadyReminded: SendReminder to a cart reminded since it last changed.
	ErrAlreadyReminded = &es.Error{Kind: es.Refused, Code: "AlreadyReminded", Message: "a reminder was sent since the cart last changed"}
	// ErrRemindersBySystem: SendReminder from anyone but a reaction.
	ErrRemindersBySystem = &es.Error{Kind: es.Forbidden, Code: "RemindersBySystem", Message: "only a reaction sends reminders"}

	// ErrBadSKU: a sku that is not 1-64 characters of A-Z a-z 0-9 - _ .
	ErrBadSKU = &es.Error{Kind: es.Invalid, Code: "BadSKU", Message: "sku: want 1-64 characters of A-Z a-z 0-9 - _ ."}
	// ErrBadQty: a quantity outside 1-9,999.
	ErrBadQty = &es.Error{Kind: es.Invalid, Code: "BadQty", Message: "qty: want 1-9999"}
	// ErrQtyTooLarge: AddItem that would take a line's quantity above 9,999.
	ErrQtyTooLarge = &es.Error{Kind: es.Invalid, Code: "QtyTooLarge", Message: "a line may hold at most 9999 items"}
	// ErrBadPrice: a price outside 0-1,000,000, or not an exact amount with at
	// most 2 decimals (ParseMoney, Money.UnmarshalJSON).
	ErrBadPrice = &es.Error{Kind: es.Invalid, Code: "BadPrice", Message: "price: want 0-1000000 with at most 2 decimals"}
	// ErrUnknownCommand: a nil command, or a pointer to one (commands are values).
	ErrUnknownCommand = &es.Error{Kind: es.Invalid, Code: "UnknownCommand", Message: "not a cart command"}
)
