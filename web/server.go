// Package web is foldboard's server: the router, the middleware (origin
// checks, limits, security headers, logging), static files, the live-update
// hub, and starting and stopping it all. It never knows which store it has.
package web

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/es/relay"
	"github.com/foldboard/foldboard/handlers"
	"github.com/foldboard/foldboard/projections"
	"github.com/foldboard/foldboard/views"
)

// Deps are what the server is built from.
type Deps struct {
	// Backend is the store: its log, change feed, read models and
	// settings (when Settings is nil, the read models' store if it keeps
	// settings too).
	es.Backend
	// StoreName names the store on the dashboard.
	StoreName string
	// Secret signs the session cookie (FOLDBOARD_SECRET); when empty, the
	// server makes one of its own for as long as it runs (main keeps one
	// for the embedded store in a file of its own).
	Secret []byte
	// Identity says how requests' actors are known, and who the admins are.
	Identity handlers.Identity
	Log      *slog.Logger
	// SnapshotEvery keeps a snapshot every so many versions; default 100.
	SnapshotEvery int64
	// StateCacheBytes bounds the streams' states remembered between commands
	// (es.Heads), so that a command on a stream this process wrote decides
	// without reading the store; default DefaultStateCacheBytes, less than 0
	// remembers none.
	StateCacheBytes int
	// OnAppend is told of every append (to wake a feed tailer at once).
	OnAppend func(es.AppendResult)
	// ProjectorName keys the saved read models; by default, the name the
	// last rebuild saved in the settings, else "readmodels-v1".
	ProjectorName string
	// MaxLiveClients bounds the WebSocket connections; default 10,000.
	MaxLiveClients int
	// Limits bound what a client may hold of the server; zero fields take
	// the defaults (tests shorten them).
	Limits Limits
	// Guard names the hosts served and limits one client's rate and live
	// connections (web/guard.go).
	Guard Guard
	// ReminderAfter is how long a cart must be quiet before the
	// cart-reminder reaction reminds it (-reminder-after); 0: 24 h.
	ReminderAfter time.Duration
	// AfterReactionCommand, when set, is called after each command a
	// reaction ran, before the reactor's checkpoint (a crash test's point).
	AfterReactionCommand func()
	// AfterClaim, when set, is called on a cluster's holder right after it
	// took a retry or a model rebuild to carry out (a crash test's point).
	AfterClaim func()
	// Cluster, when set, makes the server one instance of several on the
	// store (cluster.go); nil: the only one, as ever.
	Cluster *Cluster
}

// DefaultStateCacheBytes is how much of streams' states a server remembers
// between commands unless told otherwise: 64 MiB.
const DefaultStateCacheBytes = 64 << 20

// Limits are the server's time and size bounds; a zero field takes its
// default.
type Limits struct {
	// ReadHeaderTimeout bounds reading a request's headers (slowloris): 5 s.
	ReadHeaderTimeout time.Duration
	// ReadTimeout and WriteTimeout bound a whole request and its answer:
	// 30 s. A WebSocket lifts them for its connection (its page lives on).
	ReadTimeout  time.Duration
	WriteTimeout time.Duration
	// IdleTimeout closes a kept-alive connection with no request: 2 min.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds a request's headers: 64 KiB (beyond: 431).
	MaxHeaderBytes int
	// LiveWriteTimeout is how long a WebSocket client may take to take one
	// fragment before it is dropped: 5 s.
	LiveWriteTimeout time.Duration
	// StopTimeout bounds a graceful stop, from the signal to the return of
	// Serve: 9 s (docs/contract.md promises an exit within 10 s).
	StopTimeout time.Duration
}

func (l Limits) withDefaults() Limits {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&l.ReadHeaderTimeout, 5*time.Second)
	def(&l.ReadTimeout, 30*time.Second)
	def(&l.WriteTimeout, 30*time.Second)
	def(&l.IdleTimeout, 2*time.Minute)
	def(&l.LiveWriteTimeout, 5*time.Second)
	def(&l.StopTimeout, 9*time.Second)
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = 64 << 10
	}
	return l
}

// Server is foldboard, ready to serve.
type Server struct {
	handler http.Handler
	router  *chi.Mux
	// commands are the modules' command patterns (CommandRoutes).
	commands []string
	hub      *Hub
	// live is the read side the pages read and its projector; a rebuild
	// swaps it.
	live    *projections.Live
	deps    Deps
	setup   projections.Setup
	metrics *metrics
	log     *slog.Logger
	limits  Limits

	projectors *projectors
	rebuild    *rebuilds
	appends    *appendLog
	reactors   *reactors
	// member is this instance's part in its cluster; nil without one.
	member *member
	// stopping is set once Serve begins to stop: a cluster's member then
	// takes no lease it does not hold already (it would only wait out the
	// stop's deadline with it).
	stopping atomic.Bool
}

// New builds the server and loads the saved read models. Serve (or Run and
// ServeHTTP) starts it.
func New(ctx context.Context, d Deps) (*Server, error) {
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.SnapshotEvery == 0 {
		d.SnapshotEvery = 100
	}
	if d.StateCacheBytes == 0 {
		d.StateCacheBytes = DefaultStateCacheBytes
	}
	if d.Settings == nil {
		settings, ok := d.ReadModels.(es.Settings)
		if !ok {
			return nil, errors.New("web: Deps.Settings is nil and the read models' store keeps no settings")
		}
		d.Settings = settings
	}
	if d.ProjectorName == "" {
		var err error
		if d.ProjectorName, err = projections.CurrentName(ctx, d.Settings); err != nil {
			return nil, err
		}
	}
	if len(d.Secret) == 0 {
		var err error
		if d.Secret, err = ephemeralSecret(); err != nil {
			return nil, err
		}
	}
	s := &Server{
		log: d.Log, limits: d.Limits.withDefaults(), appends: newAppendLog(), projectors: newProjectors(d.Log),
	}
	s.rebuild = &rebuilds{changed: func() { s.hub.Publish(context.Background(), []string{projections.TopicDashboard}) }}
	if d.Cluster != nil {
		s.member = newMember(s, d.Cluster)
	}
	onAppend := d.OnAppend
	d.OnAppend = func(res es.AppendResult) {
		s.appends.note(res, s.live.Load().Projector.Catalogue())
		if s.member != nil {
			s.member.noteAppend(res)
		}
		if onAppend != nil {
			onAppend(res)
		}
	}
	s.deps = d
	s.metrics = newMetrics(s)
	s.setup = projections.NewSetup(d.Backend, handlers.NewReadSide, d.Log)
	s.setup.OnBatch = s.metrics.batch
	cur := s.setup.New(d.ProjectorName, s.publishServed)
	if err := cur.Projector.Load(ctx); err != nil {
		return nil, err
	}
	s.live = projections.NewLive(cur)
	app := handlers.New(handlers.Deps{
		Store: timedStore{Store: d.Store, m: s.metrics}, Live: s.live, StoreName: d.StoreName,
		Secret: d.Secret, Identity: d.Identity, Log: d.Log, SnapshotEvery: d.SnapshotEvery, OnAppend: d.OnAppend,
		Heads:   es.NewHeads(d.StateCacheBytes),
		Rebuild: s.StartRebuild, RebuildStatus: s.rebuild.status, RebuildReview: s.StartRebuildReview, DecideRebuild: s.DecideRebuild, RebuildModel: s.StartModelRebuild, Retry: s.RetryParked, Latency: func() views.LiveLatency { return s.hub.Latency() }, OnCommand: s.metrics.command,
		Reactions: func() []es.ReactorStatus { return s.reactors.group.Status() },
		Instance:  s.instance, Cluster: s.cluster, Shards: s.shards(), Reloading: s.reloading, RetryStatus: s.retryStatus,
	})
	s.hub = NewHub(HubConfig{
		Log: d.Log, MaxClients: d.MaxLiveClients, WriteTimeout: s.limits.LiveWriteTimeout,
		Render: app.Fragment, ValidTopic: app.ValidTopic, Audience: app.Audience, Limits: d.Guard.Live, ActorOf: app.RateActor,
		// The lag and the rate move with time alone.
		Refresh: map[string]time.Duration{projections.TopicDashboard: 2 * time.Second},
		// Topics that change with every event, or every event of a domain,
		// are pushed at most every so often; a stream's own topic at once.
		Throttle: throttles(app),
	})
	g, err := newGuards(d.Guard, app)
	if err != nil {
		return nil, err
	}
	if s.reactors, err = newReactors(ctx, d, app); err != nil {
		return nil, err
	}
	s.router = routes(app, s.hub, d.Log, s.metrics, g)
	s.handler = s.router
	s.commands = app.CommandRoutes()
	return s, nil
}

// throttles are the least times between two pushes of the topics that
// change with every event, or every event of a module.
func throttles(app *handlers.App) map[string]time.Duration {
	t := app.ListTopics()
	t[projections.TopicDashboard] = 250 * time.Millisecond
	t[projections.TopicEvents] = 250 * time.Millisecond
	return t
}

// ServeHTTP serves one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Routes are the server's routes, to walk (chi.Walk).
func (s *Server) Routes() chi.Routes { return s.router }

// CommandRoutes are the patterns of the modules' domain commands.
func (s *Server) CommandRoutes() []string { return slices.Clone(s.commands) }

// Projector is the projector of the read models the pages read now.
func (s *Server) Projector() *projections.Projector { return s.live.Load().Projector }

// publishServed tells the hub of the topics p changed while its read
// models are the ones served: a rebuild's stay quiet until they are
// swapped in.
func (s *Server) publishServed(p *projections.Projector, topics []string) {
	if s.live.Load().Projector == p {
		s.hub.PublishSince(context.Background(), topics, p.ChangedSince())
	}
}

// shards is how the projections board learns where the read models'
// checkpoint stands in each shard of the store's feed, when it has shards
// (DynamoDB Streams): listed here alone and on a cluster's holder; on a
// follower, as the holder last reported them (member.holderReport), so
// that the listing calls do not grow with the instances.
func (s *Server) shards() func(context.Context, string, time.Time) (es.ShardReport, error) {
	sf, ok := s.deps.Feed.(es.ShardedFeed)
	if !ok {
		return nil
	}
	if s.member == nil {
		return sf.Shards
	}
	return func(ctx context.Context, checkpoint string, now time.Time) (es.ShardReport, error) {
		if s.member.holds() {
			return sf.Shards(ctx, checkpoint, now)
		}
		return s.member.holderReport()
	}
}

// instance names this instance and its role, for /healthz.
func (s *Server) instance() (id, role string) {
	if s.member == nil {
		host, _ := os.Hostname()
		return host, string(relay.RoleProjector)
	}
	return s.member.c.ID, string(s.member.Role())
}

// reloading reports whether this instance of a cluster loads the read
// models in use again, not serving them yet (for /healthz).
func (s *Server) reloading() bool { return s.member != nil && s.member.Reloading() }

// cluster is the cluster as this instance sees it; nil alone.
func (s *Server) cluster() *views.Cluster {
	if s.member == nil {
		return nil
	}
	c := s.member.view()
	return &c
}

// drainProjector is the projector a stop waits for: in a cluster the
// holder's leading one (it may not be served yet, while it reaches the
// ones it replaces), else the one served.
func (s *Server) drainProjector() *projections.Projector {
	if s.member != nil {
		if p := s.member.leading.Load(); p != nil {
			return p
		}
	}
	return s.Projector()
}

// Hub is the server's live-update hub.
func (s *Server) Hub() *Hub { return s.hub }

// Serve runs the projector and serves HTTP on ln until ctx ends, then stops
// gracefully within Limits.StopTimeout: it stops taking connections, tells
// live clients the server is going away, finishes the requests in flight,
// lets the projector apply what this process appended (so that its
// checkpoint covers every acknowledged command), and stops the projector
// after its last save.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	l := s.limits
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		ReadTimeout:       l.ReadTimeout,
		WriteTimeout:      l.WriteTimeout,
		IdleTimeout:       l.IdleTimeout,
		MaxHeaderBytes:    l.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	projCtx, stopProjector := context.WithCancel(context.WithoutCancel(ctx))
	s.projectors.serve(projCtx)
	if s.member != nil {
		// The member runs the projector and the reactors of its role.
		s.projectors.background(func() { s.member.run(projCtx) })
	} else {
		s.projectors.run(s.live.Load().Projector)
		s.reactors.run(s.projectors)
		s.rebuildStale()
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	s.log.Info("foldboard serving", "addr", "http://"+ln.Addr().String())

	var err error
	select {
	case err = <-served:
	case <-ctx.Done():
		begin := time.Now()
		s.stopping.Store(true)
		s.log.Info("stopping")
		stopCtx, cancel := context.WithTimeout(context.Background(), l.StopTimeout)
		s.hub.Close()
		// Most of the time goes to requests in flight; the rest is kept for
		// the live clients' close and the projector's last batch.
		shutCtx, cancelShut := context.WithTimeout(stopCtx, l.StopTimeout*7/9)
		err = srv.Shutdown(shutCtx)
		cancelShut()
		if err != nil {
			err = fmt.Errorf("stopping the HTTP server: %w", err)
		}
		// Before the drain: what the reactions append is drained too.
		s.reactors.stop()
		if !s.hub.Wait(stopCtx) {
			s.log.Warn("live clients still open at the stop deadline", "clients", s.hub.Clients())
		}
		if s.member != nil && !s.member.holds() {
			// A follower's appends are the lease holder's to apply and
			// save; waiting for them here would wait out the deadline when
			// there is no holder (a cluster still forming).
			s.log.Info("a follower leaves what it appended to the cluster's projector")
		} else if !s.appends.drain(stopCtx, s.drainProjector) {
			s.log.Warn("the projector had not applied every append at the stop deadline")
		}
		cancel()
		s.log.Info("stopped", "took", time.Since(begin).Round(time.Millisecond))
	}
	stopProjector()
	s.projectors.wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// rebuildStale starts a rebuild when the read models in use are kept in an
// older layout than this code's (projections.Layout: saved before the lists
// were indexes in the store, they show empty lists): the pages serve them
// until the rebuilt ones are swapped in. In a cluster the holder asks for
// it (clusterRebuild.step).
func (s *Server) rebuildStale() {
	p := s.live.Load().Projector
	if !p.Stale() {
		return
	}
	s.log.Warn("the saved read models are of an older layout: rebuilding them (the pages serve them meanwhile, with empty lists)",
		"projector", p.Name(), "layout", p.Catalogue().Layout(), "want", projections.Layout)
	if err := s.StartRebuild(); err != nil {
		s.log.Error("rebuilding read models of an older layout", "projector", p.Name(), "err", err)
	}
}
