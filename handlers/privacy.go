package handlers

import (
	"context"
	"net/http"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/projections"
)

// What is private stays private: a stream whose module names an Owner for
// its current state (a draft, a cart, an account, a person's own stream) is
// seen only by that owner and the admins; to anyone else it is a stream
// that does not exist. The state is the store's (its head), so a stream is
// private from its first event, before any read model has it.

// visible reports whether the request's actor may see the stream.
func (a *App) visible(r *http.Request, ref es.StreamRef) (bool, error) {
	id := a.whoIs(r)
	if id.err != nil {
		return false, id.err
	}
	if id.admin {
		return true, nil
	}
	owner, err := a.ownerOf(r.Context(), ref)
	return owner == "" || owner == id.name, err
}

// ownerOf is who alone may see the stream now, "" when anyone may.
func (a *App) ownerOf(ctx context.Context, ref es.StreamRef) (string, error) {
	m, ok := a.streams[ref.Type]
	if !ok || m.Owner == nil {
		return "", nil
	}
	state, _, err := m.handler.Load(ctx, ref)
	if err != nil {
		return "", err
	}
	return m.Owner(state), nil
}

// hiddenCommand answers a command on a stream the actor may not see as the
// same command on a stream that does not exist would be answered: the
// decider's refusal on the initial state. A command that would start the
// stream there (create a post, add a cart's first item) cannot be answered
// so (the id is taken), and gets 409 IDTaken, the same in every domain:
// that the id is taken is all a would-be creator learns, never by what or
// whose (a domain's own refusal, PostExists or NotOwner, would tell).
func hiddenCommand[S any, C any, E es.Event](h *es.Handler[S, C, E], ref es.StreamRef, cmd C) error {
	if _, err := h.Decider.Decide(cmd, h.Decider.Initial()); err != nil {
		return err
	}
	return errIDTaken(ref)
}

// errIDTaken refuses to start a stream whose id a stream the actor may not
// see holds.
func errIDTaken(ref es.StreamRef) error {
	return es.Errorf(es.Refused, "IDTaken", "the id %s is taken: choose another, or leave it out for a new one", ref.ID)
}

// viewer is whom the request's pages are drawn for.
func (a *App) viewer(r *http.Request) Viewer {
	id := a.whoIs(r)
	if id.err != nil {
		return Viewer{Name: Anonymous}
	}
	return Viewer{Name: id.name, Admin: id.admin}
}

// seer tells, stream by stream, whether one reader may see a stream's
// events, asking the store once per stream.
type seer struct {
	a     *App
	ctx   context.Context
	who   who
	known map[es.StreamRef]bool
}

func (a *App) seerFor(ctx context.Context, id who) *seer {
	return &seer{a: a, ctx: ctx, who: id, known: map[es.StreamRef]bool{}}
}

func (s *seer) sees(ref es.StreamRef) bool {
	if s.who.admin {
		return true
	}
	ok, seen := s.known[ref]
	if !seen {
		owner, err := s.a.ownerOf(s.ctx, ref)
		ok = err == nil && (owner == "" || owner == s.who.name)
		s.known[ref] = ok
	}
	return ok
}

// indexed is the events the reader may see, and how many others there were.
func (s *seer) indexed(events []projections.IndexedEvent) (shown []projections.IndexedEvent, private int) {
	shown = events[:0:0]
	for _, e := range events {
		if s.sees(e.Stream) {
			shown = append(shown, e)
		} else {
			private++
		}
	}
	return shown, private
}

// envelopes is the events the reader may see, and how many others there were.
func (s *seer) envelopes(events []es.Envelope) (shown []es.Envelope, private int) {
	shown = make([]es.Envelope, 0, len(events))
	for _, e := range events {
		if s.sees(e.Stream) {
			shown = append(shown, e)
		} else {
			private++
		}
	}
	return shown, private
}

// publicEvents are the events anyone may see.
func (a *App) publicEvents(ctx context.Context, events []projections.IndexedEvent) []projections.IndexedEvent {
	shown, _ := a.seerFor(ctx, who{name: Anonymous}).indexed(events)
	return shown
}
