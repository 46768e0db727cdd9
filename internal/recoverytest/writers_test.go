package recoverytest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/foldboard/foldboard/domain/cart"
	"github.com/foldboard/foldboard/domain/cricket"
	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/handlers"
)

// writers issue commands of every domain through es.Handler, as the server
// does, and remember the streams they touched.
type writers struct {
	store   es.Store
	carts   *es.Handler[cart.State, cart.Command, cart.Event]
	matches *es.Handler[cricket.State, cricket.Command, cricket.Event]
	// modules are every module, with a handler of each (by stream type).
	modules []handlers.Module
	any     map[string]handlers.StreamHandler

	mu      sync.Mutex
	streams map[es.StreamRef]bool
	retried int // commands sent again (same command id) after a store error
}

func newWriters(f fixture) *writers {
	w := &writers{
		store:   f.store,
		carts:   &es.Handler[cart.State, cart.Command, cart.Event]{Decider: cart.Decider(), Store: f.store, SnapshotEvery: 10},
		matches: &es.Handler[cricket.State, cricket.Command, cricket.Event]{Decider: cricket.Decider(), Store: f.store, SnapshotEvery: 10},
		modules: handlers.Modules(),
		any:     map[string]handlers.StreamHandler{},
		streams: map[es.StreamRef]bool{},
	}
	for _, m := range w.modules {
		w.any[m.StreamType()] = m.Kind.Handler(handlers.HandlerOptions{Store: f.store, SnapshotEvery: 10})
	}
	return w
}

// write issues n commands from clients at once. A command the store fails
// (it is away, say) is sent again with the same command id until it is
// answered: then it appends once, whether or not the first try got through.
func (w *writers) write(t *testing.T, run string, n, clients int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for c := range clients {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(len(run)), uint64(c)))
			for i := range n / clients {
				id := fmt.Sprintf("%s-%d-%d", run, c, i)
				if err := w.one(rng, id, c); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func (w *writers) one(rng *rand.Rand, id string, client int) error {
	do := w.pick(rng, client)
	deadline := time.Now().Add(60 * time.Second)
	for try := 0; ; try++ {
		stream, err := do(es.Meta{Expected: es.AnyVersion, CommandID: id, Actor: "ana"})
		var domain *es.Error
		if err == nil || errors.As(err, &domain) {
			w.mu.Lock()
			w.streams[stream] = true
			if try > 0 {
				w.retried++
			}
			w.mu.Unlock()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("command %s still failing after 60 s: %w", id, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var prices = []cart.Money{100, 250, 1999, 5}

// pick chooses a command: mostly items added to a few shared carts, some
// removed, the odd checkout; matches scored innings by innings; and any
// module's random commands on a few streams of each (posts created,
// retitled and published, …). Refusals are part of the game.
func (w *writers) pick(rng *rand.Rand, client int) func(es.Meta) (es.StreamRef, error) {
	ctx := context.Background()
	switch r := rng.IntN(100); {
	case r < 70:
		id := fmt.Sprintf("c-%d", rng.IntN(10))
		sku := rng.IntN(8)
		var cmd cart.Command = cart.AddItem{SKU: fmt.Sprintf("sku-%d", sku), Qty: 1 + rng.IntN(3), Price: prices[sku%len(prices)]}
		switch rng.IntN(100) {
		case 0:
			cmd = cart.CheckOut{}
		case 1, 2, 3, 4, 5:
			cmd = cart.RemoveItem{SKU: fmt.Sprintf("sku-%d", sku)}
		}
		return func(m es.Meta) (es.StreamRef, error) {
			m.StreamID = id
			_, err := w.carts.Handle(ctx, m, cmd)
			return es.StreamRef{Type: cart.StreamType, ID: id}, err
		}
	case r < 85:
		id := fmt.Sprintf("m-%d-%d", client, rng.IntN(3))
		return func(m es.Meta) (es.StreamRef, error) {
			m.StreamID = id
			ref := es.StreamRef{Type: cricket.StreamType, ID: id}
			s, _, err := w.matches.Load(ctx, ref)
			if err != nil {
				return ref, err
			}
			var cmd cricket.Command = cricket.StartMatch{Venue: "Lord's", HomeTeam: "England", AwayTeam: "India"}
			if s.Started {
				cmd = cricket.CompleteInnings{Innings: s.NextInnings(), Runs: rng.IntN(400), Wickets: rng.IntN(11)}
				if s.NextInnings() > cricket.MaxInnings {
					cmd = cricket.EndMatch{Result: "England won"}
				}
			}
			_, err = w.matches.Handle(ctx, m, cmd)
			return ref, err
		}
	default:
		// Any module's streams, a few of each, with its random commands.
		mod := w.modules[rng.IntN(len(w.modules))]
		ref := es.StreamRef{Type: mod.StreamType(), ID: fmt.Sprintf("%s-%d", mod.Name, rng.IntN(5))}
		h := w.any[ref.Type]
		return func(m es.Meta) (es.StreamRef, error) {
			m.StreamID = ref.ID
			s, _, err := h.Load(ctx, ref)
			if err != nil {
				return ref, err
			}
			_, err = h.Handle(ctx, m, mod.Kind.Random(rng, s))
			return ref, err
		}
	}
}

// heads returns the version of every stream written.
func (w *writers) heads(t *testing.T) map[es.StreamRef]int64 {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	heads := map[es.StreamRef]int64{}
	for ref := range w.streams {
		h, err := w.store.Head(context.Background(), ref)
		if err != nil {
			t.Fatalf("head of %s: %v", ref, err)
		}
		if h.Version > 0 {
			heads[ref] = h.Version
		}
	}
	return heads
}
