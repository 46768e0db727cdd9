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
	// decide takes the admin's choice (true: swap) for the rebuild under
	// review; nil when none waits.
	decide chan bool
}

// reviewWait is how long a rebuild under review waits for the admin's
// choice before it is discarded (its projector runs meanwhile).
const reviewWait = time.Hour

// errNoReview refuses a swap or discard when no rebuild waits for one.
var errNoReview = es.Errorf(es.Refused, "NoRebuildUnderReview", "no rebuild waits to be swapped in or discarded")

// rebuildState is how the rebuild under way, or the last one, goes.
type rebuildState struct {
	Running, Finished bool
	Name              string
	Progress          projections.Progress
	Err               string
	// Review: the rebuild waits for the admin's choice, and Diff is how its
	// read models differ from the ones in use (set once compared);
	// Discarded, the admin discarded it.
	Review    bool
	Diff      *projections.Diff
	Discarded bool
	// Deciding: a cluster's rebuild waits for the admin's choice (on one
	// instance, rebuilds.decide says so).
	Deciding bool
	// Model is the one read model rebuilt alone; "" for all of them.
	Model string
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
		Review: st.Review, Diff: st.Diff, Discarded: st.Discarded, Model: st.Model,
	}
	r.mu.Lock()
	v.Deciding = r.decide != nil || st.Deciding
	r.mu.Unlock()
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
// rebuild runs already, or before Serve. In a cluster it records the
// request, for the lease's holder to run; every instance then switches to
// the rebuilt read models.
func (s *Server) StartRebuild() error { return s.startRebuild(false) }

// StartRebuildReview starts a rebuild that, once caught up, is compared
// with the read models in use (projections.Compare) and waits for
// DecideRebuild: swapped in, or discarded (after reviewWait unasked).
func (s *Server) StartRebuildReview() error { return s.startRebuild(true) }

// DecideRebuild swaps in (swap) or discards the rebuild under review; it
// fails with 409 NoRebuildUnderReview when none waits. In a cluster the
// choice is recorded for the holder, which runs the rebuild.
func (s *Server) DecideRebuild(swap bool) error {
	if s.member != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return s.member.rebuild.decide(ctx, swap)
	}
	s.rebuild.mu.Lock()
	ch := s.rebuild.decide
	s.rebuild.decide = nil
	s.rebuild.mu.Unlock()
	if ch == nil {
		return errNoReview
	}
	ch <- swap // buffered, and taken by one caller only
	return nil
}

func (s *Server) startRebuild(review bool) error {
	ctx := s.projectors.serving()
	if ctx == nil || ctx.Err() != nil {
		return es.Errorf(es.Refused, "NotServing", "the server is not running its projector")
	}
	if s.member != nil {
		// One rebuild for the cluster, recorded for the lease's holder to
		// run (clusterRebuild).
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		return s.member.rebuild.request(ctx, review)
	}
	if !s.rebuild.running.CompareAndSwap(false, true) {
		return errRebuildRunning
	}
	name := projections.NewName(time.Now())
	s.rebuild.set(rebuildState{Running: true, Name: name, Review: review})
	s.projectors.background(func() {
		defer s.rebuild.running.Store(false)
		st, err := s.runRebuild(ctx, name, review)
		switch {
		case errors.Is(err, projections.ErrDiscarded):
			s.log.Info("rebuild discarded", "projector", name)
			st = s.rebuild.get()
			st.Running, st.Discarded = false, true
		case err != nil:
			s.log.Error("rebuild failed", "projector", name, "err", err)
			st = s.rebuild.get()
			st.Running, st.Err = false, err.Error()
		}
		// Free before the dashboard says it ended: from then on its button
		// starts the next one (it was refused with 409 RebuildRunning while
		// the replaced read models were dropped).
		s.rebuild.running.Store(false)
		s.rebuild.set(st)
	})
	return nil
}

// runRebuild runs the rebuild into name, swaps it in, stops and drops the
// replaced read models, and returns the state that says it finished.
func (s *Server) runRebuild(ctx context.Context, name string, review bool) (rebuildState, error) {
	begin := time.Now()
	s.log.Info("rebuild started", "projector", name)
	old := s.live.Load()
	rb := projections.Rebuild{
		Setup: s.setup, Settings: s.deps.Settings, InUse: old.Projector, OnChange: s.publishServed,
		Start: s.projectors.run, Every: 250 * time.Millisecond,
		Report: func(pr projections.Progress) {
			s.rebuild.set(rebuildState{Running: true, Name: name, Progress: pr, Review: review})
		},
	}
	if review {
		rb.Review = s.reviewRebuild
	}
	next, _, err := rb.Run(ctx, name)
	if errors.Is(err, context.Canceled) {
		return rebuildState{}, errors.New("the server stopped before the rebuild caught up")
	}
	if err != nil {
		return rebuildState{}, fmt.Errorf("rebuild into %s: %w", name, err)
	}
	s.live.Swap(next)
	st := next.Projector.Status()
	took := time.Since(begin)
	finished := rebuildState{Name: name, Finished: true, Review: review, Diff: s.rebuild.get().Diff, Progress: projections.Progress{
		Applied: st.Applied, Total: st.Applied, Elapsed: took, Rate: float64(st.Applied) / max(took.Seconds(), 1e-9),
	}}
	s.log.Info("rebuild swapped in", "projector", name, "replaced", old.Projector.Name(), "events", st.Applied, "took", took.Round(time.Millisecond))
	// Every page now reads the new read models: bring each watched topic
	// up to them.
	s.hub.PublishAll(context.Background())
	s.projectors.stop(old.Projector)
	if err := projections.Drop(ctx, s.deps.ReadModels, old.Projector.Name()); err != nil {
		s.log.Warn("dropping the replaced read models", "projector", old.Projector.Name(), "err", err)
	}
	return finished, nil
}

// reviewRebuild shows d on the dashboard and waits for the admin's choice.
func (s *Server) reviewRebuild(ctx context.Context, d projections.Diff) (bool, error) {
	ch := make(chan bool, 1)
	s.rebuild.mu.Lock()
	s.rebuild.decide = ch
	s.rebuild.mu.Unlock()
	defer func() {
		s.rebuild.mu.Lock()
		if s.rebuild.decide == ch {
			s.rebuild.decide = nil
		}
		s.rebuild.mu.Unlock()
	}()
	st := s.rebuild.get()
	st.Diff = &d
	s.rebuild.set(st)
	s.log.Info("rebuild compared", "projector", st.Name, "documents", d.Compared, "differ", d.Differ)
	wait := time.NewTimer(reviewWait)
	defer wait.Stop()
	select {
	case swap := <-ch:
		return swap, nil
	case <-wait.C:
		return false, nil
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

// RebuildName is the name of the rebuild under way, or of the last one.
func (s *Server) RebuildName() string { return s.rebuild.get().Name }

// Rebuilding reports whether a rebuild runs (in a cluster: anywhere).
func (s *Server) Rebuilding() bool {
	if s.member != nil {
		return s.member.rebuild.running()
	}
	return s.rebuild.running.Load()
}

// RetryParked re-applies a parked stream in the read models in use
// (projections.Projector.Retry), reading its events from the store. In a
// cluster the request is recorded for the lease holder (clusterRetry),
// which retries it on the read models it saves; every other instance then
// loads the saved read models again, and the answer waits for the outcome
// (handlers.ErrRetryPending past retryWait).
func (s *Server) RetryParked(ctx context.Context, ref es.StreamRef) (projections.RetryResult, error) {
	if s.member != nil {
		return s.member.retry.retry(ctx, ref)
	}
	return s.Projector().Retry(ctx, s.deps.Store, ref)
}

// retryStatus is the cluster's last retry, for the board; nil alone.
func (s *Server) retryStatus() *views.RetryStatus {
	if s.member == nil {
		return nil
	}
	return s.member.retry.status()
}
