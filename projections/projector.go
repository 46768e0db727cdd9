package projections

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/foldboard/foldboard/es"
)

// Projector tails a change feed from its saved checkpoint and keeps the read
// models up to date. Each event is applied exactly once per stream version:
// redelivered events are ignored, and an event no model can apply parks its
// stream (shown on the dashboard) instead of being skipped silently.
type Projector struct {
	name      string
	feed      es.Feed
	store     es.ReadModelStore
	log       *slog.Logger
	cat       *Catalogue
	models    []Model
	onChange  func(topics []string)
	onBatch   func(BatchStats)
	onApplied func(ctx context.Context, from string, b es.Batch)
	stopOn    func(error) bool
	events    StreamReader
	// follower: the saves it loads are another process's, made while it
	// loads (Config.Follower).
	follower         bool
	loadedWhileSaved atomic.Bool
	pending          pendingAppends
	// applying is held while a batch of the feed, or a retry, is applied:
	// both use unsaved and the models, which are not safe for two at once.
	applying sync.Mutex
	// flushAt is how many changed documents make the projector save before
	// the end of a batch: an event changes a handful (flushMargin), and a
	// save takes es.DocsPerSave of the store.
	flushAt int

	// unsaved holds what the models applied that is not saved yet, and
	// unsavedN how many events: a save that fails keeps them for the next
	// one. (Redelivered events are skipped by version, so dropping them
	// would lose their documents while the checkpoint moves on.) Only the
	// feed's goroutine touches them.
	unsaved  *Changes
	unsavedN int64
	// unsavedSince is when the earliest of the unsaved events was appended
	// (its time); savedSince, that of the save being told of (OnChange).
	unsavedSince, savedSince time.Time

	mu         sync.Mutex
	checkpoint string
	applied    int64     // events applied since start
	lastApply  time.Time // when the last batch was applied
	lastEvent  es.Envelope
	// inBatch counts the events of the batch being applied that are done
	// with, for Lag: they are after the checkpoint but in the read models.
	inBatch atomic.Int64
	// dropped counts events delivered again and passed over by version;
	// outOfOrder those that came after a gap (and parked their stream).
	dropped, outOfOrder atomic.Int64
	// lastApplied is when the last event was applied, lastSave when the
	// read models were last handed to the store.
	lastApplied, lastSave time.Time
	running               bool
	lastErr               error
	advanced              chan struct{} // closed and replaced after every save
}

// Config wires a projector.
type Config struct {
	// Name keys the saved read models; a rebuild uses a fresh name.
	Name   string
	Feed   es.Feed
	Store  es.ReadModelStore
	Log    *slog.Logger
	Models []Model
	// OnChange is told the topics whose read models changed, after they are
	// saved (handed to the store, with SaveEvery).
	OnChange func(topics []string)
	// SaveEvery, when more than 0, writes the read models at most this often
	// (DeferSaves), merging the saves of the batches in between, instead of
	// once per batch; Run writes what is pending when it returns.
	SaveEvery time.Duration
	// WriteLimit, when set, is the store's limit on one stream's writes: the
	// catalogue prices each recent event against it (Catalogue.Busiest).
	WriteLimit es.StreamWriteLimit
	// OnBatch, when set, is told of every batch the feed brought, once it
	// is applied and saved (for metrics).
	OnBatch func(BatchStats)
	// OnApplied, when set, is handed every batch once it is applied and
	// its save handed to the store, with the checkpoint before it: what a
	// cluster's lease holder publishes to the other instances.
	OnApplied func(ctx context.Context, from string, b es.Batch)
	// StopOn, when set, says which feed errors end Run (returned) instead
	// of a resume from the checkpoint: a follower's "behind" reloads.
	StopOn func(error) bool
	// Events, when set, is the event store: a view read back on demand
	// from saves behind what the projector applied (a follower's, whose
	// holder saves) is brought up to it with the stream's events.
	Events StreamReader
	// Follower says the saves the read models read back are another's
	// (a cluster follower saves nothing; its holder saves): the catalogue
	// then holds every stream's version (see Catalogue).
	Follower bool
}

// BatchStats describe one applied batch.
type BatchStats struct {
	Events  int           // events in the batch
	Applied int           // of which applied (the rest were seen before, or parked)
	Took    time.Duration // applying and saving
}

// NewProjector makes a projector over the models in cfg and the stream
// catalogue, which it always keeps.
func NewProjector(cfg Config) *Projector {
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.OnChange == nil {
		cfg.OnChange = func([]string) {}
	}
	if cfg.SaveEvery > 0 {
		cfg.Store = DeferSaves(cfg.Store, cfg.SaveEvery, cfg.Log)
	}
	cat := NewCatalogue()
	cat.hot.limit = cfg.WriteLimit
	if cfg.Follower {
		cat.follow()
	}
	p := &Projector{
		name: cfg.Name, feed: cfg.Feed, store: cfg.Store, log: cfg.Log,
		cat: cat, models: cfg.Models, onChange: cfg.OnChange, onBatch: cfg.OnBatch,
		onApplied: cfg.OnApplied, stopOn: cfg.StopOn, events: cfg.Events, follower: cfg.Follower,
		unsaved: newChanges(), advanced: make(chan struct{}),
		flushAt: es.DocsPerSave(cfg.Store) - flushMargin,
	}
	if r, ok := readsOnDemand(cfg.Store); ok {
		read := func(ctx context.Context, key string) (json.RawMessage, error) {
			return r.ReadModel(ctx, p.name, key)
		}
		cat.readFrom(read, func(ctx context.Context, q es.DocRange) ([]es.Doc, error) {
			return r.ReadModelRange(ctx, p.name, q)
		})
		cat.events = cfg.Events
		for _, m := range cfg.Models {
			if m, ok := m.(onDemand); ok {
				m.readFrom(read)
			}
			if m, ok := m.(streamsOnDemand); ok {
				m.readStreamsFrom(p.readers(r))
			}
		}
	}
	return p
}

// readers are what the models read on demand (streamsOnDemand) read with:
// the store's documents through r, the stream's events (when the projector
// has them) after a saved view's version up to the one the catalogue has
// applied.
func (p *Projector) readers(r es.ReadModelReader) storeReaders {
	rs := storeReaders{
		one: func(ctx context.Context, key string) (json.RawMessage, error) { return r.ReadModel(ctx, p.name, key) },
		docs: func(ctx context.Context, q es.DocRange) ([]es.Doc, error) {
			return r.ReadModelRange(ctx, p.name, q)
		},
	}
	rs.events = p.events
	rs.applied = func(ctx context.Context, ref es.StreamRef) (int64, error) {
		v, _, err := p.cat.applied(ctx, ref)
		return v, err
	}
	return rs
}

// Doc returns the current document under key: the one its model holds, or,
// for one it saved and let go (ErrNotHeld), the one saved; nil for none.
func (p *Projector) Doc(ctx context.Context, key string) (json.RawMessage, error) {
	m := p.owner(key)
	if m == nil {
		return nil, nil
	}
	doc, err := m.Doc(key)
	if !errors.Is(err, ErrNotHeld) {
		return doc, err
	}
	if m, ok := m.(docReader); ok {
		return m.readDoc(ctx, key)
	}
	r, ok := readsOnDemand(p.store)
	if !ok {
		return nil, err
	}
	return r.ReadModel(ctx, p.name, key)
}

// MaxDocsPage is the most documents one Docs call lists.
const MaxDocsPage = 100

// Docs lists the documents saved under the projector's name that q
// chooses (greatest key first, at most q.Limit, up to MaxDocsPage), each
// as the projector serves it now (Doc: the one its model holds, else the
// saved one, brought up to date where the model knows how), nil where it
// serves none: what an instance serves, by the keys its holder saved (a
// document held here that no save has yet is not listed). The work is a
// range read of the store and, for each document not held, what Doc reads.
func (p *Projector) Docs(ctx context.Context, q es.DocRange) ([]es.Doc, error) {
	r, ok := readsOnDemand(p.store)
	if !ok {
		return nil, fmt.Errorf("projections: %T lists no documents", p.store)
	}
	q.Limit = min(q.RangeLimit(), MaxDocsPage)
	saved, err := r.ReadModelRange(ctx, p.name, q)
	if err != nil {
		return nil, err
	}
	for i, d := range saved {
		m := p.owner(d.Key)
		if m == nil {
			saved[i].Data = nil
			continue
		}
		doc, err := m.Doc(d.Key)
		if errors.Is(err, ErrNotHeld) {
			doc, err = d.Data, nil // as saved, just read
			if m, ok := m.(docReader); ok {
				doc, err = m.readDoc(ctx, d.Key)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("document %s of %s: %w", d.Key, p.name, err)
		}
		saved[i].Data = doc
	}
	return saved, nil
}

// readsOnDemand is the store as an es.ReadModelReader, if it is one: saves
// deferred in front of a store read it only when the store beneath does.
func readsOnDemand(store es.ReadModelStore) (es.ReadModelReader, bool) {
	if d, ok := store.(*DeferredSaves); ok {
		if _, ok := d.store.(es.ReadModelReader); !ok {
			return nil, false
		}
	}
	r, ok := store.(es.ReadModelReader)
	return r, ok
}

// Catalogue is the stream catalogue the projector keeps.
func (p *Projector) Catalogue() *Catalogue { return p.cat }

// Name is the name its read models are saved under.
func (p *Projector) Name() string { return p.name }

// Load restores the saved read models and checkpoint. Call it once, before Run.
//
// A model read on demand (loadedOnDemand) is not loaded whole: where the
// store can leave its documents out (es.ReadModelLoader), it reads what it
// holds itself, so that a start reads the checkpoint and what is held in
// memory, not the history.
func (p *Projector) Load(ctx context.Context) error {
	checkpoint, docs, err := p.loadStill(ctx)
	if err != nil {
		return fmt.Errorf("loading read models %s: %w", p.name, err)
	}
	for key, doc := range docs {
		m := p.owner(key)
		if m == nil {
			p.log.Warn("read model document with no owner", "projector", p.name, "key", key)
			continue
		}
		if err := m.Load(key, doc); err != nil {
			return fmt.Errorf("loading read model document %s: %w", key, err)
		}
	}
	p.cat.loadedLayout(checkpoint != "")
	p.mu.Lock()
	p.checkpoint = checkpoint
	p.mu.Unlock()
	return nil
}

// Stale reports whether the read models loaded are kept in an older layout
// than this code's (Layout): they lack what its pages read (the lists'
// indexes), and are to be rebuilt.
func (p *Projector) Stale() bool { return p.cat.Layout() < Layout }

// loadAttempts bounds the loads of a follower that a save overlapped.
const loadAttempts = 10

// loadStill is load, made again on a follower until no save came in the
// middle of it (the store's SaveMark, read before and after, is the same).
// A store reads the checkpoint first and each document as it then stands,
// so a save of the holder's in the middle leaves some documents ahead of
// the checkpoint: a stream's entry ahead has the follower pass over its
// events, which the counts read before lack (a follower's list counts fell
// behind the holder's). After loadAttempts it takes the last load, says so,
// and LoadedWhileSaved tells its owner to load again later.
func (p *Projector) loadStill(ctx context.Context) (string, map[string]json.RawMessage, error) {
	marker, ok := p.store.(es.SaveMarker)
	if !p.follower || !ok {
		return p.load(ctx)
	}
	for attempt := 1; ; attempt++ {
		before, err := marker.SaveMark(ctx, p.name)
		if err != nil {
			return "", nil, err
		}
		checkpoint, docs, err := p.load(ctx)
		if err != nil {
			return "", nil, err
		}
		after, err := marker.SaveMark(ctx, p.name)
		if err != nil {
			return "", nil, err
		}
		if after == before {
			return checkpoint, docs, nil
		}
		if attempt == loadAttempts {
			p.log.Warn("read models loaded while their holder saved: lists' counts may be off until they are loaded again",
				"projector", p.name, "attempts", attempt)
			p.loadedWhileSaved.Store(true)
			return checkpoint, docs, nil
		}
		select {
		case <-ctx.Done():
			return "", nil, ctx.Err()
		case <-time.After(time.Duration(attempt) * 10 * time.Millisecond):
		}
	}
}

// LoadedWhileSaved reports whether the follower's read models were loaded
// while their holder saved, every attempt of it (loadStill): they may be
// off, and are to be loaded again.
func (p *Projector) LoadedWhileSaved() bool { return p.loadedWhileSaved.Load() }

// load reads the checkpoint and the documents to load: every one, or,
// where the store can leave some out, all but the on-demand models', who
// then read what they hold.
func (p *Projector) load(ctx context.Context) (string, map[string]json.RawMessage, error) {
	loader, ok := p.store.(es.ReadModelLoader)
	reader, ok2 := readsOnDemand(p.store)
	lazy := []loadedOnDemand{p.cat}
	for _, m := range p.models {
		if m, ok := m.(loadedOnDemand); ok {
			lazy = append(lazy, m)
		}
	}
	if !ok || !ok2 || len(lazy) == 0 {
		return p.store.LoadReadModels(ctx, p.name)
	}
	var skip []string
	for _, m := range lazy {
		skip = append(skip, m.loadPrefixes()...)
	}
	checkpoint, docs, err := loader.LoadReadModelsExcept(ctx, p.name, skip)
	if err != nil {
		return "", nil, err
	}
	read := func(q es.DocRange) ([]es.Doc, error) { return reader.ReadModelRange(ctx, p.name, q) }
	for _, m := range lazy {
		if err := m.loadOnDemand(ctx, read); err != nil {
			return "", nil, err
		}
	}
	return checkpoint, docs, nil
}

func (p *Projector) owner(key string) Model {
	if p.cat.Owns(key) {
		return p.cat
	}
	for _, m := range p.models {
		if m.Owns(key) {
			return m
		}
	}
	return nil
}

// Run follows the feed until ctx ends, resuming from the last saved
// checkpoint after any failure.
func (p *Projector) Run(ctx context.Context) error {
	p.setRunning(true, nil)
	defer p.setRunning(false, nil)
	if d, ok := p.store.(*DeferredSaves); ok {
		defer func() {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			if err := d.Flush(ctx); err != nil {
				p.log.Error("saving read models at stop", "projector", p.name, "err", err)
			}
		}()
	}
	delay := 100 * time.Millisecond
	for {
		p.mu.Lock()
		from := p.checkpoint
		p.mu.Unlock()
		err := p.feed.Follow(ctx, from, p.apply)
		if ctx.Err() != nil {
			return nil
		}
		if err == nil {
			err = errors.New("feed ended")
		}
		if p.stopOn != nil && p.stopOn(err) {
			return err
		}
		p.mu.Lock()
		progressed := p.checkpoint != from
		p.mu.Unlock()
		if progressed {
			// A failure after a good run is a new failure, not the next of a
			// series: retry soon.
			delay = 100 * time.Millisecond
		}
		p.log.Error("projector feed failed; resuming from checkpoint", "projector", p.name, "err", err, "retry_in", delay)
		p.setRunning(true, err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(delay):
		}
		delay = min(delay*2, 5*time.Second)
	}
}

func (p *Projector) setRunning(running bool, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.running = running
	p.lastErr = err
}

// flushMargin is room for the documents one event changes (a handful) in a
// save that holds every document changed before it.
const flushMargin = 16

func (p *Projector) apply(ctx context.Context, b es.Batch) error {
	p.applying.Lock()
	defer p.applying.Unlock()
	start := time.Now()
	p.pending.seen(b.Events)
	if err := p.prefetch(ctx, b.Events); err != nil {
		return err
	}
	ch := p.unsaved
	p.mu.Lock()
	previous := p.checkpoint
	p.mu.Unlock()
	n := 0
	var last es.Envelope
	for _, env := range b.Events {
		p.inBatch.Add(1)
		applied, parked, err := p.cat.applied(ctx, env.Stream) // pinned: read before the batch
		if err != nil {
			return err
		}
		if env.Version <= applied || parked {
			if !parked {
				p.dropped.Add(1)
			}
			continue
		}
		if env.Version != applied+1 {
			p.outOfOrder.Add(1)
			p.park(env, fmt.Errorf("version %d arrived after %d: the feed skipped events", env.Version, applied), ch)
			continue
		}
		if err := p.applyOne(env, ch); err != nil {
			p.park(env, err, ch)
			continue
		}
		n++
		p.unsavedN++
		p.noteAppended(env)
		last = env
		if len(ch.docs) >= p.flushAt {
			// Saved with the checkpoint before this batch: on a restart the
			// batch comes again and what was saved is skipped by version.
			if err := p.save(ctx, previous, ch); err != nil {
				return err
			}
		}
	}
	if n > 0 {
		p.mu.Lock()
		p.lastEvent, p.lastApplied = last, time.Now()
		p.mu.Unlock()
	}
	if err := p.save(ctx, b.Checkpoint, ch); err != nil {
		return err
	}
	p.unpin()
	if p.onApplied != nil {
		p.onApplied(ctx, previous, b)
	}
	if p.onBatch != nil {
		p.onBatch(BatchStats{Events: len(b.Events), Applied: n, Took: time.Since(start)})
	}
	return nil
}

// StreamReader reads one stream's events from the store (es.Store does).
type StreamReader interface {
	ReadStream(ctx context.Context, stream es.StreamRef, opts es.ReadOptions) ([]es.Envelope, error)
}

// ErrNotParked is Retry's answer for a stream that is not parked.
var ErrNotParked = errors.New("the stream is not parked")

// retryPage is how many events a retry reads from the store at a time.
const retryPage = 500

// RetryResult is what a retry of a parked stream did.
type RetryResult struct {
	// Applied is how many of the stream's events the read models applied.
	Applied int64 `json:"applied"`
	// Version is the version the read models hold now.
	Version int64 `json:"version"`
	// Parked is the error that parked the stream again ("" when it is not).
	Parked string `json:"parked,omitempty"`
}

// Retry applies a parked stream again: it lifts the park and applies the
// stream's events after the version the read models hold, read from the
// store in order, as the feed would have brought them; an event that fails
// again parks the stream again (at that event). Each version is applied
// once: the feed, which passed over the stream while it was parked, drops
// what the retry applied by version when it brings it later. The
// checkpoint stays where it is. It runs between the feed's batches, so that
// the two never apply at once.
func (p *Projector) Retry(ctx context.Context, store StreamReader, ref es.StreamRef) (RetryResult, error) {
	p.applying.Lock()
	defer p.applying.Unlock()
	// Pinned while the park is lifted (unpark asks whether it has an
	// entry), and read again with each page.
	if err := p.cat.prefetch(ctx, []es.Envelope{{Stream: ref}}); err != nil {
		return RetryResult{}, err
	}
	info, ok, err := p.cat.Stream(ctx, ref)
	if err != nil {
		return RetryResult{}, err
	}
	if !ok || info.Parked == "" {
		p.cat.unpin()
		return RetryResult{}, ErrNotParked
	}
	ch := p.unsaved
	p.cat.unpark(ref, ch)
	p.log.Info("retrying parked stream", "projector", p.name, "stream", ref.String(), "from", info.Version+1, "was", info.Parked)
	res := RetryResult{Version: info.Version}
	var last es.Envelope
	var failed error
read:
	for {
		page, err := store.ReadStream(ctx, ref, es.ReadOptions{From: res.Version + 1, Limit: retryPage})
		if err != nil {
			failed = fmt.Errorf("reading %s: %w", ref, err)
			break
		}
		if err := p.prefetch(ctx, page); err != nil {
			failed = err
			break
		}
		for _, env := range page {
			if env.Version != res.Version+1 {
				p.park(env, fmt.Errorf("version %d read after %d: the store skipped events", env.Version, res.Version), ch)
				break read
			}
			if err := p.applyOne(env, ch); err != nil {
				p.park(env, err, ch)
				break read
			}
			res.Applied++
			res.Version = env.Version
			p.unsavedN++
			p.noteAppended(env)
			last = env
		}
		if len(page) < retryPage {
			break
		}
	}
	if failed != nil {
		// The rest could not be read: park it again where it stands, so the
		// board says why and the feed does not apply past a gap.
		if res.Applied > 0 {
			info.Parked = fmt.Sprintf("%s v%d: retry: %v", ref, res.Version+1, failed)
			info.ParkedVersion = res.Version + 1
		}
		p.cat.repark(info, ch)
	}
	if res.Applied > 0 {
		p.mu.Lock()
		p.lastEvent, p.lastApplied = last, time.Now()
		p.mu.Unlock()
	}
	p.mu.Lock()
	checkpoint := p.checkpoint
	p.mu.Unlock()
	if err := p.save(ctx, checkpoint, ch); err != nil {
		return res, err
	}
	p.unpin()
	if now, _, err := p.cat.Stream(ctx, ref); err != nil {
		return res, err
	} else if now.Parked != "" {
		res.Parked = now.Parked
	}
	return res, failed
}

// prefetch has the catalogue, then the models, read back what applying
// events needs (the views read back ask the catalogue for the version
// applied).
func (p *Projector) prefetch(ctx context.Context, events []es.Envelope) error {
	if err := p.cat.prefetch(ctx, events); err != nil {
		return fmt.Errorf("reading the catalogue back for a batch: %w", err)
	}
	for _, m := range p.models {
		if m, ok := m.(prefetcher); ok {
			if err := m.prefetch(ctx, events); err != nil {
				return fmt.Errorf("reading read models back for a batch: %w", err)
			}
		}
	}
	return nil
}

// unpin lets the models' prefetchers go of what they read for a batch
// once it is applied and saved.
func (p *Projector) unpin() {
	p.cat.unpin()
	for _, m := range p.models {
		if m, ok := m.(batchPinner); ok {
			m.unpin()
		}
	}
}

// noteAppended keeps the earliest append time of the unsaved events.
func (p *Projector) noteAppended(env es.Envelope) {
	if p.unsavedSince.IsZero() || env.Time.Before(p.unsavedSince) {
		p.unsavedSince = env.Time
	}
}

// ChangedSince is, while OnChange is told of a save's topics, when the
// earliest event of that save was appended (its time, the appending
// instance's clock): where the hub measures command → browser latency from.
func (p *Projector) ChangedSince() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.savedSince
}

func (p *Projector) applyOne(env es.Envelope, ch *Changes) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("read model panicked: %v", r)
		}
	}()
	for _, m := range p.models {
		if err := m.Apply(env, ch); err != nil {
			return err
		}
	}
	return p.cat.Apply(env, ch)
}

func (p *Projector) park(env es.Envelope, cause error, ch *Changes) {
	p.log.Error("parking stream: event cannot be applied", "projector", p.name, "stream", env.Stream.String(), "version", env.Version, "type", env.Type, "err", cause)
	p.cat.park(env, cause, ch)
}

// save writes the unsaved documents and the checkpoint; on failure they stay
// unsaved, for the next save.
func (p *Projector) save(ctx context.Context, checkpoint string, ch *Changes) error {
	docs := make(map[string]json.RawMessage, len(ch.docs))
	for key, m := range ch.docs {
		doc, err := m.Doc(key)
		if err != nil {
			return fmt.Errorf("encoding read model document %s: %w", key, err)
		}
		docs[key] = doc
	}
	if err := p.store.SaveReadModels(ctx, p.name, checkpoint, docs); err != nil {
		return fmt.Errorf("saving read models %s: %w", p.name, err)
	}
	for key, m := range ch.docs {
		if m, ok := m.(savedNotified); ok {
			m.saved(key)
		}
	}
	topics := ch.Topics()
	ch.reset()
	p.mu.Lock()
	p.savedSince, p.unsavedSince = p.unsavedSince, time.Time{}
	if checkpoint != p.checkpoint {
		p.inBatch.Store(0)
	}
	p.checkpoint = checkpoint
	p.applied += p.unsavedN
	p.unsavedN = 0
	p.lastApply = time.Now()
	p.lastSave = p.lastApply
	close(p.advanced)
	p.advanced = make(chan struct{})
	p.mu.Unlock()
	if len(topics) > 0 {
		p.onChange(topics)
	}
	return nil
}

// WaitFor waits until the read models have applied the stream up to version
// (or the stream is parked), or ctx ends. Pages call it with a short deadline
// so that a redirect after a command shows the command's effect. A failed
// read of the stream's version is tried again after the next save.
func (p *Projector) WaitFor(ctx context.Context, stream es.StreamRef, version int64) bool {
	for {
		p.mu.Lock()
		advanced := p.advanced
		p.mu.Unlock()
		if v, parked, err := p.cat.applied(ctx, stream); err == nil && (v >= version || parked) {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-advanced:
		}
	}
}

// Status is the projector's state for the dashboard and health checks.
type Status struct {
	Name       string
	Running    bool
	Checkpoint string
	Applied    int64
	LastApply  time.Time
	// LastEvent is the last event applied since start (zero before one).
	LastEvent es.Envelope
	Err       error
	// Dropped counts the events delivered again and passed over since
	// start; OutOfOrder those that came after a gap in their stream.
	Dropped, OutOfOrder   int64
	LastApplied, LastSave time.Time
}

// Status reports how the projector is doing.
func (p *Projector) Status() Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	return Status{
		Name: p.name, Running: p.running, Checkpoint: p.checkpoint, Applied: p.applied,
		LastApply: p.lastApply, LastEvent: p.lastEvent, Err: p.lastErr,
		Dropped: p.dropped.Load(), OutOfOrder: p.outOfOrder.Load(), LastApplied: p.lastApplied, LastSave: p.lastSave,
	}
}

// Advanced returns a channel closed at the projector's next save.
func (p *Projector) Advanced() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.advanced
}
