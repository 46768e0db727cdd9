package projections

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/foldboard/foldboard/es"
)

// ChainEvent is one event of a chain of causes: an event a reaction answers,
// or an event a reaction's command appended.
type ChainEvent struct {
	ID          string `json:"id"`
	Stream      string `json:"stream"`
	Version     int64  `json:"version"`
	Type        string `json:"type"`
	Actor       string `json:"actor"`
	CausationID string `json:"causationId,omitempty"`
}

// Ref is the event's stream.
func (c ChainEvent) Ref() es.StreamRef {
	ref, _ := es.ParseStreamRef(c.Stream)
	return ref
}

// Chains is the read model of what caused what: every event of a type a
// reaction answers (the causes) and every event a reaction's command
// appended (the effects: their actor is a reaction's, their causation id
// the cause's event id), by correlation id. A timeline asks it what caused
// an event and what the event caused; the event browser follows a
// correlation id across streams with it. It is saved one document per
// correlation id. Other events (a person's commands, the most of them) are
// not kept: their causation is their command.
type Chains struct {
	mu         sync.RWMutex
	causeTypes map[string]bool
	byID       map[string]ChainEvent
	effects    map[string][]string // cause id → effect ids
	byCorr     map[string][]string // correlation id → event ids
	corrOf     map[string]string   // event id → its correlation id
}

const (
	chainsKey = "chains/"
	// maxChain bounds one correlation's events: a client may send one
	// X-Correlation-ID with every command it makes.
	maxChain = 1_000
)

// NewChains keeps the chains of reactions that answer causeTypes.
func NewChains(causeTypes ...string) *Chains {
	c := &Chains{causeTypes: map[string]bool{}, byID: map[string]ChainEvent{},
		effects: map[string][]string{}, byCorr: map[string][]string{}, corrOf: map[string]string{}}
	for _, t := range causeTypes {
		c.causeTypes[t] = true
	}
	return c
}

// Owns claims the chains' documents.
func (c *Chains) Owns(key string) bool { return strings.HasPrefix(key, chainsKey) }

// Load restores one correlation's events.
func (c *Chains) Load(key string, doc json.RawMessage) error {
	var events []ChainEvent
	if err := json.Unmarshal(doc, &events); err != nil {
		return fmt.Errorf("chain %q: %w", key, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range events {
		c.add(strings.TrimPrefix(key, chainsKey), e)
	}
	return nil
}

// Apply keeps a cause or an effect, and passes over every other event.
func (c *Chains) Apply(env es.Envelope, ch *Changes) error {
	effect := es.IsSystemActor(env.Actor) && env.CausationID != ""
	if !effect && !c.causeTypes[env.Type] {
		return nil
	}
	corr := env.CorrelationID
	if !es.ValidID(corr) {
		corr = env.ID
	}
	e := ChainEvent{ID: env.ID, Stream: env.Stream.String(), Version: env.Version, Type: env.Type, Actor: env.Actor}
	if effect {
		e.CausationID = env.CausationID
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.add(corr, e) {
		ch.Doc(c, chainsKey+corr)
		ch.Topic(TimelineTopic(env.Stream))
		if cause, ok := c.byID[e.CausationID]; ok {
			ch.Topic(TimelineTopic(cause.Ref()))
		}
	}
	return nil
}

// add keeps e under corr; false when it was kept before, or the chain is
// full.
func (c *Chains) add(corr string, e ChainEvent) bool {
	if _, seen := c.byID[e.ID]; seen || len(c.byCorr[corr]) >= maxChain {
		return false
	}
	c.byID[e.ID] = e
	c.corrOf[e.ID] = corr
	c.byCorr[corr] = append(c.byCorr[corr], e.ID)
	if e.CausationID != "" {
		c.effects[e.CausationID] = append(c.effects[e.CausationID], e.ID)
	}
	return true
}

// Doc is one correlation's events.
func (c *Chains) Doc(key string) (json.RawMessage, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	ids := c.byCorr[strings.TrimPrefix(key, chainsKey)]
	if len(ids) == 0 {
		return nil, nil
	}
	return json.Marshal(c.events(ids))
}

// events are the kept events of ids, by stream and version: the same
// whatever order a feed brought them in.
func (c *Chains) events(ids []string) []ChainEvent {
	out := make([]ChainEvent, 0, len(ids))
	for _, id := range ids {
		out = append(out, c.byID[id])
	}
	slices.SortFunc(out, byStreamVersion)
	return out
}

func byStreamVersion(a, b ChainEvent) int {
	if a.Stream != b.Stream {
		return strings.Compare(a.Stream, b.Stream)
	}
	return int(a.Version - b.Version)
}

// Event is the kept event with the id: a cause or an effect.
func (c *Chains) Event(id string) (ChainEvent, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, ok := c.byID[id]
	return e, ok
}

// Effects are the events the reactions' commands appended in answer to the
// event id.
func (c *Chains) Effects(id string) []ChainEvent {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.events(c.effects[id])
}

// Correlated are the kept events of a correlation id, causes before their
// effects (stream and version order within a stream).
func (c *Chains) Correlated(corr string) []ChainEvent {
	c.mu.RLock()
	out := c.events(c.byCorr[corr])
	c.mu.RUnlock()
	depth := func(e ChainEvent) int {
		d := 0
		for ; e.CausationID != "" && d < 16; d++ {
			cause, ok := c.Event(e.CausationID)
			if !ok {
				break
			}
			e = cause
		}
		return d
	}
	slices.SortStableFunc(out, func(a, b ChainEvent) int {
		if d := depth(a) - depth(b); d != 0 {
			return d
		}
		return byStreamVersion(a, b)
	})
	return out
}
