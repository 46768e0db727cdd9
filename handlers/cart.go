package handlers

import (
	"net/http"
	"regexp"
	"time"

	"github.com/a-h/templ"
	"github.com/go-chi/chi/v5"

	"github.com/foldboard/foldboard/domain/cart"
	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/projections"
	"github.com/foldboard/foldboard/views"
)

// CartsPage is GET /carts: every cart, and a link to a new one. A cart's
// stream begins with its first AddItem, so a new cart is only a fresh id.
func (a *App) CartsPage(w http.ResponseWriter, r *http.Request) error {
	p := a.page(r, "Carts")
	p.Section, p.Topics, p.Path = "carts", []string{projections.TopicCarts}, "/carts"
	carts, total := a.read().Carts.Newest(projections.ListLimit, nil)
	render(w, r, http.StatusOK, views.CartsPage(p, carts, total, es.NewULID(time.Now())))
	return nil
}

// CartPage is GET /carts/{id}: the live cart and its forms. A cart with no
// events yet is shown empty, ready for its first item, rather than as a 404:
// that is how a new cart begins.
func (a *App) CartPage(w http.ResponseWriter, r *http.Request) error {
	id := chi.URLParam(r, "id")
	if err := validStreamID(id); err != nil {
		return err
	}
	render(w, r, http.StatusOK, a.cartPage(r, id, views.Form{CommandID: newCommandID()}))
	return nil
}

// cartPage is the page of cart id, with the state of a form; nil for an id
// outside the alphabet (the error page shows the problem then).
func (a *App) cartPage(r *http.Request, id string, f views.Form) templ.Component {
	if !es.ValidID(id) {
		return nil
	}
	p := a.page(r, "Cart "+id)
	p.Section, p.Path = "carts", cartLocation(id)
	p.Topics = []string{es.StreamRef{Type: cart.StreamType, ID: id}.String()}
	return views.CartPage(p, a.cartView(id), f)
}

// cartView is the cart's read-model view, or an empty cart for one that has
// no events yet.
func (a *App) cartView(id string) views.Cart {
	if c, ok := a.read().Carts.Get(id); ok {
		return c
	}
	return views.Cart{ID: id, State: cart.Initial()}
}

func cartLocation(id string) string { return "/carts/" + id }

// AddItem is POST /carts/{id}/items.
func (a *App) AddItem(w http.ResponseWriter, r *http.Request) error {
	c := command[cart.State, cart.Command, cart.Event]{
		handler: a.carts, form: "add", location: cartLocation, page: a.cartPage,
		decode: func(in *input) (cart.Command, error) {
			sku, err := in.requiredText("sku")
			if err != nil {
				return nil, err
			}
			qty, err := in.requiredCount("qty")
			if err != nil {
				return nil, err
			}
			price, err := readPrice(in, "price")
			if err != nil {
				return nil, err
			}
			return cart.AddItem{SKU: sku, Qty: clampInt(qty), Price: price}, nil
		},
	}
	return c.run(a, w, r, routeID(r))
}

// RemoveItem is POST /carts/{id}/items/{sku}/remove.
func (a *App) RemoveItem(w http.ResponseWriter, r *http.Request) error {
	sku := chi.URLParam(r, "sku")
	c := command[cart.State, cart.Command, cart.Event]{
		handler: a.carts, form: "remove", location: cartLocation, page: a.cartPage,
		decode: func(*input) (cart.Command, error) { return cart.RemoveItem{SKU: sku}, nil },
	}
	return c.run(a, w, r, routeID(r))
}

// CheckOut is POST /carts/{id}/checkout.
func (a *App) CheckOut(w http.ResponseWriter, r *http.Request) error {
	c := command[cart.State, cart.Command, cart.Event]{
		handler: a.carts, form: "checkout", location: cartLocation, page: a.cartPage,
		decode: func(*input) (cart.Command, error) { return cart.CheckOut{}, nil },
	}
	return c.run(a, w, r, routeID(r))
}

// plainDecimal is a decimal as people and JSON write amounts: digits, and
// optionally a point and more digits, perhaps negative. No exponent, no
// spaces, no plus.
var plainDecimal = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?$`)

// readPrice reads an exact price. Something that is not a decimal at all
// ("abc", a JSON true) is a malformed request (400 BadNumber); a decimal the
// domain cannot take (negative, too large, 3 decimals) is a bad value (422
// BadPrice, from cart.ParseMoney).
func readPrice(in *input, name string) (cart.Money, error) {
	s, ok, err := in.decimal(name)
	if err != nil {
		return 0, err
	}
	if !ok || s == "" {
		return 0, badRequest("MissingField", name, "%s is required", name)
	}
	if !plainDecimal.MatchString(s) {
		return 0, badRequest("BadNumber", name, "%s must be a decimal amount such as 19.99", name)
	}
	return cart.ParseMoney(s)
}
