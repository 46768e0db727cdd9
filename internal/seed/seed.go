// Package seed is foldboard's demo data: what every module plans (a
// fortnight of cricket matches, checked-out carts, blog posts by several
// people, …, and a few minutes of activity before now). Every command has a
// fixed stream and command id, and a stream there already is left as it is,
// so running the same plan twice appends nothing the second time.
package seed

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/handlers"
)

// Step is one command of the demo data, at its time.
type Step = handlers.SeedStep

// Sum is what a run appended: events, and the commands that had been run
// before (and appended nothing now).
type Sum struct{ Events, Repeated int }

// Run runs the steps in time order, each at its own time, with the command
// handler of its stream's module.
func Run(ctx context.Context, store es.Store, steps []Step) (Sum, error) {
	var now time.Time
	clock := func() time.Time { return now }
	byType := map[string]handlers.StreamHandler{}
	for _, m := range handlers.Modules() {
		byType[m.StreamType()] = m.Kind.Handler(handlers.HandlerOptions{Store: store, Now: clock, SnapshotEvery: 100})
	}
	var sum Sum
	// A stream there before this run is left as it is: a head remembers
	// only its recent command ids (es.RecentCommands, es.RecentCommandsFor),
	// so a seeded command from days ago would be new again.
	existed := map[es.StreamRef]bool{}
	for _, s := range steps {
		now = s.At
		h, ok := byType[s.Stream.Type]
		if !ok {
			return sum, fmt.Errorf("seed %s (%s): no module has %q streams", s.Stream, s.CommandID, s.Stream.Type)
		}
		was, seen := existed[s.Stream]
		if !seen {
			head, err := store.Head(ctx, s.Stream)
			if err != nil {
				return sum, fmt.Errorf("seed %s: %w", s.Stream, err)
			}
			was = head.Version > 0
			existed[s.Stream] = was
		}
		if was {
			sum.Repeated++
			continue
		}
		meta := es.Meta{StreamID: s.Stream.ID, Expected: es.AnyVersion, CommandID: s.CommandID, Actor: s.Actor, CorrelationID: s.CommandID, CausationID: s.CommandID}
		r, err := h.Handle(ctx, meta, s.Command)
		if err != nil {
			var domain *es.Error
			if errors.As(err, &domain) {
				// A stream the seed made and someone changed since refuses
				// a seeded command: leave it as it is.
				continue
			}
			return sum, fmt.Errorf("seed %s (%s): %w", s.Stream, s.CommandID, err)
		}
		if r.Repeated {
			sum.Repeated++
		} else {
			sum.Events += len(r.Events)
		}
	}
	return sum, nil
}

// Plan is the demo data of every module, in time order. Ids and command ids
// depend on nothing but the plan, so a second run names the same commands.
func Plan(now time.Time) []Step {
	p := handlers.NewSeedPlan(now)
	for _, m := range handlers.Modules() {
		if m.Seed != nil {
			m.Seed(p)
		}
	}
	steps := p.Steps
	slices.SortStableFunc(steps, func(a, b Step) int { return a.At.Compare(b.At) })
	return steps
}
