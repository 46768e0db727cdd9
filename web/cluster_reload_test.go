package web_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/es/relay"
	"github.com/foldboard/foldboard/es/sqlite"
	"github.com/foldboard/foldboard/internal/redistest"
	"github.com/foldboard/foldboard/projections"
	"github.com/foldboard/foldboard/web"
)

// gatedLoads is a real store whose loads of the read models named name
// wait until the test opens the gate: a reload that takes as long as the
// test needs to look at it.
type gatedLoads struct {
	*sqlite.Store
	name    string
	gate    chan struct{}
	entered chan struct{}
	once    *sync.Once
}

func (g gatedLoads) wait(ctx context.Context, projector string) error {
	if projector != g.name {
		return nil
	}
	g.once.Do(func() { close(g.entered) })
	select {
	case <-g.gate:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g gatedLoads) LoadReadModels(ctx context.Context, projector string) (string, map[string]json.RawMessage, error) {
	if err := g.wait(ctx, projector); err != nil {
		return "", nil, err
	}
	return g.Store.LoadReadModels(ctx, projector)
}

func (g gatedLoads) LoadReadModelsExcept(ctx context.Context, projector string, skip []string) (string, map[string]json.RawMessage, error) {
	if err := g.wait(ctx, projector); err != nil {
		return "", nil, err
	}
	return g.Store.LoadReadModelsExcept(ctx, projector, skip)
}

// An instance of a cluster that finds other read models swapped in (a
// rebuild's) answers /healthz 503 "reloading" while it loads them, the
// replaced ones still served, and 200 again, serving the new ones, once
// they are loaded.
func TestHealthSaysReloadingWhileAnInstanceLoadsTheReadModelsSwappedIn(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "r.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	old, err := projections.CurrentName(ctx, store)
	if err != nil {
		t.Fatal(err)
	}
	const next = "readmodels-swapped-in"
	gated := gatedLoads{Store: store, name: next, gate: make(chan struct{}), entered: make(chan struct{}), once: &sync.Once{}}
	redis := redistest.NewServer(t)
	r, err := relay.Open(ctx, redis.URL(), relay.Options{Prefix: "reload."})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	srv, err := web.New(ctx, web.Deps{
		Backend: es.Backend{Store: store, Feed: store.Feed(), ReadModels: gated, Settings: store}, Secret: []byte("s"),
		Cluster: &web.Cluster{ID: "me", Lease: neverLease{store}, Relay: r, Wake: func(map[es.StreamRef]int64, bool) {}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-served })
	url := "http://" + ln.Addr().String()

	type answer struct {
		code             int
		Status           string
		ReadModels, Role string
	}
	get := func() answer {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, url+"/healthz", nil)
		req.Header.Set("Accept", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		a := answer{code: res.StatusCode}
		if err := json.NewDecoder(res.Body).Decode(&a); err != nil {
			a.Status = "not JSON: " + err.Error() // "projector not running" before the first load
		}
		return a
	}
	waitFor := func(what string, ok func(answer) bool) answer {
		t.Helper()
		var last answer
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if last = get(); ok(last) {
				return last
			}
			if time.Now().After(deadline) {
				t.Fatalf("never: %s (last %+v)", what, last)
			}
		}
	}
	waitFor("serving the read models in use", func(a answer) bool {
		return a.code == http.StatusOK && a.Status == "ok" && a.ReadModels == old
	})

	// A rebuild elsewhere swaps in others: the instance finds the name
	// changed (it reads it every second) and loads them.
	if err := projections.SwapCurrentName(ctx, store, old, next); err != nil {
		t.Fatal(err)
	}
	select {
	case <-gated.entered:
	case <-time.After(30 * time.Second):
		t.Fatal("the instance never loaded the read models swapped in")
	}
	for range 3 { // and says so for as long as the load takes
		if a := get(); a.code != http.StatusServiceUnavailable || a.Status != "reloading" || a.ReadModels != old || a.Role != "follower" {
			t.Fatalf("/healthz while loading %s: %+v", next, a)
		}
		time.Sleep(50 * time.Millisecond)
	}
	close(gated.gate)
	waitFor("serving the new read models", func(a answer) bool {
		return a.code == http.StatusOK && a.Status == "ok" && a.ReadModels == next
	})
}
