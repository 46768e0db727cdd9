package sqlite

import (
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/foldboard/foldboard/es"
)

// recentKeep is how many of its latest appended events a store keeps for its
// feeds, and recentKeepBytes how much of their data: it drops the older half
// when either is twice over.
const (
	recentKeep      = 2048
	recentKeepBytes = 8 << 20
)

// recentLog holds the events this process appended last, as its feeds would
// read them back from the file, in commit order: a feed that has read the log
// up to the event before one of them takes it, and the run of events that
// follows it without a gap, from here instead of querying the file (a read
// of the log was half of the projector's time at one client).
//
// A position names one event for good (the log is only ever appended to, so
// no position is reused), so the event at p+1 found here is the one the file
// holds at p+1, whoever appended the rest. An
// event appended by another process on the same file is never here: a feed
// whose next event is one of those reads it from the file, as are events
// older than the last recentKeep, or a gap in the positions here (another
// process's appends between two of this one's).
type recentLog struct {
	mu    sync.Mutex
	pos   []int64       // ascending
	envs  []es.Envelope // envs[i] is at pos[i]
	bytes int           // of their data

	// off makes every lookup miss, for the tests of reads from the file.
	off bool
}

// add records the events of one committed append, in commit order: the
// appends are committed one group at a time and a group's leader records its
// appends before it hands on the lead.
func (r *recentLog) add(events []es.Envelope) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range events {
		p, err := strconv.ParseInt(e.Position, 10, 64)
		if err != nil || (len(r.pos) > 0 && p <= r.pos[len(r.pos)-1]) {
			// Not what the file assigned, or out of order: keep nothing
			// that a feed could misread.
			clear(r.envs)
			r.pos, r.envs, r.bytes = r.pos[:0], r.envs[:0], 0
			return
		}
		r.pos = append(r.pos, p)
		r.envs = append(r.envs, asRead(e))
		r.bytes += len(e.Data)
	}
	if len(r.pos) > 2*recentKeep || r.bytes > 2*recentKeepBytes {
		// Drop the older half in bulk, not one by one.
		drop := len(r.pos) / 2
		for _, e := range r.envs[:drop] {
			r.bytes -= len(e.Data)
		}
		n := copy(r.pos, r.pos[drop:])
		copy(r.envs, r.envs[drop:])
		clear(r.envs[n:])
		r.pos, r.envs = r.pos[:n], r.envs[:n]
	}
}

// lookup is what the events kept say of the log after a position.
type lookup int

const (
	// miss: the event after the position is not here; read the file.
	miss lookup = iota
	// hit: it is, and the events returned follow it.
	hit
	// seen: every event here is at or before the position; the file holds
	// more only if another process appended since.
	seen
)

// after returns the events at after+1, after+2 … for as long as they follow
// each other here, at most limit (hit), or says why it has none. more says
// that later events are here: the file holds more after the ones returned
// (by the limit, or another process's events in a gap).
func (r *recentLog) after(after int64, limit int) (envs []es.Envelope, more bool, l lookup) {
	envs, more, l = r.run(after, limit)
	for k := range envs {
		// Each reader its own data, as from the file; outside the lock (an
		// entry kept is never changed), which add waits for.
		envs[k].Data = append([]byte(nil), envs[k].Data...)
	}
	return envs, more, l
}

func (r *recentLog) run(after int64, limit int) (envs []es.Envelope, more bool, l lookup) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.off || len(r.pos) == 0 {
		return nil, false, miss
	}
	if after >= r.pos[len(r.pos)-1] {
		return nil, false, seen
	}
	i := sort.Search(len(r.pos), func(i int) bool { return r.pos[i] > after })
	if r.pos[i] != after+1 {
		return nil, false, miss
	}
	j := i + 1
	for j < len(r.pos) && j-i < limit && r.pos[j] == r.pos[j-1]+1 {
		j++
	}
	return append([]es.Envelope(nil), r.envs[i:j]...), j < len(r.pos), hit
}

// asRead is an appended event as queryEvents reads it back: its time in UTC
// at the nanosecond, without a monotonic reading, and the zero time (in any
// zone) as the zero time; empty data as none.
func asRead(e es.Envelope) es.Envelope {
	if e.Time.IsZero() {
		e.Time = time.Time{}
	} else {
		e.Time = time.Unix(0, e.Time.UnixNano()).UTC()
	}
	e.Data = raw(text(e.Data))
	return e
}
