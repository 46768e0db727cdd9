package web

import (
	"context"
	"errors"
	"time"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/projections"
	"github.com/foldboard/foldboard/views"
)

// errRebuildRunning refuses a second rebuild while one runs.
var errRebuildRunning = es.Errorf(es.Refused, "RebuildRunning", "a rebuild of the read models is already running")

// StartRebuild starts a rebuild of the read models in the background: fresh
// read models under a new name replay the whole log; once they have caught
// up they are saved as the ones in use and swapped in for the pages and the
// live updates, and the old ones are dropped. The server serves from the old
// ones meanwhile. It fails when a rebuild runs already, or before Serve.
func (s *Server) StartRebuild() error {
	s.runMu.Lock()
	ctx := s.runCtx
	s.runMu.Unlock()
	if ctx == nil || ctx.Err() != nil {
		return es.Errorf(es.Refused, "NotServing", "the server is not running its projector")
	}
	if !s.rebuilding.CompareAndSwap(false, true) {
		return errRebuildRunning
	}
	name := projections.NewName(time.Now())
	s.setRebuild(views.RebuildStatus{Running: true, Name: name})
	s.runWG.Go(func() {
		defer s.rebuilding.Store(false)
		if err := s.rebuild(ctx, name); err != nil {
			s.log.Error("rebuild failed", "projector", name, "err", err)
			st := s.rebuildStatus()
			st.Running, st.Error = false, err.Error()
			s.setRebuild(st)
		}
	})
	return nil
}

func (s *Server) rebuild(ctx context.Context, name string) error {
	begin := time.Now()
	s.log.Info("rebuild started", "projector", name)
	read, p := s.newReadSide(name)
	if err := p.Load(ctx); err != nil {
		return err
	}
	s.runProjector(p)
	inUse := s.live.Load().Projector.Catalogue()
	err := projections.CatchUp(ctx, p, inUse, 250*time.Millisecond, func(pr projections.Progress) {
		st := views.RebuildStatus{
			Running: true, Name: name, Applied: pr.Applied, Total: pr.Total, Rate: pr.Rate, Elapsed: pr.Elapsed,
		}
		if pr.Err != nil {
			st.Error = pr.Err.Error()
		}
		s.setRebuild(st)
	})
	if err == nil {
		// What was appended during the catch-up, so that the swap goes
		// back on no page.
		reachCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err = projections.Reach(reachCtx, p, inUse)
		cancel()
	}
	if err != nil {
		s.stopProjector(p)
		s.dropLater(name)
		if errors.Is(err, context.Canceled) {
			return errors.New("the server stopped before the rebuild caught up")
		}
		return err
	}
	if err := projections.SaveCurrentName(ctx, s.deps.ReadModels, name); err != nil {
		s.stopProjector(p)
		s.dropLater(name)
		return err
	}
	old := s.live.Swap(projections.Current{Read: read, Projector: p})
	st := p.Status()
	took := time.Since(begin)
	s.setRebuild(views.RebuildStatus{
		Name: name, Applied: st.Applied, Total: st.Applied, Elapsed: took, Finished: true,
		Rate: float64(st.Applied) / max(took.Seconds(), 1e-9),
	})
	s.log.Info("rebuild swapped in", "projector", name, "replaced", old.Projector.Name(), "events", st.Applied, "took", took.Round(time.Millisecond))
	// Every page now reads the new read models: bring each watched topic
	// up to them.
	s.hub.PublishAll(context.Background())
	s.stopProjector(old.Projector)
	if err := projections.Drop(ctx, s.deps.ReadModels, old.Projector.Name()); err != nil {
		s.log.Warn("dropping the replaced read models", "projector", old.Projector.Name(), "err", err)
	}
	return nil
}

// dropLater drops the documents of a rebuild that did not finish, within a
// few seconds, whether or not the server is stopping.
func (s *Server) dropLater(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := projections.Drop(ctx, s.deps.ReadModels, name); err != nil {
		s.log.Warn("dropping an unfinished rebuild", "projector", name, "err", err)
	}
}

func (s *Server) setRebuild(st views.RebuildStatus) {
	s.rebuildMu.Lock()
	s.rebuildSt = st
	s.rebuildMu.Unlock()
	s.hub.Publish(context.Background(), []string{projections.TopicDashboard})
}

func (s *Server) rebuildStatus() views.RebuildStatus {
	s.rebuildMu.Lock()
	defer s.rebuildMu.Unlock()
	return s.rebuildSt
}

// Rebuilding reports whether a rebuild runs.
func (s *Server) Rebuilding() bool { return s.rebuilding.Load() }
