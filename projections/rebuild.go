package projections

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/foldboard/foldboard/es"
)

// DefaultName is the read models' name until a rebuild makes another.
const DefaultName = "readmodels-v1"

// SettingsName keys foldboard's own settings among the saved documents;
// currentKey is the setting that names the read models in use.
const (
	SettingsName = "settings"
	currentKey   = "read-models"
)

// NewName is a fresh name for rebuilt read models: sortable by when.
func NewName(now time.Time) string { return "readmodels-" + strings.ToLower(es.NewULID(now)) }

// CurrentName returns the name of the read models in use, as a rebuild last
// saved it; DefaultName when none was.
func CurrentName(ctx context.Context, store es.ReadModelStore) (string, error) {
	_, docs, err := store.LoadReadModels(ctx, SettingsName)
	if err != nil {
		return "", fmt.Errorf("loading settings: %w", err)
	}
	var name string
	if doc, ok := docs[currentKey]; ok && json.Unmarshal(doc, &name) == nil && es.ValidID(name) {
		return name, nil
	}
	return DefaultName, nil
}

// SaveCurrentName makes name the read models in use, for every later start.
func SaveCurrentName(ctx context.Context, store es.ReadModelStore, name string) error {
	doc, err := json.Marshal(name)
	if err != nil {
		return err
	}
	if err := store.SaveReadModels(ctx, SettingsName, "", map[string]json.RawMessage{currentKey: doc}); err != nil {
		return fmt.Errorf("saving the read models' name %s: %w", name, err)
	}
	return nil
}

// Drop deletes every document saved under name (its checkpoint stays, at
// the start): what a rebuild leaves behind of the read models it replaced.
func Drop(ctx context.Context, store es.ReadModelStore, name string) error {
	if name == SettingsName {
		return errors.New("the settings are not read models")
	}
	_, docs, err := store.LoadReadModels(ctx, name)
	if err != nil {
		return fmt.Errorf("dropping read models %s: %w", name, err)
	}
	batch := map[string]json.RawMessage{}
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := store.SaveReadModels(ctx, name, "", batch)
		clear(batch)
		return err
	}
	for key := range docs {
		batch[key] = nil
		if len(batch) == es.DocsPerSave(store) {
			if err := flush(); err != nil {
				return fmt.Errorf("dropping read models %s: %w", name, err)
			}
		}
	}
	if err := flush(); err != nil {
		return fmt.Errorf("dropping read models %s: %w", name, err)
	}
	return nil
}

// Progress is how a rebuild goes.
type Progress struct {
	Name string
	// Applied is how many events the new read models have applied; Total,
	// how many they must reach (it grows with events appended meanwhile; 0
	// when unknown).
	Applied, Total int64
	// Rate is the events applied per second lately; Elapsed, since the start.
	Rate    float64
	Elapsed time.Duration
	Done    bool
	// Err is the projector's last error while it retries.
	Err error
}

// CatchUp watches p, which replays the log from the beginning (its Run is
// the caller's), until it has reached where the log stood when CatchUp began,
// calling report about every `every` and once at the end. Events appended
// meanwhile do not move the end, so it finishes under steady writes. The end
// is, for a feed that counts its backlog (es.BacklogFeed), every event
// committed at the start behind p's checkpoint; otherwise every stream of
// target (the catalogue of the read models in use, or nil for none) at least
// at the version target had at the start, so that swapping p in never goes
// back further than target moved meanwhile (Reach closes that).
func CatchUp(ctx context.Context, p *Projector, target *Catalogue, every time.Duration, report func(Progress)) error {
	start := time.Now()
	tick := time.NewTicker(every)
	defer tick.Stop()
	bf, counts := p.feed.(es.BacklogFeed)
	var end mark
	var total0 int64 // for a counting feed: the events committed at the start
	if counts {
		b, err := bf.Backlog(ctx, "")
		if err != nil {
			return fmt.Errorf("counting the events to rebuild: %w", err)
		}
		total0 = b.Events
	} else if target != nil {
		end = target.mark()
	}
	var lastApplied int64
	lastAt := start
	rate := 0.0
	for {
		st := p.Status()
		pr := Progress{Name: p.name, Applied: st.Applied, Elapsed: time.Since(start), Err: st.Err}
		if dt := time.Since(lastAt).Seconds(); dt >= every.Seconds()/2 {
			now := float64(st.Applied-lastApplied) / dt
			if rate == 0 {
				rate = now
			} else {
				rate = 0.5*rate + 0.5*now
			}
			lastApplied, lastAt = st.Applied, time.Now()
		}
		pr.Rate = rate
		if counts {
			passed, err := passedEvents(ctx, bf, st.Checkpoint)
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				pr.Err = err
			} else {
				pr.Total = max(total0, st.Applied)
				pr.Done = passed >= total0 && st.Running
			}
		} else if target == nil {
			pr.Done = st.Running
		} else {
			pr.Total = max(end.events, st.Applied)
			pr.Done = st.Running && st.Applied >= end.events && p.cat.reached(end)
		}
		if pr.Done {
			// Done when the last batch was saved, not when it was noticed.
			if st.LastApply.After(start) {
				pr.Elapsed = st.LastApply.Sub(start)
			}
			if pr.Elapsed > 0 {
				pr.Rate = float64(st.Applied) / pr.Elapsed.Seconds()
			}
			pr.Total = st.Applied
			report(pr)
			return nil
		}
		report(pr)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// passedEvents counts the events at or before checkpoint: every event less
// those after it. The log only grows at its end, so once the count reaches
// what the log held at some moment, checkpoint is past all of that.
func passedEvents(ctx context.Context, bf es.BacklogFeed, checkpoint string) (int64, error) {
	behind, err := bf.Backlog(ctx, checkpoint)
	if err != nil {
		return 0, err
	}
	all, err := bf.Backlog(ctx, "")
	if err != nil {
		return 0, err
	}
	return all.Events - behind.Events, nil
}

// Reach waits until p's catalogue covers target as it stands now (each
// stream at least at its version, or parked), or ctx ends. After CatchUp,
// the read models in use have moved on by what was appended meanwhile: a
// caught-up p reaches them within a batch or two, and a swap after Reach
// never shows an older state.
func Reach(ctx context.Context, p *Projector, target *Catalogue) error {
	end := target.mark()
	for !p.cat.reached(end) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-p.Advanced():
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

// mark is a catalogue's streams and versions at one moment: an end to reach.
type mark struct {
	versions map[es.StreamRef]int64
	events   int64
}

func (c *Catalogue) mark() mark {
	c.mu.RLock()
	defer c.mu.RUnlock()
	m := mark{versions: make(map[es.StreamRef]int64, len(c.streams)), events: c.stats.Events}
	for ref, info := range c.streams {
		m.versions[ref] = info.Version
	}
	return m
}

// reached reports whether c has every stream of m at least at m's version
// (or parked).
func (c *Catalogue) reached(m mark) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for ref, v := range m.versions {
		info, ok := c.streams[ref]
		if v > 0 && (!ok || (info.Version < v && info.Parked == "")) {
			return false
		}
	}
	return true
}
