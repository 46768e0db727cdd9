package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/internal/apptest"
	"github.com/foldboard/foldboard/web"
)

// logReadStore counts the events read from the log, and holds a read of
// it while hold is set, until release is closed.
type logReadStore struct {
	es.Store
	read    atomic.Int64
	hold    atomic.Bool
	held    chan struct{}
	release chan struct{}
}

func (s *logReadStore) ReadLog(ctx context.Context, q es.LogQuery) (es.LogPage, error) {
	if s.hold.CompareAndSwap(true, false) {
		s.held <- struct{}{}
		<-s.release
	}
	page, err := s.Store.ReadLog(ctx, q)
	s.read.Add(int64(len(page.Events)))
	return page, err
}

// TestATimelineReplaysBoundedWorkAndOneClientCannotTakeEveryCore: the
// slider's read models are replays (of a stream's events, and of the log up
// to the event for a day's sales), the dearest read there is: up to 20,000
// events of the log for any event of any stream, 0.13-1.2 s of a core at
// 100,000 events, where a page takes milliseconds, and any number at once
// from one client. Now the log is read only for an event a day's sales
// take (a checkout); and one address replays one timeline at a time (the
// next waits its turn, then says so), while another address's go on.
func TestATimelineReplaysBoundedWorkAndOneClientCannotTakeEveryCore(t *testing.T) {
	st := &logReadStore{held: make(chan struct{}), release: make(chan struct{})}
	app := apptest.Start(t, apptest.Options{Configure: func(d *web.Deps) {
		st.Store = d.Store
		d.Store = st
	}})
	a, b := fromAddress("127.0.0.2"), fromAddress("127.0.0.3")
	for range 3 {
		wantStatus(t, send(t, a, "POST", app.URL+"/matches", `{"venue":"V","homeTeam":"A","awayTeam":"B"}`, nil), http.StatusCreated, "")
	}
	wantStatus(t, send(t, a, "POST", app.URL+"/carts/c1/items", `{"sku":"s1","qty":2,"price":"1.50"}`, nil), http.StatusCreated, "")
	wantStatus(t, send(t, a, "POST", app.URL+"/carts/c1/checkout", `{}`, nil), http.StatusOK, "")

	type slider struct {
		ReadModels []slideRow `json:"readModels"`
		Notes      []string   `json:"notes"`
	}
	timeline := func(c *http.Client, v string) slider {
		t.Helper()
		r := send(t, c, "GET", app.URL+"/streams/cart/c1/timeline?v="+v, "", nil)
		wantStatus(t, r, http.StatusOK, "")
		var s slider
		if err := json.Unmarshal([]byte(r.body), &s); err != nil {
			t.Fatalf("timeline at %s: %v %s", v, err, r.body)
		}
		return s
	}
	names := func(s slider) string {
		var out []string
		for _, row := range s.ReadModels {
			out = append(out, row.Name)
		}
		return strings.Join(out, ",")
	}

	// An item added: no day's sales take it, the log is not read.
	before := st.read.Load()
	if s := timeline(a, "1"); len(s.ReadModels) == 0 || strings.Contains(names(s), "sales") || len(s.Notes) != 0 {
		t.Fatalf("at the item added: rows %s, notes %q", names(s), s.Notes)
	}
	if n := st.read.Load() - before; n != 0 {
		t.Errorf("the timeline at an item added read %d events of the log, want none", n)
	}
	// The checkout: the log up to it, for the day's sales.
	before = st.read.Load()
	if s := timeline(a, "2"); !strings.Contains(names(s), "sales") {
		t.Fatalf("at the checkout: rows %s, notes %q, want the day's sales", names(s), s.Notes)
	}
	if n := st.read.Load() - before; n < 5 {
		t.Errorf("the timeline at the checkout read %d events of the log, want the 5 before it and it", n)
	}

	// One address's replay is held: its next timeline waits, then says so;
	// another address's is replayed meanwhile.
	st.hold.Store(true)
	first := make(chan slider)
	go func() { first <- timeline(a, "2") }()
	select {
	case <-st.held:
	case <-time.After(10 * time.Second):
		t.Fatal("the held replay never read the log")
	}
	if s := timeline(b, "1"); len(s.ReadModels) == 0 || len(s.Notes) != 0 {
		t.Errorf("another address, while one replay is held: rows %s, notes %q", names(s), s.Notes)
	}
	start := time.Now()
	s := timeline(a, "1")
	if len(s.ReadModels) != 0 || len(s.Notes) != 1 || !strings.Contains(s.Notes[0], "step again") {
		t.Errorf("the same address, while its replay is held: rows %s, notes %q, want a note to step again", names(s), s.Notes)
	}
	if waited := time.Since(start); waited < time.Second {
		t.Errorf("the same address's second replay answered after %v, want it to wait its turn", waited)
	}
	close(st.release)
	if s := <-first; !strings.Contains(names(s), "sales") {
		t.Errorf("the held replay, released: rows %s, notes %q", names(s), s.Notes)
	}
	// Its turn over, the address replays again.
	if s := timeline(a, "1"); len(s.ReadModels) == 0 || len(s.Notes) != 0 {
		t.Errorf("after the held replay: rows %s, notes %q", names(s), s.Notes)
	}
}
