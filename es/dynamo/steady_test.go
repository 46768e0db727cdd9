package dynamo

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	stypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/foldboard/foldboard/internal/dynamotest"
)

// Under writes that outpace the reads, no GetRecords page is ever empty: a
// first start (drain the shards, read the events table, catch up) must still
// end, at the position it began at, and hand the table's events on.
func TestFeedFirstStartFinishesUnderSteadyWrites(t *testing.T) {
	l := newLineage(t, time.Second)
	l.fake.addShard("A", "")
	l.fake.put("A", l.appendEvents(sS, 0, 3)...)
	l.fake.mu.Lock()
	l.fake.growing, l.fake.delay = "A", time.Millisecond
	l.fake.mu.Unlock()
	l.follow("")
	deadline := time.After(10 * time.Second)
	for {
		select {
		case b := <-l.out:
			for _, e := range b.Events {
				if e.Stream == sS && e.Version == 3 {
					t.Logf("handed on after %v", time.Since(l.start).Round(time.Millisecond))
					return
				}
			}
		case <-deadline:
			l.fake.mu.Lock()
			grown := l.fake.grown
			l.fake.mu.Unlock()
			t.Fatalf("nothing of the events table handed on after 10 s of steady writes (%d records written meanwhile)", grown)
		}
	}
}

// The drain's end rests on each record's time: the event's own, in the
// record's NEW_IMAGE, and DynamoDB's ApproximateCreationDateTime, which
// DynamoDB Local rounds down to the minute. Both must be there and be
// near the append.
func TestStreamRecordsCarryTheirCreationTime(t *testing.T) {
	l := newLineage(t, time.Second)
	before := time.Now()
	l.appendEvents(sS, 0, 1)
	sc := dynamotest.NewStreamsClient(dynamotest.Endpoint(t))
	desc, err := sc.DescribeStream(t.Context(), &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(l.arn)})
	if err != nil {
		t.Fatal(err)
	}
	sh := desc.StreamDescription.Shards[0]
	it, err := sc.GetShardIterator(t.Context(), &dynamodbstreams.GetShardIteratorInput{
		StreamArn: aws.String(l.arn), ShardId: sh.ShardId, ShardIteratorType: stypes.ShardIteratorTypeTrimHorizon,
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := sc.GetRecords(t.Context(), &dynamodbstreams.GetRecordsInput{ShardIterator: it.ShardIterator})
	if err != nil || len(out.Records) == 0 {
		t.Fatalf("GetRecords: %d records, %v", len(out.Records), err)
	}
	r := out.Records[0]
	if at := r.Dynamodb.ApproximateCreationDateTime; at == nil || at.Before(before.Add(-time.Minute)) || at.After(time.Now()) {
		t.Errorf("record made at %v, appended between %v and %v", at, before, time.Now())
	}
	if madeAfter(r, time.Now()) {
		t.Error("a record of an event appended before now was taken for one made after")
	}
	if !madeAfter(r, before.Add(-time.Millisecond)) {
		t.Error("a record of an event appended after the start was not taken for one made after it")
	}
}
