package main

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/foldboard/foldboard/domain/cricket"
	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/es/sqlite"
	"github.com/foldboard/foldboard/handlers"
	"github.com/foldboard/foldboard/projections"
)

func TestRebuildCommandReplaysTheLogAndSavesTheNewReadModelsAsInUse(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "f.db")
	store, err := sqlite.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	h := &es.Handler[cricket.State, cricket.Command, cricket.Event]{Decider: cricket.Decider(), Store: store}
	for _, id := range []string{"m-1", "m-2", "m-3"} {
		if _, err := h.Handle(ctx, es.Meta{StreamID: id, Expected: es.AnyVersion, Actor: "ana"},
			cricket.StartMatch{Venue: "Lord's", HomeTeam: "A", AwayTeam: "B"}); err != nil {
			t.Fatal(err)
		}
	}
	store.Close()

	var out bytes.Buffer
	env := map[string]string{"FOLDBOARD_DB": db}
	if err := run(ctx, []string{"rebuild"}, func(k string) string { return env[k] }, &out, io.Discard); err != nil {
		t.Fatalf("rebuild: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "100%") || !strings.Contains(out.String(), "rebuilt 3 events") {
		t.Fatalf("output:\n%s", out.String())
	}
	store, err = sqlite.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	name, err := projections.CurrentName(ctx, store)
	if err != nil || !strings.HasPrefix(name, "readmodels-") || name == projections.DefaultName {
		t.Fatalf("in use after the rebuild: %q, %v", name, err)
	}
	if !strings.Contains(out.String(), name) {
		t.Errorf("the output does not name %s", name)
	}
	p := projections.NewProjector(projections.Config{Name: name, Feed: store.Feed(), Store: store, Models: handlers.NewReadSide().Models()})
	if err := p.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if st := p.Catalogue().Stats(); st.Events != 3 || st.Streams != 3 {
		t.Fatalf("the rebuilt read models hold %+v", st)
	}
}
