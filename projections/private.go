package projections

import (
	"maps"
	"sync"
)

// privateEvents counts the events of private streams (a draft, a cart with
// an owner) by the one person who, with the admins, may see them: so that a
// total can count what a reader may not see only as private, in constant
// work however long the log. It is small by nature (an entry per person
// with private streams) and saved whole, with its model's counts.
type privateEvents struct {
	mu      sync.RWMutex
	byOwner map[string]int64
	total   int64
}

// share is what one stream adds to the counts: its owner's events, or
// nothing for a public stream (owner "").
type share struct {
	owner  string
	events int64
}

// move replaces a stream's share before an event by its share after, and
// reports whether the counts changed.
func (p *privateEvents) move(before, after share) bool {
	if before == after {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.byOwner == nil {
		p.byOwner = map[string]int64{}
	}
	changed := false
	for _, s := range []struct {
		share
		sign int64
	}{{before, -1}, {after, 1}} {
		if s.owner == "" || s.events == 0 {
			continue
		}
		changed = true
		p.byOwner[s.owner] += s.sign * s.events
		p.total += s.sign * s.events
		if p.byOwner[s.owner] == 0 {
			delete(p.byOwner, s.owner)
		}
	}
	return changed
}

// set restores the counts as saved.
func (p *privateEvents) set(byOwner map[string]int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.byOwner, p.total = maps.Clone(byOwner), 0
	for _, n := range byOwner {
		p.total += n
	}
}

// all is a copy of the counts by owner, nil for none.
func (p *privateEvents) all() map[string]int64 {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if len(p.byOwner) == 0 {
		return nil
	}
	return maps.Clone(p.byOwner)
}

// PrivateEvents is how many events are in private streams, and how many of
// those are owner's.
func (p *privateEvents) PrivateEvents(owner string) (all, owners int64) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.total, p.byOwner[owner]
}
