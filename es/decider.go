package es

// Event is a domain event: a value whose type name is its discriminator in
// storage. The name is part of the storage format: a fixed string, never a Go
// type name.
type Event interface {
	EventType() string
}

// Decider is a domain's whole write-side behaviour as three plain functions:
// the state of a stream that has no events, the events a command causes in a
// state (or a domain error), and the state after an event.
type Decider[S any, C any, E Event] struct {
	// StreamType is the type part of every stream this decider owns ("match").
	StreamType string
	// StateSchema versions the shape of S as stored in state items and
	// snapshots; bump it whenever Evolve or S changes, and stored states with
	// another schema are ignored and folded afresh.
	StateSchema int
	Initial     func() S
	Decide      func(C, S) ([]E, error)
	Evolve      func(S, E) S
	// Events maps event type names to E and back.
	Events *Registry[E]
}

// Fold evolves state through events in order.
func Fold[S any, E Event](evolve func(S, E) S, state S, events []E) S {
	for _, e := range events {
		state = evolve(state, e)
	}
	return state
}
