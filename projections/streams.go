package projections

import (
	"encoding/json"
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
type Streams[S any, E es.Event] struct {
	streamType string
	initial    func() S
	evolve     func(S, E) S
	events     *es.Registry[E]
	listTopic  string

	mu    sync.RWMutex
	views map[string]*StreamView[S]
}

// NewStreams makes the read model of one domain's streams.
// It keeps what folding needs of the decider, not its commands.
func NewStreams[S any, C any, E es.Event](d es.Decider[S, C, E], listTopic string) *Streams[S, E] {
	return &Streams[S, E]{
		streamType: d.StreamType, initial: d.Initial, evolve: d.Evolve, events: d.Events,
		listTopic: listTopic, views: map[string]*StreamView[S]{},
	}
}

func (m *Streams[S, E]) prefix() string { return m.streamType + "/" }

// Owns claims the documents named after the domain's streams.
func (m *Streams[S, E]) Owns(key string) bool { return strings.HasPrefix(key, m.prefix()) }

// Load restores one stream's view.
func (m *Streams[S, E]) Load(key string, doc json.RawMessage) error {
	v := &StreamView[S]{State: m.initial()}
	if err := json.Unmarshal(doc, v); err != nil {
		return err
	}
	m.mu.Lock()
	m.views[strings.TrimPrefix(key, m.prefix())] = v
	m.mu.Unlock()
	return nil
}

// Doc returns one stream's view as a document.
func (m *Streams[S, E]) Doc(key string) (json.RawMessage, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	v, ok := m.views[strings.TrimPrefix(key, m.prefix())]
	if !ok {
		return nil, nil
	}
	return json.Marshal(v)
}

// Apply evolves the stream's view by the event.
func (m *Streams[S, E]) Apply(env es.Envelope, ch *Changes) error {
	if env.Stream.Type != m.streamType {
		return nil
	}
	e, err := m.events.DecodeEnvelope(env)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	next := StreamView[S]{ID: env.Stream.ID, State: m.initial(), Created: env.Time, CreatedBy: env.Actor}
	if cur, ok := m.views[env.Stream.ID]; ok {
		next = *cur
	}
	// Evolve returns a new state and leaves the old one alone, so readers
	// holding the previous view keep a consistent picture.
	next.State = m.evolve(next.State, e)
	next.Version, next.Updated, next.UpdatedBy = env.Version, env.Time, env.Actor
	m.views[env.Stream.ID] = &next
	ch.Doc(m, env.Stream.String())
	ch.Topic(m.listTopic, env.Stream.String())
	return nil
}

// Get returns one stream's view.
func (m *Streams[S, E]) Get(id string) (StreamView[S], bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	v, ok := m.views[id]
	if !ok {
		return StreamView[S]{}, false
	}
	return *v, true
}

// ListLimit is how many streams a list page shows: the most recently started.
const ListLimit = 100

// List returns the views that keep passes (all, for nil), newest first.
func (m *Streams[S, E]) List(keep func(StreamView[S]) bool) []StreamView[S] {
	m.mu.RLock()
	out := make([]StreamView[S], 0, len(m.views))
	for _, v := range m.views {
		if keep == nil || keep(*v) {
			out = append(out, *v)
		}
	}
	m.mu.RUnlock()
	slices.SortFunc(out, newestFirst[S])
	return out
}

// Newest returns the n most recently started views that keep passes (all,
// for nil), newest first, and how many it passes in all. A list page shows
// these: its cost grows with the streams by one pass over them, where
// sorting them all would grow faster, and its size not at all.
func (m *Streams[S, E]) Newest(n int, keep func(StreamView[S]) bool) ([]StreamView[S], int) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	top := make([]StreamView[S], 0, max(0, min(n, len(m.views))))
	total := 0
	for _, v := range m.views {
		if keep != nil && !keep(*v) {
			continue
		}
		total++
		if n <= 0 || (len(top) == n && newestFirst(*v, top[n-1]) > 0) {
			continue
		}
		i, _ := slices.BinarySearchFunc(top, *v, newestFirst[S])
		if len(top) == n {
			top = top[:n-1]
		}
		top = slices.Insert(top, i, *v)
	}
	return top, total
}

// newestFirst orders views by when they started, newest first, then by id.
func newestFirst[S any](a, b StreamView[S]) int {
	if d := b.Created.Compare(a.Created); d != 0 {
		return d
	}
	return strings.Compare(a.ID, b.ID)
}
