package dynamo

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/foldboard/foldboard/es"
)

// shardID is a shard id as DynamoDB Streams makes them: "shardId-", the
// time it was made in milliseconds (twenty digits), a suffix.
func shardID(born time.Time, n int) string {
	return fmt.Sprintf("shardId-%020d-%08x", born.UnixMilli(), n)
}

func (l *lineage) shards(cp string, now time.Time) es.ShardReport {
	l.t.Helper()
	rep, err := l.s.Feed().(es.ShardedFeed).Shards(l.t.Context(), cp, now)
	if err != nil {
		l.t.Fatalf("Shards: %v", err)
	}
	return rep
}

func byID(rep es.ShardReport) map[string]es.ShardPosition {
	out := map[string]es.ShardPosition{}
	for _, p := range rep.Shards {
		out[p.ID] = p
	}
	return out
}

// The retention countdown, from a scripted shard tree and a scripted clock:
// a parent read to its end, a child with records handed on (a day after
// the last of them), a sibling with none (20 hours after the checkpoint),
// amber, red and passed as the clock moves on; then, the records trimmed
// while the feed was stopped, the feed re-bootstraps from the events table
// and the checkpoint tells why.
func TestTheRetentionCountdownFollowsTheCheckpointThroughAShardTree(t *testing.T) {
	l := newLineage(t, 10*time.Second)
	l.s.shardList.ttl = 0 // list the scripted tree afresh on every call
	now := time.Now()
	parent, child, sibling := shardID(now.Add(-6*time.Hour), 1), shardID(now.Add(-2*time.Hour), 2), shardID(now.Add(-2*time.Hour), 3)
	l.fake.addShard(parent, "")
	l.fake.addShard(child, parent)
	l.fake.addShard(sibling, parent)
	s := l.appendEvents(sS, 0, 3)
	tt := l.appendEvents(sT, 0, 1)
	l.fake.put(parent, s[0], s[1])
	l.fake.close(parent)
	before := time.Now().Truncate(time.Second)
	seqs := l.fake.put(child, s[2], tt[0])
	after := time.Now()

	// A fresh start reads the table, then tails the tree.
	stop := l.follow("")
	l.expect("s/1", "s/2", "s/3", "t/1")
	if rep := l.shards("", now); rep.Bootstrap != nil || len(rep.Shards) != 3 || byID(rep)[child].State != es.ShardNew {
		t.Errorf("before any checkpoint: %+v", rep)
	}
	rep := l.shards(l.cp, now)
	got := byID(rep)
	if rep.Retention != 24*time.Hour || len(rep.Shards) != 3 || rep.Shards[0].ID != parent || rep.LeftOff != 0 {
		t.Fatalf("report: %+v", rep)
	}
	if b := rep.Bootstrap; b == nil || b.Why != "first start" || b.UnderWay || b.At.Before(before.Add(-time.Second)) || b.At.After(time.Now()) {
		t.Errorf("bootstrap %+v, want the first start, done", b)
	}
	p, c, sib := got[parent], got[child], got[sibling]
	if p.State != es.ShardDone || !p.Expires.IsZero() || p.Level(now) != es.CountdownNone {
		t.Errorf("parent: %+v", p)
	}
	if !p.Born.Equal(time.UnixMilli(now.Add(-6 * time.Hour).UnixMilli())) {
		t.Errorf("parent born %v, want 6 h ago", p.Born)
	}
	// The rebuild drained the child to its end: the checkpoint stands at
	// its last record, made when the test put it there.
	if c.State != es.ShardOpen || c.Parent != parent || c.Position != seqs[1] || c.PositionAt.Before(before) || c.PositionAt.After(after) {
		t.Fatalf("child: %+v, want open at %s made in [%v, %v]", c, seqs[1], before, after)
	}
	if !c.Expires.Equal(c.PositionAt.Add(24 * time.Hour)) {
		t.Errorf("child expires %v, want a day after %v", c.Expires, c.PositionAt)
	}
	made := time.Unix(l.checkpoint().At, 0)
	if sib.State != es.ShardOpen || sib.Position != "" || !sib.Expires.Equal(made.Add(20*time.Hour)) {
		t.Errorf("sibling: %+v, want open, no position, expiring 20 h after the checkpoint (%v)", sib, made)
	}
	// The feed reads on and finds nothing more: the checkpoint stands at
	// the newest record of the child (and the sibling has none), so
	// nothing there is unread and nothing is at risk: caught up. A
	// checkpoint behind the child's newest record is not.
	l.quiet(100 * time.Millisecond)
	got = byID(l.shards(l.cp, time.Now()))
	if c, sib := got[child], got[sibling]; !c.CaughtUp || c.Level(time.Now()) != es.CountdownCaughtUp || !sib.CaughtUp {
		t.Errorf("caught up: child %+v, sibling %+v", c, sib)
	}
	behind := l.checkpointAt(map[string]string{child: seqs[0], sibling: ""}, parent)
	if c := byID(l.shards(behind, time.Now()))[child]; c.CaughtUp || c.Level(time.Now()) != es.CountdownOK {
		t.Errorf("a checkpoint behind the child's newest record: %+v", c)
	}
	// Hours on, no read has said so since: the countdown again.
	for _, step := range []struct {
		after time.Duration
		left  time.Duration
		level es.Countdown
	}{
		{0, 24 * time.Hour, es.CountdownCaughtUp},
		{11*time.Hour + 59*time.Minute, 12*time.Hour + time.Minute, es.CountdownOK},
		{12*time.Hour + time.Minute, 11*time.Hour + 59*time.Minute, es.CountdownAmber},
		{20*time.Hour + time.Minute, 3*time.Hour + 59*time.Minute, es.CountdownRed},
		{24 * time.Hour, 0, es.CountdownPassed},
		{30 * time.Hour, -6 * time.Hour, es.CountdownPassed},
	} {
		at := c.PositionAt.Add(step.after)
		c := byID(l.shards(l.cp, at))[child]
		if c.Left(at) != step.left || c.Level(at) != step.level {
			t.Errorf("%v after the record: %v left, %q; want %v, %q", step.after, c.Left(at), c.Level(at), step.left, step.level)
		}
	}

	// A closed shard the checkpoint is still in is closed, not done.
	l.fake.close(sibling)
	if sib := byID(l.shards(l.cp, now))[sibling]; sib.State != es.ShardClosed {
		t.Errorf("closed sibling: %+v", sib)
	}

	// Stopped a day: the records at and after the checkpoint are trimmed,
	// and a new one is there. Started again, the feed cannot resume at its
	// checkpoint: it re-bootstraps from the events table.
	stop()
	u := l.appendEvents(sU, 0, 1)
	l.fake.put(child, u[0])
	l.fake.trim(child, 2)
	restart := time.Now()
	l.follow(l.cp)
	l.expect("s/1", "s/2", "s/3", "t/1", "u/1")
	rep = l.shards(l.cp, time.Now())
	b := rep.Bootstrap
	if b == nil || b.UnderWay || !strings.Contains(b.Why, "records of shard "+child+" were trimmed") || b.At.Before(restart.Truncate(time.Second)) {
		t.Errorf("bootstrap after the trim: %+v", b)
	}
	if c := byID(rep)[child]; c.State != es.ShardOpen || !c.CaughtUp || c.Left(time.Now()) < 23*time.Hour || c.PositionAt.Before(restart.Truncate(time.Second)) {
		t.Errorf("child after the re-bootstrap: %+v", c)
	}
}

// Checkpoints the tailer could be holding: one naming a shard that has left
// the stream (passed: it is gone), one made before positions were timed (a
// day after the shard was made, the earliest the record can go), one in the
// middle of a re-bootstrap (under way).
func TestShardsOfCheckpointsMadeElsewhere(t *testing.T) {
	l := newLineage(t, 10*time.Second)
	l.s.shardList.ttl = 0
	now := time.Now()
	live, gone := shardID(now.Add(-3*time.Hour), 1), shardID(now.Add(-30*time.Hour), 2)
	l.fake.addShard(live, "")
	cursor := "c"
	cp := checkpoint{Stream: l.arn, At: now.Unix(), Shards: map[string]string{live: "000000000000000000100", gone: "000000000000000000050"},
		Rebuild: &cursor, Boot: &bootNote{At: now.Add(-time.Minute).Unix(), Why: "shard x of the checkpoint has been trimmed"}}.String()
	rep := l.shards(cp, now)
	got := byID(rep)
	if g := got[gone]; g.State != es.ShardTrimmed || g.Level(now) != es.CountdownPassed {
		t.Errorf("a shard gone from the stream: %+v", g)
	}
	if o := got[live]; o.State != es.ShardOpen || !o.Expires.Equal(o.Born.Add(24*time.Hour)) || o.Level(now) != es.CountdownOK {
		t.Errorf("an untimed position: %+v, want expiring a day after the shard was made", o)
	}
	if b := rep.Bootstrap; b == nil || !b.UnderWay || b.Why != "shard x of the checkpoint has been trimmed" {
		t.Errorf("a checkpoint in a re-bootstrap: %+v", b)
	}
	if _, err := l.s.Feed().(es.ShardedFeed).Shards(t.Context(), "{not a checkpoint", now); err == nil {
		t.Errorf("a checkpoint that is none: no error")
	}
	if long := clip("a"+strings.Repeat("é", 200), maxBootWhy); len(long) != maxBootWhy-1 || !strings.HasSuffix(long, "é") {
		t.Errorf("clip: %d bytes", len(long))
	}
	if !shardBorn("shardId-00000000000000000001-aa").IsZero() || !shardBorn("A").IsZero() {
		t.Errorf("shardBorn read a time from an id of another shape")
	}
}
