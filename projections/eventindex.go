package projections

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/foldboard/foldboard/domain/user"
	"github.com/foldboard/foldboard/es"
)

// IndexedEvent is the event browser's line for one event. Its JSON, in the
// saved chunks, is a short array: [stream type, stream id, version, event
// type, time in unix milliseconds, actor, preview] (encoded by hand, see
// appendJSON); a chunk saved before that, an array of objects with the
// keys below, still loads.
type IndexedEvent struct {
	Stream  es.StreamRef `json:"-"`
	StreamS string       `json:"s"`
	Version int64        `json:"v"`
	Type    string       `json:"t"`
	Time    time.Time    `json:"at"`
	Actor   string       `json:"a"`
	// Preview is the start of the payload.
	Preview string `json:"p"`
}

// EventIndex lists every event in the order the projector applied them, for
// the global event browser: newest first, filtered by event type and stream
// type, in pages. It is saved in chunks of indexChunk events, so a save
// rewrites one small document, not the whole index.
//
// It holds in memory only what is hot (issue 19.2): the newest tailChunks
// chunks, and any chunk changed since it was last handed to a save; older
// chunks are read back from the store when a page reaches them (through
// the projector's DocReader), the full ones kept in a cache bounded by
// bytes. Its memory is therefore bounded whatever the length of the log.
type EventIndex struct {
	mu sync.Mutex
	n  int // events indexed
	// held are the chunks in memory, by number; unsaved, those changed
	// since a save took them (they may be dropped only once saved).
	held    map[int][]IndexedEvent
	unsaved map[int]struct{}
	// open is the JSON of the newest chunk's events so far, comma-separated,
	// kept as they arrive: the projector saves that chunk after every batch,
	// and encoding its up to 256 events each time was the projector's
	// largest cost. openN is its chunk number and openLen how many events
	// it holds (fewer than the chunk after a Load: then it is rebuilt).
	open    []byte
	openN   int
	openLen int
	// openKey is chunkKey(openKeyN), the newest chunk's key, kept.
	openKey  string
	openKeyN int
	// closed holds the documents of the last closedKeep chunks that filled
	// while open: the projector saves each once more, at the end of the
	// batch in which it filled (a batch of 500 events fills two). None
	// after a Load.
	closed map[int][]byte

	read  DocReader // the saved chunks; nil reads none
	cache *bytesCache[int, []IndexedEvent]
}

// closedKeep is how many filled chunks' documents the index keeps: a
// feed's batch holds at most 1,000 events.
const closedKeep = 4

const (
	indexKey   = "events/"
	indexChunk = 256
	previewLen = 120
	// tailChunks is how many of the newest chunks stay in memory, saved
	// or not (2,048 events, ~0.5 MB): the dashboard's recent events and
	// the browser's first pages, and a follower's margin over the saves of
	// its cluster's holder, whose chunks it reads back.
	tailChunks = 8
	// indexCacheBytes bounds the chunks read back from the store that the
	// index keeps (~16,000 events).
	indexCacheBytes = 4 << 20
	// TopicEvents changes with every event.
	TopicEvents = "events"
)

// NewEventIndex makes an empty index.
func NewEventIndex() *EventIndex {
	return &EventIndex{
		held: map[int][]IndexedEvent{}, unsaved: map[int]struct{}{},
		cache: newBytesCache[int](indexCacheBytes, chunkCost),
	}
}

// chunkCost is roughly what a chunk of events costs in memory.
func chunkCost(chunk []IndexedEvent) int {
	n := 0
	for i := range chunk {
		e := &chunk[i]
		n += 120 + len(e.StreamS) + len(e.Stream.Type) + len(e.Stream.ID) + len(e.Type) + len(e.Actor) + len(e.Preview)
	}
	return n
}

// Owns claims the index's chunks.
func (x *EventIndex) Owns(key string) bool { return strings.HasPrefix(key, indexKey) }

func chunkKey(n int) string { return fmt.Sprintf("%s%08d", indexKey, n) }

func chunkNumber(key string) (int, error) {
	n, err := strconv.Atoi(strings.TrimPrefix(key, indexKey))
	if err != nil || n < 0 {
		return 0, fmt.Errorf("event index chunk %q: not a chunk's key", key)
	}
	return n, nil
}

// readFrom is where the index reads its saved chunks back.
func (x *EventIndex) readFrom(read DocReader) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.read = read
}

func (x *EventIndex) loadPrefixes() []string { return []string{indexKey} }

// loadOnDemand reads the newest chunk: the rest are read back when a page
// reaches them.
func (x *EventIndex) loadOnDemand(_ context.Context, read func(es.DocRange) ([]es.Doc, error)) error {
	newest, err := read(es.DocRange{Prefix: indexKey, Limit: 1})
	if err != nil || len(newest) == 0 {
		return err
	}
	return x.Load(newest[0].Key, newest[0].Data)
}

// Load restores one chunk; chunks may come in any order. Only the newest
// is kept (the rest are read back when a page reaches them): each one is
// decoded only when it is the newest so far.
func (x *EventIndex) Load(key string, doc json.RawMessage) error {
	n, err := chunkNumber(key)
	if err != nil {
		return err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	keepAll := x.read == nil // a store it cannot read back from: every chunk stays
	if !keepAll && x.n > 0 && n < (x.n-1)/indexChunk {
		return nil
	}
	var chunk []IndexedEvent
	if err := json.Unmarshal(doc, &chunk); err != nil {
		return fmt.Errorf("event index chunk %q: %w", key, err)
	}
	if len(chunk) == 0 || len(chunk) > indexChunk {
		return fmt.Errorf("event index chunk %q: %d events", key, len(chunk))
	}
	if !keepAll {
		clear(x.held)
		clear(x.unsaved)
	}
	clear(x.closed)
	x.held[n] = append(make([]IndexedEvent, 0, indexChunk), chunk...)
	x.n = max(x.n, n*indexChunk+len(chunk))
	return nil
}

// Doc returns one chunk: ErrNotHeld for a saved one no longer in memory.
func (x *EventIndex) Doc(key string) (json.RawMessage, error) {
	n, err := chunkNumber(key)
	if err != nil {
		return nil, err
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	chunk, ok := x.held[n]
	if !ok {
		if n*indexChunk >= x.n {
			return nil, nil
		}
		return nil, ErrNotHeld
	}
	if n == x.openN && x.openLen == len(chunk) {
		doc := make([]byte, 0, len(x.open)+2)
		doc = append(doc, '[')
		doc = append(doc, x.open...)
		return append(doc, ']'), nil
	}
	if doc, ok := x.closed[n]; ok && len(chunk) == indexChunk {
		return append(json.RawMessage(nil), doc...), nil
	}
	return encodeChunk(chunk)
}

// saved is told that a save took the chunk under key: once it is out of
// the tail, it may leave memory.
func (x *EventIndex) saved(key string) {
	n, err := chunkNumber(key)
	if err != nil {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	delete(x.unsaved, n)
	x.releaseLocked()
}

// releaseLocked drops the saved chunks older than the tail, when there is
// a store to read them back from.
func (x *EventIndex) releaseLocked() {
	if x.read == nil {
		return
	}
	newest := (x.n - 1) / indexChunk
	for n := range x.held {
		if _, unsaved := x.unsaved[n]; !unsaved && n <= newest-tailChunks {
			delete(x.held, n)
			delete(x.closed, n)
		}
	}
}

// encodeChunk is a chunk's document encoded afresh.
func encodeChunk(events []IndexedEvent) (json.RawMessage, error) {
	doc := []byte{'['}
	for i := range events {
		if i > 0 {
			doc = append(doc, ',')
		}
		doc = events[i].appendJSON(doc)
	}
	return append(doc, ']'), nil
}

// appendJSON appends the event's saved form: [type, id, version, event type,
// unix ms, actor, preview].
func (e *IndexedEvent) appendJSON(b []byte) []byte {
	b = append(b, '[')
	b = appendJSONString(b, e.Stream.Type)
	b = append(b, ',')
	b = appendJSONString(b, e.Stream.ID)
	b = append(b, ',')
	b = strconv.AppendInt(b, e.Version, 10)
	b = append(b, ',')
	b = appendJSONString(b, e.Type)
	b = append(b, ',')
	b = strconv.AppendInt(b, e.Time.UnixMilli(), 10)
	b = append(b, ',')
	b = appendJSONString(b, e.Actor)
	b = append(b, ',')
	b = appendJSONString(b, e.Preview)
	return append(b, ']')
}

// MarshalJSON is appendJSON's form.
func (e IndexedEvent) MarshalJSON() ([]byte, error) { return e.appendJSON(nil), nil }

// legacyIndexedEvent is an event's form in chunks saved before the arrays.
type legacyIndexedEvent struct {
	StreamS string    `json:"s"`
	Version int64     `json:"v"`
	Type    string    `json:"t"`
	Time    time.Time `json:"at"`
	Actor   string    `json:"a"`
	Preview string    `json:"p"`
}

// UnmarshalJSON reads either form: the array appendJSON writes, or the
// object of a chunk saved before it.
func (e *IndexedEvent) UnmarshalJSON(b []byte) error {
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) > 0 && b[0] == '{' {
		var old legacyIndexedEvent
		if err := json.Unmarshal(b, &old); err != nil {
			return err
		}
		ref, err := es.ParseStreamRef(old.StreamS)
		if err != nil {
			return err
		}
		*e = IndexedEvent{Stream: ref, StreamS: old.StreamS, Version: old.Version, Type: old.Type, Time: old.Time, Actor: old.Actor, Preview: old.Preview}
		return nil
	}
	var ms int64
	var ref es.StreamRef
	var ev IndexedEvent
	fields := []any{&ref.Type, &ref.ID, &ev.Version, &ev.Type, &ms, &ev.Actor, &ev.Preview}
	n := len(fields)
	if err := json.Unmarshal(b, &fields); err != nil {
		return err
	}
	if len(fields) != n {
		return fmt.Errorf("indexed event: %d fields, want %d", len(fields), n)
	}
	if err := ref.Validate(); err != nil {
		return err
	}
	ev.Stream, ev.StreamS, ev.Time = ref, ref.String(), time.UnixMilli(ms).UTC()
	*e = ev
	return nil
}

// appendJSONString appends s as a JSON string: quotes, backslashes and
// control characters escaped, the rest as it is (s is valid UTF-8; if not,
// encoding/json encodes it).
func appendJSONString(b []byte, s string) []byte {
	if !utf8.ValidString(s) {
		q, _ := json.Marshal(s)
		return append(b, q...)
	}
	const hex = "0123456789abcdef"
	b = append(b, '"')
	last := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[last:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		last = i + 1
	}
	b = append(b, s[last:]...)
	return append(b, '"')
}

// appendOpen adds the JSON of event n, just appended, to the open chunk's,
// starting a new one when n begins a chunk, and rebuilding it when it lacks
// events (after a Load). Call it with x.mu held.
func (x *EventIndex) appendOpen(n int, e *IndexedEvent) {
	chunk, start := n/indexChunk, n/indexChunk*indexChunk
	if chunk == x.openN+1 && x.openLen == indexChunk && n == start {
		// The open chunk is full: keep its document for the save to come.
		if x.closed == nil {
			x.closed = map[int][]byte{}
		}
		x.closed[x.openN] = append(append(append(make([]byte, 0, len(x.open)+2), '['), x.open...), ']')
		delete(x.closed, x.openN-closedKeep)
	}
	if chunk != x.openN || x.openLen != n-start {
		x.open, x.openN, x.openLen = x.open[:0], chunk, 0
		before := x.held[chunk][:n-start]
		for i := range before {
			x.open = x.appendEvent(x.open, &before[i])
			x.openLen++
		}
	}
	x.open = x.appendEvent(x.open, e)
	x.openLen++
}

func (x *EventIndex) appendEvent(open []byte, e *IndexedEvent) []byte {
	if len(open) > 0 {
		open = append(open, ',')
	}
	return e.appendJSON(open)
}

// Indexed is the event browser's line for env.
func Indexed(env es.Envelope) IndexedEvent {
	env = user.Redact(env) // an account's password hash is never shown
	var preview string
	if len(env.Data) > previewLen {
		preview = strings.ToValidUTF8(string(env.Data[:previewLen]), "") + "…"
	} else {
		preview = string(env.Data)
	}
	return IndexedEvent{
		Stream: env.Stream, StreamS: env.Stream.String(), Version: env.Version,
		Type: env.Type, Time: env.Time, Actor: env.Actor, Preview: preview,
	}
}

// Apply adds the event.
func (x *EventIndex) Apply(env es.Envelope, ch *Changes) error {
	e := Indexed(env)
	x.mu.Lock()
	n := x.n
	c := n / indexChunk
	chunk := x.held[c]
	if chunk == nil {
		chunk = make([]IndexedEvent, 0, indexChunk)
	}
	// Appended in place: a page reading the chunk's earlier events meanwhile
	// reads other elements of the same array.
	chunk = append(chunk, e)
	x.held[c] = chunk
	x.unsaved[c] = struct{}{}
	x.n++
	x.appendOpen(n, &chunk[len(chunk)-1])
	if n%indexChunk == 0 {
		x.releaseLocked() // the tail moved on by a chunk
	}
	if x.openKeyN != c || x.openKey == "" {
		x.openKeyN, x.openKey = c, chunkKey(c)
	}
	key := x.openKey
	x.mu.Unlock()
	ch.Doc(x, key)
	ch.Topic(TopicEvents)
	return nil
}

// Total is how many events the index holds.
func (x *EventIndex) Total() int {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.n
}

// IndexQuery selects a page of the index.
type IndexQuery struct {
	Type       string // event type; "" for all
	StreamType string // "" for all
	// Before is the place (from a previous page's Next) to continue before;
	// 0 starts at the newest event.
	Before int
	Limit  int
}

// IndexPage is a page of the index, newest first; Next continues after it (0
// when there is no more).
type IndexPage struct {
	Events []IndexedEvent
	Next   int
	Total  int
}

// PageScan bounds the events one Page examines (issue 18.3: a filter that
// matches nothing read every event): a page whose filter matches few events
// answers fewer than its limit, none even, with Next to go on. It is eight
// chunks, so a page reads at most eight documents back from the store.
const PageScan = tailChunks * indexChunk

// Page returns the newest events that match q, before q.Before, examining at
// most PageScan of them. A chunk the store does not have yet (a follower
// reading its holder's saves) ends the page there, with Next to try again.
func (x *EventIndex) Page(ctx context.Context, q IndexQuery) (IndexPage, error) {
	total := x.Total()
	i := total
	if q.Before > 0 && q.Before < i {
		i = q.Before
	}
	page := IndexPage{Total: total}
	examined := 0
	var chunk []IndexedEvent
	at := -1
	short := false
	for i > 0 && len(page.Events) < q.Limit && examined < PageScan {
		if c := (i - 1) / indexChunk; c != at {
			var err error
			if chunk, err = x.chunk(ctx, c); err != nil {
				return IndexPage{}, err
			}
			at = c
		}
		k := (i - 1) % indexChunk
		if k >= len(chunk) {
			short = true
			break
		}
		i--
		examined++
		if e := chunk[k]; (q.Type == "" || e.Type == q.Type) && (q.StreamType == "" || e.Stream.Type == q.StreamType) {
			page.Events = append(page.Events, e)
		}
	}
	if i > 0 && (len(page.Events) == q.Limit || examined == PageScan || short) {
		page.Next = i
	}
	return page, nil
}

// chunk returns chunk c's events: from memory, the cache, or the store
// (nil when the store has none).
func (x *EventIndex) chunk(ctx context.Context, c int) ([]IndexedEvent, error) {
	x.mu.Lock()
	held, ok := x.held[c]
	read := x.read
	x.mu.Unlock()
	if ok {
		return held, nil
	}
	if cached, ok := x.cache.get(c); ok {
		return cached, nil
	}
	if read == nil {
		return nil, nil
	}
	// Not held means saved (a chunk leaves memory only once a save took
	// it), so the store, or the saves pending in front of it, has it.
	doc, err := read(ctx, chunkKey(c))
	if err != nil || doc == nil {
		return nil, err
	}
	var events []IndexedEvent
	if err := json.Unmarshal(doc, &events); err != nil {
		return nil, fmt.Errorf("event index chunk %d: %w", c, err)
	}
	if len(events) == indexChunk {
		x.cache.put(c, events) // a full chunk never changes again
	}
	return events, nil
}
