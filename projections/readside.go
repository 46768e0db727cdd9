package projections

import (
	"github.com/foldboard/foldboard/domain/cart"
	"github.com/foldboard/foldboard/domain/cricket"
)

// Topics of the list pages.
const (
	TopicMatches = "matches"
	TopicCarts   = "carts"
)

// Matches is the read model of every match: each one's scoreboard.
type Matches = Streams[cricket.State, cricket.Command, cricket.Event]

// Carts is the read model of every cart: its lines and total.
type Carts = Streams[cart.State, cart.Command, cart.Event]

// ReadSide is every read model foldboard keeps.
type ReadSide struct {
	Matches *Matches
	Carts   *Carts
	// Sales is the sales-by-day projection of checkouts.
	Sales *SalesByDay
	// Posts is the read model of every post, published or draft.
	Posts *Posts
	// Events is the global event browser's index.
	Events *EventIndex
}

// NewReadSide makes empty read models.
func NewReadSide() *ReadSide {
	return &ReadSide{
		Matches: NewStreams(cricket.Decider(), TopicMatches),
		Carts:   NewStreams(cart.Decider(), TopicCarts),
		Sales:   NewSalesByDay(),
		Posts:   NewPosts(),
		Events:  NewEventIndex(),
	}
}

// Models lists the read models for the projector.
func (rs *ReadSide) Models() []Model {
	return []Model{rs.Matches, rs.Carts, rs.Sales, rs.Posts, rs.Events}
}
