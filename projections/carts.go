package projections

import "github.com/foldboard/foldboard/domain/cart"

// TopicCarts is the topic of the carts list.
const TopicCarts = "carts"

// Carts is the read model of every cart: its lines and total.
type Carts = Streams[cart.State, cart.Event]

// NewCarts makes an empty carts model.
func NewCarts() *Carts { return NewStreams(cart.Decider(), TopicCarts) }
