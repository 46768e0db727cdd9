package dynamo_test

import (
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

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
