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
// the caller's), until it has caught up, calling report about every `every`
// and once at the end. Caught up means: for a feed that counts its backlog
// (es.BacklogFeed), no event after its checkpoint; otherwise every stream of
// target (the catalogue of the read models in use, or nil for none) at
// least at the version target has, so that swapping p in never goes back.
func CatchUp(ctx context.Context, p *Projector, target func() *Catalogue, every time.Duration, report func(Progress)) error {
	start := time.Now()
	tick := time.NewTicker(every)
	defer tick.Stop()
	bf, counts := p.feed.(es.BacklogFeed)
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
			b, err := bf.Backlog(ctx, st.Checkpoint)
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				pr.Err = err
			} else {
				pr.Total = st.Applied + b.Events
				pr.Done = b.Events == 0 && st.Running
			}
		} else {
			var tc *Catalogue
			if target != nil {
				tc = target()
			}
			if tc == nil {
				pr.Done = st.Running
			} else {
				pr.Total = max(tc.Stats().Events, st.Applied)
				pr.Done = st.Running && st.Applied >= tc.Stats().Events && p.cat.covers(tc)
			}
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

// covers reports whether c has every stream of other at least at other's
// version (or parked).
func (c *Catalogue) covers(other *Catalogue) bool {
	other.mu.RLock()
	want := make(map[es.StreamRef]int64, len(other.streams))
	for ref, info := range other.streams {
		want[ref] = info.Version
	}
	other.mu.RUnlock()
	c.mu.RLock()
	defer c.mu.RUnlock()
	for ref, v := range want {
		info, ok := c.streams[ref]
		if v > 0 && (!ok || (info.Version < v && info.Parked == "")) {
			return false
		}
	}
	return true
}
