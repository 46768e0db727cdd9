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

// StreamView is one stream as its domain sees it, folded with the domain's own
// evolve: a match's scoreboard, a cart, a post.
type StreamView[S any] struct {
	ID        string    `json:"id"`
	Version   int64     `json:"version"`
	State     S         `json:"state"`
	Created   time.Time `json:"created"`
	Updated   time.Time `json:"updated"`
	CreatedBy string    `json:"createdBy"`
	UpdatedBy string    `json:"updatedBy"`
}

// Streams keeps a StreamView of every stream of one domain. Its topics are the
// list topic (every stream of the type) and each stream's own name.
//
// It holds in memory only what is hot (issue 19.2): the views changed since
// a save took them, those read back for the batch being applied, and a
// cache, bounded by bytes, of views read back from the store on demand or
// saved. The lists are an index the projector saves with the views, one
// document per stream and list it is in (lists/<type>/<list>/<created>/<id>),
// read newest first (ReadModelRange); the counts of each list, and of the
// private events, are one small document (counts/<type>) held whole. With a
// store that reads no documents back (a replay's fresh models, a test's),
// it keeps everything, as it always did.
type Streams[S any, E es.Event] struct {
	streamType string
	initial    func() S
	evolve     func(S, E) S
	events     *es.Registry[E]
	listTopic  string
	// listsOf names the lists a view is in ("all" for every view when nil);
	// shareOf is its share of the private events (none when nil).
	listsOf func(StreamView[S]) []string
	shareOf func(StreamView[S]) share

	mu sync.Mutex
	// unsaved are the views changed since a save took them (every view,
	// with no store to read back from); batch, those read back for the
	// batch being applied (nil: the stream has no view yet).
	unsaved map[string]*StreamView[S]
	batch   map[string]*StreamView[S]
	cache   *bytesCache[string, cachedView[S]]
	// sizes are the lengths of the unsaved views' documents as last
	// encoded: their cost in the cache once a save took them.
	sizes map[string]int
	// entries are the list entries changed since a save took them: true
	// for one added, false for one taken out (every entry, with no store).
	entries map[string]bool
	// counts are how many views each list holds; private, the private
	// events by owner. Both are saved as the counts document.
	counts  map[string]int64
	private privateEvents
	from    storeReaders
	// saves counts the views saves took (see readBack).
	saves uint64
	// recent are the latest list entries changed, oldest first, at most
	// recentEntries: laid over what the store's index holds, so that a
	// list is current where the saves it reads are behind (a follower's
	// are its holder's).
	recent []entryChange
}

// entryChange is one list entry added (in) or taken out.
type entryChange struct {
	key string
	in  bool
}

// storeReaders is what a model read on demand reads with: one saved
// document, a range of them, and, to bring a saved view up to what the
// projector applied (a follower's holder saves behind it), the stream's
// events and the version the catalogue has applied.
type storeReaders struct {
	one     DocReader
	docs    func(ctx context.Context, q es.DocRange) ([]es.Doc, error)
	events  StreamReader
	applied func(context.Context, es.StreamRef) (int64, error)
}

// streamsOnDemand is a model that reads its saved views back through rs.
// It is handed them when it holds nothing unsaved (made, or just saved
// whole): what it holds may leave memory from then.
type streamsOnDemand interface{ readStreamsFrom(rs storeReaders) }

const (
	listsKey  = "lists/"
	countsKey = "counts/"
	// listAll is the list every view is in when a model names none.
	listAll = "all"
	// streamsCacheBytes bounds the saved views of one model kept in memory.
	streamsCacheBytes = 2 << 20
	// recentEntries bounds the list entries laid over the store's (see
	// Streams.recent): more than the saves of an interval change.
	recentEntries = 4096
	// createdLayout is a list key's time: fixed width, so keys sort by it.
	createdLayout = "2006-01-02T15:04:05.000000000Z"
)

// NewStreams makes the read model of one domain's streams.
// It keeps what folding needs of the decider, not its commands.
func NewStreams[S any, C any, E es.Event](d es.Decider[S, C, E], listTopic string) *Streams[S, E] {
	return &Streams[S, E]{
		streamType: d.StreamType, initial: d.Initial, evolve: d.Evolve, events: d.Events,
		listTopic: listTopic, unsaved: map[string]*StreamView[S]{}, batch: map[string]*StreamView[S]{},
		cache: newBytesCache[string](streamsCacheBytes, cachedView[S].cost), sizes: map[string]int{},
		entries: map[string]bool{}, counts: map[string]int64{},
	}
}

// cachedView is a view in the cache (nil: the stream has none) with the
// length of its document.
type cachedView[S any] struct {
	v    *StreamView[S]
	size int
}

// cost is roughly what a view costs in memory: twice its document (the
// strings and the struct around them) and the cache's entry.
func (c cachedView[S]) cost() int { return 256 + 2*c.size }

// docSize is the length of v's document.
func docSize[S any](v *StreamView[S]) int {
	if v == nil {
		return 0
	}
	b, _ := json.Marshal(v)
	return len(b)
}

func (m *Streams[S, E]) prefix() string     { return m.streamType + "/" }
func (m *Streams[S, E]) listPrefix() string { return listsKey + m.streamType + "/" }
func (m *Streams[S, E]) countsKey() string  { return countsKey + m.streamType }

// Owns claims the documents named after the domain's streams, its lists'
// entries and its counts.
func (m *Streams[S, E]) Owns(key string) bool {
	return strings.HasPrefix(key, m.prefix()) || strings.HasPrefix(key, m.listPrefix()) || key == m.countsKey()
}

// gathers names the counts: every stream's of the type.
func (m *Streams[S, E]) gathers(key string) bool { return key == m.countsKey() }

// savedCounts is the counts document.
type savedCounts struct {
	Lists   map[string]int64 `json:"lists"`
	Private map[string]int64 `json:"private,omitempty"`
}

// Load restores one saved document: the counts, or, where nothing is read
// back on demand, a view or a list entry.
func (m *Streams[S, E]) Load(key string, doc json.RawMessage) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case key == m.countsKey():
		var c savedCounts
		if err := json.Unmarshal(doc, &c); err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		m.counts = c.Lists
		if m.counts == nil {
			m.counts = map[string]int64{}
		}
		m.private.set(c.Private)
	case m.from.one != nil:
		// Read back when asked for.
	case strings.HasPrefix(key, m.listPrefix()):
		m.entries[key] = true
	default:
		v := &StreamView[S]{State: m.initial()}
		if err := json.Unmarshal(doc, v); err != nil {
			return err
		}
		m.unsaved[strings.TrimPrefix(key, m.prefix())] = v
	}
	return nil
}

func (m *Streams[S, E]) loadPrefixes() []string { return []string{m.prefix(), m.listPrefix()} }

// loadOnDemand reads nothing: views and list entries are read when asked for.
func (m *Streams[S, E]) loadOnDemand(context.Context, func(es.DocRange) ([]es.Doc, error)) error {
	return nil
}

// readStreamsFrom is where the views are read back from. What is held now
// was saved (the model is new, or was just saved whole): it may go.
func (m *Streams[S, E]) readStreamsFrom(rs storeReaders) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.from = rs
	for id, v := range m.unsaved {
		m.cache.put(id, cachedView[S]{v, docSize(v)})
	}
	clear(m.unsaved)
	clear(m.entries)
	clear(m.sizes)
}

// Doc returns one of the model's documents: a view, a list entry or the
// counts. A view or an entry saved and no longer held is ErrNotHeld.
func (m *Streams[S, E]) Doc(key string) (json.RawMessage, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch {
	case key == m.countsKey():
		return json.Marshal(savedCounts{Lists: m.counts, Private: m.private.all()})
	case strings.HasPrefix(key, m.listPrefix()):
		in, ok := m.entries[key]
		switch {
		case !ok && m.from.one != nil:
			return nil, ErrNotHeld
		case !in || !ok:
			return nil, nil
		}
		return json.RawMessage(`{}`), nil
	}
	id := strings.TrimPrefix(key, m.prefix())
	v, ok := m.unsaved[id]
	if !ok {
		c, cached := m.cache.get(id)
		if !cached && m.from.one != nil {
			return nil, ErrNotHeld
		}
		v = c.v
	}
	if v == nil {
		return nil, nil
	}
	doc, err := json.Marshal(v)
	if err == nil && m.unsaved[id] != nil {
		m.sizes[id] = len(doc)
	}
	return doc, err
}

// held is the view in memory (nil for a stream known to have none), and
// whether it is. Call it with m.mu held.
func (m *Streams[S, E]) held(id string) (*StreamView[S], bool) {
	if v, ok := m.unsaved[id]; ok {
		return v, true
	}
	if v, ok := m.batch[id]; ok {
		return v, true
	}
	if c, ok := m.cache.get(id); ok {
		return c.v, true
	}
	return nil, m.from.one == nil
}

// prefetch reads back the views the events will change that are not in
// memory, before any is applied: a failed read fails the batch (to be
// tried again from the checkpoint), not one event.
func (m *Streams[S, E]) prefetch(ctx context.Context, events []es.Envelope) error {
	m.mu.Lock()
	clear(m.batch)
	from := m.from
	m.mu.Unlock()
	if from.one == nil {
		return nil
	}
	ids := func(yield func(string) bool) {
		for _, env := range events {
			if env.Stream.Type == m.streamType && !yield(env.Stream.ID) {
				return
			}
		}
	}
	return pinBatch(ctx, &m.mu, ids, m.batch, m.held, func(ctx context.Context, id string) (*StreamView[S], error) {
		return m.readBack(ctx, from, id)
	})
}

// unpin lets go of the views read for the batch: it was applied and
// saved.
func (m *Streams[S, E]) unpin() {
	m.mu.Lock()
	defer m.mu.Unlock()
	clear(m.batch)
}

// readBack reads a saved view (nil: none) and brings it to the version the
// projector applied, reading the stream's events after the saved one (a
// follower's holder saves behind what the follower applied, or ahead of
// it: then from the first; a holder's own saves are never behind what it
// let go, nor ahead). It caches what it read,
// unless a save took views while it read: what it read may then be older
// than what the save put in the cache. A value once served is so never
// followed by an older one from the cache.
func (m *Streams[S, E]) readBack(ctx context.Context, from storeReaders, id string) (*StreamView[S], error) {
	m.mu.Lock()
	gen := m.saves
	m.mu.Unlock()
	ref := es.StreamRef{Type: m.streamType, ID: id}
	to := int64(-1) // unknown
	if from.applied != nil {
		var err error
		if to, err = from.applied(ctx, ref); err != nil {
			return nil, fmt.Errorf("view %s: %w", ref, err)
		}
	}
	var doc json.RawMessage
	// A stream none of whose events was applied has no view saved: a
	// first start's or a rebuild's new streams read nothing.
	if to != 0 {
		var err error
		if doc, err = from.one(ctx, m.prefix()+id); err != nil {
			return nil, fmt.Errorf("view %s: %w", ref, err)
		}
	}
	var v *StreamView[S]
	size := len(doc)
	if doc != nil {
		v = &StreamView[S]{State: m.initial()}
		if err := json.Unmarshal(doc, v); err != nil {
			return nil, fmt.Errorf("view %s: %w", ref, err)
		}
	}
	if v != nil && to >= 0 && v.Version > to && from.events != nil {
		// Saved ahead of what this projector applied (a follower's
		// holder's saves): the view is folded again from the stream's
		// first event up to to. Taken as saved, the events it applies next
		// would be found in it already, and their moves of the lists and
		// the counts never made here (a follower's counts fell behind).
		v = nil
	}
	if from.events != nil && from.applied != nil {
		var err error
		if v, err = m.catchUp(ctx, from, ref, v, to); err != nil {
			return nil, err
		}
	}
	m.mu.Lock()
	if _, held := m.held(id); !held && m.saves == gen {
		m.cache.put(id, cachedView[S]{v, size})
	}
	m.mu.Unlock()
	return v, nil
}

// catchUp folds into v the stream's events after its version up to the
// one the projector applied, to.
func (m *Streams[S, E]) catchUp(ctx context.Context, from storeReaders, ref es.StreamRef, v *StreamView[S], to int64) (*StreamView[S], error) {
	at := int64(0)
	if v != nil {
		at = v.Version
	}
	for at < to {
		page, err := from.events.ReadStream(ctx, ref, es.ReadOptions{From: at + 1, Limit: retryPage})
		if err != nil {
			return nil, fmt.Errorf("view %s: reading its events after v%d: %w", ref, at, err)
		}
		if len(page) == 0 {
			return nil, fmt.Errorf("view %s: no event after v%d of %d", ref, at, to)
		}
		for _, env := range page {
			if env.Version > to {
				return v, nil
			}
			if env.Version != at+1 {
				return nil, fmt.Errorf("view %s: v%d read after v%d", ref, env.Version, at)
			}
			next, err := m.fold(v, env)
			if err != nil {
				return nil, fmt.Errorf("view %s: %w", ref, err)
			}
			v, at = &next, env.Version
		}
	}
	return v, nil
}

// fold is cur (nil: none yet) evolved by the event.
func (m *Streams[S, E]) fold(cur *StreamView[S], env es.Envelope) (StreamView[S], error) {
	e, err := m.events.DecodeEnvelope(env)
	if err != nil {
		return StreamView[S]{}, err
	}
	next := StreamView[S]{ID: env.Stream.ID, State: m.initial(), Created: env.Time, CreatedBy: env.Actor}
	if cur != nil {
		next = *cur
	}
	// Evolve returns a new state and leaves the old one alone, so readers
	// holding the previous view keep a consistent picture.
	next.State = m.evolve(next.State, e)
	next.Version, next.Updated, next.UpdatedBy = env.Version, env.Time, env.Actor
	return next, nil
}

// Apply evolves the stream's view by the event.
func (m *Streams[S, E]) Apply(env es.Envelope, ch *Changes) error {
	_, _, err := m.apply(env, ch)
	return err
}

// apply evolves the stream's view by the event and returns it before and
// after (zero views where there was none), with its list entries and
// counts.
func (m *Streams[S, E]) apply(env es.Envelope, ch *Changes) (before, after StreamView[S], err error) {
	if env.Stream.Type != m.streamType {
		return before, after, nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	id := env.Stream.ID
	cur, _ := m.held(id) // prefetched (all held, with no store)
	if cur != nil {
		before = *cur
		if cur.Version >= env.Version {
			// Read back from saves ahead of this projector (a follower's
			// holder's): the view has the event already.
			return before, before, nil
		}
	}
	after, err = m.fold(cur, env)
	if err != nil {
		return before, after, err
	}
	m.unsaved[id] = &after
	if _, pinned := m.batch[id]; pinned {
		m.batch[id] = &after
	}
	m.relist(cur, &after, ch)
	ch.Doc(m, env.Stream.String())
	ch.Topic(m.listTopic, env.Stream.String())
	return before, after, nil
}

// relist moves the stream's list entries and counts from before (nil: no
// view) to after. Call it with m.mu held.
func (m *Streams[S, E]) relist(before, after *StreamView[S], ch *Changes) {
	was, is := m.lists(before), m.lists(after)
	changed := false
	for _, l := range was {
		if !slices.Contains(is, l) {
			key := m.entryKey(l, before)
			m.entries[key] = false
			m.noteEntry(key, false)
			m.counts[l]--
			if m.counts[l] <= 0 {
				delete(m.counts, l)
			}
			ch.Doc(m, key)
			changed = true
		}
	}
	for _, l := range is {
		if !slices.Contains(was, l) {
			key := m.entryKey(l, after)
			m.entries[key] = true
			m.noteEntry(key, true)
			m.counts[l]++
			ch.Doc(m, key)
			changed = true
		}
	}
	if m.shareOf != nil {
		var b, a share
		if before != nil {
			b = m.shareOf(*before)
		}
		a = m.shareOf(*after)
		if m.private.move(b, a) {
			changed = true
		}
	}
	if changed {
		ch.Doc(m, m.countsKey())
	}
}

// noteEntry keeps a list entry's change among the recent ones. Call it
// with m.mu held.
func (m *Streams[S, E]) noteEntry(key string, in bool) {
	if m.from.one == nil {
		return // every entry is held
	}
	if len(m.recent) >= recentEntries {
		m.recent = slices.Delete(m.recent, 0, len(m.recent)/4)
	}
	m.recent = append(m.recent, entryChange{key, in})
}

func (m *Streams[S, E]) lists(v *StreamView[S]) []string {
	if v == nil {
		return nil
	}
	if m.listsOf == nil {
		return []string{listAll}
	}
	return m.listsOf(*v)
}

// entryKey is the key of v's entry in list l: newest last, so that a range
// read newest first reads the list's head.
func (m *Streams[S, E]) entryKey(l string, v *StreamView[S]) string {
	return m.listPrefix() + l + "/" + v.Created.UTC().Format(createdLayout) + "/" + v.ID
}

// saved is told that a save took the document under key: it may leave
// memory.
func (m *Streams[S, E]) saved(key string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.from.one == nil || key == m.countsKey() {
		return // nowhere to read it back from: it stays
	}
	if strings.HasPrefix(key, m.listPrefix()) {
		delete(m.entries, key)
		return
	}
	id := strings.TrimPrefix(key, m.prefix())
	m.saves++
	if v, ok := m.unsaved[id]; ok {
		size, known := m.sizes[id]
		if !known {
			size = docSize(v)
		}
		delete(m.unsaved, id)
		delete(m.sizes, id)
		m.cache.put(id, cachedView[S]{v, size})
	}
}

// readDoc reads back a document let go of: a view brought up to what was
// applied (Get), an entry as saved.
func (m *Streams[S, E]) readDoc(ctx context.Context, key string) (json.RawMessage, error) {
	m.mu.Lock()
	from := m.from
	m.mu.Unlock()
	if id, ok := strings.CutPrefix(key, m.prefix()); ok {
		v, ok, err := m.Get(ctx, id)
		if err != nil || !ok {
			return nil, err
		}
		return json.Marshal(v)
	}
	if from.one == nil {
		return nil, nil
	}
	return from.one(ctx, key)
}

// Get returns one stream's view: from memory, or read back from the store.
func (m *Streams[S, E]) Get(ctx context.Context, id string) (StreamView[S], bool, error) {
	m.mu.Lock()
	v, ok := m.held(id)
	from := m.from
	m.mu.Unlock()
	if !ok {
		var err error
		if v, err = m.readBack(ctx, from, id); err != nil {
			return StreamView[S]{}, false, err
		}
	}
	if v == nil {
		return StreamView[S]{}, false, nil
	}
	return *v, true, nil
}

// ListLimit is how many streams a list page shows: the most recently started.
const ListLimit = 100

// Newest returns the n most recently started views of the lists named
// (every view, for none), newest first, and how many the lists hold in all.
// The lists must not overlap. A list page shows these: it reads the head of
// each list's index and the views in it, whatever the length of the lists.
func (m *Streams[S, E]) Newest(ctx context.Context, n int, lists ...string) ([]StreamView[S], int, error) {
	if len(lists) == 0 {
		lists = []string{listAll}
	}
	m.mu.Lock()
	total := int64(0)
	for _, l := range lists {
		total += m.counts[l]
	}
	from := m.from
	if from.one == nil || from.docs == nil {
		defer m.mu.Unlock()
		return m.newestHeld(n, lists), int(total), nil
	}
	// The latest change of each recent entry: it is never older than what
	// the store holds of this projector's own saves.
	over := map[string]bool{}
	for _, c := range m.recent {
		over[c.key] = c.in
	}
	m.mu.Unlock()
	if n <= 0 {
		return nil, int(total), nil
	}
	n = min(n, es.MaxDocRange)
	// The newest of each list, then the newest of those.
	type entry struct{ created, id string }
	var heads []entry
	for _, l := range lists {
		prefix := m.listPrefix() + l + "/"
		// Each recent entry taken out may hide one of the store's.
		more := 0
		for key, in := range over {
			if !in && strings.HasPrefix(key, prefix) {
				more++
			}
		}
		docs, err := from.docs(ctx, es.DocRange{Prefix: prefix, Limit: min(n+more, es.MaxDocRange)})
		if err != nil {
			return nil, 0, fmt.Errorf("list %s of %s: %w", l, m.streamType, err)
		}
		keys := map[string]bool{}
		for _, d := range docs {
			keys[d.Key] = true
		}
		for key, in := range over {
			if !strings.HasPrefix(key, prefix) {
				continue
			}
			if in {
				keys[key] = true
			} else {
				delete(keys, key)
			}
		}
		for key := range keys {
			created, id, ok := strings.Cut(strings.TrimPrefix(key, prefix), "/")
			if ok {
				heads = append(heads, entry{created, id})
			}
		}
	}
	slices.SortFunc(heads, func(a, b entry) int {
		if c := cmp.Compare(b.created, a.created); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
	out := make([]StreamView[S], 0, min(n, len(heads)))
	for _, h := range heads[:min(n, len(heads))] {
		v, ok, err := m.Get(ctx, h.id)
		if err != nil {
			return nil, 0, err
		}
		if ok {
			out = append(out, v)
		}
	}
	return out, int(total), nil
}

// newestHeld is Newest over the views held, all of them where nothing is
// read back. Call it with m.mu held.
func (m *Streams[S, E]) newestHeld(n int, lists []string) []StreamView[S] {
	top := make([]StreamView[S], 0, max(0, min(n, len(m.unsaved))))
	for _, v := range m.unsaved {
		if n <= 0 || !slices.ContainsFunc(m.lists(v), func(l string) bool { return slices.Contains(lists, l) }) {
			continue
		}
		if len(top) == n && newestFirst(*v, top[n-1]) > 0 {
			continue
		}
		i, _ := slices.BinarySearchFunc(top, *v, newestFirst[S])
		if len(top) == n {
			top = top[:n-1]
		}
		top = slices.Insert(top, i, *v)
	}
	return top
}

// Count is how many views the lists named hold (every view, for none).
func (m *Streams[S, E]) Count(lists ...string) int {
	if len(lists) == 0 {
		lists = []string{listAll}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	total := int64(0)
	for _, l := range lists {
		total += m.counts[l]
	}
	return int(total)
}

// PrivateEvents is how many events are in private streams, and how many of
// those are owner's.
func (m *Streams[S, E]) PrivateEvents(owner string) (all, owners int64) {
	return m.private.PrivateEvents(owner)
}

// newestFirst orders views by when they started, newest first, then by id.
func newestFirst[S any](a, b StreamView[S]) int {
	if d := b.Created.Compare(a.Created); d != 0 {
		return d
	}
	return strings.Compare(a.ID, b.ID)
}
