package projections

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/foldboard/foldboard/domain/cart"
)

// Newest is the head of the whole list, in its order, ties included, and
// counts what it leaves out.
func TestNewestIsTheHeadOfTheWholeList(t *testing.T) {
	m := NewStreams(cart.Decider(), TopicCarts)
	rng := rand.New(rand.NewPCG(3, 4))
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 300 {
		id := fmt.Sprintf("c-%03d", i)
		// 50 distinct start times for 300 carts: ties, ordered by id.
		m.views[id] = &StreamView[cart.State]{ID: id, State: cart.State{Items: i % 7},
			Created: base.Add(time.Duration(rng.IntN(50)) * time.Second)}
	}
	ids := func(vs []StreamView[cart.State]) []string {
		out := make([]string, len(vs))
		for i, v := range vs {
			out[i] = v.ID
		}
		return out
	}
	even := func(v StreamView[cart.State]) bool { return v.State.Items%2 == 0 }
	for name, keep := range map[string]func(StreamView[cart.State]) bool{"all": nil, "even": even} {
		all := m.List(keep)
		for _, n := range []int{0, 1, 7, ListLimit, len(all), len(all) + 5} {
			got, total := m.Newest(n, keep)
			if total != len(all) {
				t.Errorf("%s, n=%d: total %d, want %d", name, n, total, len(all))
			}
			if want := ids(all[:min(n, len(all))]); !slices.Equal(ids(got), want) {
				t.Errorf("%s, n=%d: %v, want %v", name, n, ids(got), want)
			}
		}
	}
}
