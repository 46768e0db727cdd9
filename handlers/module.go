package handlers

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
	"time"

	"github.com/a-h/templ"
	"github.com/go-chi/chi/v5"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/projections"
	"github.com/foldboard/foldboard/views"
)

// Module is one domain as the rest of foldboard sees it, described once: the
// handlers, the routes, the live topics, the navigation and the dashboard's
// cards, the timeline, the seed, the load generator and the tests that cover
// every domain (replay, crash, recovery, fuzz, escaping, every page) all
// iterate over Modules instead of naming domains.
//
// A module declares:
//   - its streams, with Kind(decider, view, routes, random): the stream
//     type, the decider and its event registry, the component that draws a
//     state (on the timeline), its routes, and a random command for a
//     state (for the tests that replay every domain);
//   - Page, the route pattern of one stream's page ("/matches/{id}"), where
//     a command's form goes back to and where links to a stream go;
//   - Sections: its entries in the navigation, with their dashboard cards;
//   - ReadModels, made afresh for every read side (a rebuild makes new ones),
//     and Topics, the live topics of its lists, each with its fragment;
//     StreamTopic is the fragment of one of its streams (topic "type/id"),
//     OtherTopic that of any other topic it serves;
//   - Seed (its demo data), Load (its work for `foldboard load`) and
//     Examples (a life of one stream in commands, which the fuzz, escaping,
//     page and e2e tests replay).
//
// The routes turn input into commands with command[S, C, E] (command.go):
// a decode function from the request's fields to the command, the form the
// command came from and the page that shows it again when it fails.
//
// Hooks for what comes next, nil for now:
//   - MaySee and MayDo say who may read a stream and who may issue a
//     command on it; nil lets everyone (the identity work adds owner rules
//     and privacy here and in the deciders);
//   - Reactions are the module's reaction policies (es.Reaction); their
//     commands run through App.Commands, the handlers the routes use.
//
// Adding a domain is its own files — domain/x (the decider), its read model
// in projections, its views, its module file here — and one line in
// Modules (modules.go).
type Module struct {
	// Name names the module in load mixes and test names: "cart".
	Name string
	Kind Kind
	// Page is the route pattern of one stream's page.
	Page     string
	Sections []views.Section
	// ReadModels are the module's read models; Topics the live topics of
	// its lists.
	ReadModels []projections.ReadModel
	Topics     []Topic
	// StreamTopic is the live fragment of the stream id, nil when the id
	// has no fragment (a stream with no events whose page waits for none).
	StreamTopic func(a *App, id string) templ.Component
	// Unseen is the live fragment of stream id for a watcher who may not
	// see it (Owner): what a stream with no events shows. Nil: nothing.
	Unseen func(id string) templ.Component
	// OtherTopic is the live fragment of a topic of the module's that is
	// neither a list nor a stream (an author's drafts), nil for a topic
	// that is not one.
	OtherTopic func(topic string) func(a *App) templ.Component
	// ReadState is the stream's state as the module's read model holds
	// it (for the tests that compare it with a fold of the log).
	ReadState func(ctx context.Context, rs *projections.ReadSide, id string) (state any, ok bool, err error)
	Seed      func(p *SeedPlan)
	Load      []LoadWork
	Examples  []Example

	// MaySee reports whether actor may read the stream (its page, state,
	// events, timeline and topic); nil: everyone may.
	MaySee func(actor string, stream es.StreamRef) bool
	// Owner is who alone (with the admins) may see a stream in state: a
	// draft's author, a cart's owner; "" when anyone may (privacy.go).
	Owner func(state any) string
	// MayDo returns an error (a forbidden *es.Error) when actor may not
	// issue cmd on the stream; nil: everyone may.
	MayDo func(actor string, stream es.StreamRef, cmd any) error
	// Reactions are the module's reaction policies (es.Reaction), run by
	// an es.Reactor each; their commands go through App.Commands.
	Reactions []es.Reaction
}

// StreamType is the type part of the module's streams.
func (m Module) StreamType() string { return m.Kind.StreamType() }

// Topic is one live topic of a module's lists.
type Topic struct {
	Name string
	// Throttle is the least time between two pushes of the topic (it changes
	// with every event of the domain).
	Throttle time.Duration
	Fragment func(a *App) templ.Component
	// ForViewer, when set, renders the topic for each watcher apart,
	// instead of Fragment: a list that shows each person their own
	// private streams (their carts) besides everyone's.
	ForViewer func(a *App, v Viewer) templ.Component
}

// Example is one command of an example life of a stream: the route's
// pattern, the values of its placeholders other than {id} (Params), and its
// fields, where the value "{id}" stands for the stream's id (a command that
// starts a stream names it in a field). The first example starts the
// stream. Text fields (Text) are those any text may be typed into.
type Example struct {
	Path   string
	Params map[string]string
	Fields map[string]any
	Text   []string
	// Actor, when set, is who sends it (else the tests' default actor).
	Actor string
}

// LoadWork is one kind of work of the load generator: the life of a stream
// in JSON commands.
type LoadWork struct {
	// Name is its name in -mix ("cart").
	Name string
	// Life is the version at which a stream is done and a client starts a
	// new one.
	Life int64
	// Next is the command after version v of stream id: the path and the
	// JSON fields, without the braces. n counts the client's streams of this
	// kind; rng is the client's.
	Next func(id string, v int64, n int, client int, rng *rand.Rand, b []byte) (path string, body []byte)
}

// SeedPlan collects the demo data's commands. The modules share one random
// source, so a plan is the same at every run.
type SeedPlan struct {
	Now   time.Time
	Rand  *rand.Rand
	Steps []SeedStep
	today time.Time
}

// SeedStep is one command of the demo data, at its time, with a fixed stream
// and command id, so that a second seed appends nothing.
type SeedStep struct {
	At        time.Time
	Stream    es.StreamRef
	CommandID string
	Actor     string
	Command   any
}

// Actors are the demo data's people.
var seedActors = []string{"ana", "ben", "chandra", "dmitri", "eve"}

// NewSeedPlan starts a plan of demo data up to now.
func NewSeedPlan(now time.Time) *SeedPlan {
	return &SeedPlan{Now: now, Rand: rand.New(rand.NewPCG(2026, 9)), today: now.Truncate(24 * time.Hour)}
}

// Day is a time of day d days from today (d < 0 in the past).
func (p *SeedPlan) Day(d, hour, minute int) time.Time {
	return p.today.AddDate(0, 0, d).Add(time.Duration(hour)*time.Hour + time.Duration(minute)*time.Minute)
}

// Ago is a moment shortly before now, to the second.
func (p *SeedPlan) Ago(d time.Duration) time.Time { return p.Now.Add(-d).Truncate(time.Second) }

// Actor is one of the demo's people, at random.
func (p *SeedPlan) Actor() string { return seedActors[p.Rand.IntN(len(seedActors))] }

// Person is the demo's i-th person (modulo their number).
func (p *SeedPlan) Person(i int) string { return seedActors[i%len(seedActors)] }

// Add plans cmd on stream typ/id at a time, by who; name makes its command
// id ("start").
func (p *SeedPlan) Add(at time.Time, typ, id, name, who string, cmd any) {
	p.Steps = append(p.Steps, SeedStep{At: at, Stream: es.StreamRef{Type: typ, ID: id}, CommandID: id + "-" + name, Actor: who, Command: cmd})
}

// Kind is a module's decider with its types put away, for the code that
// treats every domain alike: the timeline, the state route, the seed and
// the tests. Kind(…) makes one.
type Kind interface {
	StreamType() string
	// Initial is the state of a stream with no events.
	Initial() any
	// Fold folds a stream's events from the initial state.
	Fold(envs []es.Envelope) (any, error)
	// Random is a random command for a stream in state, some refused.
	Random(rng *rand.Rand, state any) any
	// Handler handles the kind's commands on a store.
	Handler(o HandlerOptions) StreamHandler

	view(id string, version int64, state any) templ.Component
	mount(a *App, h StreamHandler, r chi.Router)
	route(cs *es.Commands, h StreamHandler)
}

// HandlerOptions are how a stream handler appends (es.Handler's fields).
type HandlerOptions struct {
	Store         es.Store
	Now           func() time.Time
	SnapshotEvery int64
	OnAppend      func(es.AppendResult)
	Heads         *es.Heads
}

// StreamHandler is an es.Handler with its types put away.
type StreamHandler interface {
	// Handle runs cmd, which must be one of the kind's commands.
	Handle(ctx context.Context, meta es.Meta, cmd any) (es.Result[any], error)
	// Load is a stream's current state and version.
	Load(ctx context.Context, ref es.StreamRef) (any, int64, error)
	// LoadAt folds a stream up to version.
	LoadAt(ctx context.Context, ref es.StreamRef, version int64) (any, int64, error)
	// Step replays a stream to version: the states before and after the
	// event at version, and that event (nil at version 0).
	Step(ctx context.Context, id string, version int64) (before, after any, event *es.Envelope, err error)
}

// routes are a module's own routes, given its command handler.
type routes[S any, C any, E es.Event] func(a *App, h *es.Handler[S, C, E], r chi.Router)

// NewKind describes a module's streams: its decider, the component that
// draws a state, its routes, and a random command for a state (tests).
func NewKind[S any, C any, E es.Event](
	d es.Decider[S, C, E],
	view func(id string, version int64, s S) templ.Component,
	mount func(a *App, h *es.Handler[S, C, E], r chi.Router),
	random func(rng *rand.Rand, s S) C,
) Kind {
	return kind[S, C, E]{d: d, draw: view, routes: mount, random: random}
}

type kind[S any, C any, E es.Event] struct {
	d      es.Decider[S, C, E]
	draw   func(id string, version int64, s S) templ.Component
	routes routes[S, C, E]
	random func(rng *rand.Rand, s S) C
}

func (k kind[S, C, E]) StreamType() string { return k.d.StreamType }
func (k kind[S, C, E]) Initial() any       { return k.d.Initial() }

func (k kind[S, C, E]) Fold(envs []es.Envelope) (any, error) {
	s := k.d.Initial()
	for _, env := range envs {
		e, err := k.d.Events.DecodeEnvelope(env)
		if err != nil {
			return nil, err
		}
		s = k.d.Evolve(s, e)
	}
	return s, nil
}

func (k kind[S, C, E]) Random(rng *rand.Rand, state any) any { return k.random(rng, state.(S)) }

func (k kind[S, C, E]) Handler(o HandlerOptions) StreamHandler {
	return streamHandler[S, C, E]{&es.Handler[S, C, E]{
		Decider: k.d, Store: o.Store, Now: o.Now, SnapshotEvery: o.SnapshotEvery, OnAppend: o.OnAppend, Heads: o.Heads,
	}}
}

func (k kind[S, C, E]) view(id string, version int64, state any) templ.Component {
	return k.draw(id, version, state.(S))
}

func (k kind[S, C, E]) mount(a *App, h StreamHandler, r chi.Router) {
	k.routes(a, h.(streamHandler[S, C, E]).h, r)
}

func (k kind[S, C, E]) route(cs *es.Commands, h StreamHandler) {
	es.Route(cs, h.(streamHandler[S, C, E]).h)
}

type streamHandler[S any, C any, E es.Event] struct{ h *es.Handler[S, C, E] }

func (sh streamHandler[S, C, E]) Handle(ctx context.Context, meta es.Meta, cmd any) (es.Result[any], error) {
	c, ok := cmd.(C)
	if !ok {
		return es.Result[any]{}, es.Errorf(es.Invalid, "UnknownCommand", "%T is not a %s command", cmd, sh.h.Decider.StreamType)
	}
	res, err := sh.h.Handle(ctx, meta, c)
	return es.Result[any]{
		Stream: res.Stream, Version: res.Version, State: res.State, StateJSON: res.StateJSON,
		Events: res.Events, Created: res.Created, Repeated: res.Repeated,
	}, err
}

func (sh streamHandler[S, C, E]) Load(ctx context.Context, ref es.StreamRef) (any, int64, error) {
	return sh.h.Load(ctx, ref)
}

func (sh streamHandler[S, C, E]) LoadAt(ctx context.Context, ref es.StreamRef, version int64) (any, int64, error) {
	return sh.h.LoadAt(ctx, ref, version)
}

func (sh streamHandler[S, C, E]) Step(ctx context.Context, id string, version int64) (any, any, *es.Envelope, error) {
	h := sh.h
	ref := es.StreamRef{Type: h.Decider.StreamType, ID: id}
	if version <= 0 {
		s := h.Decider.Initial()
		return s, s, nil, nil
	}
	before, _, err := h.LoadAt(ctx, ref, version-1)
	if err != nil {
		return nil, nil, nil, err
	}
	envs, err := h.Store.ReadStream(ctx, ref, es.ReadOptions{From: version, Limit: 1})
	if err != nil || len(envs) == 0 {
		return before, before, nil, err
	}
	e, err := h.Decider.Events.DecodeEnvelope(envs[0])
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s version %d: %w", ref, version, err)
	}
	// Evolve leaves before alone, so both states stand.
	return before, h.Decider.Evolve(before, e), &envs[0], nil
}

// Target is the example's path for stream id, its other placeholders filled
// with Params (or, for those Params lacks, with other).
func (ex Example) Target(id, other string) string {
	path := strings.ReplaceAll(ex.Path, "{id}", url.PathEscape(id))
	for {
		open := strings.IndexByte(path, '{')
		end := strings.IndexByte(path, '}')
		if open < 0 || end < open {
			return path
		}
		v, ok := ex.Params[path[open+1:end]]
		if !ok {
			v = other
		}
		path = path[:open] + url.PathEscape(v) + path[end+1:]
	}
}

// FieldsFor are the example's fields for stream id.
func (ex Example) FieldsFor(id string) map[string]any {
	out := make(map[string]any, len(ex.Fields))
	for k, v := range ex.Fields {
		if v == "{id}" {
			v = id
		}
		out[k] = v
	}
	return out
}
