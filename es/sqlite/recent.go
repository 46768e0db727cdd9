package sqlite

import (
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/foldboard/foldboard/es"
)

// recentKeep is how many of its latest appended events a store keeps for its
// feeds.
const recentKeep = 2048

// recentLog holds the events this process appended last, as its feeds would
// read them back from the file, in commit order: a feed that has read the log
// up to the event before one of them takes it, and the run of events that
// follows it without a gap, from here instead of querying the file (a read
// of the log was half of the projector's time at one client).
//
// A position names one event for good, and positions follow each other
// without gaps in a log that is only ever appended to, so the event at p+1
// found here is the one the file holds at p+1, whoever appended the rest. An
// event appended by another process on the same file is never here: a feed
// whose next event is one of those reads it from the file, as are events
// older than the last recentKeep, or a gap in the positions here (another
// process's appends between two of this one's).
type recentLog struct {
	mu   sync.Mutex
	pos  []int64       // ascending
	envs []es.Envelope // envs[i] is at pos[i]

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
			r.pos, r.envs = r.pos[:0], r.envs[:0]
			return
		}
		r.pos = append(r.pos, p)
		r.envs = append(r.envs, asRead(e))
	}
	if len(r.pos) > 2*recentKeep {
		// Drop the oldest in bulk, not one by one.
		n := copy(r.pos, r.pos[len(r.pos)-recentKeep:])
		copy(r.envs, r.envs[len(r.envs)-recentKeep:])
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
	envs = make([]es.Envelope, j-i)
	for k := range envs {
		envs[k] = r.envs[i+k]
		envs[k].Data = append([]byte(nil), envs[k].Data...) // each reader its own, as from the file
	}
	return envs, j < len(r.pos), hit
}

// asRead is an appended event as queryEvents reads it back: its time in UTC
// at the nanosecond, without a monotonic reading; empty data as none.
func asRead(e es.Envelope) es.Envelope {
	if !e.Time.IsZero() {
		e.Time = time.Unix(0, e.Time.UnixNano()).UTC()
	}
	e.Data = raw(text(e.Data))
	return e
}
