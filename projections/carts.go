package projections

import (
	"context"
	"net/url"

	"github.com/foldboard/foldboard/domain/cart"
)

// TopicCarts is the topic of the carts list.
const TopicCarts = "carts"

// Cart is a cart's read-model view.
type Cart = StreamView[cart.State]

// Carts is the read model of every cart: its lines and total. It counts the
// events of the carts that have an owner as that owner's private ones, and
// lists the carts anyone may see (those from before owners) apart from each
// owner's, and all of them for the admins.
type Carts struct {
	*Streams[cart.State, cart.Event]
}

const (
	listPublic = "public"
	listOwner  = "owner/"
)

// NewCarts makes an empty carts model.
func NewCarts() *Carts {
	s := NewStreams(cart.Decider(), TopicCarts)
	s.listsOf = func(c Cart) []string {
		if c.State.Owner == "" {
			return []string{listAll, listPublic}
		}
		return []string{listAll, listOwner + url.PathEscape(c.State.Owner)}
	}
	s.shareOf = cartShare
	return &Carts{Streams: s}
}

// Visible returns the n newest carts a reader sees, and how many there are:
// an admin every cart, anyone else those with no owner and their own (name
// "": none of their own).
func (m *Carts) Visible(ctx context.Context, n int, name string, admin bool) ([]Cart, int, error) {
	switch {
	case admin:
		return m.Newest(ctx, n, listAll)
	case name == "":
		return m.Newest(ctx, n, listPublic)
	}
	return m.Newest(ctx, n, listPublic, listOwner+url.PathEscape(name))
}

// cartShare is a cart's share of the private events: all its owner's (a
// cart from before owners has none, and is anyone's).
func cartShare(c Cart) share { return share{c.State.Owner, c.Version} }
