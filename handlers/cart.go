package handlers

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"regexp"
	"time"

	"github.com/a-h/templ"
	"github.com/go-chi/chi/v5"

	"github.com/foldboard/foldboard/domain/cart"
	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/projections"
	"github.com/foldboard/foldboard/reactions"
	"github.com/foldboard/foldboard/views"
)

// Carts is the shopping-cart module: carts filled and checked out, and the
// sales by day of the checkouts.
func Carts() Module {
	return Module{
		Name: "cart",
		// A cart is its owner's (a cart from before owners is anyone's).
		Owner: func(s any) string {
			if st, ok := s.(cart.State); ok {
				return st.Owner
			}
			return ""
		},
		Kind: NewKind(cart.Decider(), func(id string, v int64, s cart.State) templ.Component {
			return views.CartView(views.Cart{ID: id, Version: v, State: s}, false)
		}, cartRoutes, randomCartCommand),
		Page: views.RouteCart,
		Sections: []views.Section{
			{ID: "carts", Path: views.RouteCarts, Label: "Carts", Card: "Shopping carts", Blurb: "Fill a cart, check it out"},
			{ID: "sales", Path: views.RouteSales, Label: "Sales", Card: "Sales by day", Blurb: "Checkouts per day, charted"},
		},
		ReadModels: []projections.ReadModel{
			{Name: projections.TopicCarts, New: func() projections.Model { return projections.NewCarts() }},
			{Name: projections.TopicSales, New: func() projections.Model { return projections.NewSalesByDay() }, Across: true},
		},
		Topics: []Topic{
			{Name: projections.TopicCarts, Throttle: listThrottle, ForViewer: func(a *App, v Viewer) templ.Component {
				// Each watcher's own carts, and those anyone may see.
				return lazy(func(ctx context.Context) (templ.Component, error) {
					carts, total, err := a.visibleCarts(ctx, v)
					return views.CartList(carts, total), err
				})
			}},
			{Name: projections.TopicSales, Throttle: listThrottle, Fragment: func(a *App) templ.Component { return views.SalesLive(a.salesChart()) }},
		},
		// A cart with no events yet is live too: its page waits for the
		// first item.
		StreamTopic: func(a *App, id string) templ.Component {
			return lazy(func(ctx context.Context) (templ.Component, error) {
				c, err := a.cartView(ctx, id)
				return views.CartLive(c), err
			})
		},
		// Another's cart is shown as one with no events yet.
		Unseen: func(id string) templ.Component { return views.CartLive(views.Cart{ID: id, State: cart.Initial()}) },
		ReadState: func(ctx context.Context, rs *projections.ReadSide, id string) (any, bool, error) {
			c, ok, err := projections.ModelOf[*projections.Carts](rs, projections.TopicCarts).Get(ctx, id)
			return c.State, ok, err
		},
		Seed:      seedCarts,
		Load:      []LoadWork{{Name: "cart", Life: 10, Next: loadCart}},
		Reactions: []es.Reaction{reactions.LoyaltyReaction(), reactions.CartReminderReaction(reactions.DefaultReminderAfter)},
		Examples: []Example{
			{Path: views.RouteCartItems, Fields: map[string]any{"sku": "pear", "qty": 2, "price": "19.99"}},
			{Path: views.RouteCartRemove, Params: map[string]string{"sku": "pear"}, Fields: map[string]any{}},
			{Path: views.RouteCartItems, Fields: map[string]any{"sku": "apple", "qty": 1, "price": "1.00"}},
			{Path: views.RouteCartCheckout, Fields: map[string]any{}},
		},
	}
}

func (a *App) carts() *projections.Carts {
	return projections.ModelOf[*projections.Carts](a.read(), projections.TopicCarts)
}

func (a *App) sales() *projections.SalesByDay {
	return projections.ModelOf[*projections.SalesByDay](a.read(), projections.TopicSales)
}

func cartRoutes(a *App, h *es.Handler[cart.State, cart.Command, cart.Event], r chi.Router) {
	r.Get(views.RouteCarts, a.Handle(a.CartsPage).ServeHTTP)
	r.Get(views.RouteCart, a.Handle(a.CartPage).ServeHTTP)
	r.Post(views.RouteCartItems, a.Handle(a.addItem(h)).ServeHTTP)
	r.Post(views.RouteCartRemove, a.Handle(a.removeItem(h)).ServeHTTP)
	r.Post(views.RouteCartCheckout, a.Handle(a.checkOut(h)).ServeHTTP)
	r.Get(views.RouteSales, a.Handle(a.SalesPage).ServeHTTP)
}

type cartHandler = *es.Handler[cart.State, cart.Command, cart.Event]

// CartsPage is GET /carts: every cart, and a link to a new one. A cart's
// stream begins with its first AddItem, so a new cart is only a fresh id.
func (a *App) CartsPage(w http.ResponseWriter, r *http.Request) error {
	p := a.page(r, "Carts")
	p.Section, p.Topics, p.Path = "carts", []string{projections.TopicCarts}, views.RouteCarts
	v := a.viewer(r)
	carts, total, err := a.visibleCarts(r.Context(), v)
	if err != nil {
		return err
	}
	a.render(w, r, http.StatusOK, views.CartsPage(p, carts, total, es.NewULID(time.Now())))
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
	a.render(w, r, http.StatusOK, a.cartPage(r, id, views.Form{CommandID: newCommandID()}))
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
	ref := es.StreamRef{Type: cart.StreamType, ID: id}
	p.Topics = []string{ref.String()}
	if seen, err := a.visible(r, ref); err != nil || !seen {
		// Someone else's cart: as a cart with no events yet.
		return views.CartPage(p, views.Cart{ID: id, State: cart.Initial()}, f)
	}
	c, err := a.cartView(r.Context(), id)
	if err != nil {
		return failed(err)
	}
	return views.CartPage(p, c, f)
}

// visibleCarts are the newest carts v sees (Viewer.Sees): the admins all,
// anyone else those with no owner and their own.
func (a *App) visibleCarts(ctx context.Context, v Viewer) ([]projections.Cart, int, error) {
	return a.carts().Visible(ctx, projections.ListLimit, v.Name, v.Admin)
}

// cartView is the cart's read-model view, or an empty cart for one that has
// no events yet.
func (a *App) cartView(ctx context.Context, id string) (views.Cart, error) {
	c, ok, err := a.carts().Get(ctx, id)
	if err != nil || !ok {
		return views.Cart{ID: id, State: cart.Initial()}, err
	}
	return c, nil
}

func cartLocation(id string) string { return views.Path(views.RouteCart, id) }

// addItem is POST /carts/{id}/items.
func (a *App) addItem(h cartHandler) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		c := command[cart.State, cart.Command, cart.Event]{
			handler: h, form: "add", location: cartLocation, page: a.cartPage,
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
}

// removeItem is POST /carts/{id}/items/{sku}/remove.
func (a *App) removeItem(h cartHandler) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		sku := chi.URLParam(r, "sku")
		c := command[cart.State, cart.Command, cart.Event]{
			handler: h, form: "remove", location: cartLocation, page: a.cartPage,
			decode: func(*input) (cart.Command, error) { return cart.RemoveItem{SKU: sku}, nil },
		}
		return c.run(a, w, r, routeID(r))
	}
}

// checkOut is POST /carts/{id}/checkout.
func (a *App) checkOut(h cartHandler) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		c := command[cart.State, cart.Command, cart.Event]{
			handler: h, form: "checkout", location: cartLocation, page: a.cartPage,
			decode: func(*input) (cart.Command, error) { return cart.CheckOut{}, nil },
		}
		return c.run(a, w, r, routeID(r))
	}
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

// randomCartCommand is a command a cart might get next, often one it
// refuses.
func randomCartCommand(r *rand.Rand, s cart.State) cart.Command {
	switch r.IntN(12) {
	case 0:
		return cart.CheckOut{}
	case 1, 2:
		return cart.RemoveItem{SKU: pick(r, "apple", "pear", "fig")}
	default:
		return cart.AddItem{SKU: pick(r, "apple", "pear", "fig"), Qty: 1 + r.IntN(4), Price: pick[cart.Money](r, 199, 250, 1000)}
	}
}

var seedItems = []struct {
	sku   string
	price cart.Money
}{
	{"tea-earl-grey", 6_50}, {"mug-blue", 12_00}, {"bat-willow", 149_99}, {"ball-red", 24_95},
	{"cap-baggy-green", 39_00}, {"scorebook", 9_99}, {"gloves", 54_00}, {"sunscreen", 11_25},
}

// seedCarts plans carts checked out every day of the last two weeks, a few
// a day, and two carts filling up in the last few minutes.
func seedCarts(p *SeedPlan) {
	add := func(at time.Time, id, name, who string, cmd cart.Command) {
		p.Add(at, cart.StreamType, id, name, who, cmd)
	}
	rng := p.Rand
	for d := -13; d <= -1; d++ {
		for n := range 2 + rng.IntN(5) {
			id := fmt.Sprintf("seed-cart-%02d-%d", -d, n+1)
			who := p.Actor()
			at := p.Day(d, 8+rng.IntN(12), rng.IntN(60))
			lines := 1 + rng.IntN(4)
			var last string
			for _, k := range rng.Perm(len(seedItems))[:lines] {
				at = at.Add(time.Duration(1+rng.IntN(4)) * time.Minute)
				item := seedItems[k]
				add(at, id, "add-"+item.sku, who, cart.AddItem{SKU: item.sku, Qty: 1 + rng.IntN(3), Price: item.price, Actor: who})
				last = item.sku
			}
			if lines > 1 && rng.IntN(4) == 0 {
				at = at.Add(time.Minute)
				add(at, id, "remove", who, cart.RemoveItem{SKU: last, Actor: who})
			}
			add(at.Add(2*time.Minute), id, "checkout", who, cart.CheckOut{Actor: who})
		}
	}
	for c, who := range []string{"ben", "eve"} {
		id := fmt.Sprintf("seed-cart-open-%d", c+1)
		for k, idx := range rng.Perm(len(seedItems))[:5] {
			item := seedItems[idx]
			at := p.Ago(time.Duration(240-50*k-20*c) * time.Second)
			add(at, id, "add-"+item.sku, who, cart.AddItem{SKU: item.sku, Qty: 1 + rng.IntN(2), Price: item.price, Actor: who})
		}
	}
}

// loadCart is a cart's life for the load generator: nine items added,
// checked out.
func loadCart(id string, v int64, _ int, _ int, rng *rand.Rand, b []byte) (string, []byte) {
	if v < 9 {
		b = fmt.Appendf(b, `"sku":"sku-%d","qty":%d,"price":"%d.%02d"`, v%4, 1+rng.IntN(3), 1+v%4, 99)
		return views.Path(views.RouteCartItems, id), b
	}
	return views.Path(views.RouteCartCheckout, id), b
}
