package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/es/relay"
	"github.com/foldboard/foldboard/es/sqlite"
	"github.com/foldboard/foldboard/handlers"
	"github.com/foldboard/foldboard/internal/redistest"
	"github.com/foldboard/foldboard/web"
)

// neverLease is a projector lease another instance holds for good: the
// server under test stays a follower.
type neverLease struct{ rm es.ReadModelStore }

func (neverLease) Acquire(context.Context) (bool, error) { return false, nil }
func (neverLease) Renew(context.Context) error           { return errors.New("not held") }
func (neverLease) Release(context.Context) error         { return nil }
func (neverLease) Epoch() int64                          { return 0 }
func (neverLease) Failover() time.Duration               { return time.Second }
func (l neverLease) ReadModels() es.ReadModelStore       { return l.rm }
func (neverLease) Check(context.Context) error           { return es.ErrFenced }

// health is /healthz in JSON.
type health struct {
	Status, Instance, Role string
	BehindMs               int64
	Instances              int
	HighWater              time.Time
}

// A follower measures its lag against the cluster's high-water mark, the
// newest event any instance appended or applied: with the holder silent and
// another instance appending, its /healthz and dashboard show it behind by
// the time those appends span, and past HealthMaxBehind /healthz answers
// 503; the dashboard lists every instance with its role, position and
// WebSocket clients.
func TestAFollowerIsBehindTheClusterHighWaterMarkAndListsTheInstances(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "f.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	redis := redistest.NewServer(t)
	r, err := relay.Open(ctx, redis.URL(), relay.Options{Prefix: "hw.", MemberTTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	srv, err := web.New(ctx, web.Deps{
		Backend: es.Backend{Store: store, Feed: store.Feed(), ReadModels: store}, Secret: []byte("s"),
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

	getHealth := func() (int, health) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, url+"/healthz", nil)
		req.Header.Set("Accept", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var h health
		if err := json.NewDecoder(res.Body).Decode(&h); err != nil {
			t.Fatalf("/healthz %d: %v", res.StatusCode, err)
		}
		return res.StatusCode, h
	}
	// waitFor polls until ok says the answer is the one wanted (the
	// instance announces itself and reads the registry every 2 s).
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); !ok(); time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("never: %s", what)
			}
		}
	}
	dashboard := func() string {
		res, err := http.Get(url + "/")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return string(b)
	}

	// Alone and idle, once its projector runs: not behind.
	waitFor("the follower's projector running", func() bool {
		res, err := http.Get(url + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	})
	if code, h := getHealth(); code != http.StatusOK || h.Status != "ok" || h.Role != "follower" || h.BehindMs != 0 {
		t.Fatalf("idle follower's /healthz: %d %+v", code, h)
	}

	// The holder (silent: it publishes nothing) and another follower that
	// appended 3 s after this one loaded its read models.
	started := time.Now()
	announce := func(appended time.Time) {
		t.Helper()
		for _, m := range []relay.Member{
			{ID: "holder", Role: relay.RoleProjector, Position: "p-7", Clients: 4, Loaded: started},
			{ID: "other", Role: relay.RoleFollower, Position: "p-7", Clients: 9, Appended: appended, Loaded: started},
		} {
			if err := r.Announce(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
	}
	announce(started.Add(3 * time.Second))
	waitFor("the follower behind the other's appends", func() bool {
		code, h := getHealth()
		return code == http.StatusOK && h.Instances == 3 && h.BehindMs >= 2500 && h.BehindMs < 30_000
	})
	page := dashboard()
	for _, want := range []string{
		`data-instance="holder" data-role="projector" data-position="p-7" data-clients="4"`,
		`data-instance="other" data-role="follower" data-position="p-7" data-clients="9"`,
		`data-instance="me" data-role="follower"`,
		"(against the cluster's newest event)",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the dashboard lacks %s", want)
		}
	}

	// Appends 40 s on, still unapplied: past HealthMaxBehind.
	announce(started.Add(handlers.HealthMaxBehind + 10*time.Second))
	waitFor("/healthz 503 behind", func() bool {
		code, h := getHealth()
		return code == http.StatusServiceUnavailable && h.Status == "behind" && h.BehindMs > handlers.HealthMaxBehind.Milliseconds()
	})
}
