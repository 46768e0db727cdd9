package web

import (
	"context"

	"github.com/foldboard/foldboard/projections"
)

// runningProjector is a projector running under Serve.
type runningProjector struct {
	stop context.CancelFunc
	done chan struct{} // closed when its Run has returned
}

// runProjector runs p until Serve stops or stopProjector(p).
func (s *Server) runProjector(p *projections.Projector) {
	s.runMu.Lock()
	defer s.runMu.Unlock()
	ctx, stop := context.WithCancel(s.runCtx)
	rp := &runningProjector{stop: stop, done: make(chan struct{})}
	s.running[p] = rp
	s.runWG.Go(func() {
		defer close(rp.done)
		defer stop()
		if err := p.Run(ctx); err != nil {
			s.log.Error("projector stopped", "projector", p.Name(), "err", err)
		}
		s.runMu.Lock()
		delete(s.running, p)
		s.runMu.Unlock()
	})
}

// stopProjector stops p and waits for its last save.
func (s *Server) stopProjector(p *projections.Projector) {
	s.runMu.Lock()
	rp := s.running[p]
	s.runMu.Unlock()
	if rp != nil {
		rp.stop()
		<-rp.done
	}
}
