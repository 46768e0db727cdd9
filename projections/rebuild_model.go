package projections

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/foldboard/foldboard/es"
)

// ModelRebuild rebuilds one read model of those in use alone, blue/green as
// Rebuild does for all of them: a fresh copy of it replays the whole log
// beside the ones in use (which serve meanwhile), is brought up to exactly
// the streams and versions they hold, and takes the old copy's place, in
// memory and in the saved documents (the old copy's that the fresh one has
// not are deleted). The other read models, their saved documents and the
// checkpoint stay as they are.
type ModelRebuild struct {
	Setup Setup
	// InUse is the read side served and its projector.
	InUse Current
	// Model is the read model's name in the read side (ReadModel.Name).
	Model string
	// Events reads the streams' events that the ones in use applied after
	// the fresh copy stopped following the feed (the event store).
	Events StreamReader
	// Every is how often Report is told the progress.
	Every  time.Duration
	Report func(Progress)
	// Swap serves from the read side given from now on (Live.Swap). It is
	// called while the projector in use applies nothing.
	Swap func(Current)
}

// ErrNoModel is a model rebuild of a name the read side does not declare.
var ErrNoModel = errors.New("no read model of that name")

// ErrModelAhead is a model rebuild whose fresh copy applied events the
// read models in use passed over (a parked stream): retry the stream first.
var ErrModelAhead = errors.New("the rebuilt read model holds events the read models in use do not")

// Run rebuilds the model; it returns once the fresh copy is served and its
// documents handed to the store.
func (r ModelRebuild) Run(ctx context.Context) error {
	p := r.InUse.Projector
	old := r.InUse.Read.Model(r.Model)
	if old == nil {
		return fmt.Errorf("%q: %w", r.Model, ErrNoModel)
	}
	fresh := r.Setup.NewReadSide().Model(r.Model)
	keys := &keyRecorder{owns: fresh.Owns, keys: map[string]struct{}{}}
	side := NewProjector(Config{
		Name: p.name + "." + r.Model, Feed: r.Setup.Feed, Store: keys, Log: r.Setup.Log, Models: []Model{fresh},
	})
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- side.Run(runCtx) }()
	err := CatchUp(ctx, side, p.Catalogue(), r.Every, r.Report)
	stop()
	<-ran
	if err != nil {
		return fmt.Errorf("replaying %s: %w", r.Model, err)
	}
	if ref, why, ok := side.cat.firstParked(); ok {
		return fmt.Errorf("the rebuilt %s cannot apply %s: %s", r.Model, ref, why)
	}
	// The ones in use go on meanwhile: once they hold everything the fresh
	// copy applied, what they applied beyond it is read from the store.
	reach, cancel := context.WithTimeout(ctx, 30*time.Second)
	err = Reach(reach, p, side.cat)
	cancel()
	if err != nil {
		return fmt.Errorf("waiting for the read models in use to reach the rebuilt %s: %w", r.Model, err)
	}
	// The old copy's saved documents: those the fresh one has not go.
	_, docs, err := p.store.LoadReadModels(ctx, p.name)
	if err != nil {
		return fmt.Errorf("loading the saved documents of %s: %w", p.name, err)
	}
	for key := range docs {
		if old.Owns(key) {
			keys.keys[key] = struct{}{}
		}
	}
	return p.replaceModel(ctx, r.Events, old, fresh, side.cat, keys.keys, func() {
		r.Swap(Current{Read: r.InUse.Read.with(r.Model, old, fresh), Projector: p})
	})
}

// replaceModel brings fresh from what side applied up to what p's
// catalogue holds (reading the events between from events), puts it in
// old's place, calls swap, and saves fresh's documents under keys (nil for
// a key it has not) with the checkpoint as it stands, between the feed's
// batches.
func (p *Projector) replaceModel(ctx context.Context, events StreamReader, old, fresh Model, side *Catalogue, keys map[string]struct{}, swap func()) error {
	p.applying.Lock()
	defer p.applying.Unlock()
	target, err := p.cat.mark(ctx)
	if err != nil {
		return fmt.Errorf("reading the streams of %s: %w", p.name, err)
	}
	have, err := side.mark(ctx)
	if err != nil {
		return err
	}
	for ref, v := range have.versions {
		if v > target.versions[ref] {
			return fmt.Errorf("%s at version %d, the read models in use at %d: %w", ref, v, target.versions[ref], ErrModelAhead)
		}
	}
	ch := newChanges()
	for ref, to := range target.versions {
		at := have.versions[ref]
		for at < to {
			page, err := events.ReadStream(ctx, ref, es.ReadOptions{From: at + 1, Limit: retryPage})
			if err != nil {
				return fmt.Errorf("reading %s: %w", ref, err)
			}
			if len(page) == 0 {
				return fmt.Errorf("reading %s: no event after version %d of %d", ref, at, to)
			}
			for _, env := range page {
				if env.Version > to {
					break
				}
				if env.Version != at+1 {
					return fmt.Errorf("reading %s: version %d after %d", ref, env.Version, at)
				}
				if err := fresh.Apply(env, ch); err != nil {
					return fmt.Errorf("applying %s v%d to the rebuilt model: %w", ref, env.Version, err)
				}
				at = env.Version
			}
		}
	}
	for key := range ch.docs {
		keys[key] = struct{}{}
	}
	models := slices.Clone(p.models)
	i := slices.Index(models, old)
	if i < 0 {
		return errors.New("the read model is not among the projector's")
	}
	models[i] = fresh
	p.models = models
	for key, m := range p.unsaved.docs {
		if m == old {
			p.unsaved.docs[key] = fresh
		}
	}
	swap()
	p.mu.Lock()
	checkpoint := p.checkpoint
	p.mu.Unlock()
	// At most a save's worth at a time: the store's (es.DocsPerSave).
	for _, key := range slices.Sorted(maps.Keys(keys)) {
		p.unsaved.Doc(fresh, key)
		if len(p.unsaved.docs) >= p.flushAt {
			if err := p.save(ctx, checkpoint, p.unsaved); err != nil {
				return err
			}
		}
	}
	if err := p.save(ctx, checkpoint, p.unsaved); err != nil {
		return err
	}
	// Every document of fresh is saved now: from here it holds only what
	// is hot, as the one it replaced did.
	if m, ok := fresh.(streamsOnDemand); ok {
		if r, ok := readsOnDemand(p.store); ok {
			m.readStreamsFrom(p.readers(r))
		}
	}
	return nil
}

// firstParked is a stream the catalogue parked, if any.
func (c *Catalogue) firstParked() (es.StreamRef, string, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for ref, info := range c.parked {
		return ref, info.Parked, true
	}
	return es.StreamRef{}, "", false
}

// with is the read side with m in the place of old, named name.
func (rs *ReadSide) with(name string, old, m Model) *ReadSide {
	out := &ReadSide{Events: rs.Events, named: maps.Clone(rs.named), models: slices.Clone(rs.models)}
	out.named[name] = m
	for i, x := range out.models {
		if x == old {
			out.models[i] = m
		}
	}
	return out
}

// keyRecorder is the store of a model rebuild's fresh copy: it saves
// nothing, and records the keys of the documents it was given that the
// model owns.
type keyRecorder struct {
	owns func(key string) bool
	mu   sync.Mutex
	keys map[string]struct{}
}

func (k *keyRecorder) LoadReadModels(context.Context, string) (string, map[string]json.RawMessage, error) {
	return "", nil, nil
}

func (k *keyRecorder) SaveReadModels(_ context.Context, _, _ string, docs map[string]json.RawMessage) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	for key := range docs {
		if k.owns(key) {
			k.keys[key] = struct{}{}
		}
	}
	return nil
}
