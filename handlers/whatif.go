package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/views"
)

// "What if" (contract.md): POST /streams/{type}/{id}/try?version=N runs a
// command against the state at version N and answers as the command would,
// appending nothing. It goes through the command's own route, so that the
// command is read from the fields exactly as the route reads it: the route
// runs in a dry run (dryRun in its context), which stops before the append
// and decides on the state at N instead (es.Handler.WhatIf).

// tryRoute is one command route of a module: its pattern, its handler, and
// the fields of its example (for the timeline's forms).
type tryRoute struct {
	Command string
	Pattern string
	Handler http.HandlerFunc
	Example Example
}

// dryRun is a command route's run that decides without appending: only
// learning the route's command name (learn), or deciding at version.
type dryRun struct {
	learn    bool
	version  int64
	streamID string
	// params are the route's placeholders, sent as fields of the try.
	params []string
	// What the run found: the command's name, its result or error.
	name   string
	before any
	result es.Result[any]
	err    error
}

type dryRunKey struct{}

func dryRunOf(ctx context.Context) *dryRun {
	d, _ := ctx.Value(dryRunKey{}).(*dryRun)
	return d
}

// dryRun is run's dry run: read the command as the route does, then decide
// it at d.version with WhatIf.
func (c command[S, C, E]) dryRun(a *App, r *http.Request, d *dryRun, streamID func(*input) (string, error)) {
	in, err := readInput(r)
	if err != nil {
		d.err = err
		return
	}
	for _, name := range append(d.params, "command") {
		in.used[name] = true
	}
	id, err := streamID(in)
	if d.streamID != "" {
		id, err = d.streamID, nil
	}
	if err == nil {
		err = validStreamID(id)
	}
	var meta es.Meta
	if err == nil {
		meta, err = in.meta(id)
	}
	if err == nil {
		meta.Actor, err = a.actor(r)
	}
	var cmd C
	if err == nil {
		cmd, err = c.decode(in)
	}
	if err == nil {
		cmd = signed(cmd, meta.Actor, a.whoIs(r).admin).(C)
		d.name = commandName(cmd)
	}
	if d.learn || err != nil {
		d.err = err
		return
	}
	if d.err = in.done(); d.err != nil {
		return
	}
	if d.err = a.mayDo(meta.Actor, es.StreamRef{Type: c.handler.Decider.StreamType, ID: id}, cmd); d.err != nil {
		return
	}
	ref := es.StreamRef{Type: c.handler.Decider.StreamType, ID: id}
	if d.before, _, d.err = c.handler.LoadAt(r.Context(), ref, d.version); d.err != nil {
		return
	}
	res, err := c.handler.WhatIf(r.Context(), meta, cmd, d.version)
	d.result = es.Result[any]{Stream: res.Stream, Version: res.Version, State: res.State, Events: res.Events, Created: res.Created}
	d.err = err
}

// learnCommands finds the command of each of a module's routes that has an
// example, by a dry run of the example's fields that stops once the
// command is read.
func learnCommands(m Module, rec *commandAddresses) map[string]tryRoute {
	out := map[string]tryRoute{}
	for _, ex := range m.Examples {
		h, ok := rec.handlers[ex.Path]
		if !ok {
			continue
		}
		body, err := json.Marshal(ex.FieldsFor("example"))
		if err != nil {
			continue
		}
		d := &dryRun{learn: true, streamID: "example"}
		req := routeRequest(context.Background(), d, ex.Path, "example", ex.Params, body, "application/json", nil)
		h(discardWriter{header: http.Header{}}, req)
		if d.name != "" {
			if _, seen := out[d.name]; !seen {
				out[d.name] = tryRoute{Command: d.name, Pattern: ex.Path, Handler: h, Example: ex}
			}
		}
	}
	return out
}

// routeRequest is a request to a command route as the router would have
// made it: its pattern, {id} and the other placeholders, the body, and the
// headers that say who asks and what they accept.
func routeRequest(ctx context.Context, d *dryRun, pattern, id string, params map[string]string, body []byte, contentType string, from *http.Request) *http.Request {
	rctx := chi.NewRouteContext()
	rctx.RoutePatterns = []string{pattern}
	rctx.URLParams.Add("id", id)
	for _, name := range placeholders(pattern) {
		if name != "id" {
			rctx.URLParams.Add(name, params[name])
			d.params = append(d.params, name)
		}
	}
	ctx = context.WithValue(context.WithValue(ctx, chi.RouteCtxKey, rctx), dryRunKey{}, d)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, views.Path(pattern, id), bytes.NewReader(body))
	if from != nil {
		req.Header = from.Header.Clone()
		req.RemoteAddr = from.RemoteAddr
	}
	req.Header.Set("Content-Type", contentType)
	return req
}

// placeholders are a route pattern's {names}, in order.
func placeholders(pattern string) []string {
	var out []string
	for rest := pattern; ; {
		open := strings.IndexByte(rest, '{')
		end := strings.IndexByte(rest, '}')
		if open < 0 || end < open {
			return out
		}
		out = append(out, rest[open+1:end])
		rest = rest[end+1:]
	}
}

type discardWriter struct{ header http.Header }

func (w discardWriter) Header() http.Header       { return w.header }
func (discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (discardWriter) WriteHeader(int)             {}

// tryAnswer is the JSON answer of a try: what the command would append.
type tryAnswer struct {
	Version int64         `json:"version"`
	Events  []es.Envelope `json:"events"`
	State   any           `json:"state"`
}

// Try is POST /streams/{type}/{id}/try?version=N.
func (a *App) Try(w http.ResponseWriter, r *http.Request) error {
	ref, kind, latest, err := a.tryStream(r)
	if err != nil {
		return err
	}
	version, err := queryInt(r, "version", latest, 0, 1<<62)
	if err != nil {
		return err
	}
	if version > latest {
		return es.Errorf(es.Missing, "NoSuchVersion", "%s has %s: there is no version %d", ref, views.Count(latest, "event"), version)
	}
	outcome := a.tryCommand(r, ref, version)
	if wantsJSON(r) {
		if outcome.err != nil {
			return outcome.err
		}
		writeJSON(w, http.StatusOK, tryAnswer{Version: outcome.result.Version, Events: outcome.result.Events, State: outcome.result.State})
		return nil
	}
	t, err := a.timeline(r, ref, kind, version, latest)
	if err != nil {
		return err
	}
	if t.Try, err = tryView(outcome); err != nil {
		return err
	}
	status := http.StatusOK
	if outcome.err != nil {
		status = ProblemOf(outcome.err).Status
	}
	p := a.page(r, "What if, on "+ref.String())
	p.Path = views.TimelinePath(ref, version)
	a.render(w, r, status, views.TimelinePage(p, t))
	return nil
}

// tryStream is the stream a try names: of a known type, that the actor may
// see, with its latest version (0 for a stream with no events yet).
func (a *App) tryStream(r *http.Request) (es.StreamRef, mounted, int64, error) {
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
	return ref, kind, head.Version, err
}

// tryCommand reads the command's name from the request and runs its route
// in a dry run at version.
func (a *App) tryCommand(r *http.Request, ref es.StreamRef, version int64) *dryRun {
	d := &dryRun{version: version, streamID: ref.ID}
	body, err := io.ReadAll(r.Body) // bounded by the server's body limit
	if _, tooBig := err.(*http.MaxBytesError); tooBig {
		d.err = err
		return d
	} else if err != nil {
		d.err = &bodyError{err: err}
		return d
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	in, err := readInput(r)
	if err != nil {
		d.err = err
		return d
	}
	name, _, err := in.rawText("command")
	if err != nil {
		d.err = err
		return d
	}
	route, ok := a.tries[ref.Type][name]
	if !ok {
		d.err = badRequest("UnknownCommand", "command", "%s streams take %s; %.40q is not one of them", ref.Type, strings.Join(a.tryable(ref.Type), ", "), name)
		return d
	}
	params := map[string]string{}
	for _, p := range placeholders(route.Pattern) {
		if v, ok, err := in.rawText(p); err == nil && ok {
			params[p] = v
		}
	}
	d.name = name
	route.Handler(discardWriter{header: http.Header{}}, routeRequest(r.Context(), d, route.Pattern, ref.ID, params, body, r.Header.Get("Content-Type"), r))
	return d
}

// tryable are the commands a stream type's try takes, by name.
func (a *App) tryable(streamType string) []string {
	var out []string
	for name := range a.tries[streamType] {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// tryView is a try's outcome as the timeline shows it.
func tryView(d *dryRun) (*views.TryOutcome, error) {
	out := &views.TryOutcome{Command: d.name}
	if d.err != nil {
		p := ProblemOf(d.err)
		out.Code, out.Error = p.Code, p.Message
		return out, nil
	}
	out.Events = d.result.Events
	out.Version = d.result.Version
	stateJSON, err := json.MarshalIndent(d.result.State, "", "  ")
	if err != nil {
		return nil, err
	}
	out.StateJSON = string(stateJSON)
	out.Changes, err = diffStates(d.before, d.result.State)
	return out, err
}

// tryForms are the timeline's "what if" forms of a stream type at version:
// one per command its routes take, with its example's fields.
func (a *App) tryForms(ref es.StreamRef, version int64) []views.TryForm {
	var out []views.TryForm
	for _, name := range a.tryable(ref.Type) {
		route := a.tries[ref.Type][name]
		f := views.TryForm{Command: name, Action: views.TryPath(ref, version)}
		for _, p := range placeholders(route.Pattern) {
			if p != "id" {
				f.Fields = append(f.Fields, views.TryField{Name: p, Value: route.Example.Params[p]})
			}
		}
		for _, k := range sortedKeys(route.Example.Fields) {
			v := route.Example.Fields[k]
			if v == "{id}" {
				continue // the stream's own id, which a try keeps
			}
			text, ok := v.(string)
			if !ok {
				b, _ := json.Marshal(v)
				text = string(b)
			}
			f.Fields = append(f.Fields, views.TryField{Name: k, Value: text})
		}
		out = append(out, f)
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// TryAddress is GET /streams/{type}/{id}/try?version=N: the address bar
// after a try without script, which opens the timeline at N.
func (a *App) TryAddress(w http.ResponseWriter, r *http.Request) error {
	ref, err := streamRef(r)
	if err != nil {
		return err
	}
	v, err := queryInt(r, "version", 0, 0, 1<<62)
	if err != nil {
		return err
	}
	target := "/streams/" + ref.Type + "/" + ref.ID + "/timeline"
	if r.URL.Query().Has("version") {
		target = views.TimelinePath(ref, v)
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
	return nil
}
