package projections

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/foldboard/foldboard/es"
)

// rebuildLog is a log over several streams, with its catalogue as the read
// models in use would have it.
func rebuildLog(n int) []es.Envelope {
	var log []es.Envelope
	versions := map[string]int64{}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		s := fmt.Sprintf("t/s-%d", i%7)
		versions[s]++
		log = append(log, tick(s, versions[s], t0.Add(time.Duration(i)*time.Second)))
	}
	return log
}

func TestCatchUpEndsWhenTheNewReadModelsCoverTheOnesInUse(t *testing.T) {
	log := rebuildLog(300)
	target := NewCatalogue()
	applyAll(t, log, target)

	p := NewProjector(Config{
		Name: "rebuilt", Feed: newScriptedFeed(rand.New(rand.NewPCG(1, 2)), log), Store: &memoryReadModels{},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = p.Run(runCtx) }()
	defer func() { stop(); <-done }()

	var last Progress
	reports := 0
	err := CatchUp(ctx, p, func() *Catalogue { return target }, time.Millisecond, func(pr Progress) {
		reports++
		if pr.Applied > pr.Total {
			t.Errorf("progress past its total: %+v", pr)
		}
		last = pr
	})
	if err != nil {
		t.Fatal(err)
	}
	if !last.Done || last.Applied != 300 || last.Total != 300 || last.Name != "rebuilt" {
		t.Fatalf("last report: %+v", last)
	}
	if !p.Catalogue().covers(target) {
		t.Fatal("CatchUp returned before the new read models covered the old")
	}

	// Read models in use that the log cannot reach (a stream further on):
	// the rebuild never claims to be done.
	ahead := NewCatalogue()
	applyAll(t, append(rebuildLog(300), tick("t/s-0", 1000, time.Now())), ahead)
	short, cancelShort := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancelShort()
	err = CatchUp(short, p, func() *Catalogue { return ahead }, time.Millisecond, func(Progress) {})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("caught up with read models ahead of the log: %v", err)
	}
}

func TestTheNameInUseIsSavedAndOldReadModelsDropped(t *testing.T) {
	ctx := t.Context()
	store := &namedReadModels{}
	if name, err := CurrentName(ctx, store); err != nil || name != DefaultName {
		t.Fatalf("never rebuilt: %q, %v", name, err)
	}
	if err := SaveCurrentName(ctx, store, "readmodels-x"); err != nil {
		t.Fatal(err)
	}
	if name, _ := CurrentName(ctx, store); name != "readmodels-x" {
		t.Fatalf("after a save: %q", name)
	}
	docs := map[string]json.RawMessage{}
	for i := range 250 { // more than one save's worth
		docs[fmt.Sprintf("k/%03d", i)] = json.RawMessage(`1`)
		if len(docs) == es.MaxDocsPerSave {
			_ = store.SaveReadModels(ctx, "old", "cp", docs)
			docs = map[string]json.RawMessage{}
		}
	}
	_ = store.SaveReadModels(ctx, "old", "cp", docs)
	if err := Drop(ctx, store, "old"); err != nil {
		t.Fatal(err)
	}
	if _, left, _ := store.LoadReadModels(ctx, "old"); len(left) != 0 {
		t.Fatalf("%d documents left", len(left))
	}
	if name, _ := CurrentName(ctx, store); name != "readmodels-x" {
		t.Fatalf("dropping read models touched the settings: %q", name)
	}
	if err := Drop(ctx, store, SettingsName); err == nil {
		t.Fatal("the settings were dropped as read models")
	}
}

// namedReadModels keeps each projector's documents apart.
type namedReadModels struct{ by map[string]*memoryReadModels }

func (s *namedReadModels) of(name string) *memoryReadModels {
	if s.by == nil {
		s.by = map[string]*memoryReadModels{}
	}
	if s.by[name] == nil {
		s.by[name] = &memoryReadModels{}
	}
	return s.by[name]
}

func (s *namedReadModels) LoadReadModels(ctx context.Context, name string) (string, map[string]json.RawMessage, error) {
	return s.of(name).LoadReadModels(ctx, name)
}

func (s *namedReadModels) SaveReadModels(ctx context.Context, name, cp string, docs map[string]json.RawMessage) error {
	return s.of(name).SaveReadModels(ctx, name, cp, docs)
}
