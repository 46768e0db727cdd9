package handlers

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/a-h/templ"
	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/views"
)

// command is one command route: how to read the command from the input, and
// the page that shows its form again when it fails.
type command[S any, C any, E es.Event] struct {
	handler *es.Handler[S, C, E]
	// form names the form of the page the command came from.
	form   string
	decode func(in *input) (C, error)
	// page renders the form's page with the failed attempt; nil falls back
	// to the error page.
	page func(r *http.Request, streamID string, f views.Form) templ.Component
	// location is the page to go to after success.
	location func(streamID string) string
}

// commandResponse is the JSON answer to a command. State is the stream's
// state: the JSON the store keeps when the command appended it, else the
// state itself, encoded here (the same JSON either way).
type commandResponse struct {
	Stream  string        `json:"stream"`
	Version int64         `json:"version"`
	Events  []es.Envelope `json:"events"`
	State   any           `json:"state"`
}

// run decodes, decides and appends one command for stream streamID, and
// answers as the request asks: 303 to the stream's page, or JSON (201 when
// the command started the stream).
//
// streamID names the stream: from the route, or (for a command that starts a
// stream) from an optional field of the input, or a new ULID.
func (c command[S, C, E]) run(a *App, w http.ResponseWriter, r *http.Request, streamID func(*input) (string, error)) (err error) {
	if d := dryRunOf(r.Context()); d != nil {
		c.dryRun(a, r, d, streamID)
		return nil
	}
	// Every command is logged and counted, however it ends: by its name
	// (the route's, until it is decoded), stream, version and outcome.
	start := time.Now()
	done := CommandOutcome{Command: chi.RouteContext(r.Context()).RoutePattern()}
	var actor string
	var repeated bool
	defer func() {
		done.Took = time.Since(start)
		a.commandDone(r, done, actor, repeated, err)
	}()
	in, err := readInput(r)
	if err != nil {
		return err
	}
	// The actor first: a stream the server names is named for it (madeID).
	who, whoErr := a.actor(r)
	in.actor = who
	id, idErr := streamID(in)
	done.Stream = c.handler.Decider.StreamType + "/" + id
	fail := func(err error) error {
		return onPage(err, func(p Problem) templ.Component {
			if c.page == nil {
				return nil
			}
			values := make(map[string]string, len(in.form))
			for k, vs := range in.form {
				values[k] = vs[0]
			}
			return c.page(r, id, views.Form{Name: c.form, Values: values, Code: p.Code, Error: p.Message, Field: problemField(p, values), CommandID: newCommandID()})
		})
	}
	if idErr != nil {
		return fail(idErr)
	}
	if err := validStreamID(id); err != nil {
		return fail(err)
	}
	meta, err := in.meta(id)
	if err != nil {
		return fail(err)
	}
	if meta.Actor, err = who, whoErr; err != nil {
		return fail(err)
	}
	if meta.Actor == Anonymous {
		return fail(errSignInRequired())
	}
	actor = meta.Actor
	meta.CorrelationID = correlationID(r, meta.CommandID)
	meta.CausationID = meta.CommandID
	cmd, err := c.decode(in)
	if err != nil {
		return fail(err)
	}
	cmd = signed(cmd, actor, a.whoIs(r).admin).(C)
	done.Command = commandName(cmd)
	if err := in.done(); err != nil {
		return fail(err)
	}
	if err := a.mayDo(actor, es.StreamRef{Type: c.handler.Decider.StreamType, ID: id}, cmd); err != nil {
		return fail(err)
	}
	ref := es.StreamRef{Type: c.handler.Decider.StreamType, ID: id}
	if ok, err := a.visible(r, ref); err != nil {
		return fail(err)
	} else if !ok {
		return fail(hiddenCommand(c.handler, ref, cmd))
	}
	meta.Fingerprint = requestFingerprint(r, actor, es.StreamRef{Type: c.handler.Decider.StreamType, ID: id}, cmd)
	res, err := c.handler.Handle(r.Context(), meta, cmd)
	if err != nil {
		return fail(err)
	}
	done.Version, repeated = res.Version, res.Repeated
	if wantsJSON(r) {
		status := http.StatusOK
		if res.Created {
			status = http.StatusCreated
		}
		events := res.Events
		if events == nil {
			events = []es.Envelope{}
		}
		var state any = res.State
		if res.StateJSON != nil {
			state = res.StateJSON
		}
		writeJSON(w, status, commandResponse{Stream: res.Stream.String(), Version: res.Version, Events: events, State: state})
		return nil
	}
	a.waitForReadSide(r.Context(), res.Stream, res.Version)
	http.Redirect(w, r, c.location(id), http.StatusSeeOther)
	return nil
}

// mayDo asks the stream's module whether actor may issue cmd.
func (a *App) mayDo(actor string, ref es.StreamRef, cmd any) error {
	if m, ok := a.streams[ref.Type]; ok && m.MayDo != nil {
		return m.MayDo(actor, ref, cmd)
	}
	return nil
}

func newCommandID() string { return es.NewULID(time.Now()) }

// commandName is a command's type name: "StartMatch".
func commandName(cmd any) string {
	name := fmt.Sprintf("%T", cmd)
	return name[strings.LastIndexByte(name, '.')+1:]
}

// commandDone logs a handled command and tells OnCommand. The stream id
// comes from the path and the actor from a header: clipped and escaped.
func (a *App) commandDone(r *http.Request, o CommandOutcome, actor string, repeated bool, err error) {
	level := slog.LevelInfo
	switch {
	case err == nil && repeated:
		o.Outcome = "repeated"
	case err == nil:
		o.Outcome = "ok"
	default:
		p := ProblemOf(err)
		o.Outcome, o.Status = p.Code, p.Status
		if p.Status >= 500 {
			level = slog.LevelWarn
		}
	}
	a.log.LogAttrs(r.Context(), level, "command",
		slog.String("command", LogText(o.Command, LogShort)), slog.String("stream", LogText(o.Stream, LogShort)), slog.Int64("version", o.Version),
		slog.String("outcome", LogText(o.Outcome, LogShort)), slog.String("actor", LogText(actor, LogShort)),
		slog.Duration("duration", o.Took))
	if a.onCommand != nil {
		a.onCommand(o)
	}
}

// correlationID ties the events of one request together: the caller's
// X-Correlation-ID when it is a valid id, else the command id, else a new one.
func correlationID(r *http.Request, commandID string) string {
	if h := r.Header.Get("X-Correlation-ID"); es.ValidID(h) {
		return h
	}
	if commandID != "" {
		return commandID
	}
	return newCommandID()
}

// routeID takes the stream id from the route's {id}.
func routeID(r *http.Request) func(*input) (string, error) {
	id := chi.URLParam(r, "id")
	return func(*input) (string, error) { return id, nil }
}

// newID takes a new stream's id from an optional field, or makes one
// (madeID).
func newID(field string) func(*input) (string, error) {
	return func(in *input) (string, error) {
		id, ok, err := in.rawText(field) // an id: validStreamID judges it
		if err != nil || (ok && id != "") {
			return id, err
		}
		commandID, _, _ := in.rawText("commandId") // meta reads it again, and refuses a bad one
		return madeID(field, in.actor, commandID), nil
	}
}

// clampInt narrows a count to an int, keeping values beyond any bound beyond
// it, so that the decider refuses them as out of range.
func clampInt(n int64) int {
	const limit = 1 << 30
	return int(max(-limit, min(n, limit)))
}

// problemField is the form field a problem is about: the one a malformed
// request named, else the field a domain code names ("BadWickets",
// "InningsOutOfOrder" name wickets and innings), else none.
func problemField(p Problem, values map[string]string) string {
	if p.Field != "" {
		return p.Field
	}
	code := strings.ToLower(p.Code)
	best := ""
	for name := range values {
		if n := strings.ToLower(name); len(n) > len(best) && strings.Contains(code, n) {
			best = name
		}
	}
	return best
}
