package web

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/projections"
	"github.com/foldboard/foldboard/views"
)

// errRebuildRunning refuses a second rebuild while one runs.
var errRebuildRunning = es.Errorf(es.Refused, "RebuildRunning", "a rebuild of the read models is already running")

// rebuilds is the server's rebuild: one at a time, and how the last went.
type rebuilds struct {
	running atomic.Bool
	changed func() // told of every change of the state (the dashboard)

	mu    sync.Mutex
	state rebuildState
}

// rebuildState is how the rebuild under way, or the last one, goes.
type rebuildState struct {
	Running, Finished bool
	Name              string
	Progress          projections.Progress
	Err               string
}

func (r *rebuilds) set(st rebuildState) {
	r.mu.Lock()
	r.state = st
	r.mu.Unlock()
	r.changed()
}

func (r *rebuilds) get() rebuildState {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.state
}

// status is the state as the dashboard shows it.
func (r *rebuilds) status() views.RebuildStatus {
	st := r.get()
	v := views.RebuildStatus{
		Running: st.Running, Name: st.Name, Finished: st.Finished, Error: st.Err,
		Applied: st.Progress.Applied, Total: st.Progress.Total, Rate: st.Progress.Rate, Elapsed: st.Progress.Elapsed,
	}
	if v.Error == "" && st.Running && st.Progress.Err != nil {
		v.Error = st.Progress.Err.Error()
	}
	return v
}

// StartRebuild starts a rebuild of the read models in the background
// (projections.Rebuild): fresh read models under a new name replay the whole
// log; once they have caught up they are saved as the ones in use and
// swapped in for the pages and the live updates, and the old ones are
// dropped. The server serves from the old ones meanwhile. It fails when a
// rebuild runs already, or before Serve.
func (s *Server) StartRebuild() error {
	ctx := s.projectors.serving()
	if ctx == nil || ctx.Err() != nil {
		return es.Errorf(es.Refused, "NotServing", "the server is not running its projector")
	}
	if s.member != nil {
		// A cluster's rebuild must run on the lease's holder, fenced by its
		// epoch, and swap in on every instance: not built yet.
		return es.Errorf(es.Refused, "RebuildInCluster", "rebuilding the read models of a cluster is not supported yet: run `foldboard rebuild` with every instance stopped")
	}
	if !s.rebuild.running.CompareAndSwap(false, true) {
		return errRebuildRunning
	}
	name := projections.NewName(time.Now())
	s.rebuild.set(rebuildState{Running: true, Name: name})
	s.projectors.background(func() {
		defer s.rebuild.running.Store(false)
		if err := s.runRebuild(ctx, name); err != nil {
			s.log.Error("rebuild failed", "projector", name, "err", err)
			st := s.rebuild.get()
			st.Running, st.Err = false, err.Error()
			s.rebuild.set(st)
		}
	})
	return nil
}

func (s *Server) runRebuild(ctx context.Context, name string) error {
	begin := time.Now()
	s.log.Info("rebuild started", "projector", name)
	old := s.live.Load()
	rb := projections.Rebuild{
		Setup: s.setup, Settings: s.deps.Settings, InUse: old.Projector, OnChange: s.publishServed,
		Start: s.projectors.run, Every: 250 * time.Millisecond,
		Report: func(pr projections.Progress) { s.rebuild.set(rebuildState{Running: true, Name: name, Progress: pr}) },
	}
	next, _, err := rb.Run(ctx, name)
	if errors.Is(err, context.Canceled) {
		return errors.New("the server stopped before the rebuild caught up")
	}
	if err != nil {
		return fmt.Errorf("rebuild into %s: %w", name, err)
	}
	s.live.Swap(next)
	st := next.Projector.Status()
	took := time.Since(begin)
	s.rebuild.set(rebuildState{Name: name, Finished: true, Progress: projections.Progress{
		Applied: st.Applied, Total: st.Applied, Elapsed: took, Rate: float64(st.Applied) / max(took.Seconds(), 1e-9),
	}})
	s.log.Info("rebuild swapped in", "projector", name, "replaced", old.Projector.Name(), "events", st.Applied, "took", took.Round(time.Millisecond))
	// Every page now reads the new read models: bring each watched topic
	// up to them.
	s.hub.PublishAll(context.Background())
	s.projectors.stop(old.Projector)
	if err := projections.Drop(ctx, s.deps.ReadModels, old.Projector.Name()); err != nil {
		s.log.Warn("dropping the replaced read models", "projector", old.Projector.Name(), "err", err)
	}
	return nil
}

// Rebuilding reports whether a rebuild runs.
func (s *Server) Rebuilding() bool { return s.rebuild.running.Load() }

// RetryParked re-applies a parked stream in the read models in use
// (projections.Projector.Retry), reading its events from the store. In a
// cluster it is refused: the holder's retry would have to reach the
// followers through the relay, which carries only the feed's batches.
func (s *Server) RetryParked(ctx context.Context, ref es.StreamRef) (projections.RetryResult, error) {
	if s.member != nil {
		return projections.RetryResult{}, es.Errorf(es.Refused, "RetryInCluster", "retrying a parked stream in a cluster is not supported yet: restart the instances once the cause is fixed")
	}
	return s.Projector().Retry(ctx, s.deps.Store, ref)
}
