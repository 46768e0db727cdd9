package projections

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/foldboard/foldboard/es"
)

// DefaultName is the read models' name until a rebuild makes another.
const DefaultName = "readmodels-v1"

// SettingsName keys foldboard's own settings where stores kept them among
// the read models' documents; currentKey is the setting that names the read
// models in use.
const (
	SettingsName = "settings"
	currentKey   = "read-models"
)

// NewName is a fresh name for rebuilt read models: sortable by when.
func NewName(now time.Time) string { return "readmodels-" + strings.ToLower(es.NewULID(now)) }

// CurrentName returns the name of the read models in use, as a rebuild last
// saved it; DefaultName when none was.
func CurrentName(ctx context.Context, settings es.Settings) (string, error) {
	name, _, err := currentName(ctx, settings)
	return name, err
}

// currentName is the name in use and the setting's value as stored (nil
// when no rebuild saved one).
func currentName(ctx context.Context, settings es.Settings) (string, json.RawMessage, error) {
	doc, ok, err := settings.Setting(ctx, currentKey)
	if err != nil {
		return "", nil, fmt.Errorf("loading settings: %w", err)
	}
	var name string
	if ok && json.Unmarshal(doc, &name) == nil && es.ValidID(name) {
		return name, doc, nil
	}
	return DefaultName, doc, nil
}

// SwapCurrentName makes name the read models in use for every later start,
// in place of old: of two rebuilds that started from the same read models,
// only the first to finish swaps; the other fails with an error matching
// es.ErrSettingChanged.
func SwapCurrentName(ctx context.Context, settings es.Settings, old, name string) error {
	inUse, raw, err := currentName(ctx, settings)
	if err != nil {
		return err
	}
	if inUse != old {
		return fmt.Errorf("swapping in read models %s: %s replaced %s meanwhile: %w", name, inUse, old, es.ErrSettingChanged)
	}
	doc, err := json.Marshal(name)
	if err != nil {
		return err
	}
	if err := settings.SwapSetting(ctx, currentKey, raw, doc); err != nil {
		return fmt.Errorf("swapping in read models %s: %w", name, err)
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
		var err error
		if end, err = target.mark(ctx); err != nil {
			return fmt.Errorf("reading the streams to reach: %w", err)
		}
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
			if st.Running && st.Applied >= end.events {
				reached, err := p.cat.reached(ctx, end)
				if err != nil {
					if ctx.Err() != nil {
						return ctx.Err()
					}
					pr.Err = err
				}
				pr.Done = reached
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
	end, err := target.mark(ctx)
	if err != nil {
		return fmt.Errorf("reading the streams to reach: %w", err)
	}
	for {
		reached, err := p.cat.reached(ctx, end)
		if reached {
			return nil
		}
		if err != nil && ctx.Err() == nil {
			p.log.Warn("reading whether the read models reached others", "projector", p.name, "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-p.Advanced():
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// mark is a catalogue's streams and versions at one moment: an end to reach.
type mark struct {
	versions map[es.StreamRef]int64
	events   int64
}

// mark is where c stands now. It holds a version per stream: where the
// catalogue holds only what is hot, every saved entry is read (in pages)
// for it, so that a rebuild holds, while it runs, what a catalogue held
// whole once did.
func (c *Catalogue) mark(ctx context.Context) (mark, error) {
	c.mu.RLock()
	m := mark{versions: map[es.StreamRef]int64{}, events: c.stats.Events}
	c.mu.RUnlock()
	err := c.eachVersion(ctx, "", func(ref es.StreamRef, v int64) { m.versions[ref] = v })
	return m, err
}

// reachedOneByOne is how few streams left to reach reached reads one by
// one rather than reading every entry.
const reachedOneByOne = 256

// reached reports whether c has every stream of m at least at m's version
// (or parked). It drops from m the streams c has reached at their version
// (a version only grows), so that asking again asks only of the rest: one
// by one when they are few, else reading every entry of c.
func (c *Catalogue) reached(ctx context.Context, m mark) (bool, error) {
	for ref, v := range m.versions {
		if v <= 0 {
			delete(m.versions, ref)
		}
	}
	c.mu.RLock()
	every := c.read != nil && c.versions == nil && len(m.versions) > reachedOneByOne
	c.mu.RUnlock()
	if every {
		err := c.eachVersion(ctx, "", func(ref es.StreamRef, at int64) {
			if v, ok := m.versions[ref]; ok && at >= v {
				delete(m.versions, ref)
			}
		})
		if err != nil {
			return false, err
		}
	} else {
		for ref, v := range m.versions {
			h, err := c.lookup(ctx, ref)
			if err != nil {
				return false, err
			}
			if h.known && h.v >= v {
				delete(m.versions, ref)
			}
		}
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	for ref := range m.versions {
		if _, parked := c.parked[ref]; !parked {
			return false, nil
		}
	}
	return true, nil
}

// Rebuild replays the whole log into fresh read models and makes them the
// ones in use: the one rebuild of the server's button and of `foldboard
// rebuild`.
type Rebuild struct {
	Setup    Setup
	Settings es.Settings
	// InUse are the read models in use: the end to reach, and the name to
	// swap out.
	InUse *Projector
	// Start runs a projector and returns how to stop it, which waits for
	// its last save.
	Start func(p *Projector) (stop func())
	// OnChange is the new projector's, as for Setup.New.
	OnChange func(p *Projector, topics []string)
	// Every is how often Report is told the progress.
	Every  time.Duration
	Report func(Progress)
	// Review, when set, is shown how the caught-up read models differ from
	// the ones in use (Compare) and says whether to swap them in; it may
	// wait for a person, while the new read models go on following the
	// log. Without it they are swapped in once caught up.
	Review func(ctx context.Context, d Diff) (swap bool, err error)
}

// ErrDiscarded is a rebuild its Review chose not to swap in.
var ErrDiscarded = errors.New("the rebuilt read models were discarded")

// Run rebuilds into name: the new read models replay the log until they
// have reached the ones in use (CatchUp, then Reach), then their name is
// swapped in for every later start (SwapCurrentName: a rebuild that started
// from read models another one replaced meanwhile fails). It returns the
// new read models with their projector still running; on failure it stops
// it and drops what it saved. The caller serves from them and drops the
// replaced ones.
func (r Rebuild) Run(ctx context.Context, name string) (Current, func(), error) {
	next := r.Setup.New(name, r.OnChange)
	if err := next.Projector.Load(ctx); err != nil {
		return Current{}, nil, err
	}
	stop := r.Start(next.Projector)
	err := CatchUp(ctx, next.Projector, r.InUse.Catalogue(), r.Every, r.Report)
	if err == nil {
		// What the read models in use applied meanwhile, so that a swap
		// goes back on no page.
		reachCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err = Reach(reachCtx, next.Projector, r.InUse.Catalogue())
		cancel()
	}
	if err == nil && r.Review != nil {
		err = r.review(ctx, next.Projector)
	}
	if err == nil {
		err = SwapCurrentName(ctx, r.Settings, r.InUse.Name(), name)
	}
	if err != nil {
		stop()
		r.drop(name)
		return Current{}, nil, err
	}
	return next, stop, nil
}

// review compares the caught-up read models with the ones in use, asks
// Review, and on a swap brings them up to the ones in use again (they moved
// on while a person looked).
func (r Rebuild) review(ctx context.Context, next *Projector) error {
	d, err := Compare(ctx, r.InUse, next)
	if err != nil {
		return err
	}
	swap, err := r.Review(ctx, d)
	if err != nil {
		return err
	}
	if !swap {
		return ErrDiscarded
	}
	reachCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return Reach(reachCtx, next, r.InUse.Catalogue())
}

// drop deletes the documents of a rebuild that did not finish, within a few
// seconds, whether or not the caller is stopping.
func (r Rebuild) drop(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := Drop(ctx, r.Setup.Store, name); err != nil {
		cmp.Or(r.Setup.Log, slog.Default()).Warn("dropping an unfinished rebuild", "projector", name, "err", err)
	}
}
