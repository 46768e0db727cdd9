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
// It holds in memory, per stream, only the version applied (issue 19.2: a
// version is what the dedupe, WaitFor and a rebuild's Reach ask of every
// stream); the rest of an entry (when it changed, by what and whom) is
// saved, held only until a save took it, and read back for a question
// about it. A stream's park is saved apart and held: they are few. Every
// stream's first event is saved apart, once (created/<stream>: when and by
// whom), so that an entry is written without reading the one before.
type Catalogue struct {
	mu sync.RWMutex
	// versions are the versions applied, by stream.
	versions map[es.StreamRef]int64
	// unsaved are the entries changed since a save took them, and born the
	// first events of streams since then; with no store to read back from,
	// every one.
	unsaved map[es.StreamRef]StreamInfo
	born    map[es.StreamRef]streamBorn
	read    DocReader
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
		versions: map[es.StreamRef]int64{}, unsaved: map[es.StreamRef]StreamInfo{}, born: map[es.StreamRef]streamBorn{},
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
func (c *Catalogue) readFrom(read DocReader) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.read = read
}

func (c *Catalogue) loadPrefixes() []string { return []string{bornKey} }

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
		if _, ok := c.versions[ref]; !ok {
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
	c.versions[ref] = info.Version
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

// notHeld answers Doc for a document not in memory: saved, when the stream
// is known and there is a store to read it from, else none. c.mu is held.
func (c *Catalogue) notHeld(ref es.StreamRef) (json.RawMessage, error) {
	if _, known := c.versions[ref]; known && c.read != nil {
		return nil, ErrNotHeld
	}
	return nil, nil
}

// saved is told that a save took a document: an entry, or a stream's first
// event, leaves memory.
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
		if ref, err := es.ParseStreamRef(name); err == nil {
			delete(c.unsaved, ref)
		}
	}
}

// Apply records the event in the stream's entry and the totals. The
// projector calls it after every other model has applied the event.
func (c *Catalogue) Apply(env es.Envelope, ch *Changes) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.known(env, ch)
	if !c.layoutSaved && c.layout > 0 {
		c.layoutSaved = true
		ch.Doc(c, layoutKey)
	}
	c.unsaved[env.Stream] = StreamInfo{Stream: env.Stream, Version: env.Version, Updated: env.Time, LastType: env.Type, LastActor: env.Actor}
	c.versions[env.Stream] = env.Version
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

// known makes the stream known at its first event, which is saved apart.
// c.mu is held.
func (c *Catalogue) known(env es.Envelope, ch *Changes) {
	if _, ok := c.versions[env.Stream]; ok {
		return
	}
	c.versions[env.Stream] = 0
	c.born[env.Stream] = streamBorn{Created: env.Time, CreatedBy: env.Actor}
	ch.Doc(c, bornKey+env.Stream.String())
	c.stats.Streams++
}

// park records that the event at env.Version could not be applied.
func (c *Catalogue) park(env es.Envelope, cause error, ch *Changes) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.known(env, ch)
	c.parked[env.Stream] = StreamInfo{Stream: env.Stream,
		Parked: fmt.Sprintf("%s v%d (%s): %v", env.Stream, env.Version, env.Type, cause), ParkedVersion: env.Version}
	ch.Doc(c, parkedKey+env.Stream.String())
	ch.Topic(TopicDashboard)
}

// unpark lifts a stream's park, for a retry.
func (c *Catalogue) unpark(ref es.StreamRef, ch *Changes) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.parked[ref]; !ok {
		return
	}
	delete(c.parked, ref)
	ch.Doc(c, parkedKey+ref.String())
	ch.Topic(TopicDashboard)
}

// repark puts back the park a retry lifted, as it was.
func (c *Catalogue) repark(was StreamInfo, ch *Changes) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.versions[was.Stream]; !ok {
		return
	}
	c.parked[was.Stream] = StreamInfo{Stream: was.Stream, Parked: was.Parked, ParkedVersion: was.ParkedVersion}
	ch.Doc(c, parkedKey+was.Stream.String())
	ch.Topic(TopicDashboard)
}

// TimelineTopic is the topic of a stream's timeline page.
func TimelineTopic(s es.StreamRef) string { return "timeline/" + s.String() }

// applied returns the version the read models have applied for a stream and
// whether the stream is parked.
func (c *Catalogue) applied(s es.StreamRef) (int64, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	_, parked := c.parked[s]
	return c.versions[s], parked
}

// Stream returns one stream's entry: its version and park, and what else
// of it is in memory (Entry reads the rest).
func (c *Catalogue) Stream(s es.StreamRef) (StreamInfo, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.stream(s)
}

// stream is Stream with c.mu held.
func (c *Catalogue) stream(s es.StreamRef) (StreamInfo, bool) {
	v, ok := c.versions[s]
	if !ok {
		return StreamInfo{}, false
	}
	info, held := c.unsaved[s]
	if !held {
		info = StreamInfo{Stream: s}
	}
	info.Version = v
	if b, ok := c.born[s]; ok {
		info.Created, info.CreatedBy = b.Created, b.CreatedBy
	}
	if p, ok := c.parked[s]; ok {
		info.Parked, info.ParkedVersion = p.Parked, p.ParkedVersion
	}
	return info, true
}

// Entry is one stream's entry whole: read back from the store when it is
// not in memory.
func (c *Catalogue) Entry(ctx context.Context, s es.StreamRef) (StreamInfo, bool, error) {
	c.mu.RLock()
	info, ok := c.stream(s)
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
		// The version in memory is the one applied (a follower's saves
		// are its holder's, which may be behind): the entry is that
		// version's event's.
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
// parks, by name.
func (c *Catalogue) Streams(typ string) []StreamInfo {
	c.mu.RLock()
	out := make([]StreamInfo, 0, len(c.versions))
	for ref := range c.versions {
		if typ == "" || ref.Type == typ {
			info, _ := c.stream(ref)
			out = append(out, info)
		}
	}
	c.mu.RUnlock()
	slices.SortFunc(out, func(a, b StreamInfo) int { return cmp.Compare(a.Stream.String(), b.Stream.String()) })
	return out
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
