package dynamo_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/es/dynamo"
)

// Another instance's append, named by its wake-up (Store.Wake), makes the
// holder's feed read eagerly only until it has handed that version on, as
// after an append of its own: once delivered, the feed is back at its idle
// pace. (A wake-up that named nothing kept it eager for the whole
// eagerWindow after every remote append, delivered or not.) And its own
// append heard back over the wake-up channel costs no read at all.
func TestARemoteAppendNamedByItsWakeUpEndsTheEagerReadsOnceDelivered(t *testing.T) {
	var cs *countingStreams
	cfg := config(t, func(c *dynamo.Config) {
		cs = &countingStreams{StreamsClient: c.Streams}
		c.Streams = cs
	})
	holder := open(t, cfg)
	other := open(t, config(t, func(c *dynamo.Config) { c.TablePrefix = cfg.TablePrefix }))
	c := newCollector()
	stop := follow(t, holder.Feed(), "", c)
	defer stop()
	time.Sleep(300 * time.Millisecond) // let it start and settle

	// after counts the GetRecords in the 50 ms after each delivery: the
	// one that finds the shard's end, not a poll every few milliseconds.
	const n = 20
	const window = 50 * time.Millisecond
	var after int64
	for i := range n {
		stream := es.StreamRef{Type: "match", ID: fmt.Sprint("remote-", i)}
		res := mustAppend(t, other, request(stream, 0, 1, ""))
		holder.Wake(map[es.StreamRef]int64{stream: res.Version}, false)
		c.until(t, 1, 10*time.Second)
		mark := cs.records.Load()
		time.Sleep(window)
		after += cs.records.Load() - mark
	}
	t.Logf("remote appends: %d GetRecords in the %v after each of %d deliveries", after, window, n)
	if after > 3*n {
		t.Errorf("%d GetRecords in the %v after each of %d remote appends was delivered, want at most %d: the feed went on reading eagerly", after, window, n, 3*n)
	}

	// Its own appends, heard back from the channel once delivered.
	var heard int64
	for i := range n {
		stream := es.StreamRef{Type: "match", ID: fmt.Sprint("local-", i)}
		res := mustAppend(t, holder, request(stream, 0, 1, ""))
		c.until(t, 1, 10*time.Second)
		// The read that finds the shard's end made, the feed is idle.
		mark := cs.records.Load()
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
			time.Sleep(window)
			if now := cs.records.Load(); now != mark {
				mark = now
				continue
			}
			break
		}
		holder.Wake(map[es.StreamRef]int64{stream: res.Version}, false)
		time.Sleep(window)
		heard += cs.records.Load() - mark
	}
	t.Logf("own appends heard back: %d GetRecords in the %v after each of %d", heard, window, n)
	if heard > n/2 {
		t.Errorf("%d GetRecords after %d wake-ups naming appends already delivered, want about none", heard, n)
	}

	// An older instance's wake-up, naming nothing, still wakes the feed.
	res := mustAppend(t, other, request(es.StreamRef{Type: "match", ID: "old-style"}, 0, 1, ""))
	holder.Wake(nil, true)
	if got, _ := c.until(t, 1, 10*time.Second); got[0].Stream.ID != "old-style" || got[0].Version != res.Version {
		t.Errorf("after an old-style wake-up the feed handed on %v", got)
	}
}
