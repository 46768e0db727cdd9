package web

import (
	"context"
	"errors"
	"time"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/projections"
)

// StartModelRebuild rebuilds one read model of those in use alone, in the
// background (projections.ModelRebuild): a fresh copy replays the whole log
// while the pages read the one in use, then takes its place in memory and
// in the saved documents; the other read models stay as they are. It
// shares the rebuilds' one-at-a-time (409 RebuildRunning), and is refused
// In a cluster the request is recorded in the rebuild's record (one
// rebuild of any kind at a time) for the lease holder, which rebuilds the
// model in the read models it saves; every other instance then loads the
// saved read models again.
func (s *Server) StartModelRebuild(model string) error {
	ctx := s.projectors.serving()
	if ctx == nil || ctx.Err() != nil {
		return es.Errorf(es.Refused, "NotServing", "the server is not running its projector")
	}
	cur := s.live.Load()
	if cur.Read.Model(model) == nil {
		return es.Errorf(es.Invalid, "BadModel", "%q is no read model of the board", model)
	}
	if s.member != nil {
		ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		return s.member.rebuild.requestModel(ctx, model, cur.Projector.Name()+"."+model)
	}
	if !s.rebuild.running.CompareAndSwap(false, true) {
		return errRebuildRunning
	}
	name := cur.Projector.Name() + "." + model
	s.rebuild.set(rebuildState{Running: true, Name: name, Model: model})
	s.projectors.background(func() {
		// Freed before the state says it ended (see startRebuild).
		defer s.rebuild.running.Store(false)
		begin := time.Now()
		s.log.Info("read model rebuild started", "projector", cur.Projector.Name(), "model", model)
		var last projections.Progress
		rb := projections.ModelRebuild{
			Setup: s.setup, InUse: *cur, Model: model, Events: s.deps.Store, Every: 250 * time.Millisecond,
			Report: func(pr projections.Progress) {
				last = pr
				s.rebuild.set(rebuildState{Running: true, Name: name, Model: model, Progress: pr})
			},
			Swap: func(c projections.Current) { s.live.Swap(c) },
		}
		err := rb.Run(ctx)
		st := rebuildState{Name: name, Model: model, Progress: last}
		if err != nil {
			if ctx.Err() != nil {
				err = errors.New("the server stopped before the rebuild caught up")
			}
			s.log.Error("read model rebuild failed", "model", model, "err", err)
			st.Err = err.Error()
			s.rebuild.running.Store(false)
			s.rebuild.set(st)
			return
		}
		took := time.Since(begin)
		st.Finished, st.Progress.Total, st.Progress.Elapsed = true, last.Applied, took
		s.rebuild.running.Store(false)
		s.rebuild.set(st)
		s.log.Info("read model rebuilt", "model", model, "events", last.Applied, "took", took.Round(time.Millisecond))
		s.hub.PublishAll(ctx)
	})
	return nil
}
