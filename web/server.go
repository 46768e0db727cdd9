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
	"sync"
	"time"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/handlers"
	"github.com/foldboard/foldboard/projections"
)

// Deps are what the server is built from.
type Deps struct {
	Store      es.Store
	Feed       es.Feed
	ReadModels es.ReadModelStore
	// StoreName names the store on the dashboard.
	StoreName string
	// Secret signs the actor cookie; when empty, one is made at the first
	// start and kept in the store.
	Secret []byte
	Log    *slog.Logger
	// SnapshotEvery keeps a snapshot every so many versions; default 100.
	SnapshotEvery int64
	// OnAppend is told of every append (to wake a feed tailer at once).
	OnAppend func(es.AppendResult)
	// ProjectorName keys the saved read models; default "readmodels-v1".
	ProjectorName string
	// MaxLiveClients bounds the WebSocket connections; default 10,000.
	MaxLiveClients int
}

// Server is foldboard, ready to serve.
type Server struct {
	handler   http.Handler
	hub       *Hub
	projector *projections.Projector
	log       *slog.Logger
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
	if d.ProjectorName == "" {
		d.ProjectorName = "readmodels-v1"
	}
	if len(d.Secret) == 0 {
		var err error
		if d.Secret, err = cookieSecret(ctx, d.ReadModels); err != nil {
			return nil, err
		}
	}
	s := &Server{log: d.Log}
	read := projections.NewReadSide()
	s.projector = projections.NewProjector(projections.Config{
		Name: d.ProjectorName, Feed: d.Feed, Store: d.ReadModels, Log: d.Log,
		Models: read.Models(),
		OnChange: func(topics []string) {
			s.hub.Publish(context.Background(), topics)
		},
	})
	if err := s.projector.Load(ctx); err != nil {
		return nil, err
	}
	app := handlers.New(handlers.Deps{
		Store: d.Store, Projector: s.projector, Read: read, StoreName: d.StoreName,
		Secret: d.Secret, Log: d.Log, SnapshotEvery: d.SnapshotEvery, OnAppend: d.OnAppend,
	})
	s.hub = NewHub(HubConfig{Log: d.Log, MaxClients: d.MaxLiveClients, Render: app.Fragment, ValidTopic: app.ValidTopic})
	s.handler = routes(app, s.hub, d.Log)
	return s, nil
}

// ServeHTTP serves one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Projector is the server's projector.
func (s *Server) Projector() *projections.Projector { return s.projector }

// Hub is the server's live-update hub.
func (s *Server) Hub() *Hub { return s.hub }

// Serve runs the projector and serves HTTP on ln until ctx ends, then stops
// gracefully: live connections are told the server is going away, requests
// in flight finish (within 10 seconds), and the projector stops after its
// last save.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	projCtx, stopProjector := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := s.projector.Run(projCtx); err != nil {
			s.log.Error("projector stopped", "err", err)
		}
	})
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	s.log.Info("foldboard serving", "addr", "http://"+ln.Addr().String())

	var err error
	select {
	case err = <-served:
	case <-ctx.Done():
		s.log.Info("stopping")
		s.hub.Close()
		shutCtx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
		err = srv.Shutdown(shutCtx)
		cancel()
		if err != nil {
			err = fmt.Errorf("stopping the HTTP server: %w", err)
		}
	}
	stopProjector()
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
