package projections

import (
	"encoding/json"

	"github.com/foldboard/foldboard/domain/cart"
	"github.com/foldboard/foldboard/es"
)

// TopicCarts is the topic of the carts list.
const TopicCarts = "carts"

// Cart is a cart's read-model view.
type Cart = StreamView[cart.State]

// Carts is the read model of every cart: its lines and total. It counts the
// events of the carts that have an owner as that owner's private ones.
type Carts struct {
	*Streams[cart.State, cart.Event]
	privateEvents
}

// NewCarts makes an empty carts model.
func NewCarts() *Carts { return &Carts{Streams: NewStreams(cart.Decider(), TopicCarts)} }

// Apply evolves the cart's view.
func (m *Carts) Apply(env es.Envelope, ch *Changes) error {
	if env.Stream.Type != cart.StreamType {
		return nil
	}
	before, _ := m.Get(env.Stream.ID)
	if err := m.Streams.Apply(env, ch); err != nil {
		return err
	}
	after, _ := m.Get(env.Stream.ID)
	m.move(cartShare(before), cartShare(after))
	return nil
}

// Load restores one cart's view.
func (m *Carts) Load(key string, doc json.RawMessage) error {
	id := key[len(cart.StreamType)+1:]
	before, _ := m.Get(id)
	if err := m.Streams.Load(key, doc); err != nil {
		return err
	}
	after, _ := m.Get(id)
	m.move(cartShare(before), cartShare(after))
	return nil
}

// cartShare is a cart's share of the private events: all its owner's (a
// cart from before owners has none, and is anyone's).
func cartShare(c Cart) share { return share{c.State.Owner, c.Version} }
