package projections

import (
	"context"
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
//
// An effect carries its cause's correlation id (or, when the cause had
// none, the cause's id, which is then its cause's correlation id): so every
// question is about one correlation's document. It holds in memory only
// what is hot (issue 19.2): the chains changed since a save took them, and
// a cache, bounded by bytes, of chains read back from the store on demand
// (through the projector's DocReader) or saved; the chains a batch will
// add to are read before it is applied (prefetch).
type Chains struct {
	causeTypes map[string]bool

	mu sync.Mutex
	// unsaved are the chains changed since a save took them: they stay
	// until one does. batch are those read back for the batch being
	// applied.
	unsaved map[string][]ChainEvent
	batch   map[string][]ChainEvent
	cache   *bytesCache[string, []ChainEvent]
	read    DocReader
	// saves counts the chains saves took (see readBack).
	saves uint64
}

const (
	chainsKey = "chains/"
	// maxChain bounds one correlation's events: a client may send one
	// X-Correlation-ID with every command it makes.
	maxChain = 1_000
	// chainsCacheBytes bounds the saved chains kept in memory.
	chainsCacheBytes = 4 << 20
)

// NewChains keeps the chains of reactions that answer causeTypes.
func NewChains(causeTypes ...string) *Chains {
	c := &Chains{causeTypes: map[string]bool{}, unsaved: map[string][]ChainEvent{}, batch: map[string][]ChainEvent{},
		cache: newBytesCache[string](chainsCacheBytes, chainCost)}
	for _, t := range causeTypes {
		c.causeTypes[t] = true
	}
	return c
}

// chainCost is roughly what a chain costs in memory.
func chainCost(events []ChainEvent) int {
	n := 64
	for i := range events {
		e := &events[i]
		n += 112 + len(e.ID) + len(e.Stream) + len(e.Type) + len(e.Actor) + len(e.CausationID)
	}
	return n
}

// Owns claims the chains' documents.
func (c *Chains) Owns(key string) bool { return strings.HasPrefix(key, chainsKey) }

// gathers names every chain: a correlation's events may be of any stream
// (a reaction's effects are another's).
func (c *Chains) gathers(key string) bool { return c.Owns(key) }

// Load keeps nothing where the chains can be read back when asked for;
// else (a store that reads no documents on demand) it keeps the chain.
func (c *Chains) Load(key string, doc json.RawMessage) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.read != nil {
		return nil
	}
	var events []ChainEvent
	if err := json.Unmarshal(doc, &events); err != nil {
		return fmt.Errorf("chain %q: %w", key, err)
	}
	c.unsaved[strings.TrimPrefix(key, chainsKey)] = events
	return nil
}

func (c *Chains) loadPrefixes() []string { return []string{chainsKey} }

// loadOnDemand reads nothing: every chain is read back when asked for.
func (c *Chains) loadOnDemand(context.Context, func(es.DocRange) ([]es.Doc, error)) error {
	return nil
}

// readFrom is where the chains read their saved documents back.
func (c *Chains) readFrom(read DocReader) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.read = read
}

// corrOf is the correlation whose document keeps env, and whether env is
// kept at all.
func (c *Chains) corrOf(env es.Envelope) (corr string, effect, kept bool) {
	effect = es.IsSystemActor(env.Actor) && env.CausationID != ""
	if !effect && !c.causeTypes[env.Type] {
		return "", false, false
	}
	corr = env.CorrelationID
	if !es.ValidID(corr) {
		corr = env.ID
	}
	return corr, effect, true
}

// prefetch reads back the saved chains the events will add to that are not
// in memory, before any of them is applied: a failed read fails the batch
// (to be tried again from the checkpoint), not one event.
func (c *Chains) prefetch(ctx context.Context, events []es.Envelope) error {
	c.mu.Lock()
	clear(c.batch)
	read := c.read
	c.mu.Unlock()
	if read == nil {
		return nil
	}
	corrs := func(yield func(string) bool) {
		for _, env := range events {
			if corr, _, kept := c.corrOf(env); kept && !yield(corr) {
				return
			}
		}
	}
	return pinBatch(ctx, &c.mu, corrs, c.batch, c.held, func(ctx context.Context, corr string) ([]ChainEvent, error) {
		return c.readBack(ctx, read, corr)
	})
}

// held is the chain in memory, if it is. Call it with c.mu held.
func (c *Chains) held(corr string) ([]ChainEvent, bool) {
	if events, ok := c.unsaved[corr]; ok {
		return events, true
	}
	if events, ok := c.batch[corr]; ok {
		return events, true
	}
	return c.cache.get(corr)
}

// readBack reads a saved chain (none: empty) and caches it, unless a save
// took chains while it read: what it read may then be older than what the
// save put in the cache.
func (c *Chains) readBack(ctx context.Context, read DocReader, corr string) ([]ChainEvent, error) {
	c.mu.Lock()
	gen := c.saves
	c.mu.Unlock()
	doc, err := read(ctx, chainsKey+corr)
	if err != nil {
		return nil, fmt.Errorf("chain %q: %w", corr, err)
	}
	var events []ChainEvent
	if doc != nil {
		if err := json.Unmarshal(doc, &events); err != nil {
			return nil, fmt.Errorf("chain %q: %w", corr, err)
		}
	}
	c.mu.Lock()
	if _, held := c.held(corr); !held && c.saves == gen {
		c.cache.put(corr, events)
	}
	c.mu.Unlock()
	return events, nil
}

// Apply keeps a cause or an effect, and passes over every other event.
func (c *Chains) Apply(env es.Envelope, ch *Changes) error {
	corr, effect, kept := c.corrOf(env)
	if !kept {
		return nil
	}
	e := ChainEvent{ID: env.ID, Stream: env.Stream.String(), Version: env.Version, Type: env.Type, Actor: env.Actor}
	if effect {
		e.CausationID = env.CausationID
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	events, _ := c.held(corr) // prefetched (none when there is no store: a replay's fresh models)
	if len(events) >= maxChain || slices.ContainsFunc(events, func(k ChainEvent) bool { return k.ID == e.ID }) {
		return nil
	}
	// A new slice: a reader may hold the one before.
	events = append(slices.Clip(events), e)
	slices.SortFunc(events, byStreamVersion) // the same whatever order a feed brought them in
	c.unsaved[corr] = events
	if _, pinned := c.batch[corr]; pinned {
		c.batch[corr] = events
	}
	ch.Doc(c, chainsKey+corr)
	ch.Topic(TimelineTopic(env.Stream))
	if i := slices.IndexFunc(events, func(k ChainEvent) bool { return k.ID == e.CausationID }); e.CausationID != "" && i >= 0 {
		ch.Topic(TimelineTopic(events[i].Ref()))
	}
	return nil
}

// saved is told that a save took the chain under key: it may leave memory.
func (c *Chains) saved(key string) {
	corr := strings.TrimPrefix(key, chainsKey)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.read == nil {
		return // nowhere to read it back from: it stays
	}
	c.saves++
	if events, ok := c.unsaved[corr]; ok {
		delete(c.unsaved, corr)
		c.cache.put(corr, events)
	}
}

// Doc is one correlation's events: ErrNotHeld for a saved one no longer in
// memory.
func (c *Chains) Doc(key string) (json.RawMessage, error) {
	c.mu.Lock()
	events, ok := c.held(strings.TrimPrefix(key, chainsKey))
	c.mu.Unlock()
	if !ok {
		return nil, ErrNotHeld
	}
	if len(events) == 0 {
		return nil, nil
	}
	return json.Marshal(events)
}

func byStreamVersion(a, b ChainEvent) int {
	if a.Stream != b.Stream {
		return strings.Compare(a.Stream, b.Stream)
	}
	return int(a.Version - b.Version)
}

// chain is one correlation's kept events, by stream and version: from
// memory, or read back from the store.
func (c *Chains) chain(ctx context.Context, corr string) ([]ChainEvent, error) {
	if !es.ValidID(corr) {
		return nil, nil
	}
	c.mu.Lock()
	events, ok := c.held(corr)
	read := c.read
	c.mu.Unlock()
	if ok || read == nil {
		return events, nil
	}
	return c.readBack(ctx, read, corr)
}

// Event is the kept event with the id in the correlation corr: a cause or
// an effect.
func (c *Chains) Event(ctx context.Context, corr, id string) (ChainEvent, bool, error) {
	events, err := c.chain(ctx, corr)
	if i := slices.IndexFunc(events, func(e ChainEvent) bool { return e.ID == id }); i >= 0 {
		return events[i], true, err
	}
	return ChainEvent{}, false, err
}

// Effects are the events the reactions' commands appended in answer to the
// event id of the correlation corr (its own id when it had none).
func (c *Chains) Effects(ctx context.Context, corr, id string) ([]ChainEvent, error) {
	events, err := c.chain(ctx, corr)
	var out []ChainEvent
	for _, e := range events {
		if e.CausationID == id {
			out = append(out, e)
		}
	}
	return out, err
}

// Correlated are the kept events of a correlation id, causes before their
// effects (stream and version order within a stream).
func (c *Chains) Correlated(ctx context.Context, corr string) ([]ChainEvent, error) {
	events, err := c.chain(ctx, corr)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]ChainEvent, len(events))
	for _, e := range events {
		byID[e.ID] = e
	}
	depth := func(e ChainEvent) int {
		d := 0
		for ; e.CausationID != "" && d < 16; d++ {
			cause, ok := byID[e.CausationID]
			if !ok {
				break
			}
			e = cause
		}
		return d
	}
	out := slices.Clone(events)
	slices.SortStableFunc(out, func(a, b ChainEvent) int {
		if d := depth(a) - depth(b); d != 0 {
			return d
		}
		return byStreamVersion(a, b)
	})
	return out, nil
}
