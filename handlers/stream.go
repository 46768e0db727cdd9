package handlers

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/go-chi/chi/v5"

	"github.com/foldboard/foldboard/domain/user"
	"github.com/foldboard/foldboard/es"
)

// streamRef reads {type} and {id} from the route.
func streamRef(r *http.Request) (es.StreamRef, error) {
	ref := es.StreamRef{Type: chi.URLParam(r, "type"), ID: chi.URLParam(r, "id")}
	if err := ref.Validate(); err != nil {
		return ref, badRequest("BadID", "id", "%v", err)
	}
	return ref, nil
}

// queryInt reads an optional whole-number query parameter within [lo, hi],
// given once.
func queryInt(r *http.Request, name string, def, lo, hi int64) (int64, error) {
	vs := r.URL.Query()[name]
	if len(vs) > 1 {
		return 0, duplicateField(name)
	}
	if len(vs) == 0 || vs[0] == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(vs[0], 10, 64)
	if err != nil || n < lo || n > hi || vs[0][0] == '+' {
		return 0, badRequest("BadQuery", name, "%s", rangeText(name, lo, hi))
	}
	return n, nil
}

// rangeText says what a number parameter takes, as a person would: a bound
// no one reaches (a version of 2^62) is "or more".
func rangeText(name string, lo, hi int64) string {
	if hi >= 1<<40 {
		return fmt.Sprintf("%s must be a whole number, %d or more", name, lo)
	}
	return fmt.Sprintf("%s must be a whole number from %d to %d", name, lo, hi)
}

// StreamEvents is GET /streams/{type}/{id}/events?from=&limit=&reverse=.
func (a *App) StreamEvents(w http.ResponseWriter, r *http.Request) error {
	ref, err := streamRef(r)
	if err != nil {
		return err
	}
	from, err := queryInt(r, "from", 0, 0, 1<<62)
	if err != nil {
		return err
	}
	limit, err := queryInt(r, "limit", 1000, 1, 10_000)
	if err != nil {
		return err
	}
	reverse := r.URL.Query().Get("reverse") == "true"
	if m, ok := a.streams[ref.Type]; ok {
		if err := a.maySee(r, m.Module, ref); errors.Is(err, es.ErrNotFound) {
			// As a stream that does not exist: no events, version 0.
			writeJSON(w, http.StatusOK, map[string]any{"events": []es.Envelope{}, "version": 0})
			return nil
		} else if err != nil {
			return err
		}
	}
	head, err := a.store.Head(r.Context(), ref)
	if err != nil {
		return err
	}
	events, err := a.store.ReadStream(r.Context(), ref, es.ReadOptions{From: from, Limit: int(limit), Reverse: reverse})
	if err != nil {
		return err
	}
	if events == nil {
		events = []es.Envelope{}
	}
	for i := range events {
		events[i] = user.Redact(events[i])
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": events, "version": head.Version})
	return nil
}

// replayTarget reads what the state and timeline routes replay: a stream of
// a known type that has events, and the version asked for in the query
// parameter param (the latest by default; past the end means the latest).
func (a *App) replayTarget(r *http.Request, param string) (es.StreamRef, mounted, int64, int64, error) {
	ref, kind, latest, err := a.replayStream(r)
	if err != nil {
		return ref, kind, 0, 0, err
	}
	v, err := queryInt(r, param, latest, 0, 1<<62)
	if err != nil {
		return ref, kind, 0, 0, err
	}
	return ref, kind, min(v, latest), latest, nil
}

// replayStream is the stream of a known type, with events, that the route
// names, and its latest version.
func (a *App) replayStream(r *http.Request) (es.StreamRef, mounted, int64, error) {
	ref, err := streamRef(r)
	if err != nil {
		return ref, mounted{}, 0, err
	}
	kind, ok := a.streams[ref.Type]
	if !ok {
		return ref, kind, 0, es.Errorf(es.Missing, "UnknownStreamType", "there are no %q streams", ref.Type)
	}
	if err := a.maySee(r, kind.Module, ref); err != nil {
		return ref, kind, 0, err
	}
	head, err := a.store.Head(r.Context(), ref)
	if err != nil {
		return ref, kind, 0, err
	}
	if head.Version == 0 {
		return ref, kind, 0, errStreamNotFound(ref)
	}
	return ref, kind, head.Version, nil
}

// StreamState is GET /streams/{type}/{id}/state?version=N: the stream folded
// up to version N (the latest by default).
func (a *App) StreamState(w http.ResponseWriter, r *http.Request) error {
	ref, kind, version, _, err := a.replayTarget(r, "version")
	if err != nil {
		return err
	}
	state, at, err := kind.handler.LoadAt(r.Context(), ref, version)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"version": at, "state": state})
	return nil
}

// maySee refuses a stream its module does not let the request's actor read,
// as a stream that does not exist.
func (a *App) maySee(r *http.Request, m Module, ref es.StreamRef) error {
	ok, err := a.visible(r, ref)
	if err != nil {
		return err
	}
	if !ok {
		return errStreamNotFound(ref)
	}
	if m.MaySee == nil {
		return nil
	}
	actor, err := a.actor(r)
	if err != nil {
		return err
	}
	if !m.MaySee(actor, ref) {
		return errStreamNotFound(ref)
	}
	return nil
}

// errStreamNotFound is the answer for a stream that does not exist, and for
// one the actor may not see: the same, so that its id cannot be probed.
func errStreamNotFound(ref es.StreamRef) error {
	return es.Errorf(es.Missing, "StreamNotFound", "there is no stream %s", ref)
}
