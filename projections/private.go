package projections

import "sync"

// privateEvents counts the events of private streams (a draft, a cart with
// an owner) by the one person who, with the admins, may see them: so that a
// total can count what a reader may not see only as private, in constant
// work however long the log.
type privateEvents struct {
	mu      sync.RWMutex
	byOwner map[string]int64
	all     int64
}

// share is what one stream adds to the counts: its owner's events, or
// nothing for a public stream (owner "").
type share struct {
	owner  string
	events int64
}

// move replaces a stream's share before an event by its share after.
func (p *privateEvents) move(before, after share) {
	if before == after {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.byOwner == nil {
		p.byOwner = map[string]int64{}
	}
	for _, s := range []struct {
		share
		sign int64
	}{{before, -1}, {after, 1}} {
		if s.owner == "" || s.events == 0 {
			continue
		}
		p.byOwner[s.owner] += s.sign * s.events
		p.all += s.sign * s.events
		if p.byOwner[s.owner] == 0 {
			delete(p.byOwner, s.owner)
		}
	}
}

// PrivateEvents is how many events are in private streams, and how many of
// those are owner's.
func (p *privateEvents) PrivateEvents(owner string) (all, owners int64) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	return p.all, p.byOwner[owner]
}
