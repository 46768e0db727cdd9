package es

import (
	"container/list"
	"sync"
)

// Heads remembers streams' state records as this process last wrote or read
// them, so that a command on a stream this process wrote last decides without
// reading the store first: one write per command instead of a read and a
// write.
//
// What it remembers may be stale (another process may have appended since),
// and nothing here tries to know: the append that follows is conditioned on
// the version decided on, so the store refuses it when the stream moved, and
// the handler forgets the entry and decides again on what the store holds.
// A decision that appends nothing (a refusal, no events) is checked against
// the store the same way before it is answered.
//
// A stream's version must always name the same state: a store whose streams
// are deleted and made again under a running process would defeat it.
//
// It keeps the encoded record, never a decoded state: a decider's Evolve may
// share a state's maps with the state before it, so only bytes are safe to
// hand out twice. Bounded by bytes; the least recently used go first.
type Heads struct {
	mu      sync.Mutex
	max     int
	size    int
	entries map[StreamRef]*list.Element
	order   list.List // front: most recently used; values are *headEntry
}

type headEntry struct {
	stream StreamRef
	record StateRecord
}

// headOverhead is roughly what an entry costs besides its state's bytes.
const headOverhead = 160

// headCost is what remembering r for s counts against the cache's bytes.
func headCost(s StreamRef, r StateRecord) int {
	return len(r.Data) + len(s.ID) + headOverhead + len(r.Commands)*commandOverhead
}

// commandOverhead is roughly what a recent command id costs in an entry.
const commandOverhead = 120

// NewHeads makes a cache that holds up to maxBytes of state records (the
// records' data plus about 160 bytes each); 0 or less makes none (nil).
func NewHeads(maxBytes int) *Heads {
	if maxBytes <= 0 {
		return nil
	}
	return &Heads{max: maxBytes, entries: map[StreamRef]*list.Element{}}
}

// get returns the stream's record, if remembered.
func (c *Heads) get(s StreamRef) (StateRecord, bool) {
	if c == nil {
		return StateRecord{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[s]
	if !ok {
		return StateRecord{}, false
	}
	c.order.MoveToFront(el)
	return el.Value.(*headEntry).record, true
}

// put remembers the stream's record, unless a later version is remembered
// already (a slow reader must not put back what a writer has moved past).
func (c *Heads) put(s StreamRef, r StateRecord) {
	if c == nil || r.Version == 0 {
		return
	}
	cost := headCost(s, r)
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[s]
	if cost > c.max/8 {
		// One huge state would push out everything else. Nor may the
		// stream's older record stay: the next command would decide on it.
		if ok && el.Value.(*headEntry).record.Version <= r.Version {
			c.removeLocked(el)
		}
		return
	}
	if ok {
		e := el.Value.(*headEntry)
		if e.record.Version > r.Version {
			return
		}
		c.size += cost - headCost(s, e.record)
		e.record = r
		c.order.MoveToFront(el)
	} else {
		c.entries[s] = c.order.PushFront(&headEntry{stream: s, record: r})
		c.size += cost
	}
	for c.size > c.max {
		c.removeLocked(c.order.Back())
	}
}

// forget drops the stream's record: the store said it is not current.
func (c *Heads) forget(s StreamRef) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[s]; ok {
		c.removeLocked(el)
	}
}

func (c *Heads) removeLocked(el *list.Element) {
	e := c.order.Remove(el).(*headEntry)
	delete(c.entries, e.stream)
	c.size -= headCost(e.stream, e.record)
}

// Len is how many streams are remembered.
func (c *Heads) Len() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}
