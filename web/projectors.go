package web

import (
	"context"
	"log/slog"
	"sync"

	"github.com/foldboard/foldboard/projections"
)

// projectors runs projectors while the server serves: each until Serve
// stops, or until it is stopped alone (the read models a rebuild replaced).
type projectors struct {
	log *slog.Logger

	mu      sync.Mutex
	ctx     context.Context // Serve's, for the projectors; nil before Serve
	running map[*projections.Projector]*runningProjector
	wg      sync.WaitGroup
}

// runningProjector is a projector running under Serve.
type runningProjector struct {
	stop context.CancelFunc
	done chan struct{} // closed when its Run has returned
}

func newProjectors(log *slog.Logger) *projectors {
	return &projectors{log: log, running: map[*projections.Projector]*runningProjector{}}
}

// serve makes ctx the context projectors run under, from now on.
func (r *projectors) serve(ctx context.Context) {
	r.mu.Lock()
	r.ctx = ctx
	r.mu.Unlock()
}

// serving is the context projectors run under; nil before Serve, done once
// it stops.
func (r *projectors) serving() context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ctx
}

// run runs p until Serve stops or stop, which waits for its last save.
func (r *projectors) run(p *projections.Projector) (stop func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ctx, cancel := context.WithCancel(r.ctx)
	rp := &runningProjector{stop: cancel, done: make(chan struct{})}
	r.running[p] = rp
	r.wg.Go(func() {
		defer close(rp.done)
		defer cancel()
		if err := p.Run(ctx); err != nil {
			r.log.Error("projector stopped", "projector", p.Name(), "err", err)
		}
		r.mu.Lock()
		delete(r.running, p)
		r.mu.Unlock()
	})
	return func() { r.stop(p) }
}

// stop stops p and waits for its last save.
func (r *projectors) stop(p *projections.Projector) {
	r.mu.Lock()
	rp := r.running[p]
	r.mu.Unlock()
	if rp != nil {
		rp.stop()
		<-rp.done
	}
}

// background runs work that Serve waits for when it stops (a rebuild).
func (r *projectors) background(work func()) { r.wg.Go(work) }

// wait waits for every projector and background work to return.
func (r *projectors) wait() { r.wg.Wait() }
