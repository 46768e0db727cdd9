package dynamo_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	stypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/es/dynamo"
	"github.com/foldboard/foldboard/internal/dynamotest"
)

// BenchmarkAppend compares an append through the store with a raw
// TransactWriteItems of the same items (one event and the head, each with its
// condition), at 1, 4 and 16 concurrent writers, each on a stream of its own.
// DynamoDB Local slows as records pile up in its streams, so the two take
// turns in blocks of 100 appends on one server, and the ratio is reported:
//
//	go test -run '^$' -bench Append -benchtime 2000x ./es/dynamo/
func BenchmarkAppend(b *testing.B) {
	for _, writers := range []int{1, 4, 16} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			db := dynamotest.Client(b)
			s, err := dynamo.Open(b.Context(), dynamo.Config{Client: db, TablePrefix: dynamotest.TablePrefix(b), CreateTables: true})
			if err != nil {
				b.Fatal(err)
			}
			raw, err := dynamo.Open(b.Context(), dynamo.Config{Client: db, TablePrefix: dynamotest.TablePrefix(b), CreateTables: true})
			if err != nil {
				b.Fatal(err)
			}
			events, state, _ := raw.Tables()
			storeAt, rawAt := make([]int64, writers), make([]int64, writers)
			stream := func(w int) es.StreamRef { return es.StreamRef{Type: "bench", ID: "w" + strconv.Itoa(w)} }
			var storeTime, rawTime time.Duration
			b.ResetTimer()
			for done := 0; done < b.N; {
				n := min(100, b.N-done)
				storeTime += block(b, writers, n, func(w int) error {
					_, err := s.Append(b.Context(), request(stream(w), storeAt[w], 1, ""))
					storeAt[w]++
					return err
				})
				rawTime += block(b, writers, n, func(w int) error {
					_, err := db.TransactWriteItems(b.Context(), rawAppend(events, state, request(stream(w), rawAt[w], 1, "")))
					rawAt[w]++
					return err
				})
				done += n
			}
			b.ReportMetric(float64(b.N)/storeTime.Seconds(), "store-appends/s")
			b.ReportMetric(float64(b.N)/rawTime.Seconds(), "raw-appends/s")
			b.ReportMetric(rawTime.Seconds()/storeTime.Seconds(), "store/raw")
		})
	}
}

// block makes n appends shared among writers (each writer appends to its own
// stream, in turn) and returns how long they took.
func block(b *testing.B, writers, n int, appendOne func(w int) error) time.Duration {
	var left atomic.Int64
	left.Store(int64(n))
	var wg sync.WaitGroup
	start := time.Now()
	for w := range writers {
		wg.Go(func() {
			for left.Add(-1) >= 0 {
				if err := appendOne(w); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start)
}

// rawAppend is the store's transaction for req, built by hand.
func rawAppend(events, state string, req es.AppendRequest) *dynamodb.TransactWriteItemsInput {
	s := func(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
	n := func(v int64) types.AttributeValue {
		return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
	}
	pk := req.Stream.Type + "#" + req.Stream.ID
	e := req.Events[0]
	in := &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{
			TableName: aws.String(events),
			Item: map[string]types.AttributeValue{
				"pk": s(pk), "sk": s(fmt.Sprintf("%010d", e.Version)), "eventId": s(e.ID), "eventType": s(e.Type),
				"schemaVersion": n(int64(e.SchemaVersion)), "version": n(e.Version), "time": s(e.Time.Format(time.RFC3339Nano)),
				"actor": s(e.Actor), "correlationId": s(e.CorrelationID), "causationId": s(e.CausationID), "data": s(string(e.Data)),
			},
			ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
			ExpressionAttributeNames: map[string]string{"#pk": "pk"},
		}},
		{Put: &types.Put{
			TableName: aws.String(state),
			Item: map[string]types.AttributeValue{
				"pk": s(pk), "sk": s("head"), "version": n(e.Version), "schema": n(int64(req.State.Schema)), "data": s(string(req.State.Data)),
			},
			ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
			ExpressionAttributeNames: map[string]string{"#pk": "pk"},
		}},
	}}
	if req.Expected > 0 {
		head := in.TransactItems[1].Put
		head.ConditionExpression = aws.String("#v = :v")
		head.ExpressionAttributeNames = map[string]string{"#v": "version"}
		head.ExpressionAttributeValues = map[string]types.AttributeValue{":v": n(req.Expected)}
	}
	return in
}

// BenchmarkFeedCatchUp compares the feed catching up on 50,000 waiting stream
// records (from a checkpoint taken before them: the stream, not a rebuild)
// with a raw loop of GetRecords over the same shard, taking turns on one
// server; each iteration reads all of them both ways:
//
//	go test -run '^$' -bench CatchUp -benchtime 3x ./es/dynamo/
func BenchmarkFeedCatchUp(b *testing.B) {
	f := &catchUp
	f.once.Do(func() { f.setup(b, 506, 99) }) // 50,094 events in 99-event appends
	if f.s == nil {
		b.Fatal("the first run's set-up failed")
	}
	var feedTime, rawTime time.Duration
	b.ResetTimer()
	for i := range b.N {
		feed := func() {
			feedTime += timed(func() {
				ctx, cancel := context.WithCancel(b.Context())
				defer cancel()
				got := 0
				err := f.s.Feed().Follow(ctx, f.cp, func(_ context.Context, batch es.Batch) error {
					if got += len(batch.Events); got >= f.events {
						cancel()
					}
					return nil
				})
				if err != nil || got < f.events {
					b.Fatalf("feed: %d events, %v", got, err)
				}
			})
		}
		raw := func() {
			rawTime += timed(func() {
				if n := rawCatchUp(b, f.sc, f.arn); n < f.events {
					b.Fatalf("raw: %d records", n)
				}
			})
		}
		if i%2 == 0 { // each goes first in turn
			feed()
			raw()
		} else {
			raw()
			feed()
		}
	}
	records := float64(b.N * f.events)
	b.ReportMetric(records/feedTime.Seconds(), "feed-events/s")
	b.ReportMetric(records/rawTime.Seconds(), "raw-records/s")
	b.ReportMetric(rawTime.Seconds()/feedTime.Seconds(), "feed/raw")
}

// catchUp is BenchmarkFeedCatchUp's store, filled once per test binary: the
// benchmark function runs more than once, and DynamoDB Local slows as its
// streams grow.
var catchUp catchUpFixture

type catchUpFixture struct {
	once   sync.Once
	s      *dynamo.Store
	sc     *dynamodbstreams.Client
	cp     string // a checkpoint before the waiting records
	arn    string
	events int
}

func (f *catchUpFixture) setup(b *testing.B, streams, per int) {
	db := dynamotest.Client(b)
	sc := streamsClient(dynamotest.Endpoint(b))
	s, err := dynamo.Open(b.Context(), dynamo.Config{Client: db, Streams: sc, TablePrefix: dynamotest.TablePrefix(b), CreateTables: true})
	if err != nil {
		b.Fatal(err)
	}
	// A checkpoint before everything: follow a first event, keep its checkpoint.
	if _, err := s.Append(b.Context(), request(es.StreamRef{Type: "bench", ID: "first"}, 0, 1, "")); err != nil {
		b.Fatal(err)
	}
	c := newCollector()
	ctx, cancel := context.WithCancel(b.Context())
	done := make(chan error, 1)
	go func() { done <- s.Feed().Follow(ctx, "", c.apply) }()
	select {
	case batch := <-c.batches:
		f.cp = batch.Checkpoint
	case <-time.After(10 * time.Second):
		b.Fatal("no first batch")
	}
	cancel()
	<-done

	start := time.Now()
	var wg sync.WaitGroup
	var next atomic.Int64
	for range 4 {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(streams); i = next.Add(1) - 1 {
				stream := es.StreamRef{Type: "bench", ID: "s" + strconv.FormatInt(i, 10)}
				if _, err := s.Append(context.Background(), request(stream, 0, per, "")); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.Logf("appended %d events in %v", streams*per, time.Since(start))
	f.s, f.sc, f.arn, f.events = s, sc, streamARN(b, db, s), streams*per
}

func timed(f func()) time.Duration {
	start := time.Now()
	f()
	return time.Since(start)
}

func streamARN(b *testing.B, db *dynamodb.Client, s *dynamo.Store) string {
	events, _, _ := s.Tables()
	out, err := db.DescribeTable(b.Context(), &dynamodb.DescribeTableInput{TableName: aws.String(events)})
	if err != nil {
		b.Fatal(err)
	}
	return aws.ToString(out.Table.LatestStreamArn)
}

// rawCatchUp reads every shard of the stream from TRIM_HORIZON with GetRecords
// until an empty page, and returns how many records came.
func rawCatchUp(b *testing.B, sc *dynamodbstreams.Client, arn string) int {
	desc, err := sc.DescribeStream(b.Context(), &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(arn)})
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for _, sh := range desc.StreamDescription.Shards {
		it, err := sc.GetShardIterator(b.Context(), &dynamodbstreams.GetShardIteratorInput{
			StreamArn: aws.String(arn), ShardId: sh.ShardId, ShardIteratorType: stypes.ShardIteratorTypeTrimHorizon,
		})
		if err != nil {
			b.Fatal(err)
		}
		for iter := it.ShardIterator; iter != nil; {
			out, err := sc.GetRecords(b.Context(), &dynamodbstreams.GetRecordsInput{ShardIterator: iter, Limit: aws.Int32(1000)})
			if err != nil {
				b.Fatal(err)
			}
			n += len(out.Records)
			if len(out.Records) == 0 {
				break
			}
			iter = out.NextShardIterator
		}
	}
	return n
}
