package es_test

import (
	"context"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/es/sqlite"
)

// The tally is the tiny domain of these tests: numbers are added one event
// each, the tally can be cleared, and once closed it refuses everything. Its
// state depends on the order of its events, so a fold in the wrong order or
// from the wrong snapshot shows.
type tally struct {
	Total  int   `json:"total"`
	Items  []int `json:"items"`
	Closed bool  `json:"closed"`
}

type tallyCmd struct {
	Add   []int
	Clear bool
	Close bool
}

type added struct {
	N int `json:"n"`
}

type cleared struct{}

type closed struct{}

func (added) EventType() string   { return "Added" }
func (cleared) EventType() string { return "Cleared" }
func (closed) EventType() string  { return "Closed" }

func tallyEvents() *es.Registry[es.Event] {
	r := es.NewRegistry[es.Event]()
	es.Register[added](r, 1)
	es.Register[cleared](r, 1)
	es.Register[closed](r, 1)
	return r
}

func decideTally(c tallyCmd, s tally) ([]es.Event, error) {
	if s.Closed {
		return nil, es.Errorf(es.Refused, "Closed", "the tally is closed")
	}
	var events []es.Event
	if c.Clear {
		events = append(events, cleared{})
	}
	for _, n := range c.Add {
		if n <= 0 {
			return nil, es.Errorf(es.Invalid, "NotPositive", "cannot add %d", n)
		}
		events = append(events, added{N: n})
	}
	if c.Close {
		events = append(events, closed{})
	}
	return events, nil
}

func evolveTally(s tally, e es.Event) tally {
	switch e := e.(type) {
	case added:
		s.Total += e.N
		// A copy, so that states kept from earlier versions never share items.
		s.Items = append(slices.Clone(s.Items), e.N)
	case cleared:
		s.Total, s.Items = 0, nil
	case closed:
		s.Closed = true
	}
	return s
}

func tallyDecider() es.Decider[tally, tallyCmd, es.Event] {
	return es.Decider[tally, tallyCmd, es.Event]{
		StreamType:  "tally",
		StateSchema: 1,
		Initial:     func() tally { return tally{} },
		Decide:      decideTally,
		Evolve:      evolveTally,
		Events:      tallyEvents(),
	}
}

// openStore opens a real store in a file of the test's own.
func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "es.db"))
	if err != nil {
		t.Fatalf("opening the store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newHandler(store es.Store) *es.Handler[tally, tallyCmd, es.Event] {
	return &es.Handler[tally, tallyCmd, es.Event]{Decider: tallyDecider(), Store: store}
}

// countingStore counts the events ReadStream returns, to show how much a load
// had to fold.
type countingStore struct {
	es.Store
	read atomic.Int64
}

func (c *countingStore) ReadStream(ctx context.Context, s es.StreamRef, opts es.ReadOptions) ([]es.Envelope, error) {
	envs, err := c.Store.ReadStream(ctx, s, opts)
	c.read.Add(int64(len(envs)))
	return envs, err
}
