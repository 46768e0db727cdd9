// Package handlers turns HTTP requests into commands and queries: it decodes
// forms and JSON, runs commands through their deciders, and answers with a
// redirect, a page or JSON, as docs/contract.md describes. Its errors are mapped
// to statuses in one place, ProblemOf.
package handlers

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/foldboard/foldboard/domain/user"
	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/projections"
	"github.com/foldboard/foldboard/views"
)

// Deps are what the handlers need.
type Deps struct {
	Store es.Store
	// Live is the read side and projector to serve from.
	Live *projections.Live
	// Modules are the domains served; Modules() by default.
	Modules []Module
	// StoreName names the store on the dashboard ("sqlite", "dynamodb").
	StoreName string
	// Secret signs the session cookie.
	Secret []byte
	// Identity says how a request's actor is known: sessions, tokens, a
	// trusted proxy's header; and who the admins are.
	Identity Identity
	Log      *slog.Logger
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
	// Retry re-applies a parked stream (POST /projections/retry); nil: the
	// board offers none.
	Retry func(ctx context.Context, ref es.StreamRef) (projections.RetryResult, error)
	// Latency is the last minute's command → browser figures (the hub's).
	Latency func() views.LiveLatency
	// RebuildReview starts a rebuild that waits, once compared with the
	// read models in use, for DecideRebuild (true: swap it in).
	RebuildReview func() error
	DecideRebuild func(swap bool) error
	// RebuildModel starts a rebuild of one read model alone (POST
	// /projections/rebuild); nil: the board offers none.
	RebuildModel func(model string) error
	// OnCommand is told of every command handled (for metrics).
	OnCommand func(CommandOutcome)
	// Reactions tells how each reactor does (dashboard, /projections); nil
	// for none.
	Reactions func() []es.ReactorStatus
	// Shards tells where a checkpoint stands in each shard of the store's
	// change feed (es.ShardedFeed: DynamoDB Streams), for /projections; nil
	// when the feed has no shards.
	Shards func(ctx context.Context, checkpoint string, now time.Time) (es.ShardReport, error)
	// Instance, when set, names this instance and its role in its cluster,
	// for /healthz (without it: "projector", the only one).
	Instance func() (id, role string)
	// Cluster, when set, is the cluster as this instance sees it: its
	// instances and the high-water mark the lag is measured against.
	Cluster func() *views.Cluster
	// Reloading, when set, says the instance is loading the read models in
	// use again (a cluster's rebuild swapped in others) and does not serve
	// them yet: /healthz answers 503 "reloading" meanwhile.
	Reloading func() bool
	// RetryStatus, when set, is a cluster's last retry of a parked stream
	// (asked for anywhere, run by the lease holder), for the board.
	RetryStatus func() *views.RetryStatus
}

// App holds the handlers' dependencies.
type App struct {
	store es.Store
	// live is what the pages read from; a rebuild swaps it.
	live      *projections.Live
	storeName string
	secret    []byte
	log       *slog.Logger
	ident     Identity
	people    *people
	hasher    *hasher
	signIns   *signInLimits
	// replays bound the timelines' replays of read models.
	replays *replayGate

	rebuild        func() error
	rebuildStatus  func() views.RebuildStatus
	retry          func(ctx context.Context, ref es.StreamRef) (projections.RetryResult, error)
	latency        func() views.LiveLatency
	rebuildReview  func() error
	decideRebuild  func(swap bool) error
	rebuildModel   func(model string) error
	onCommand      func(CommandOutcome)
	reactionStatus func() []es.ReactorStatus
	shards         func(ctx context.Context, checkpoint string, now time.Time) (es.ShardReport, error)
	instance       func() (id, role string)
	cluster        func() *views.Cluster
	reloading      func() bool
	retryStatus    func() *views.RetryStatus

	modules []Module
	// streams are the modules by stream type, each with its command handler.
	streams map[string]mounted
	// nav is the navigation; pages the page of each module's streams.
	nav   []views.Section
	pages views.StreamPages
	// commands runs a command on any module's stream through the same
	// handlers (for reactions).
	commands *es.Commands
	// tries are the command routes of each stream type by the command's
	// name, for "what if" (Try); Mount learns them.
	tries map[string]map[string]tryRoute
	// commandRoutes are the modules' command patterns (CommandRoutes).
	commandRoutes []string
}

// mounted is a module served by an App, with its command handler.
type mounted struct {
	Module
	handler StreamHandler
}

// New makes the handlers of every module.
func New(d Deps) *App {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.Modules == nil {
		d.Modules = Modules()
	}
	a := &App{
		store: d.Store, live: d.Live, storeName: d.StoreName,
		secret: d.Secret, log: d.Log, ident: d.Identity.withDefaults(),
		hasher: newHasher(), signIns: newSignInLimits(d.Identity.SignInRate), replays: newReplayGate(),
		rebuild: d.Rebuild, rebuildStatus: d.RebuildStatus, rebuildReview: d.RebuildReview, decideRebuild: d.DecideRebuild, rebuildModel: d.RebuildModel, retry: d.Retry, latency: d.Latency, onCommand: d.OnCommand, reactionStatus: d.Reactions,
		shards: d.Shards, instance: d.Instance, cluster: d.Cluster, reloading: d.Reloading, retryStatus: d.RetryStatus,
		modules: d.Modules, streams: map[string]mounted{}, pages: views.StreamPages{},
		nav: []views.Section{views.DashboardSection}, commands: &es.Commands{}, tries: map[string]map[string]tryRoute{},
	}
	opts := HandlerOptions{Store: d.Store, Now: d.Now, SnapshotEvery: d.SnapshotEvery, OnAppend: d.OnAppend, Heads: d.Heads}
	for _, m := range d.Modules {
		h := m.Kind.Handler(opts)
		a.streams[m.StreamType()] = mounted{Module: m, handler: h}
		m.Kind.route(a.commands, h)
		a.pages[m.StreamType()] = m.Page
		a.nav = append(a.nav, m.Sections...)
	}
	a.nav = append(a.nav, views.EventsSection)
	// Accounts are read from the store on every instance: no Heads, which
	// would remember a session this process saw after another ended it.
	users := &es.Handler[user.State, user.Command, user.Event]{
		Decider: user.Decider(), Store: d.Store, Now: d.Now, SnapshotEvery: d.SnapshotEvery, OnAppend: d.OnAppend,
	}
	a.people = newPeople(users)
	a.streams[user.StreamType] = peopleModule(users)
	return a
}

// Commands runs a command on a stream of any module through the handlers
// the routes use (their Heads, OnAppend and snapshots).
func (a *App) Commands() *es.Commands { return a.commands }

// Modules are the modules the app serves.
func (a *App) Modules() []Module { return a.modules }

// Mount adds every module's routes to r. A command's address also opens
// with GET (commandAddresses), so that the address bar after a form's error,
// a reload or a bookmark of it leads to the page.
func (a *App) Mount(r chi.Router) {
	for _, m := range a.modules {
		rec := &commandAddresses{Router: r, gets: map[string]bool{}}
		m.Kind.mount(a, a.streams[m.StreamType()].handler, rec)
		rec.openWithGet(m)
		a.tries[m.StreamType()] = learnCommands(m, rec)
		a.commandRoutes = append(a.commandRoutes, rec.posts...)
	}
}

// CommandRoutes are the patterns of every module's command routes (their
// POSTs), as Mount mounted them: the domain commands, which are not
// operations.
func (a *App) CommandRoutes() []string { return slices.Clone(a.commandRoutes) }

// ListTopics are the live topics of every module's lists, with the least
// time between two pushes of each.
func (a *App) ListTopics() map[string]time.Duration {
	out := map[string]time.Duration{}
	for _, m := range a.modules {
		for _, t := range m.Topics {
			out[t.Name] = t.Throttle
		}
	}
	return out
}

// read is the read side the pages read from now.
func (a *App) read() *projections.ReadSide { return a.live.Load().Read }

// proj is the projector that keeps it.
func (a *App) proj() *projections.Projector { return a.live.Load().Projector }

// page is the layout's view of a request.
func (a *App) page(r *http.Request, title string) views.Page {
	id := a.whoIs(r)
	return views.Page{Title: title, Actor: id.name, Admin: id.admin, Path: r.URL.Path, Nav: a.nav}
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
	// Reloading, the replaced read models' projector has stopped: that is
	// told as "reloading", with the rest of the answer.
	reloading := a.reloading != nil && a.reloading()
	if !reloading && !a.proj().Status().Running {
		http.Error(w, "projector not running", http.StatusServiceUnavailable)
		return nil
	}
	lag, c := a.lag(ctx, time.Now())
	status, code := "ok", http.StatusOK
	switch {
	case reloading:
		// The read models served are the replaced ones, no longer fed:
		// a balancer sends its clients elsewhere until the new ones serve.
		status, code = "reloading", http.StatusServiceUnavailable
	case lag.Behind > HealthMaxBehind:
		status, code = "behind", http.StatusServiceUnavailable
	}
	if wantsJSON(r) {
		id, role := "", "projector"
		if a.instance != nil {
			id, role = a.instance()
		}
		p := a.proj() // position and name of the same read models
		doc := map[string]any{
			"status": status, "instance": id, "role": role, "position": p.Status().Checkpoint,
			"readModels": p.Name(), "lagEvents": lag.Events, "behindMs": lag.Behind.Milliseconds(),
			// A follower serving read models whose every load attempt a save
			// of its holder's overlapped (they may be off; loaded again soon).
			"loadedWhileSaved": p.LoadedWhileSaved(),
		}
		if c != nil {
			doc["highWater"] = c.HighWater
			doc["instances"] = len(c.Instances)
		}
		writeJSON(w, code, doc)
		return nil
	}
	switch status {
	case "reloading":
		http.Error(w, "loading the read models in use again", code)
		return nil
	case "behind":
		http.Error(w, fmt.Sprintf("behind by %s (more than %s)", lag.Behind.Round(time.Millisecond), HealthMaxBehind), code)
		return nil
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
	return nil
}

// HealthMaxBehind is how far behind its read models may be before
// /healthz answers 503 "behind": events appended (on any instance of a
// cluster) this long ago are still not in them.
const HealthMaxBehind = 30 * time.Second

// lag is how far the read models served are behind: the projector's own
// count and wait and, in a cluster, the time to the cluster's high-water
// mark when that is longer (the cluster as seen is returned too, nil
// alone). An error of the store's count leaves the count at -1.
func (a *App) lag(ctx context.Context, now time.Time) (projections.Lag, *views.Cluster) {
	lagCtx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	lag, err := a.proj().Lag(lagCtx, now)
	if err != nil {
		lag = projections.Lag{Events: -1}
	}
	var c *views.Cluster
	if a.cluster != nil {
		if c = a.cluster(); c != nil {
			lag.Behind = max(lag.Behind, c.Behind)
		}
	}
	return lag, c
}
