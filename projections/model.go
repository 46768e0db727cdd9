package projections

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/foldboard/foldboard/es"
)

// Model is one read model kept by the projector.
type Model interface {
	// Owns reports whether a saved document key belongs to this model.
	Owns(key string) bool
	// Load restores one saved document at start.
	Load(key string, doc json.RawMessage) error
	// Apply applies one event, whose stream is at exactly the version before
	// it, recording the documents and topics it changed.
	Apply(env es.Envelope, ch *Changes) error
	// Doc returns the current document under key, nil when it is gone. A
	// model that holds only what is hot answers ErrNotHeld for a document
	// it saved and let go: the store has it (Projector.Doc reads it there).
	Doc(key string) (json.RawMessage, error)
}

// ErrNotHeld is Model.Doc's answer for a saved document the model no
// longer holds in memory.
var ErrNotHeld = errors.New("projections: the document is saved, not held in memory")

// DocReader reads one of the projector's documents as saved (including the
// saves still pending in front of the store); nil when there is none.
type DocReader func(ctx context.Context, key string) (json.RawMessage, error)

// onDemand is a model that reads its saved documents back on demand: the
// projector hands it its DocReader.
type onDemand interface{ readFrom(DocReader) }

// savedNotified is a model told of each of its documents a save took, so
// that it may let go of them.
type savedNotified interface{ saved(key string) }

// Changes collects what applying events changed: documents to save (by the
// model that owns them) and topics whose subscribers need a new fragment.
type Changes struct {
	docs   map[string]Model
	topics map[string]struct{}
}

func newChanges() *Changes {
	return &Changes{docs: map[string]Model{}, topics: map[string]struct{}{}}
}

// Doc marks a document of m as changed.
func (c *Changes) Doc(m Model, key string) { c.docs[key] = m }

// Topic marks a topic as changed.
func (c *Changes) Topic(topics ...string) {
	for _, t := range topics {
		c.topics[t] = struct{}{}
	}
}

// Topics lists the changed topics.
func (c *Changes) Topics() []string {
	out := make([]string, 0, len(c.topics))
	for t := range c.topics {
		out = append(out, t)
	}
	return out
}

func (c *Changes) reset() {
	clear(c.docs)
	clear(c.topics)
}

// prefetcher is a model that reads back, before a batch is applied, what
// applying it needs from the store: a failed read fails the batch, to be
// tried again, where a failed Apply would park the event's stream.
type prefetcher interface {
	prefetch(ctx context.Context, events []es.Envelope) error
}

// docReader is a model that reads back a document it let go of itself
// (Projector.Doc asks it before the store): a saved document may be behind
// what the model applied (a follower's saves are its holder's), and the
// model knows how to bring it up to date.
type docReader interface {
	readDoc(ctx context.Context, key string) (json.RawMessage, error)
}

// batchPinner is a prefetcher that holds what it read for a batch until
// the batch is done with (applied and saved): unpin lets it go.
type batchPinner interface{ unpin() }

// loadedOnDemand is a model none of whose saved documents a start loads
// whole (those under loadPrefixes): it reads what it holds itself, with
// loadOnDemand, from the saved ranges.
type loadedOnDemand interface {
	loadPrefixes() []string
	loadOnDemand(ctx context.Context, read func(es.DocRange) ([]es.Doc, error)) error
}
