package projections

import (
	"context"
	"sync"
	"time"

	"github.com/foldboard/foldboard/es"
)

// Lag is how far the read models are behind the store.
type Lag struct {
	// Events is how many events the projector has not applied yet; Behind,
	// how long the oldest of them has waited (0 when there is none).
	Events int64
	Behind time.Duration
	// Exact says the store counted them, every writer's events included
	// (es.BacklogFeed). Otherwise they are the events this process appended
	// that the projector has not seen yet: exact for one instance, blind to
	// the appends of others.
	Exact bool
}

// Lag measures how far the read models are behind the store: by asking the
// feed when it can count its backlog, else from the appends this process
// reported with Appended.
func (p *Projector) Lag(ctx context.Context, now time.Time) (Lag, error) {
	if bf, ok := p.feed.(es.BacklogFeed); ok {
		p.mu.Lock()
		checkpoint, done := p.checkpoint, p.inBatch.Load()
		p.mu.Unlock()
		b, err := bf.Backlog(ctx, checkpoint)
		if err != nil {
			return Lag{}, err
		}
		// The events of the batch under way that are done with are in the
		// read models already, though not yet under a saved checkpoint.
		lag := Lag{Events: max(0, b.Events-done), Exact: true}
		if lag.Events > 0 {
			lag.Behind = max(0, now.Sub(b.Oldest))
		}
		return lag, nil
	}
	return p.pending.lag(now), nil
}

// Appended tells the projector of events this process appended, so that Lag
// can count those it has not seen yet where the feed cannot count them.
func (p *Projector) Appended(events []es.Envelope) {
	if _, ok := p.feed.(es.BacklogFeed); ok {
		return
	}
	p.pending.appended(events, time.Now())
}

// pendingAppends are the events appended here that the feed has not brought
// yet, oldest first.
type pendingAppends struct {
	mu      sync.Mutex
	pending map[string]time.Time
	queue   []pendingAppend // append order; entries seen since are skipped lazily
	// recent remembers the ids the feed brought lately, because an event can
	// reach the projector before its append is reported.
	recent    map[string]struct{}
	recentIDs []string
	next      int
}

type pendingAppend struct {
	id string
	at time.Time
}

const (
	maxPending = 100_000 // beyond it, appends are not tracked: the lag says "at least"
	maxRecent  = 4096
)

func (t *pendingAppends) appended(events []es.Envelope, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.pending == nil {
		t.pending = map[string]time.Time{}
	}
	for _, e := range events {
		if _, seen := t.recent[e.ID]; seen || len(t.pending) >= maxPending {
			continue
		}
		t.pending[e.ID] = now
		t.queue = append(t.queue, pendingAppend{id: e.ID, at: now})
	}
}

// seen records the events of a batch as brought by the feed.
func (t *pendingAppends) seen(events []es.Envelope) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.recent == nil {
		t.recent = make(map[string]struct{}, maxRecent)
		t.recentIDs = make([]string, maxRecent)
	}
	for _, e := range events {
		delete(t.pending, e.ID)
		if old := t.recentIDs[t.next]; old != "" {
			delete(t.recent, old)
		}
		t.recentIDs[t.next] = e.ID
		t.recent[e.ID] = struct{}{}
		t.next = (t.next + 1) % maxRecent
	}
	t.trim()
}

// trim drops the queue's head while it names events already seen.
func (t *pendingAppends) trim() {
	i := 0
	for i < len(t.queue) {
		if _, ok := t.pending[t.queue[i].id]; ok {
			break
		}
		i++
	}
	t.queue = t.queue[i:]
	if len(t.queue) == 0 {
		t.queue = nil
	}
}

func (t *pendingAppends) lag(now time.Time) Lag {
	t.mu.Lock()
	defer t.mu.Unlock()
	lag := Lag{Events: int64(len(t.pending))}
	if len(t.queue) > 0 {
		lag.Behind = max(0, now.Sub(t.queue[0].at))
	}
	return lag
}
