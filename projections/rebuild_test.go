package projections

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
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
	err := CatchUp(ctx, p, target, time.Millisecond, func(pr Progress) {
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
	end, err := target.mark(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if reached, err := p.Catalogue().reached(ctx, end); !reached || err != nil {
		t.Fatal("CatchUp returned before the new read models covered the old")
	}

	// Read models in use that the log cannot reach (a stream further on):
	// the rebuild never claims to be done.
	ahead := NewCatalogue()
	applyAll(t, append(rebuildLog(300), tick("t/s-0", 1000, time.Now())), ahead)
	short, cancelShort := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancelShort()
	err = CatchUp(short, p, ahead, time.Millisecond, func(Progress) {})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("caught up with read models ahead of the log: %v", err)
	}
}

func TestTheNameInUseIsSwappedOnceAndOldReadModelsDropped(t *testing.T) {
	ctx := t.Context()
	store, settings := &namedReadModels{}, &memorySettings{}
	if name, err := CurrentName(ctx, settings); err != nil || name != DefaultName {
		t.Fatalf("never rebuilt: %q, %v", name, err)
	}
	if err := SwapCurrentName(ctx, settings, DefaultName, "readmodels-x"); err != nil {
		t.Fatal(err)
	}
	if name, _ := CurrentName(ctx, settings); name != "readmodels-x" {
		t.Fatalf("after a swap: %q", name)
	}
	// A second rebuild that began from the same read models lost the race.
	if err := SwapCurrentName(ctx, settings, DefaultName, "readmodels-y"); !errors.Is(err, es.ErrSettingChanged) {
		t.Fatalf("a rebuild from read models replaced meanwhile swapped in: %v", err)
	}
	if name, _ := CurrentName(ctx, settings); name != "readmodels-x" {
		t.Fatalf("after a lost swap: %q", name)
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
	if err := Drop(ctx, store, SettingsName); err == nil {
		t.Fatal("the settings were dropped as read models")
	}
}

// memorySettings are es.Settings in memory, conditional as the stores' are.
type memorySettings struct {
	mu sync.Mutex
	m  map[string]string
}

func (s *memorySettings) Setting(_ context.Context, name string) (json.RawMessage, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[name]
	if !ok {
		return nil, false, nil
	}
	return json.RawMessage(v), true, nil
}

func (s *memorySettings) CreateSetting(_ context.Context, name string, value json.RawMessage) (json.RawMessage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]string{}
	}
	if _, ok := s.m[name]; !ok {
		s.m[name] = string(value)
	}
	return json.RawMessage(s.m[name]), nil
}

func (s *memorySettings) SwapSetting(_ context.Context, name string, old, value json.RawMessage) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]string{}
	}
	v, ok := s.m[name]
	if (old == nil && ok) || (old != nil && (!ok || v != string(old))) {
		return es.ErrSettingChanged
	}
	s.m[name] = string(value)
	return nil
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

// growingFeed is a feed under steady writes: before it hands on an event it
// appends another, so its backlog never empties.
type growingFeed struct {
	mu  sync.Mutex
	log []es.Envelope
}

func (f *growingFeed) grow() {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := len(f.log)
	f.log = append(f.log, tick(fmt.Sprintf("t/g-%d", n), 1, time.Now()))
}

func (f *growingFeed) Follow(ctx context.Context, from string, apply func(context.Context, es.Batch) error) error {
	i := 0
	if from != "" {
		i, _ = strconv.Atoi(from)
	}
	for ctx.Err() == nil {
		f.grow()
		f.mu.Lock()
		e := f.log[i]
		f.mu.Unlock()
		i++
		if err := apply(ctx, es.Batch{Events: []es.Envelope{e}, Checkpoint: strconv.Itoa(i)}); err != nil {
			return err
		}
		time.Sleep(100 * time.Microsecond)
	}
	return nil
}

func (f *growingFeed) Backlog(_ context.Context, checkpoint string) (es.Backlog, error) {
	i := 0
	if checkpoint != "" {
		i, _ = strconv.Atoi(checkpoint)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return es.Backlog{Events: int64(len(f.log) - i), Oldest: time.Now()}, nil
}

// runCatchUp runs p and CatchUp over it for at most 10 s; started, when
// set, is called at the first report (CatchUp has taken its end).
func runCatchUp(t *testing.T, p *Projector, target *Catalogue, started func()) (Progress, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = p.Run(runCtx) }()
	defer func() { stop(); <-done }()
	var last Progress
	err := CatchUp(ctx, p, target, time.Millisecond, func(pr Progress) {
		if started != nil {
			started()
			started = nil
		}
		last = pr
	})
	return last, err
}

func TestCatchUpEndsAtTheBacklogOfItsStartUnderSteadyWrites(t *testing.T) {
	feed := &growingFeed{}
	for range 200 {
		feed.grow()
	}
	p := NewProjector(Config{Name: "rebuilt", Feed: feed, Store: &memoryReadModels{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	last, err := runCatchUp(t, p, nil, nil)
	if err != nil {
		t.Fatalf("CatchUp under steady writes: %v (last report %+v)", err, last)
	}
	if !last.Done || last.Applied < 200 {
		t.Fatalf("done before the 200 events there were at the start: %+v", last)
	}
}

func TestCatchUpEndsAtTheReadModelsAsTheyStoodAtItsStart(t *testing.T) {
	log := rebuildLog(300)
	target := NewCatalogue()
	applyAll(t, log, target)
	// The read models in use move on while the rebuild runs, to versions
	// the rebuild's feed has not brought yet.
	startMoving, stopMoving := make(chan struct{}), make(chan struct{})
	moved := make(chan struct{})
	go func() {
		defer close(moved)
		select {
		case <-startMoving:
		case <-stopMoving:
			return
		}
		for v := int64(1); ; v++ {
			select {
			case <-stopMoving:
				return
			case <-time.After(100 * time.Microsecond):
			}
			applyAll(t, []es.Envelope{tick("t/live", v, time.Now())}, target)
		}
	}()
	defer func() { close(stopMoving); <-moved }()
	p := NewProjector(Config{
		Name: "rebuilt", Feed: newScriptedFeed(rand.New(rand.NewPCG(3, 4)), log), Store: &memoryReadModels{},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	last, err := runCatchUp(t, p, target, func() { close(startMoving) })
	if err != nil {
		t.Fatalf("CatchUp chased read models that moved on: %v (last report %+v)", err, last)
	}
	if !last.Done || last.Applied != 300 {
		t.Fatalf("last report: %+v", last)
	}
}
