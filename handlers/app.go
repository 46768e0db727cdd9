// Package handlers turns HTTP requests into commands and queries: it decodes
// forms and JSON, runs commands through their deciders, and answers with a
// redirect, a page or JSON, as contract.md describes. Its errors are mapped
// to statuses in one place, ProblemOf.
package handlers

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/a-h/templ"
	"github.com/foldboard/foldboard/domain/blog"
	"github.com/foldboard/foldboard/domain/cart"
	"github.com/foldboard/foldboard/domain/cricket"
	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/projections"
	"github.com/foldboard/foldboard/views"
)

// Deps are what the handlers need.
type Deps struct {
	Store es.Store
	// Live is the read side and projector to serve from; when nil, one is
	// made of Projector and Read.
	Live      *projections.Live
	Projector *projections.Projector
	Read      *projections.ReadSide
	// StoreName names the store on the dashboard ("sqlite", "dynamodb").
	StoreName string
	// Secret signs the actor cookie.
	Secret []byte
	Log    *slog.Logger
	// SnapshotEvery keeps a snapshot every so many versions of every stream.
	SnapshotEvery int64
	// Heads, when set, remembers streams' states between commands (es.Heads).
	Heads *es.Heads
	// OnAppend is told of every append (a feed that must be woken).
	OnAppend func(es.AppendResult)
	// Now is the clock of events; the wall clock by default.
	Now func() time.Time
	// Rebuild starts a rebuild of the read models, and RebuildStatus tells
	// how it goes; without them the dashboard offers none.
	Rebuild       func() error
	RebuildStatus func() views.RebuildStatus
	// OnCommand is told of every command handled (for metrics).
	OnCommand func(CommandOutcome)
}

// App holds the handlers' dependencies.
type App struct {
	store es.Store
	// live is what the pages read from; a rebuild swaps it.
	live      *projections.Live
	storeName string
	secret    []byte
	log       *slog.Logger

	rebuild       func() error
	rebuildStatus func() views.RebuildStatus
	onCommand     func(CommandOutcome)

	matches *es.Handler[cricket.State, cricket.Command, cricket.Event]
	carts   *es.Handler[cart.State, cart.Command, cart.Event]
	posts   *es.Handler[blog.State, blog.Command, blog.Event]
	// streams knows, for each stream type, how to replay and draw a stream.
	streams map[string]streamKind
}

// New makes the handlers.
func New(d Deps) *App {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	live := d.Live
	if live == nil {
		live = projections.NewLive(projections.Current{Read: d.Read, Projector: d.Projector})
	}
	a := &App{
		store: d.Store, live: live, storeName: d.StoreName,
		secret: d.Secret, log: d.Log,
		rebuild: d.Rebuild, rebuildStatus: d.RebuildStatus, onCommand: d.OnCommand,
		streams: map[string]streamKind{},
	}
	a.matches = &es.Handler[cricket.State, cricket.Command, cricket.Event]{
		Decider: cricket.Decider(), Store: d.Store, Now: d.Now,
		SnapshotEvery: d.SnapshotEvery, OnAppend: d.OnAppend, Heads: d.Heads,
	}
	registerStream(a, a.matches, matchLocation, func(id string, v int64, s cricket.State) templ.Component {
		return views.Scoreboard(views.Match{ID: id, Version: v, State: s})
	})
	a.carts = &es.Handler[cart.State, cart.Command, cart.Event]{
		Decider: cart.Decider(), Store: d.Store, Now: d.Now,
		SnapshotEvery: d.SnapshotEvery, OnAppend: d.OnAppend, Heads: d.Heads,
	}
	registerStream(a, a.carts, cartLocation, func(id string, v int64, s cart.State) templ.Component {
		return views.CartView(views.Cart{ID: id, Version: v, State: s}, false)
	})
	a.posts = &es.Handler[blog.State, blog.Command, blog.Event]{
		Decider: blog.Decider(), Store: d.Store, Now: d.Now,
		SnapshotEvery: d.SnapshotEvery, OnAppend: d.OnAppend, Heads: d.Heads,
	}
	registerStream(a, a.posts, postLocation, func(id string, v int64, s blog.State) templ.Component {
		return views.PostView(views.Post{ID: id, Version: v, State: s})
	})
	return a
}

// read is the read side the pages read from now.
func (a *App) read() *projections.ReadSide { return a.live.Load().Read }

// proj is the projector that keeps it.
func (a *App) proj() *projections.Projector { return a.live.Load().Projector }

// page is the layout's view of a request.
func (a *App) page(r *http.Request, title string) views.Page {
	return views.Page{Title: title, Actor: a.cookieActor(r), Path: r.URL.Path}
}

// waitForReadSide gives the projector a moment to apply a command's events,
// so that the page a browser is redirected to shows what it just did. It
// never fails: a slow read side only means the live update brings it.
func (a *App) waitForReadSide(ctx context.Context, stream es.StreamRef, version int64) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	a.proj().WaitFor(ctx, stream, version)
}

// Health answers 200 when the store answers and the projector runs.
func (a *App) Health(w http.ResponseWriter, r *http.Request) error {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := a.store.Ping(ctx); err != nil {
		a.log.Warn("health: store does not answer", "err", err)
		http.Error(w, "store unavailable", http.StatusServiceUnavailable)
		return nil
	}
	if !a.proj().Status().Running {
		http.Error(w, "projector not running", http.StatusServiceUnavailable)
		return nil
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
	return nil
}
