package dynamo

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"

	"github.com/foldboard/foldboard/es"
)

var _ es.ShardedFeed = (*Feed)(nil)

// Limits of the shard listing behind Feed.Shards, which the projections
// board asks for every few seconds: DescribeStream is listed again at most
// every shardListTTL (AWS allows about 10 calls a second an account), and
// at most maxShardPages pages of it (100 shards a page) are read.
const (
	shardListTTL  = 5 * time.Second
	maxShardPages = 20
)

// shardList is the store's last listing of its stream's shards, shared by
// every Shards call.
type shardList struct {
	mu  sync.Mutex
	ttl time.Duration // shardListTTL; tests set 0 to list every time
	at  time.Time     // when listed (the wall clock: it paces calls to AWS)
	arn string
	// shards as listed; complete is false when the listing stopped at
	// maxShardPages.
	shards   []listedShard
	complete bool
}

type listedShard struct {
	id, parent string
	closed     bool // has an ending sequence number
}

// list is the stream's shards, listed again when the last listing is older
// than the TTL.
func (s *Store) listShards(ctx context.Context) (arn string, shards []listedShard, complete bool, err error) {
	l := &s.shardList
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.at.IsZero() && time.Since(l.at) < l.ttl {
		return l.arn, l.shards, l.complete, nil
	}
	t, err := s.db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(s.events)})
	if err != nil {
		return "", nil, false, err
	}
	if t.Table.LatestStreamArn == nil {
		return "", nil, false, fmt.Errorf("dynamo: table %s has no stream", s.events)
	}
	arn = *t.Table.LatestStreamArn
	in := &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(arn)}
	complete = false
	for range maxShardPages {
		out, err := s.streams.DescribeStream(ctx, in)
		if err != nil {
			return "", nil, false, err
		}
		for _, sh := range out.StreamDescription.Shards {
			ls := listedShard{id: aws.ToString(sh.ShardId), parent: aws.ToString(sh.ParentShardId)}
			ls.closed = sh.SequenceNumberRange != nil && sh.SequenceNumberRange.EndingSequenceNumber != nil
			shards = append(shards, ls)
		}
		if in.ExclusiveStartShardId = out.StreamDescription.LastEvaluatedShardId; in.ExclusiveStartShardId == nil {
			complete = true
			break
		}
	}
	l.at, l.arn, l.shards, l.complete = time.Now(), arn, shards, complete
	return arn, shards, complete, nil
}

// Shards implements es.ShardedFeed: the stream's shards (one listing shared
// by every call for a few seconds) and, for each, where the checkpoint from
// stands in it and when the stream's 24-hour retention passes it there:
//
//   - a shard the checkpoint has handed on records of: a day after the last
//     of them was made (a feed resuming there needs that record: once it
//     is trimmed the feed re-bootstraps from the events table);
//   - a shard it has handed on nothing of: 20 hours after the checkpoint
//     was made (a feed resuming from a checkpoint older than that
//     re-bootstraps rather than risk records trimmed unread);
//   - a shard it names that has left the stream: passed already;
//   - a shard read to its end, or one it has not met: never.
//
// A shard where the checkpoint stands at the newest record this process's
// feed found there, with a read that found nothing after it within the
// last minute, is caught up: nothing in it is unread, so nothing the
// retention takes is lost (a feed resuming there after the record has
// gone still re-bootstraps).
//
// The last re-bootstrap the checkpoint tells of comes with it, and whether
// the checkpoint is still in it.
func (f *Feed) Shards(ctx context.Context, from string, now time.Time) (es.ShardReport, error) {
	rep := es.ShardReport{Retention: streamRetention, Shards: []es.ShardPosition{}}
	if f.s.streams == nil {
		return rep, fmt.Errorf("dynamo: feed: Config.Streams is nil")
	}
	var cp checkpoint
	if from != "" {
		var err error
		if cp, err = parseCheckpoint(from); err != nil {
			return rep, err
		}
	}
	arn, listed, complete, err := f.s.listShards(ctx)
	if err != nil {
		return rep, err
	}
	if cp.Stream != arn {
		// The feed's first start, or a checkpoint of another stream, which
		// it re-bootstraps from: no position in these shards.
		cp = checkpoint{Boot: cp.Boot}
	}
	if cp.Boot != nil {
		rep.Bootstrap = &es.Bootstrap{At: time.Unix(cp.Boot.At, 0), Why: cp.Boot.Why, UnderWay: cp.Rebuild != nil}
	}
	made := time.Unix(cp.At, 0)
	position := func(p es.ShardPosition) es.ShardPosition {
		seq := cp.Shards[p.ID]
		p.Position = seq
		if at, ok := cp.Times[p.ID]; ok && seq != "" {
			p.PositionAt = time.Unix(at, 0)
		}
		switch {
		case seq != "" && !p.PositionAt.IsZero():
			p.Expires = p.PositionAt.Add(streamRetention)
		case seq != "" && !p.Born.IsZero():
			// A checkpoint made before positions were timed: the record is
			// no older than its shard.
			p.Expires = p.Born.Add(streamRetention)
		case seq == "":
			p.Expires = made.Add(retention)
		}
		return p
	}
	done := map[string]bool{}
	for _, id := range cp.Done {
		done[id] = true
	}
	seen := map[string]bool{}
	var all []es.ShardPosition
	for _, ls := range listed {
		seen[ls.id] = true
		p := es.ShardPosition{ID: ls.id, Parent: ls.parent, Born: shardBorn(ls.id), State: es.ShardOpen}
		_, inCheckpoint := cp.Shards[ls.id]
		switch {
		case done[ls.id]:
			p.State = es.ShardDone
		case !inCheckpoint:
			p.State = es.ShardNew
		default:
			if ls.closed {
				p.State = es.ShardClosed
			}
			p = position(p)
			p.CaughtUp = f.s.tips.caughtUp(ls.id, p.Position, now)
		}
		all = append(all, p)
	}
	for id := range cp.Shards {
		if seen[id] {
			continue
		}
		p := position(es.ShardPosition{ID: id, Born: shardBorn(id), State: es.ShardUnknown})
		if complete {
			p.State = es.ShardTrimmed
			if p.Expires.IsZero() || p.Expires.After(now) {
				p.Expires = now // it has passed: the records are gone
			}
		}
		all = append(all, p)
	}
	sortShards(all)
	n := min(len(all), es.MaxShardsReported)
	rep.Shards, rep.LeftOff = append(rep.Shards, all[:n]...), len(all)-n
	return rep, nil
}

// sortShards puts parents before children, then the checkpoint's shards
// (where something can expire) before the others, then by id.
func sortShards(all []es.ShardPosition) {
	parent := map[string]string{}
	for _, p := range all {
		parent[p.ID] = p.Parent
	}
	depth := map[string]int{}
	for _, p := range all {
		d := 0
		for q, ok := parent[p.Parent]; ok && d < len(all); q, ok = parent[q] {
			d++
		}
		depth[p.ID] = d
	}
	rank := func(p es.ShardPosition) int {
		switch p.State {
		case es.ShardDone, es.ShardNew:
			return 1
		}
		return 0
	}
	slices.SortFunc(all, func(a, b es.ShardPosition) int {
		if d := depth[a.ID] - depth[b.ID]; d != 0 {
			return d
		}
		if r := rank(a) - rank(b); r != 0 {
			return r
		}
		return strings.Compare(a.ID, b.ID)
	})
}

// shardBorn is when a shard was made, read from its id: DynamoDB Streams
// (AWS and DynamoDB Local alike) names a shard "shardId-" and the time it
// was made in milliseconds, twenty digits, then a dash and a suffix. Zero
// for an id of another shape, or a time before Streams existed or in the
// future.
func shardBorn(id string) time.Time {
	rest, ok := strings.CutPrefix(id, "shardId-")
	if !ok || len(rest) < 21 || rest[20] != '-' {
		return time.Time{}
	}
	ms, err := strconv.ParseInt(rest[:20], 10, 64)
	if err != nil {
		return time.Time{}
	}
	born := time.UnixMilli(ms)
	if born.Before(time.Date(2014, 1, 1, 0, 0, 0, 0, time.UTC)) || born.After(time.Now().Add(24*time.Hour)) {
		return time.Time{}
	}
	return born
}

// clip cuts s to at most n bytes, at a character's edge.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
