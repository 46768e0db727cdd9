// Package apptest starts foldboard in-process for tests: a real store in a
// temporary directory, the real server on a loopback port.
package apptest

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/es/dynamo"
	"github.com/foldboard/foldboard/es/sqlite"
	"github.com/foldboard/foldboard/handlers"
	"github.com/foldboard/foldboard/internal/dynamotest"
	"github.com/foldboard/foldboard/web"
)

// App is a running foldboard.
type App struct {
	URL    string
	Server *web.Server
	Store  es.Store
	// Stop stops the server and closes its store (Cleanup does it too).
	Stop func()
	// Options are the options it was started with, defaults filled in: pass
	// them to Start again to restart on the same store.
	Options Options
}

// Options choose what Start starts.
type Options struct {
	// DB is the SQLite file; a new one in t.TempDir() when empty.
	DB string
	// Verbose logs the server's requests to the test log.
	Verbose bool
	// Secret signs actor cookies; "-" lets the server make and keep its own.
	Secret string
	// Store is "sqlite" (the default) or "dynamodb": DynamoDB Local, from
	// internal/dynamotest (the test package's TestMain must call
	// dynamotest.Main or dynamotest.Run).
	Store string
	// TablePrefix names the DynamoDB tables; a new one per test when empty.
	// Pass the same one again to restart on the same tables.
	TablePrefix string
	// Configure, when set, changes the server's dependencies before it is
	// built: shorter limits and timeouts, fewer live clients.
	Configure func(*web.Deps)
	// SignInOnly starts the server as it runs by default: actors only from
	// sessions and tokens. Without it, the server trusts the X-Actor header
	// from loopback, as behind a sign-in proxy (-actor-header X-Actor
	// -trusted-proxies 127.0.0.0/8,::1/128), so that a test may name its
	// actor in one header.
	SignInOnly bool
	// Admins are the server's admins; "admin" when nil.
	Admins []string
}

// Loopback are the loopback ranges, trusted for X-Actor unless SignInOnly.
var Loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// Stores are the stores a test can run on.
var Stores = []string{"sqlite", "dynamodb"}

// Start starts foldboard and stops it when the test ends.
func Start(t testing.TB, opts Options) *App {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	store, closeStore := open(ctx, t, &opts)
	var out io.Writer = io.Discard
	if opts.Verbose || os.Getenv("FOLDBOARD_TEST_LOG") != "" {
		out = testWriter{t}
	}
	secret := []byte("test-secret")
	if opts.Secret == "-" {
		secret = nil
	} else if opts.Secret != "" {
		secret = []byte(opts.Secret)
	}
	deps := web.Deps{
		Backend: store.Backend(), StoreName: opts.Store + " (test)",
		Secret: secret, Log: slog.New(slog.NewTextHandler(out, nil)),
		// Tests send from one address far faster than people do; a test of
		// the rate limits sets them in Configure.
		Guard:    web.Guard{Rates: web.Rates{Off: true}},
		Identity: handlers.Identity{Admins: opts.Admins},
	}
	if opts.Admins == nil {
		deps.Identity.Admins = []string{"admin"}
	}
	if !opts.SignInOnly {
		deps.Identity.ActorHeader, deps.Identity.TrustedProxies = "X-Actor", Loopback
	}
	if opts.Configure != nil {
		opts.Configure(&deps)
	}
	srv, err := web.New(ctx, deps)
	if err != nil {
		t.Fatalf("building the server: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("server stopped with: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("server did not stop within 15 s")
		}
		if err := closeStore(); err != nil {
			t.Errorf("closing the store: %v", err)
		}
	}
	t.Cleanup(stop)
	return &App{URL: "http://" + ln.Addr().String(), Server: srv, Store: store, Stop: stop, Options: opts}
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

// store is what the server needs of a store.
type store interface {
	es.Store
	es.ReadModelStore
	Backend() es.Backend
}

// open opens the store opts names, filling in its defaults.
func open(ctx context.Context, t testing.TB, opts *Options) (store, func() error) {
	t.Helper()
	switch opts.Store {
	case "", "sqlite":
		opts.Store = "sqlite"
		if opts.DB == "" {
			opts.DB = filepath.Join(t.TempDir(), "foldboard.db")
		}
		s, err := sqlite.Open(ctx, opts.DB)
		if err != nil {
			t.Fatalf("opening the store: %v", err)
		}
		return s, s.Close
	case "dynamodb":
		endpoint := dynamotest.Endpoint(t)
		if opts.TablePrefix == "" {
			opts.TablePrefix = dynamotest.TablePrefix(t)
		}
		s, err := dynamo.Open(ctx, dynamo.Config{
			Client:      dynamotest.NewClient(endpoint),
			Streams:     dynamotest.NewStreamsClient(endpoint),
			TablePrefix: opts.TablePrefix, CreateTables: true,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		})
		if err != nil {
			t.Fatalf("opening the DynamoDB store: %v", err)
		}
		return s, func() error { return nil }
	}
	t.Fatalf("apptest: unknown store %q", opts.Store)
	return nil, nil
}
