package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/foldboard/foldboard/es/sqlite"
	"github.com/foldboard/foldboard/internal/apptest"
	"github.com/foldboard/foldboard/web"
)

// gatedDrops holds the deletion of name's documents (a save of nothing but
// deletions, as projections.Drop writes) until gate is closed.
type gatedDrops struct {
	*sqlite.Store
	name          string
	gate, entered chan struct{}
	once          *sync.Once
}

func (g gatedDrops) SaveReadModels(ctx context.Context, projector, checkpoint string, docs map[string]json.RawMessage) error {
	deletes := len(docs) > 0
	for _, doc := range docs {
		deletes = deletes && doc == nil
	}
	if projector == g.name && deletes {
		g.once.Do(func() { close(g.entered) })
		select {
		case <-g.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return g.Store.SaveReadModels(ctx, projector, checkpoint, docs)
}

// The dashboard says a rebuild finished only once a new one can start: its
// button was refused with 409 RebuildRunning while the replaced read models
// were still being dropped (seen in the e2e test on a seeded store).
func TestTheDashboardSaysARebuildFinishedOnlyOnceTheNextCanStart(t *testing.T) {
	gated := gatedDrops{name: "readmodels-v1", gate: make(chan struct{}), entered: make(chan struct{}), once: &sync.Once{}}
	app := apptest.Start(t, apptest.Options{Admins: []string{"admin"}, Configure: func(d *web.Deps) {
		gated.Store = d.Backend.Store.(*sqlite.Store)
		d.Backend.ReadModels = gated
	}})
	c := newClient(t, app)
	startMatch(t, c, "m-1")
	if err := app.Server.StartRebuild(); err != nil {
		t.Fatal(err)
	}
	<-gated.entered
	admin := map[string]string{"X-Actor": "admin"}
	finished := func() bool { return strings.Contains(c.do("GET", "/", "", "", admin).body, "Rebuilt <code>") }
	if finished() {
		r := c.do("POST", "/rebuild", "", "", map[string]string{"Accept": "application/json", "X-Actor": "admin"})
		t.Fatalf("the dashboard says the rebuild finished while it drops the replaced read models; a new one: %d %s", r.status, r.body)
	}
	close(gated.gate)
	waitFor(t, finished)
	r := c.do("POST", "/rebuild", "", "", map[string]string{"Accept": "application/json", "X-Actor": "admin"})
	if r.status != http.StatusAccepted {
		t.Fatalf("a rebuild once the dashboard says the last one finished: %d %s", r.status, r.body)
	}
}
