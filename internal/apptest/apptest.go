// Package apptest starts foldboard in-process for tests: a real store in a
// temporary directory, the real server on a loopback port.
package apptest

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/es/sqlite"
	"github.com/foldboard/foldboard/web"
)

// App is a running foldboard.
type App struct {
	URL    string
	Server *web.Server
	Store  es.Store
	// Stop stops the server and closes its store (Cleanup does it too).
	Stop func()
}

// Options choose what Start starts.
type Options struct {
	// DB is the SQLite file; a new one in t.TempDir() when empty.
	DB string
	// Verbose logs the server's requests to the test log.
	Verbose bool
	// Secret signs actor cookies; "-" lets the server make and keep its own.
	Secret string
}

// Start starts foldboard on SQLite and stops it when the test ends.
func Start(t testing.TB, opts Options) *App {
	t.Helper()
	if opts.DB == "" {
		opts.DB = filepath.Join(t.TempDir(), "foldboard.db")
	}
	ctx, cancel := context.WithCancel(context.Background())
	store, err := sqlite.Open(ctx, opts.DB)
	if err != nil {
		t.Fatalf("opening the store: %v", err)
	}
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
	srv, err := web.New(ctx, web.Deps{
		Store: store, Feed: store.Feed(), ReadModels: store, StoreName: "sqlite (test)",
		Secret: secret, Log: slog.New(slog.NewTextHandler(out, nil)),
	})
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
		if err := store.Close(); err != nil {
			t.Errorf("closing the store: %v", err)
		}
	}
	t.Cleanup(stop)
	return &App{URL: "http://" + ln.Addr().String(), Server: srv, Store: store, Stop: stop}
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}
