package es

import (
	"context"
	"sync"
)

// Reactors are the reactors of a set of reactions, loaded and run together:
// what a server starts and stops with its projector (in a cluster, while it
// holds the lease).
type Reactors struct {
	list []*Reactor
}

// NewReactors makes a reactor for each reaction, each wired as cfg says
// (cfg.Reaction is ignored).
func NewReactors(reactions []Reaction, cfg ReactorConfig) *Reactors {
	g := &Reactors{}
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

// Run runs every reactor until ctx ends, and returns once each has saved
// its last checkpoint.
func (g *Reactors) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, r := range g.list {
		wg.Go(func() { r.Run(ctx) })
	}
	wg.Wait()
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
