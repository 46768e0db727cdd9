package dynamo

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"

	"github.com/foldboard/foldboard/es"
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
// page, not one page per idle PollInterval. Its records are put on the shard
// only, not appended by this process, so no local append makes the feed
// eager.
func TestFeedReadsABacklogOfShortPagesAtOnce(t *testing.T) {
	l := newLineage(t, 10*time.Second)
	l.s.streams = cappedStreams{l.fake, 10}
	// An idle poll far longer than the test waits: six pages read one per
	// poll would take a minute; read at once, they take no poll at all.
	l.s.cfg.PollInterval = 10 * time.Second
	l.fake.addShard("A", "")
	now := time.Now().UTC()
	const n = 60
	var envs []es.Envelope
	var want []string
	for v := int64(1); v <= n; v++ {
		envs = append(envs, es.Envelope{ID: es.NewULID(now), Stream: sS, Version: v, Type: "Ticked", SchemaVersion: 1, Time: now,
			Data: json.RawMessage(fmt.Sprintf(`{"v":%d}`, v))})
		want = append(want, fmt.Sprintf("s/%d", v))
	}
	l.fake.put("A", envs...)
	start := time.Now()
	l.follow(l.checkpointAt(map[string]string{"A": ""}))
	l.expect(want...)
	took := time.Since(start)
	t.Logf("%d events in pages of 10: %v", n, took)
	if took > l.s.cfg.PollInterval {
		t.Errorf("a backlog of %d events in pages of 10 took %v: one page per PollInterval", n, took)
	}
}
