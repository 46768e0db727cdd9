package projections

import (
	"bytes"
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
type EventIndex struct {
	mu     sync.RWMutex
	events indexEvents
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
}

// closedKeep is how many filled chunks' documents the index keeps: a
// feed's batch holds at most 1,000 events.
const closedKeep = 4

const (
	indexKey   = "events/"
	indexChunk = 256
	previewLen = 120
	// TopicEvents changes with every event.
	TopicEvents = "events"
)

// NewEventIndex makes an empty index.
func NewEventIndex() *EventIndex { return &EventIndex{} }

// Owns claims the index's chunks.
func (x *EventIndex) Owns(key string) bool { return strings.HasPrefix(key, indexKey) }

func chunkKey(n int) string { return fmt.Sprintf("%s%08d", indexKey, n) }

// Load restores one chunk; chunks may come in any order.
func (x *EventIndex) Load(key string, doc json.RawMessage) error {
	n, err := strconv.Atoi(strings.TrimPrefix(key, indexKey))
	if err != nil {
		return fmt.Errorf("event index chunk %q: %w", key, err)
	}
	var chunk []IndexedEvent
	if err := json.Unmarshal(doc, &chunk); err != nil {
		return fmt.Errorf("event index chunk %q: %w", key, err)
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.events.load(n, chunk)
	clear(x.closed)
	return nil
}

// Doc returns one chunk.
func (x *EventIndex) Doc(key string) (json.RawMessage, error) {
	n, err := strconv.Atoi(strings.TrimPrefix(key, indexKey))
	if err != nil {
		return nil, err
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	chunk := x.events.chunk(n)
	if len(chunk) == 0 {
		return nil, nil
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
		before := x.events.chunk(chunk)[:n-start]
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
	n := x.events.push(e)
	x.appendOpen(n, x.events.at(n))
	if x.openKeyN != n/indexChunk || x.openKey == "" {
		x.openKeyN, x.openKey = n/indexChunk, chunkKey(n/indexChunk)
	}
	key := x.openKey
	x.mu.Unlock()
	ch.Doc(x, key)
	ch.Topic(TopicEvents)
	return nil
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
// answers fewer than its limit, none even, with Next to go on.
const PageScan = 10_000

// Page returns the newest events that match q, before q.Before, examining at
// most PageScan of them.
func (x *EventIndex) Page(q IndexQuery) IndexPage {
	x.mu.RLock()
	defer x.mu.RUnlock()
	i := x.events.count()
	if q.Before > 0 && q.Before < i {
		i = q.Before
	}
	page := IndexPage{Total: x.events.count()}
	examined := 0
	for i > 0 && len(page.Events) < q.Limit && examined < PageScan {
		i--
		examined++
		e := *x.events.at(i)
		if (q.Type == "" || e.Type == q.Type) && (q.StreamType == "" || e.Stream.Type == q.StreamType) {
			page.Events = append(page.Events, e)
		}
	}
	if i > 0 && (len(page.Events) == q.Limit || examined == PageScan) {
		page.Next = i
	}
	return page
}

// indexEvents holds the index's events in chunks of indexChunk, as they are
// saved: adding one never copies those before it (one slice of 100,000
// events, grown by append, was copied ~17 times on the way, ~12% of a
// rebuild's applying).
type indexEvents struct {
	chunks [][]IndexedEvent // all full but the last
	n      int
}

func (ev *indexEvents) count() int { return ev.n }

// at returns event i, i < count().
func (ev *indexEvents) at(i int) *IndexedEvent { return &ev.chunks[i/indexChunk][i%indexChunk] }

// chunk returns chunk n's events; none past the end.
func (ev *indexEvents) chunk(n int) []IndexedEvent {
	if n < 0 || n >= len(ev.chunks) {
		return nil
	}
	return ev.chunks[n]
}

// push adds e after the last event and returns its number.
func (ev *indexEvents) push(e IndexedEvent) int {
	if last := len(ev.chunks) - 1; last < 0 || len(ev.chunks[last]) == indexChunk {
		ev.chunks = append(ev.chunks, make([]IndexedEvent, 0, indexChunk))
	}
	last := len(ev.chunks) - 1
	ev.chunks[last] = append(ev.chunks[last], e)
	ev.n++
	return ev.n - 1
}

// load puts a saved chunk's events in place. Chunks may come in any order:
// the events of chunks not loaded yet are zero until they are.
func (ev *indexEvents) load(n int, events []IndexedEvent) {
	need := n*indexChunk + len(events)
	for ev.n < need {
		last := len(ev.chunks) - 1
		if last < 0 || len(ev.chunks[last]) == indexChunk {
			ev.chunks = append(ev.chunks, make([]IndexedEvent, 0, indexChunk))
			last++
		}
		grow := min(indexChunk-len(ev.chunks[last]), need-ev.n)
		ev.chunks[last] = append(ev.chunks[last], make([]IndexedEvent, grow)...)
		ev.n += grow
	}
	copy(ev.chunks[n], events)
}
