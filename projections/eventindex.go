package projections

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/foldboard/foldboard/es"
)

// IndexedEvent is the event browser's line for one event.
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
	events []IndexedEvent
	// open is the JSON of the newest chunk's events so far, comma-separated,
	// kept as they arrive: the projector saves that chunk after every batch,
	// and encoding its up to 256 events each time was the projector's
	// largest cost. openN is its chunk number and openLen how many events
	// it holds (fewer than the chunk after a Load: then it is rebuilt).
	open    []byte
	openN   int
	openLen int
}

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
		return err
	}
	for i := range chunk {
		if chunk[i].Stream, err = es.ParseStreamRef(chunk[i].StreamS); err != nil {
			return err
		}
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	start := n * indexChunk
	if need := start + len(chunk); need > len(x.events) {
		x.events = append(x.events, make([]IndexedEvent, need-len(x.events))...)
	}
	copy(x.events[start:], chunk)
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
	start := n * indexChunk
	if start >= len(x.events) {
		return nil, nil
	}
	end := min(start+indexChunk, len(x.events))
	if n == x.openN && x.openLen == end-start {
		doc := make([]byte, 0, len(x.open)+2)
		doc = append(doc, '[')
		doc = append(doc, x.open...)
		return append(doc, ']'), nil
	}
	return json.Marshal(x.events[start:end])
}

// appendOpen adds the JSON of event n, just appended, to the open chunk's,
// starting a new one when n begins a chunk, and rebuilding it when it lacks
// events (after a Load). Call it with x.mu held.
func (x *EventIndex) appendOpen(n int, line []byte) {
	chunk, start := n/indexChunk, n/indexChunk*indexChunk
	if chunk != x.openN || x.openLen != n-start {
		x.open, x.openN, x.openLen = x.open[:0], chunk, 0
		for _, e := range x.events[start:n] {
			b, err := json.Marshal(e)
			if err != nil {
				x.openN = -1 // Doc encodes the chunk afresh
				return
			}
			x.open = x.appendLine(x.open, b)
			x.openLen++
		}
	}
	x.open = x.appendLine(x.open, line)
	x.openLen++
}

func (x *EventIndex) appendLine(open, line []byte) []byte {
	if len(open) > 0 {
		open = append(open, ',')
	}
	return append(open, line...)
}

// Apply adds the event.
func (x *EventIndex) Apply(env es.Envelope, ch *Changes) error {
	preview := string(env.Data)
	if len(preview) > previewLen {
		preview = strings.ToValidUTF8(preview[:previewLen], "") + "…"
	}
	e := IndexedEvent{
		Stream: env.Stream, StreamS: env.Stream.String(), Version: env.Version,
		Type: env.Type, Time: env.Time, Actor: env.Actor, Preview: preview,
	}
	line, err := json.Marshal(e)
	if err != nil {
		return err
	}
	x.mu.Lock()
	n := len(x.events)
	x.events = append(x.events, e)
	x.appendOpen(n, line)
	x.mu.Unlock()
	ch.Doc(x, chunkKey(n/indexChunk))
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

// Page returns the newest events that match q, before q.Before.
func (x *EventIndex) Page(q IndexQuery) IndexPage {
	x.mu.RLock()
	defer x.mu.RUnlock()
	i := len(x.events)
	if q.Before > 0 && q.Before < i {
		i = q.Before
	}
	page := IndexPage{Total: len(x.events)}
	for i > 0 && len(page.Events) < q.Limit {
		i--
		e := x.events[i]
		if (q.Type == "" || e.Type == q.Type) && (q.StreamType == "" || e.Stream.Type == q.StreamType) {
			page.Events = append(page.Events, e)
		}
	}
	if i > 0 && len(page.Events) == q.Limit {
		page.Next = i
	}
	return page
}
