package es

import (
	"context"
	"log/slog"
	"sync"
)

// Reactors are the reactors of a set of reactions, loaded and run together:
// what a server starts and stops with its projector (in a cluster, while it
// holds the lease).
//
// They follow the feed once, not once each: in a cluster the events
// table's Stream then has two readers on the lease holder (the projector
// and the reactors), the most AWS advises for a shard, however many
// reactions there are. Each batch goes to every reactor in turn; each
// keeps its own checkpoint, outcomes and parked events, as when it ran
// alone. The feed starts from the oldest of their checkpoints (after a
// failure, from the oldest again), and a reactor passes over the batches
// its own checkpoint covers, and in a batch that straddles it the events
// it handled by their streams' versions: no command is issued again, no
// checkpoint saved behind the one it had. This needs a feed whose
// checkpoints can be put in order (CheckpointOrder, both stores'); on
// another, each reactor follows the feed on its own.
type Reactors struct {
	list  []*Reactor
	feed  Feed
	order CheckpointOrder
	log   *slog.Logger
}

// NewReactors makes a reactor for each reaction, each wired as cfg says
// (cfg.Reaction is ignored).
func NewReactors(reactions []Reaction, cfg ReactorConfig) *Reactors {
	g := &Reactors{feed: cfg.Feed, log: cfg.Log}
	if g.log == nil {
		g.log = slog.Default()
	}
	g.order, _ = cfg.Feed.(CheckpointOrder)
	for _, r := range reactions {
		c := cfg
		c.Reaction = r
		g.list = append(g.list, NewReactor(c))
	}
	return g
}

// Load restores what each reactor saved.
func (g *Reactors) Load(ctx context.Context) error {
	for _, r := range g.list {
		if err := r.Load(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Run runs every reactor until ctx ends, or until one's fence says another
// process reacts now (then every one stops, and it returns that error,
// matching ErrFenced), and returns once each has saved its last
// checkpoint.
func (g *Reactors) Run(ctx context.Context) error {
	if g.order == nil || len(g.list) < 2 {
		return g.runApart(ctx)
	}
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	for _, r := range g.list {
		defer r.start(ctx, stop)()
	}
	return follow(ctx, g.feed, g.log, g.list, g.resume, g.apply)
}

// runApart runs each reactor on its own Follow of the feed.
func (g *Reactors) runApart(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make([]error, len(g.list))
	for i, r := range g.list {
		wg.Go(func() { errs[i] = r.Run(ctx) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// resume is where the shared Follow starts: the oldest of the reactors'
// checkpoints, the one every other covers; "" (the beginning) when the
// feed cannot place them so (then every reactor passes over what it did
// by its streams' versions).
func (g *Reactors) resume() (string, error) {
	cps := make([]string, len(g.list))
	for i, r := range g.list {
		cps[i] = r.resume()
	}
	for i, c := range cps {
		oldest := true
		for j, o := range cps {
			if i == j || o == c {
				continue
			}
			covers, err := g.order.Covers(o, c)
			if err != nil {
				return "", err
			}
			if !covers {
				oldest = false
				break
			}
		}
		if oldest {
			return c, nil
		}
	}
	g.log.Warn("reactors' checkpoints in no order: following the feed from its beginning", "checkpoints", len(cps))
	return "", nil
}

// apply hands a batch to every reactor in turn.
func (g *Reactors) apply(ctx context.Context, b Batch) error {
	for _, r := range g.list {
		if err := r.apply(ctx, b); err != nil {
			return err
		}
	}
	return nil
}

// List is the reactors, in the order of their reactions.
func (g *Reactors) List() []*Reactor {
	if g == nil {
		return nil
	}
	return g.list
}

// Status is each reactor's, in the order of their reactions.
func (g *Reactors) Status() []ReactorStatus {
	out := make([]ReactorStatus, 0, len(g.List()))
	for _, r := range g.List() {
		out = append(out, r.Status())
	}
	return out
}
