package dynamo

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	stypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/foldboard/foldboard/es"
)

// limitedStreams throttles GetRecords called within gap of the call before,
// as AWS does past a shard's 5 reads a second (DynamoDB Local never does).
type limitedStreams struct {
	*fakeStreams
	gap time.Duration
	// shard, when set, is the one shard limited; the others are not.
	shard string

	mu    sync.Mutex
	last  time.Time
	calls []limitedCall
}

type limitedCall struct {
	at        time.Time
	throttled bool
}

func (l *limitedStreams) GetRecords(ctx context.Context, in *dynamodbstreams.GetRecordsInput, o ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetRecordsOutput, error) {
	if l.shard != "" {
		l.fakeStreams.mu.Lock()
		shard := l.fakeStreams.iters[aws.ToString(in.ShardIterator)].shard
		l.fakeStreams.mu.Unlock()
		if shard != l.shard {
			return l.fakeStreams.GetRecords(ctx, in, o...)
		}
	}
	l.mu.Lock()
	now := time.Now()
	throttled := now.Sub(l.last) < l.gap
	l.last = now
	l.calls = append(l.calls, limitedCall{at: now, throttled: throttled})
	l.mu.Unlock()
	if throttled {
		return nil, &stypes.LimitExceededException{Message: aws.String("rate exceeded for shard")}
	}
	return l.fakeStreams.GetRecords(ctx, in, o...)
}

// after counts the calls since from: those read and those throttled.
func (l *limitedStreams) after(from time.Time) (reads, throttles int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.calls {
		switch {
		case c.at.Before(from):
		case c.throttled:
			throttles++
		default:
			reads++
		}
	}
	return reads, throttles
}

// A shard that is throttled is read at the pace it allows: local appends
// still make the feed eager, but no longer with a read every few
// milliseconds that the shard refuses, and every event still arrives.
func TestFeedSettlesUnderAThrottledShardsPace(t *testing.T) {
	l := newLineage(t, 10*time.Second)
	limited := &limitedStreams{fakeStreams: l.fake, gap: 200 * time.Millisecond}
	l.s.streams = limited
	l.fake.addShard("A", "")
	l.follow(l.checkpointAt(map[string]string{"A": ""}))
	// Appends for 3 s, up to 40 a second, each waking the feed.
	start := time.Now()
	var want []string
	for i := 0; time.Since(start) < 3*time.Second; i++ {
		envs := l.appendEvents(sS, int64(i), 1)
		l.fake.put("A", envs...)
		want = append(want, fmt.Sprintf("s/%d", i+1))
		time.Sleep(25 * time.Millisecond)
	}
	l.expect(want...)
	// After the first second (finding the pace), most reads get through.
	reads, throttles := limited.after(start.Add(time.Second))
	t.Logf("%d appends; after the first second, %d reads and %d throttled", len(want), reads, throttles)
	if reads == 0 || throttles*2 > reads {
		t.Errorf("after the first second %d GetRecords throttled against %d read: the feed does not keep to the shard's pace", throttles, reads)
	}
}

// Read in parallel with its siblings, a throttled shard still keeps to its
// pace: only the shards due are read together.
func TestFeedKeepsAThrottledShardsPaceAmongSiblingsReadInParallel(t *testing.T) {
	l := newLineage(t, 10*time.Second)
	limited := &limitedStreams{fakeStreams: l.fake, gap: 200 * time.Millisecond, shard: "D"}
	l.s.streams = limited
	l.fake.addShard("A", "")
	for _, id := range []string{"B", "C", "D"} {
		l.fake.addShard(id, "A")
	}
	l.fake.close("A")
	l.follow(l.checkpointAt(map[string]string{"A": "", "B": "", "C": "", "D": ""}))
	// Appends for 4 s to a stream on each child, each waking the feed.
	start := time.Now()
	var want []string
	for i := 0; time.Since(start) < 4*time.Second; i++ {
		for _, sh := range []struct {
			shard  string
			stream es.StreamRef
		}{{"B", sS}, {"C", sT}, {"D", sU}} {
			envs := l.appendEvents(sh.stream, int64(i), 1)
			l.fake.put(sh.shard, envs...)
			want = append(want, fmt.Sprintf("%s/%d", sh.stream.ID, i+1))
		}
		time.Sleep(25 * time.Millisecond)
	}
	l.expect(want...)
	reads, throttles := limited.after(start.Add(time.Second))
	t.Logf("%d appends; after the first second, shard D: %d reads and %d throttled", len(want), reads, throttles)
	if reads == 0 || throttles*2 > reads {
		t.Errorf("after the first second %d GetRecords on D throttled against %d read: the parallel reads do not keep to its pace", throttles, reads)
	}
}
