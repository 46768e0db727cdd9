package web

import (
	"context"
	"sync"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/handlers"
	"github.com/foldboard/foldboard/reactions"
)

// reactors runs the modules' reactions while the server serves, started
// and stopped with its projector (in a cluster, only the lease holder may
// run them: whoever wires the lease calls run and stop with it).
type reactors struct {
	group *es.Reactors

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan struct{}
}

// newReactors makes a reactor for each module's reaction, whose commands run
// through the app's own handlers (as the routes' do), and loads what each
// saved.
func newReactors(ctx context.Context, d Deps, app *handlers.App) (*reactors, error) {
	rs := handlers.Reactions(app.Modules())
	if d.ReminderAfter > 0 {
		rs = reactions.WithReminderAfter(rs, d.ReminderAfter)
	}
	cfg := es.ReactorConfig{
		Feed: d.Feed, Saves: d.ReadModels, Store: d.Store, Commands: app.Commands(),
		Log: d.Log, AfterCommand: d.AfterReactionCommand,
	}
	if c := d.Cluster; c != nil {
		// Only the lease holder reacts: every save is fenced by its epoch,
		// and no command is issued once the lease, as stored, is another's
		// (a holder paused past its failover and woken stops instead).
		cfg.Saves, cfg.Fence = c.Lease.ReadModels(), c.Lease.Check
	}
	g := es.NewReactors(rs, cfg)
	return &reactors{group: g}, g.Load(ctx)
}

// run runs the reactors under p's context (Serve's) until stop.
func (r *reactors) run(p *projectors) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cancel != nil {
		return
	}
	ctx, cancel := context.WithCancel(p.serving())
	done := make(chan struct{})
	r.cancel, r.done = cancel, done
	p.background(func() {
		defer close(done)
		r.group.Run(ctx)
	})
}

// stop stops the reactors and waits for their last saves.
func (r *reactors) stop() {
	r.mu.Lock()
	cancel, done := r.cancel, r.done
	r.cancel, r.done = nil, nil
	r.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// Reactors are the server's reactions (their status).
func (s *Server) Reactors() *es.Reactors { return s.reactors.group }
