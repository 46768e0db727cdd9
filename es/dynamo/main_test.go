package dynamo_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/es/dynamo"
	"github.com/foldboard/foldboard/internal/dynamotest"
)

func TestMain(m *testing.M) { dynamotest.Main(m) }

// streamsClient is a DynamoDB Streams client for the DynamoDB at endpoint.
func streamsClient(endpoint string) *dynamodbstreams.Client {
	return dynamotest.NewStreamsClient(endpoint)
}

// config is a Config for the shared DynamoDB Local, with the test's own
// tables; change picks what differs.
func config(t *testing.T, change ...func(*dynamo.Config)) dynamo.Config {
	t.Helper()
	cfg := dynamo.Config{
		Client:       dynamotest.Client(t),
		Streams:      streamsClient(dynamotest.Endpoint(t)),
		TablePrefix:  dynamotest.TablePrefix(t),
		CreateTables: true,
		Logger:       testLogger(t),
		GapTimeout:   200 * time.Millisecond,
	}
	for _, c := range change {
		c(&cfg)
	}
	return cfg
}

func open(t *testing.T, cfg dynamo.Config) *dynamo.Store {
	t.Helper()
	s, err := dynamo.Open(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

// testLogger writes to the test's log with -v, and nowhere otherwise.
func testLogger(t *testing.T) *slog.Logger {
	if !testing.Verbose() {
		return slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
}

// events makes n envelopes of stream numbered after+1 … after+n.
func events(stream es.StreamRef, after int64, n int, commandID string) []es.Envelope {
	now := time.Now().UTC()
	out := make([]es.Envelope, n)
	for i := range out {
		v := after + int64(i) + 1
		out[i] = es.Envelope{
			ID: es.NewULID(now), Stream: stream, Version: v, Type: "Ticked", SchemaVersion: 1,
			Time: now, Actor: "tester", CorrelationID: "corr", CausationID: fmt.Sprintf("cause-%d", v),
			CommandID: commandID, Data: json.RawMessage(fmt.Sprintf(`{"v":%d}`, v)),
		}
	}
	return out
}

// request is an append of n events to stream at expected.
func request(stream es.StreamRef, expected int64, n int, commandID string) es.AppendRequest {
	last := expected + int64(n)
	return es.AppendRequest{
		Stream: stream, Expected: expected, Events: events(stream, expected, n, commandID),
		State:     es.StateRecord{Version: last, Schema: 1, Data: json.RawMessage(fmt.Sprintf(`{"count":%d}`, last))},
		CommandID: commandID,
	}
}

func mustAppend(t *testing.T, s es.Store, req es.AppendRequest) es.AppendResult {
	t.Helper()
	res, err := s.Append(t.Context(), req)
	if err != nil {
		t.Fatalf("append to %s at %d: %v", req.Stream, req.Expected, err)
	}
	return res
}

func versions(envs []es.Envelope) []int64 {
	vs := make([]int64, len(envs))
	for i, e := range envs {
		vs[i] = e.Version
	}
	return vs
}

// collector gathers what a feed hands on.
type collector struct {
	batches chan es.Batch
}

func newCollector() *collector { return &collector{batches: make(chan es.Batch, 1000)} }

func (c *collector) apply(ctx context.Context, b es.Batch) error {
	select {
	case c.batches <- b:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// until takes batches until n events have come, or fails the test after
// timeout; it returns the events and the last checkpoint.
func (c *collector) until(t *testing.T, n int, timeout time.Duration) ([]es.Envelope, string) {
	t.Helper()
	var got []es.Envelope
	var cp string
	deadline := time.After(timeout)
	for len(got) < n {
		select {
		case b := <-c.batches:
			got = append(got, b.Events...)
			cp = b.Checkpoint
		case <-deadline:
			t.Fatalf("after %v: %d events of %d (versions %v)", timeout, len(got), n, versions(got))
		}
	}
	return got, cp
}

// quiet fails the test if more events come within d.
func (c *collector) quiet(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case b := <-c.batches:
		t.Fatalf("unexpected batch of %d events: %v", len(b.Events), b.Events)
	case <-time.After(d):
	}
}

// follow runs feed.Follow from cp in the background until the test ends or
// stop is called; it returns stop, which waits for Follow to return and
// gives its error.
func follow(t *testing.T, feed es.Feed, cp string, c *collector) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- feed.Follow(ctx, cp, c.apply) }()
	stopped := false
	var err error
	stop = func() error {
		if !stopped {
			cancel()
			err = <-done
			stopped = true
		}
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

// checkOrder fails unless each stream's events are consecutive versions.
func checkOrder(t *testing.T, envs []es.Envelope, fromStart bool) {
	t.Helper()
	last := map[es.StreamRef]int64{}
	for _, e := range envs {
		prev, seen := last[e.Stream]
		switch {
		case !seen && fromStart && e.Version != 1:
			t.Errorf("%s starts at version %d", e.Stream, e.Version)
		case seen && e.Version != prev+1:
			t.Errorf("%s: version %d follows %d", e.Stream, e.Version, prev)
		}
		last[e.Stream] = e.Version
	}
}
