package dynamo_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/es/dynamo"
	"github.com/foldboard/foldboard/es/estest"
	"github.com/foldboard/foldboard/internal/dynamotest"
)

var m1 = es.StreamRef{Type: "match", ID: "m-1"}

func TestAppendThenReadForwardsReverseAndHead(t *testing.T) {
	s := open(t, config(t))
	first := mustAppend(t, s, request(m1, 0, 3, ""))
	mustAppend(t, s, request(m1, 3, 2, ""))
	if first.Version != 3 || len(first.Events) != 3 {
		t.Fatalf("first append: version %d, %d events", first.Version, len(first.Events))
	}
	for _, tc := range []struct {
		opts es.ReadOptions
		want []int64
	}{
		{es.ReadOptions{}, []int64{1, 2, 3, 4, 5}},
		{es.ReadOptions{From: 2, Limit: 2}, []int64{2, 3}},
		{es.ReadOptions{Reverse: true}, []int64{5, 4, 3, 2, 1}},
		{es.ReadOptions{Reverse: true, From: 4, Limit: 2}, []int64{4, 3}},
		{es.ReadOptions{From: 6}, []int64{}},
	} {
		envs, err := s.ReadStream(t.Context(), m1, tc.opts)
		if err != nil {
			t.Fatalf("read %+v: %v", tc.opts, err)
		}
		if got := versions(envs); !slices.Equal(got, tc.want) {
			t.Errorf("read %+v: versions %v, want %v", tc.opts, got, tc.want)
		}
	}
	envs, _ := s.ReadStream(t.Context(), m1, es.ReadOptions{Limit: 1})
	want := first.Events[0]
	got := envs[0]
	if got.ID != want.ID || got.Type != want.Type || got.Actor != want.Actor || got.CausationID != want.CausationID ||
		got.CorrelationID != want.CorrelationID || !got.Time.Equal(want.Time) || string(got.Data) != string(want.Data) {
		t.Errorf("read back %+v, want %+v", got, want)
	}
	head, err := s.Head(t.Context(), m1)
	if err != nil || head.Version != 5 || string(head.Data) != `{"count":5}` {
		t.Errorf("Head = %+v, %v; want version 5", head, err)
	}
	if head, err := s.Head(t.Context(), es.StreamRef{Type: "match", ID: "none"}); err != nil || head.Version != 0 {
		t.Errorf("Head of a new stream = %+v, %v", head, err)
	}
}

func TestAppendConflictKnowsTheActualVersion(t *testing.T) {
	s := open(t, config(t))
	mustAppend(t, s, request(m1, 0, 3, ""))
	for _, expected := range []int64{0, 1, 4} {
		_, err := s.Append(t.Context(), request(m1, expected, 1, ""))
		var conflict *es.ConflictError
		if !errors.As(err, &conflict) || !errors.Is(err, es.ErrConflict) {
			t.Fatalf("append at %d: %v, want a *es.ConflictError", expected, err)
		}
		if conflict.Actual != 3 || conflict.Expected != expected {
			t.Errorf("append at %d: %+v, want Actual 3", expected, conflict)
		}
	}
	if envs, _ := s.ReadStream(t.Context(), m1, es.ReadOptions{}); len(envs) != 3 {
		t.Errorf("%d events after refused appends, want 3", len(envs))
	}
	_, err := s.Append(t.Context(), request(es.StreamRef{Type: "match", ID: "new"}, 2, 1, ""))
	var conflict *es.ConflictError
	if !errors.As(err, &conflict) || conflict.Actual != 0 {
		t.Errorf("append at 2 to a new stream: %v, want a conflict with Actual 0", err)
	}
}

func TestRepeatedCommandAnswersTheFirstResult(t *testing.T) {
	s := open(t, config(t))
	first := mustAppend(t, s, request(m1, 0, 2, "cmd-1"))
	_, err := s.Append(t.Context(), request(m1, 2, 1, "cmd-1"))
	var dup *es.DuplicateCommandError
	if !errors.As(err, &dup) {
		t.Fatalf("repeated command: %v, want *es.DuplicateCommandError", err)
	}
	if dup.First.Version != 2 || !slices.Equal(ids(dup.First.Events), ids(first.Events)) {
		t.Errorf("first result %+v, want version 2 and events %v", dup.First, ids(first.Events))
	}
	res, ok, err := s.Command(t.Context(), m1, "cmd-1")
	if err != nil || !ok || res.Version != 2 || len(res.Events) != 2 {
		t.Errorf("Command = %+v, %v, %v", res, ok, err)
	}
	if _, ok, _ := s.Command(t.Context(), m1, "cmd-2"); ok {
		t.Error("Command found an unknown command id")
	}
}

func ids(envs []es.Envelope) []string {
	out := make([]string, len(envs))
	for i, e := range envs {
		out[i] = e.ID
	}
	return out
}

func TestSnapshotReturnsNewestAtOrBelow(t *testing.T) {
	s := open(t, config(t))
	for v := int64(0); v < 30; v += 10 {
		req := request(m1, v, 10, "")
		req.Snapshot = &es.StateRecord{Version: v + 10, Schema: 1, Data: json.RawMessage(`{"snap":true}`)}
		mustAppend(t, s, req)
	}
	for _, tc := range []struct {
		at, want int64
		ok       bool
	}{{5, 0, false}, {10, 10, true}, {19, 10, true}, {30, 30, true}, {99, 30, true}} {
		snap, ok, err := s.Snapshot(t.Context(), m1, tc.at)
		if err != nil || ok != tc.ok || snap.Version != tc.want {
			t.Errorf("Snapshot(%d) = %+v, %v, %v; want version %d", tc.at, snap, ok, err, tc.want)
		}
	}
}

func TestReadLogPagesEveryStreamInVersionOrder(t *testing.T) {
	s := open(t, config(t))
	want := 0
	for i := range 12 {
		stream := es.StreamRef{Type: "cart", ID: "c-" + strings.Repeat("x", i+1)}
		for v := int64(0); v < int64(i%4+1)*3; v += 3 {
			mustAppend(t, s, request(stream, v, 3, ""))
			want += 3
		}
	}
	var all []es.Envelope
	after := ""
	for pages := 0; ; pages++ {
		page, err := s.ReadLog(t.Context(), es.LogQuery{After: after, Limit: 7})
		if err != nil {
			t.Fatalf("ReadLog: %v", err)
		}
		if len(page.Events) == 0 {
			if page.Next != "" {
				t.Errorf("empty page with Next %q", page.Next)
			}
			break
		}
		if len(page.Events) > 7 {
			t.Fatalf("page of %d events, limit 7", len(page.Events))
		}
		if last := page.Events[len(page.Events)-1]; last.Position != page.Next {
			t.Errorf("last event's Position %q, Next %q", last.Position, page.Next)
		}
		all = append(all, page.Events...)
		after = page.Next
		if pages > 100 {
			t.Fatal("ReadLog does not end")
		}
	}
	if len(all) != want {
		t.Fatalf("ReadLog gave %d events, want %d", len(all), want)
	}
	checkOrder(t, all, true)
	// Every Position continues right after its event.
	mid := all[10]
	page, err := s.ReadLog(t.Context(), es.LogQuery{After: mid.Position, Limit: 1})
	if err != nil || len(page.Events) != 1 || page.Events[0].ID != all[11].ID {
		t.Errorf("ReadLog after event 10's position: %v, %v; want event 11", page.Events, err)
	}
}

func TestReadStreamPagesThroughALongStream(t *testing.T) {
	s := open(t, config(t))
	const per, appends = 95, 24 // 2,280 events: more than a Query page of 1,000
	for i := range appends {
		mustAppend(t, s, request(m1, int64(i*per), per, ""))
	}
	envs, err := s.ReadStream(t.Context(), m1, es.ReadOptions{})
	if err != nil || len(envs) != per*appends {
		t.Fatalf("read %d events, %v; want %d", len(envs), err, per*appends)
	}
	checkOrder(t, envs, true)
	rev, err := s.ReadStream(t.Context(), m1, es.ReadOptions{Reverse: true, Limit: 1500})
	if err != nil || len(rev) != 1500 || rev[0].Version != per*appends || rev[1499].Version != per*appends-1499 {
		t.Fatalf("reverse read: %d events, %v", len(rev), err)
	}
}

func TestReadModelsRoundTripAndDelete(t *testing.T) {
	s := open(t, config(t))
	ctx := t.Context()
	if cp, docs, err := s.LoadReadModels(ctx, "p"); err != nil || cp != "" || len(docs) != 0 {
		t.Fatalf("LoadReadModels of a new projector = %q, %v, %v", cp, docs, err)
	}
	docs := map[string]json.RawMessage{}
	for i := range es.MaxDocsPerSave {
		docs["doc/"+strings.Repeat("k", i+1)] = json.RawMessage(`{"n":1}`)
	}
	if err := s.SaveReadModels(ctx, "p", "cp-1", docs); err != nil {
		t.Fatalf("SaveReadModels of %d docs: %v", len(docs), err)
	}
	if err := s.SaveReadModels(ctx, "p", "cp-2", map[string]json.RawMessage{"doc/k": nil, "doc/kk": json.RawMessage(`{"n":2}`)}); err != nil {
		t.Fatalf("SaveReadModels: %v", err)
	}
	cp, got, err := s.LoadReadModels(ctx, "p")
	if err != nil || cp != "cp-2" || len(got) != es.MaxDocsPerSave-1 || string(got["doc/kk"]) != `{"n":2}` {
		t.Errorf("LoadReadModels = %q, %d docs (kk %s), %v", cp, len(got), got["doc/kk"], err)
	}
	if _, ok := got["doc/k"]; ok {
		t.Error("a deleted document came back")
	}
	docs["one-more"] = json.RawMessage(`{}`)
	if err := s.SaveReadModels(ctx, "p", "cp-3", docs); !errors.Is(err, dynamo.ErrTooLarge) {
		t.Errorf("SaveReadModels of %d docs: %v, want ErrTooLarge", len(docs), err)
	}
}

func TestOpenWithoutCreateTablesRefusesMissingTables(t *testing.T) {
	cfg := config(t)
	cfg.CreateTables = false
	if _, err := dynamo.Open(t.Context(), cfg); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("Open without tables: %v", err)
	}
	open(t, config(t, func(c *dynamo.Config) { c.TablePrefix = cfg.TablePrefix }))
	if _, err := dynamo.Open(t.Context(), cfg); err != nil {
		t.Fatalf("Open once the tables exist: %v", err)
	}
}

// countingClient counts TransactWriteItems calls and can fail them: before
// sending (as throttling would) or after DynamoDB committed (as a lost
// response would).
type countingClient struct {
	dynamo.Client
	mu                sync.Mutex
	transactions      int
	failBefore        int // fail this many calls without sending them
	failAfterCommit   int // send, then fail this many calls as if the answer were lost
	failBeforeErrCode string
	dropToken         bool // send no ClientRequestToken, as if its 10 minutes had passed
}

func (c *countingClient) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	c.mu.Lock()
	c.transactions++
	before, after := c.failBefore > 0, c.failBefore == 0 && c.failAfterCommit > 0
	if before {
		c.failBefore--
	} else if after {
		c.failAfterCommit--
	}
	c.mu.Unlock()
	if before {
		return nil, &smithy.GenericAPIError{Code: c.failBeforeErrCode, Message: "injected"}
	}
	if c.dropToken {
		cp := *in
		cp.ClientRequestToken = nil
		in = &cp
	}
	out, err := c.Client.TransactWriteItems(ctx, in, optFns...)
	if after && err == nil {
		return nil, &smithy.GenericAPIError{Code: "InternalServerError", Message: "injected after commit", Fault: smithy.FaultServer}
	}
	return out, err
}

func (c *countingClient) calls() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.transactions
}

func TestAppendRefusesWhatDoesNotFitOneTransactionBeforeCallingDynamoDB(t *testing.T) {
	cc := &countingClient{Client: dynamotest.Client(t)}
	s := open(t, config(t, func(c *dynamo.Config) { c.Client = cc }))
	big := func(n, size int) es.AppendRequest {
		req := request(m1, 0, n, "")
		for i := range req.Events {
			req.Events[i].Data = json.RawMessage(`"` + strings.Repeat("x", size) + `"`)
		}
		return req
	}
	for name, req := range map[string]es.AppendRequest{
		"100 events and head":      big(99+1, 10),
		"an event over 400 KB":     big(1, 410<<10),
		"20 events of 300 KB each": big(20, 300<<10),
	} {
		_, err := s.Append(t.Context(), req)
		if !errors.Is(err, dynamo.ErrTooLarge) {
			t.Errorf("%s: %v, want ErrTooLarge", name, err)
		}
	}
	if n := cc.calls(); n != 0 {
		t.Errorf("%d TransactWriteItems calls, want none", n)
	}
	// The most that fits: 99 events and head, with a command id too (it
	// rides on the head, no item of its own).
	full := big(99, 10)
	full.CommandID = "c"
	mustAppend(t, s, full)
}

func TestAppendRetriesTransientErrorsWithoutAppendingTwice(t *testing.T) {
	for _, tc := range []struct {
		name           string
		before, after  int
		code           string
		wantCallsAtMin int
		dropToken      bool
	}{
		{"throttled", 2, 0, "ThrottlingException", 3, false},
		{"answer lost after commit", 0, 1, "", 2, false},
		{"answer lost twice after commit", 0, 2, "", 2, false},
		{"transaction in progress, then lost", 1, 1, "TransactionInProgressException", 3, false},
		// Without the token, the retry is refused (the stream moved on, the
		// command is recorded) and the store finds its own first event.
		{"answer lost and token forgotten", 0, 1, "", 2, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cc := &countingClient{Client: dynamotest.Client(t), failBefore: tc.before, failAfterCommit: tc.after, failBeforeErrCode: tc.code, dropToken: tc.dropToken}
			s := open(t, config(t, func(c *dynamo.Config) { c.Client = cc }))
			for _, cmd := range []string{"", "cmd-1"} {
				stream := es.StreamRef{Type: "cart", ID: "c" + cmd}
				cc.mu.Lock()
				cc.failBefore, cc.failAfterCommit = tc.before, tc.after
				cc.mu.Unlock()
				before := cc.calls()
				req := request(stream, 0, 3, cmd)
				res, err := s.Append(t.Context(), req)
				if err != nil {
					t.Fatalf("command %q: append: %v", cmd, err)
				}
				if res.Version != 3 {
					t.Errorf("command %q: version %d, want 3", cmd, res.Version)
				}
				if n := cc.calls() - before; n < tc.wantCallsAtMin {
					t.Errorf("command %q: %d calls, want at least %d", cmd, n, tc.wantCallsAtMin)
				}
				envs, _ := s.ReadStream(t.Context(), stream, es.ReadOptions{})
				if !slices.Equal(ids(envs), ids(req.Events)) {
					t.Errorf("command %q: stream holds %v, want %v", cmd, ids(envs), ids(req.Events))
				}
				if head, _ := s.Head(t.Context(), stream); head.Version != 3 {
					t.Errorf("command %q: head at %d", cmd, head.Version)
				}
			}
		})
	}
}

func TestConformance(t *testing.T) {
	estest.Run(t, func(t *testing.T) estest.Harness {
		s := open(t, config(t))
		return estest.Harness{Store: s, Feed: s.Feed(), ReadModels: s}
	})
}

func TestNewClientsReachDynamoDBLocalThroughOneEndpoint(t *testing.T) {
	env := map[string]string{dynamo.EndpointEnv: dynamotest.Endpoint(t)}
	cfg := aws.Config{Region: dynamotest.Region, Credentials: credentials.NewStaticCredentialsProvider("k", "s", "")}
	db, streams := dynamo.NewClients(cfg, func(k string) string { return env[k] })
	s := open(t, config(t, func(c *dynamo.Config) { c.Client, c.Streams = db, streams }))
	c := newCollector()
	follow(t, s.Feed(), "", c)
	want := mustAppend(t, s, request(m1, 0, 2, "")).Events
	got, _ := c.until(t, 2, 10*time.Second)
	if !slices.Equal(ids(got), ids(want)) {
		t.Errorf("fed %v, want %v", ids(got), ids(want))
	}
}
