package projections

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/foldboard/foldboard/es"
)

// StreamInfo is the catalogue's entry for one stream.
type StreamInfo struct {
	Stream    es.StreamRef `json:"-"`
	Version   int64        `json:"version"`
	Created   time.Time    `json:"created"`
	Updated   time.Time    `json:"updated"`
	CreatedBy string       `json:"createdBy"`
	LastType  string       `json:"lastType"`
	LastActor string       `json:"lastActor"`
	// Parked holds the error of an event no read model could apply: the
	// stream's read models stay at Version until a rebuild.
	Parked        string `json:"parked,omitempty"`
	ParkedVersion int64  `json:"parkedVersion,omitempty"`
}

// Stats are totals over the whole log.
type Stats struct {
	Events  int64            `json:"events"`
	Streams int64            `json:"streams"`
	ByType  map[string]int64 `json:"byType"`
	// Last is the time of the newest event applied.
	Last time.Time `json:"last"`
}

// Catalogue knows every stream, the version the read models have applied for
// it, and totals; the projector consults it to apply each event exactly once.
//
// It holds in memory only what is hot (issue 19.2): the entries changed
// since a save took them, the versions of the streams of the batch being
// applied (read back before it, as the views are: the dedupe asks each
// event's), and a cache, bounded by bytes, of versions read back or saved;
// every other question about a stream (its version for WaitFor or a page,
// the rest of its entry: when it changed, by what and whom) reads its saved
// entry (stream/<stream>), and a start loads none of them. A stream's park
// is saved apart and held: they are few. Every stream's first event is
// saved apart, once (created/<stream>: when and by whom), so that an entry
// is written without reading the one before. A stream with no event
// applied but parked at its first has an entry at version 0.
//
// A cluster follower (Config.Follower) holds every stream's version, loaded
// at start and kept as it applies: the saves it reads are its holder's, at
// the holder's position, which may be ahead of its own, and an entry read
// from there would have the dedupe pass over events the follower has not
// applied. That is its limit: a follower's catalogue grows with the number
// of streams (a version each), a holder's does not.
type Catalogue struct {
	mu sync.RWMutex
	// versions, on a follower, are every stream's version applied (nil
	// elsewhere).
	versions map[es.StreamRef]int64
	// unsaved are the entries changed since a save took them, and born the
	// first events of streams since then; with no store to read back from,
	// every one.
	unsaved map[es.StreamRef]StreamInfo
	born    map[es.StreamRef]streamBorn
	// batch are the versions read back for the batch being applied; cache,
	// versions read back or saved lately; saves counts the entries saves
	// took (see readBack).
	batch map[es.StreamRef]heldVersion
	cache *bytesCache[es.StreamRef, heldVersion]
	saves uint64
	read  DocReader
	// readRange reads a range of the saved documents: every stream's entry
	// for Streams and a rebuild's mark.
	readRange func(ctx context.Context, q es.DocRange) ([]es.Doc, error)
	// events, when set, is the event store: an entry saved behind the
	// version applied (a follower's saves are its holder's) is made from
	// the stream's event at that version.
	events StreamReader
	stats  Stats
	// parked are the parked streams' parks (Parked, ParkedVersion), saved
	// apart (parked/<stream>) and held whole: they are few; the dashboard
	// lists them, and a retry starts from one.
	parked map[es.StreamRef]StreamInfo
	// rate counts events by the second of their time, over the last
	// RateWindow before the newest event: the dashboard's events per second.
	rate eventRate
	// hot counts each stream's recent events: the busiest streams. Not
	// saved: it is about the last seconds.
	hot hotStreams
	// layout is the layout the read models are kept in (Layout for new
	// ones; what was saved, or 0 for saved ones with none); layoutLoaded,
	// whether a saved one was loaded, and layoutSaved, whether it is saved.
	layout                    int
	layoutLoaded, layoutSaved bool
}

// Layout is the layout of the read models this code keeps: 2 since the
// lists are indexes in the store and views are read on demand (lists/…,
// counts/…, created/…: issue 19.2). Read models saved in an older one (1:
// held whole in memory, saved with no layout document) have no list
// indexes: a server that loads them rebuilds them (Projector.Stale).
const Layout = 2

// heldVersion is a stream's version as memory holds it, and whether the
// stream has an entry at all (known).
type heldVersion struct {
	v     int64
	known bool
}

// cost is roughly what a version costs in the cache: the key's strings,
// the entry and the cache's element and map slot around it.
func versionCost(ref es.StreamRef, _ heldVersion) int { return 160 + len(ref.Type) + len(ref.ID) }

// catalogueCacheBytes bounds the versions read back kept in memory.
const catalogueCacheBytes = 2 << 20

// streamBorn is a stream's first event: when, and whose.
type streamBorn struct {
	Created   time.Time `json:"created"`
	CreatedBy string    `json:"createdBy"`
}

const (
	catalogueKey = "stream/"
	bornKey      = "created/"
	parkedKey    = "parked/"
	statsKey     = "stats"
	rateKey      = "rate"
	layoutKey    = "layout"
	// TopicDashboard changes with every event.
	TopicDashboard = "dashboard"
)

// NewCatalogue makes an empty catalogue.
func NewCatalogue() *Catalogue {
	return &Catalogue{
		unsaved: map[es.StreamRef]StreamInfo{}, born: map[es.StreamRef]streamBorn{},
		batch: map[es.StreamRef]heldVersion{}, cache: newKeyedCache[es.StreamRef](catalogueCacheBytes, versionCost),
		stats: Stats{ByType: map[string]int64{}}, parked: map[es.StreamRef]StreamInfo{}, rate: newEventRate(),
		layout: Layout,
	}
}

// Owns claims the catalogue's, the statistics' and the rate's documents.
func (c *Catalogue) Owns(key string) bool {
	return strings.HasPrefix(key, catalogueKey) || strings.HasPrefix(key, bornKey) || strings.HasPrefix(key, parkedKey) ||
		key == statsKey || key == rateKey || key == layoutKey
}

// readFrom is where the entries are read back from: from now on what a save
// took leaves memory.
func (c *Catalogue) readFrom(read DocReader, readRange func(context.Context, es.DocRange) ([]es.Doc, error)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.read, c.readRange = read, readRange
}

// follow makes the catalogue a follower's: it holds every stream's version
// (see Catalogue). Call it before Load.
func (c *Catalogue) follow() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.versions = map[es.StreamRef]int64{}
}

// loadPrefixes are the documents a start does not load: the first events,
// and, but on a follower (which holds every version), the entries.
func (c *Catalogue) loadPrefixes() []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.versions != nil {
		return []string{bornKey}
	}
	return []string{bornKey, catalogueKey}
}

// loadOnDemand reads nothing: a stream's first event is read when asked for.
func (c *Catalogue) loadOnDemand(context.Context, func(es.DocRange) ([]es.Doc, error)) error {
	return nil
}

// Load restores a saved document: of an entry, the version (and a parked
// one whole); every document, with no store to read back from.
func (c *Catalogue) Load(key string, doc json.RawMessage) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if key == statsKey {
		var s Stats
		if err := json.Unmarshal(doc, &s); err != nil {
			return err
		}
		if s.ByType == nil {
			s.ByType = map[string]int64{}
		}
		c.stats = s
		return nil
	}
	if key == rateKey {
		return json.Unmarshal(doc, &c.rate)
	}
	if key == layoutKey {
		var l savedLayout
		if err := json.Unmarshal(doc, &l); err != nil {
			return err
		}
		c.layout, c.layoutLoaded, c.layoutSaved = l.Version, true, true
		return nil
	}
	if name, ok := strings.CutPrefix(key, parkedKey); ok {
		ref, err := es.ParseStreamRef(name)
		if err != nil {
			return err
		}
		var p savedPark
		if err := json.Unmarshal(doc, &p); err != nil {
			return err
		}
		c.parked[ref] = StreamInfo{Stream: ref, Parked: p.Parked, ParkedVersion: p.ParkedVersion}
		if _, ok := c.versions[ref]; !ok && c.versions != nil {
			c.versions[ref] = 0 // parked at its first event: no entry saved
		}
		return nil
	}
	if name, ok := strings.CutPrefix(key, bornKey); ok {
		if c.read != nil {
			return nil
		}
		ref, err := es.ParseStreamRef(name)
		if err != nil {
			return err
		}
		var b streamBorn
		if err := json.Unmarshal(doc, &b); err != nil {
			return err
		}
		c.born[ref] = b
		return nil
	}
	ref, err := es.ParseStreamRef(strings.TrimPrefix(key, catalogueKey))
	if err != nil {
		return err
	}
	var info StreamInfo
	if err := json.Unmarshal(doc, &info); err != nil {
		return err
	}
	info.Stream = ref
	if c.versions != nil {
		c.versions[ref] = info.Version
	}
	if info.Parked != "" { // saved before parks were saved apart
		c.parked[ref] = StreamInfo{Stream: ref, Parked: info.Parked, ParkedVersion: info.ParkedVersion}
	}
	if c.read == nil {
		c.unsaved[ref] = info
	}
	return nil
}

// savedEntry is an entry's document: its first event and its park are
// saved apart.
type savedEntry struct {
	Version   int64     `json:"version"`
	Updated   time.Time `json:"updated"`
	LastType  string    `json:"lastType"`
	LastActor string    `json:"lastActor"`
}

// savedPark is a parked stream's park.
type savedPark struct {
	Parked        string `json:"parked"`
	ParkedVersion int64  `json:"parkedVersion"`
}

// Doc returns a document's current value; ErrNotHeld for an entry saved
// and no longer held.
func (c *Catalogue) Doc(key string) (json.RawMessage, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if key == statsKey {
		return json.Marshal(c.stats)
	}
	if key == rateKey {
		return json.Marshal(&c.rate)
	}
	if key == layoutKey {
		return json.Marshal(savedLayout{Version: c.layout})
	}
	if name, ok := strings.CutPrefix(key, parkedKey); ok {
		ref, err := es.ParseStreamRef(name)
		if err != nil {
			return nil, err
		}
		p, ok := c.parked[ref]
		if !ok {
			return nil, nil
		}
		return json.Marshal(savedPark{Parked: p.Parked, ParkedVersion: p.ParkedVersion})
	}
	if name, ok := strings.CutPrefix(key, bornKey); ok {
		ref, err := es.ParseStreamRef(name)
		if err != nil {
			return nil, err
		}
		b, ok := c.born[ref]
		if !ok {
			return c.notHeld(ref)
		}
		return json.Marshal(b)
	}
	ref, err := es.ParseStreamRef(strings.TrimPrefix(key, catalogueKey))
	if err != nil {
		return nil, err
	}
	info, ok := c.unsaved[ref]
	if !ok {
		return c.notHeld(ref)
	}
	return json.Marshal(savedEntry{Version: info.Version, Updated: info.Updated, LastType: info.LastType, LastActor: info.LastActor})
}

// notHeld answers Doc for a document not in memory: saved, if anywhere,
// where there is a store to read it from (readDoc), else none. c.mu is held.
func (c *Catalogue) notHeld(es.StreamRef) (json.RawMessage, error) {
	if c.read != nil {
		return nil, ErrNotHeld
	}
	return nil, nil
}

// saved is told that a save took a document: an entry, or a stream's first
// event, leaves memory; an entry's version goes to the cache (and to the
// batch's pins, where the stream is pinned).
func (c *Catalogue) saved(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.read == nil {
		return
	}
	if name, ok := strings.CutPrefix(key, bornKey); ok {
		if ref, err := es.ParseStreamRef(name); err == nil {
			delete(c.born, ref)
		}
		return
	}
	if name, ok := strings.CutPrefix(key, catalogueKey); ok {
		ref, err := es.ParseStreamRef(name)
		if err != nil {
			return
		}
		c.saves++
		info, ok := c.unsaved[ref]
		if !ok {
			return
		}
		delete(c.unsaved, ref)
		if c.versions != nil {
			return // a follower holds every version
		}
		h := heldVersion{info.Version, true}
		if _, pinned := c.batch[ref]; pinned {
			c.batch[ref] = h
		}
		c.cache.put(ref, h)
	}
}

// version is what memory holds of a stream's version, and whether it
// holds it (else the saved entry has it). c.mu is held.
func (c *Catalogue) version(s es.StreamRef) (heldVersion, bool) {
	if info, ok := c.unsaved[s]; ok {
		return heldVersion{info.Version, true}, true
	}
	if c.versions != nil {
		v, ok := c.versions[s]
		return heldVersion{v, ok}, true
	}
	if c.read == nil {
		return heldVersion{}, true // every entry is held
	}
	if h, ok := c.batch[s]; ok {
		return h, true
	}
	return c.cache.get(s)
}

// readBack reads a stream's saved entry for its version and caches it,
// unless a save took entries while it read: what it read may then be
// older than what the save put in the cache. A holder's saves (read
// through the deferred ones, which answer what is pending first) are never
// behind what it let go of.
func (c *Catalogue) readBack(ctx context.Context, s es.StreamRef) (heldVersion, error) {
	c.mu.RLock()
	gen, read := c.saves, c.read
	c.mu.RUnlock()
	doc, err := read(ctx, catalogueKey+s.String())
	if err != nil {
		return heldVersion{}, fmt.Errorf("catalogue entry %s: %w", s, err)
	}
	var h heldVersion
	if doc != nil {
		var e savedEntry
		if err := json.Unmarshal(doc, &e); err != nil {
			return heldVersion{}, fmt.Errorf("catalogue entry %s: %w", s, err)
		}
		h = heldVersion{e.Version, true}
	}
	c.mu.Lock()
	if _, held := c.version(s); !held && c.saves == gen {
		c.cache.put(s, h)
	}
	c.mu.Unlock()
	return h, nil
}

// lookup is a stream's version: from memory, or read back.
func (c *Catalogue) lookup(ctx context.Context, s es.StreamRef) (heldVersion, error) {
	c.mu.RLock()
	h, held := c.version(s)
	c.mu.RUnlock()
	if held {
		return h, nil
	}
	read, err := c.readBack(ctx, s)
	if err != nil {
		return heldVersion{}, err
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if h, held := c.version(s); held {
		return h, nil // what memory holds now is the newest
	}
	return read, nil
}

// prefetch reads back the versions of the events' streams that are not in
// memory and pins them for the batch (the dedupe asks each event's): a
// failed read fails the batch (to be tried again from the checkpoint), not
// one event.
func (c *Catalogue) prefetch(ctx context.Context, events []es.Envelope) error {
	c.mu.Lock()
	clear(c.batch)
	onDemand := c.read != nil && c.versions == nil
	c.mu.Unlock()
	if !onDemand {
		return nil
	}
	refs := func(yield func(es.StreamRef) bool) {
		for _, env := range events {
			if !yield(env.Stream) {
				return
			}
		}
	}
	return pinBatch(ctx, &c.mu, refs, c.batch, c.version, c.readBack)
}

// unpin lets go of the versions read for the batch: it was applied and
// saved.
func (c *Catalogue) unpin() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.batch)
}

// Apply records the event in the stream's entry and the totals. The
// projector calls it after every other model has applied the event.
func (c *Catalogue) Apply(env es.Envelope, ch *Changes) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.known(env, ch) {
		return fmt.Errorf("catalogue: %s was not read back before its v%d", env.Stream, env.Version)
	}
	if !c.layoutSaved && c.layout > 0 {
		c.layoutSaved = true
		ch.Doc(c, layoutKey)
	}
	c.unsaved[env.Stream] = StreamInfo{Stream: env.Stream, Version: env.Version, Updated: env.Time, LastType: env.Type, LastActor: env.Actor}
	if c.versions != nil {
		c.versions[env.Stream] = env.Version
	}
	c.stats.Events++
	c.stats.ByType[env.Type]++
	if env.Time.After(c.stats.Last) {
		c.stats.Last = env.Time
	}
	if c.rate.add(env.Time) {
		ch.Doc(c, rateKey)
	}
	c.hot.add(env, time.Now())
	ch.Doc(c, catalogueKey+env.Stream.String())
	ch.Doc(c, statsKey)
	ch.Topic(TopicDashboard, TimelineTopic(env.Stream))
	return nil
}

// known makes the stream known at its first event, which is saved apart,
// with an entry at version 0; false when memory does not hold whether it
// is known (the batch did not read it back). c.mu is held.
func (c *Catalogue) known(env es.Envelope, ch *Changes) bool {
	h, held := c.version(env.Stream)
	if !held {
		return false
	}
	if _, parked := c.parked[env.Stream]; h.known || parked {
		return true
	}
	c.newEntry(env.Stream, ch)
	c.born[env.Stream] = streamBorn{Created: env.Time, CreatedBy: env.Actor}
	ch.Doc(c, bornKey+env.Stream.String())
	c.stats.Streams++
	return true
}

// newEntry gives a stream an entry at version 0. c.mu is held.
func (c *Catalogue) newEntry(s es.StreamRef, ch *Changes) {
	c.unsaved[s] = StreamInfo{Stream: s}
	if c.versions != nil {
		c.versions[s] = 0
	}
	ch.Doc(c, catalogueKey+s.String())
}

// park records that the event at env.Version could not be applied.
func (c *Catalogue) park(env es.Envelope, cause error, ch *Changes) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.known(env, ch) // a stream not read back is taken as known: it is not counted twice
	c.parked[env.Stream] = StreamInfo{Stream: env.Stream,
		Parked: fmt.Sprintf("%s v%d (%s): %v", env.Stream, env.Version, env.Type, cause), ParkedVersion: env.Version}
	ch.Doc(c, parkedKey+env.Stream.String())
	ch.Topic(TopicDashboard)
}

// unpark lifts a stream's park, for a retry. A stream parked at its first
// event by a catalogue that wrote it no entry keeps known with one at 0
// (read back first: pinned).
func (c *Catalogue) unpark(ref es.StreamRef, ch *Changes) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.parked[ref]; !ok {
		return
	}
	if h, held := c.version(ref); held && !h.known {
		c.newEntry(ref, ch)
	}
	delete(c.parked, ref)
	ch.Doc(c, parkedKey+ref.String())
	ch.Topic(TopicDashboard)
}

// repark puts back the park a retry lifted, as it was.
func (c *Catalogue) repark(was StreamInfo, ch *Changes) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if h, held := c.version(was.Stream); held && !h.known {
		return
	}
	c.parked[was.Stream] = StreamInfo{Stream: was.Stream, Parked: was.Parked, ParkedVersion: was.ParkedVersion}
	ch.Doc(c, parkedKey+was.Stream.String())
	ch.Topic(TopicDashboard)
}

// TimelineTopic is the topic of a stream's timeline page.
func TimelineTopic(s es.StreamRef) string { return "timeline/" + s.String() }

// applied returns the version the read models have applied for a stream and
// whether the stream is parked: from memory, or read back.
func (c *Catalogue) applied(ctx context.Context, s es.StreamRef) (int64, bool, error) {
	h, err := c.lookup(ctx, s)
	if err != nil {
		return 0, false, err
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	_, parked := c.parked[s]
	return h.v, parked, nil
}

// Stream returns one stream's entry: its version and park, and what else
// of it is in memory (Entry reads the rest); false for a stream with none.
func (c *Catalogue) Stream(ctx context.Context, s es.StreamRef) (StreamInfo, bool, error) {
	h, err := c.lookup(ctx, s)
	if err != nil {
		return StreamInfo{}, false, err
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	info, held := c.unsaved[s]
	if !held {
		info = StreamInfo{Stream: s, Version: h.v}
	}
	if b, ok := c.born[s]; ok {
		info.Created, info.CreatedBy = b.Created, b.CreatedBy
	}
	p, parked := c.parked[s]
	if parked {
		info.Parked, info.ParkedVersion = p.Parked, p.ParkedVersion
	}
	if !held && !h.known && !parked {
		return StreamInfo{}, false, nil
	}
	return info, true, nil
}

// Held is what memory holds of a stream, reading nothing: its version and
// park, or false when memory holds nothing of it (Stream reads it back).
func (c *Catalogue) Held(s es.StreamRef) (StreamInfo, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	h, held := c.version(s)
	p, parked := c.parked[s]
	if !held || (!h.known && !parked) {
		return StreamInfo{}, false
	}
	return StreamInfo{Stream: s, Version: h.v, Parked: p.Parked, ParkedVersion: p.ParkedVersion}, true
}

// Entry is one stream's entry whole: read back from the store when it is
// not in memory.
func (c *Catalogue) Entry(ctx context.Context, s es.StreamRef) (StreamInfo, bool, error) {
	info, ok, err := c.Stream(ctx, s)
	if err != nil {
		return StreamInfo{}, false, fmt.Errorf("catalogue entry %s: %w", s, err)
	}
	c.mu.RLock()
	b, born := c.born[s]
	_, held := c.unsaved[s]
	read := c.read
	c.mu.RUnlock()
	if !ok || read == nil {
		info.Created, info.CreatedBy = b.Created, b.CreatedBy
		return info, ok, nil
	}
	if !held {
		doc, err := read(ctx, catalogueKey+s.String())
		if err != nil {
			return StreamInfo{}, false, fmt.Errorf("catalogue entry %s: %w", s, err)
		}
		var e savedEntry
		if doc != nil {
			if err := json.Unmarshal(doc, &e); err != nil {
				return StreamInfo{}, false, fmt.Errorf("catalogue entry %s: %w", s, err)
			}
		}
		// The version is the one applied (a follower's saves are its
		// holder's, which may be behind): the entry is that version's
		// event's.
		info.Updated, info.LastType, info.LastActor = e.Updated, e.LastType, e.LastActor
		if e.Version != info.Version && c.events != nil && info.Version > 0 {
			page, err := c.events.ReadStream(ctx, s, es.ReadOptions{From: info.Version, Limit: 1})
			if err != nil {
				return StreamInfo{}, false, fmt.Errorf("catalogue entry %s: reading v%d: %w", s, info.Version, err)
			}
			if len(page) == 1 && page[0].Version == info.Version {
				info.Updated, info.LastType, info.LastActor = page[0].Time, page[0].Type, page[0].Actor
			}
		}
	}
	if !born {
		doc, err := read(ctx, bornKey+s.String())
		if err != nil {
			return StreamInfo{}, false, fmt.Errorf("catalogue entry %s: %w", s, err)
		}
		if doc != nil {
			if err := json.Unmarshal(doc, &b); err != nil {
				return StreamInfo{}, false, fmt.Errorf("catalogue entry %s: %w", s, err)
			}
		}
	}
	info.Created, info.CreatedBy = b.Created, b.CreatedBy
	return info, true, nil
}

// readDoc reads back a document let go of: an entry as Entry has it, the
// first event as saved.
func (c *Catalogue) readDoc(ctx context.Context, key string) (json.RawMessage, error) {
	c.mu.RLock()
	read := c.read
	c.mu.RUnlock()
	if name, ok := strings.CutPrefix(key, catalogueKey); ok {
		ref, err := es.ParseStreamRef(name)
		if err != nil {
			return nil, err
		}
		info, ok, err := c.Entry(ctx, ref)
		if err != nil || !ok {
			return nil, err
		}
		return json.Marshal(savedEntry{Version: info.Version, Updated: info.Updated, LastType: info.LastType, LastActor: info.LastActor})
	}
	if read == nil {
		return nil, nil
	}
	return read(ctx, key)
}

// Streams lists the streams of a type ("" for all) with their versions and
// parks, by name: on a holder, a read of every saved entry of the type
// (es.MaxDocRange a read) with those unsaved laid over them.
func (c *Catalogue) Streams(ctx context.Context, typ string) ([]StreamInfo, error) {
	var out []StreamInfo
	err := c.eachVersion(ctx, typ, func(ref es.StreamRef, v int64) { out = append(out, StreamInfo{Stream: ref, Version: v}) })
	if err != nil {
		return nil, err
	}
	c.mu.RLock()
	for i := range out {
		if p, ok := c.parked[out[i].Stream]; ok {
			out[i].Parked, out[i].ParkedVersion = p.Parked, p.ParkedVersion
		}
	}
	c.mu.RUnlock()
	slices.SortFunc(out, func(a, b StreamInfo) int { return cmp.Compare(a.Stream.String(), b.Stream.String()) })
	return out, nil
}

// eachVersion calls fn with every stream of a type ("" for all) and its
// version, once each: those held, or, on a holder, every saved entry read
// in pages, the greater of it and the unsaved one (taken first: a save
// that took one meanwhile is in the pages). A stream parked with no entry
// comes at 0.
func (c *Catalogue) eachVersion(ctx context.Context, typ string, fn func(es.StreamRef, int64)) error {
	of := func(ref es.StreamRef) bool { return typ == "" || ref.Type == typ }
	c.mu.RLock()
	over := map[es.StreamRef]int64{}
	for ref, info := range c.unsaved {
		if of(ref) {
			over[ref] = info.Version
		}
	}
	for ref, v := range c.versions {
		if of(ref) {
			over[ref] = v
		}
	}
	for ref := range c.parked {
		if _, ok := over[ref]; !ok && of(ref) {
			over[ref] = -1 // unless an entry is saved
		}
	}
	readRange := c.readRange
	if c.read == nil || c.versions != nil {
		readRange = nil // every version is held
	}
	c.mu.RUnlock()
	if readRange != nil {
		prefix := catalogueKey
		if typ != "" {
			prefix += typ + "/"
		}
		for before := ""; ; {
			docs, err := readRange(ctx, es.DocRange{Prefix: prefix, Before: before, Limit: es.MaxDocRange})
			if err != nil {
				return fmt.Errorf("reading the catalogue's entries: %w", err)
			}
			for _, d := range docs {
				ref, err := es.ParseStreamRef(strings.TrimPrefix(d.Key, catalogueKey))
				if err != nil {
					return err
				}
				var e savedEntry
				if err := json.Unmarshal(d.Data, &e); err != nil {
					return fmt.Errorf("catalogue entry %s: %w", ref, err)
				}
				v, ok := over[ref]
				delete(over, ref)
				if !ok || e.Version > v {
					v = e.Version
				}
				fn(ref, v)
			}
			if len(docs) < es.MaxDocRange {
				break
			}
			before = docs[len(docs)-1].Key
		}
	}
	for ref, v := range over {
		fn(ref, max(v, 0))
	}
	return nil
}

// Parked lists the parked streams, by name: each one's stream and park
// (Parked, ParkedVersion), what the dashboard and the board show of it.
func (c *Catalogue) Parked() []StreamInfo {
	c.mu.RLock()
	out := make([]StreamInfo, 0, len(c.parked))
	for _, p := range c.parked {
		out = append(out, p)
	}
	c.mu.RUnlock()
	slices.SortFunc(out, func(a, b StreamInfo) int { return cmp.Compare(a.Stream.String(), b.Stream.String()) })
	return out
}

// Busiest returns the n streams nearest their write limit (where the store
// has one) or with the most events a second, over the HotWindow before now.
func (c *Catalogue) Busiest(now time.Time, n int) []HotStream {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.hot.busiest(now, n)
}

// Rate counts the events of each of n periods of width each, the last one
// ending at now, oldest first: the dashboard's events per second.
func (c *Catalogue) Rate(now time.Time, n int, width time.Duration) []int64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.rate.series(now, n, width)
}

// Stats returns the totals.
func (c *Catalogue) Stats() Stats {
	c.mu.RLock()
	defer c.mu.RUnlock()
	s := c.stats
	s.ByType = make(map[string]int64, len(c.stats.ByType))
	for k, v := range c.stats.ByType {
		s.ByType[k] = v
	}
	return s
}

// savedLayout is the layout document.
type savedLayout struct {
	Version int `json:"version"`
}

// loadedLayout settles the layout once the saved documents are loaded:
// read models saved (saved) with no layout document are of layout 1.
func (c *Catalogue) loadedLayout(saved bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if saved && !c.layoutLoaded {
		c.layout = 1
		c.layoutSaved = true // not to be written: it stays what it was
	}
}

// Layout is the layout the read models are kept in.
func (c *Catalogue) Layout() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.layout
}
