package dynamo

import (
	"context"
	"time"

	"github.com/foldboard/foldboard/es"
)

// record is one stream record read from a shard, until every event it carries
// has been handed on: only then may the shard's checkpoint pass it.
type record struct {
	seq  string
	at   int64 // when the record was made, Unix seconds (0: not known)
	done bool
}

// sequencer hands each stream's events on in version order, whatever order
// they arrive in. DynamoDB Streams orders records per item only, and every
// event is an item of its own, so version 5 may arrive before version 4 (from
// another shard). An early arrival is held until its predecessor has been
// handed on; one whose gap does not fill within the gap timeout has the
// missing versions read from the events table. Nothing is ever skipped.
type sequencer struct {
	// delivered is the highest version handed on, per stream key. A stream
	// absent from it is unknown: nothing of it was handed on in this process.
	delivered map[string]int64
	held      map[string]*heldRun
	out       []es.Envelope
}

// heldRun is one stream's early arrivals.
type heldRun struct {
	stream es.StreamRef
	events map[int64]heldEvent
	due    time.Time // when to stop waiting and read the gap from the table
}

type heldEvent struct {
	env es.Envelope
	rec *record
}

func newSequencer() *sequencer {
	return &sequencer{delivered: map[string]int64{}, held: map[string]*heldRun{}}
}

// offer takes one event read from a shard (rec) or from the events table (rec
// nil). trusted says that, were the stream unknown, the version before env is
// known to have been handed on already (see tailer.trusted).
func (q *sequencer) offer(env es.Envelope, rec *record, now time.Time, gap time.Duration, trusted bool) {
	k := streamKey(env.Stream)
	d, known := q.delivered[k]
	if !known && (env.Version == 1 || trusted) {
		d, known = env.Version-1, true
		q.delivered[k] = d
	}
	switch {
	case known && env.Version <= d:
		rec.finish() // a repeat: already handed on
		return
	case known && env.Version == d+1:
		q.deliver(k, env, rec)
		q.release(k, now, gap)
		return
	}
	h := q.held[k]
	if h == nil {
		h = &heldRun{stream: env.Stream, events: map[int64]heldEvent{}, due: now.Add(gap)}
		q.held[k] = h
	}
	if !known {
		// What came before is unknown: read it from the table at once
		// rather than wait (handing on again what was handed on before the
		// restart is harmless: read models ignore versions they applied).
		h.due = now
	}
	if _, dup := h.events[env.Version]; dup {
		rec.finish() // the held copy's record stands for both
		return
	}
	h.events[env.Version] = heldEvent{env: env, rec: rec}
}

func (r *record) finish() {
	if r != nil {
		r.done = true
	}
}

func (q *sequencer) deliver(k string, env es.Envelope, rec *record) {
	q.out = append(q.out, env)
	q.delivered[k] = env.Version
	rec.finish()
}

// release hands on the held successors of what was delivered, as far as they
// run without a gap.
func (q *sequencer) release(k string, now time.Time, gap time.Duration) {
	h := q.held[k]
	if h == nil {
		return
	}
	progressed := false
	for {
		next := q.delivered[k] + 1
		he, ok := h.events[next]
		if !ok {
			break
		}
		delete(h.events, next)
		q.deliver(k, he.env, he.rec)
		progressed = true
	}
	for v, he := range h.events {
		if v <= q.delivered[k] {
			he.rec.finish()
			delete(h.events, v)
		}
	}
	switch {
	case len(h.events) == 0:
		delete(q.held, k)
	case progressed:
		h.due = now.Add(gap) // a new gap: give it its own time
	}
}

// readRange reads versions from … to of a stream from the events table.
type readRange func(ctx context.Context, stream es.StreamRef, from, to int64) ([]es.Envelope, error)

// fill reads from the events table the gaps that have waited long enough, and
// hands on what they held back. It returns how many events the table gave.
func (q *sequencer) fill(ctx context.Context, now time.Time, gap time.Duration, read readRange) (int, error) {
	n := 0
	for k, h := range q.held {
		if h.due.After(now) {
			continue
		}
		from := q.delivered[k] + 1 // 1 for an unknown stream
		to := int64(0)
		for v := range h.events {
			to = max(to, v)
		}
		envs, err := read(ctx, h.stream, from, to)
		if err != nil {
			h.due = now.Add(gap) // not again at once
			return n, err
		}
		n += len(envs)
		if _, known := q.delivered[k]; !known {
			q.delivered[k] = 0
		}
		for _, env := range envs {
			if env.Version != q.delivered[k]+1 {
				continue
			}
			var rec *record
			if he, ok := h.events[env.Version]; ok {
				rec = he.rec
				delete(h.events, env.Version)
			}
			q.deliver(k, env, rec)
		}
		q.release(k, now, gap)
		if h := q.held[k]; h != nil && !h.due.After(now) {
			h.due = now.Add(gap) // the table had less than the stream: try again later
		}
	}
	return n, nil
}

// nextDue is when the earliest held gap is due to be read from the table.
func (q *sequencer) nextDue() (time.Time, bool) {
	var first time.Time
	for _, h := range q.held {
		if first.IsZero() || h.due.Before(first) {
			first = h.due
		}
	}
	return first, !first.IsZero()
}

// take returns the events handed on since the last take.
func (q *sequencer) take() []es.Envelope {
	out := q.out
	q.out = nil
	return out
}

// forgetHeld drops every early arrival (a rebuild reads them from the table).
func (q *sequencer) forgetHeld() {
	q.held = map[string]*heldRun{}
}
