package dynamo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/internal/dynamotest"
)

// cappedStreams answers GetRecords with at most max records, as DynamoDB
// Streams does when a page reaches 1 MB before 1000 records.
type cappedStreams struct {
	*fakeStreams
	max int32
}

func (c cappedStreams) GetRecords(ctx context.Context, in *dynamodbstreams.GetRecordsInput, o ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetRecordsOutput, error) {
	cp := *in
	cp.Limit = aws.Int32(min(aws.ToInt32(in.Limit), c.max))
	return c.fakeStreams.GetRecords(ctx, &cp, o...)
}

// A backlog whose pages are cut short (1 MB) by Streams is read page after
// page, not one page per idle PollInterval.
func TestFeedReadsABacklogOfShortPagesAtOnce(t *testing.T) {
	fake := newFakeStreams()
	s, err := Open(t.Context(), Config{
		Client: dynamotest.Client(t), Streams: cappedStreams{fake, 10}, TablePrefix: dynamotest.TablePrefix(t),
		CreateTables: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		GapTimeout: 10 * time.Second, PollInterval: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.db.DescribeTable(t.Context(), &dynamodb.DescribeTableInput{TableName: aws.String(s.events)})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(out.Table.LatestStreamArn)
	fake.addShard("A", "")
	now := time.Now().UTC()
	var envs []es.Envelope
	const n = 60
	for v := int64(1); v <= n; v++ {
		envs = append(envs, es.Envelope{ID: es.NewULID(now), Stream: sS, Version: v, Type: "Ticked", SchemaVersion: 1, Time: now,
			Data: json.RawMessage(fmt.Sprintf(`{"v":%d}`, v))})
	}
	fake.put("A", envs...)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	got := make(chan int, 100)
	start := time.Now()
	go s.Feed().Follow(ctx, checkpoint{Stream: arn, At: time.Now().Unix(), Shards: map[string]string{"A": ""}}.String(),
		func(ctx context.Context, b es.Batch) error { got <- len(b.Events); return nil })
	total := 0
	for total < n {
		select {
		case k := <-got:
			total += k
		case <-time.After(10 * time.Second):
			t.Fatalf("%d of %d", total, n)
		}
	}
	took := time.Since(start)
	t.Logf("%d events in pages of 10: %v", n, took)
	if took > 500*time.Millisecond {
		t.Errorf("a backlog of %d events in pages of 10 took %v: one page per PollInterval", n, took)
	}
}
