package views

import "github.com/foldboard/foldboard/domain/cart"

// The cart module's routes.
const (
	RouteCarts        = "/carts"
	RouteCart         = "/carts/{id}"
	RouteCartItems    = "/carts/{id}/items"
	RouteCartRemove   = "/carts/{id}/items/{sku}/remove"
	RouteCartCheckout = "/carts/{id}/checkout"
	RouteSales        = "/sales"
)

// cartStatus is a cart's status in a word or two: new (no events yet), open,
// checked out.
func cartStatus(s cart.State) string {
	switch {
	case s.CheckedOut:
		return "checked out"
	case !s.Exists:
		return "new"
	default:
		return "open"
	}
}
