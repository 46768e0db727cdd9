package dynamo

import (
	"sync"
	"time"
)

// tips are the newest record each shard of the stream is known to hold, as
// this process's feeds read them, and when a read last found nothing after
// it: a checkpoint standing at a shard's tip has nothing unread there, and
// nothing the retention can take from it before it is read (Feed.Shards
// says so instead of counting down).
type tips struct {
	mu     sync.Mutex
	shards map[string]tip
}

type tip struct {
	newest string    // sequence number of the newest record read
	empty  time.Time // when a read after newest found nothing; zero since a newer record came
}

// tipFresh is how recent a read that found nothing after a shard's newest
// record must be for a checkpoint there to count as caught up: a running
// feed reads every shard every PollInterval (a throttled one within a
// few seconds).
const tipFresh = time.Minute

// maxTips bounds the shards remembered (a stream lists at most
// maxShardPages × 100 at a time; those of old listings are forgotten).
const maxTips = 4 * maxShardPages * 100

// read notes a GetRecords on shard id that ended at last (the sequence
// number of the last record it brought, or the one before it when it brought
// none, "" when the shard has none), at now.
func (t *tips) read(id, last string, records int, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.shards == nil {
		t.shards = map[string]tip{}
	}
	cur, known := t.shards[id]
	switch {
	case records > 0:
		if known && !seqBefore(cur.newest, last) {
			return
		}
		cur = tip{newest: last}
	case !known || seqBefore(cur.newest, last):
		cur = tip{newest: last, empty: now}
	case last != cur.newest:
		return // a read behind the tip (another feed's): it says nothing of it
	default:
		cur.empty = now
	}
	if !known && !t.roomLocked(now) {
		return
	}
	t.shards[id] = cur
}

// roomLocked makes room for one more shard, forgetting those not read
// empty within tipFresh, and reports whether there is. t.mu is held.
func (t *tips) roomLocked(now time.Time) bool {
	if len(t.shards) < maxTips {
		return true
	}
	for k, o := range t.shards {
		if now.Sub(o.empty) > tipFresh {
			delete(t.shards, k)
		}
	}
	return len(t.shards) < maxTips
}

// caughtUp reports whether position is shard id's newest record and a read
// found nothing after it within tipFresh of now.
func (t *tips) caughtUp(id, position string, now time.Time) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	cur, ok := t.shards[id]
	return ok && !cur.empty.IsZero() && cur.newest == position && now.Sub(cur.empty) < tipFresh
}
