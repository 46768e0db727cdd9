package dynamo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	stypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/internal/dynamotest"
)

// These tests run the feed against a scripted shard tree (fakeStreams) and a
// real events table in DynamoDB Local, where gaps and rebuilds are read from.

type lineage struct {
	t     *testing.T
	s     *Store
	fake  *fakeStreams
	arn   string
	out   chan es.Batch
	cp    string // the last checkpoint handed on
	got   []es.Envelope
	start time.Time
}

func newLineage(t *testing.T, gap time.Duration) *lineage {
	t.Helper()
	fake := newFakeStreams()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
	}
	s, err := Open(t.Context(), Config{
		Client: dynamotest.Client(t), Streams: fake, TablePrefix: dynamotest.TablePrefix(t),
		CreateTables: true, Logger: log, GapTimeout: gap, PollInterval: 20 * time.Millisecond,
	})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	out, err := s.db.DescribeTable(t.Context(), &dynamodb.DescribeTableInput{TableName: aws.String(s.events)})
	if err != nil {
		t.Fatal(err)
	}
	return &lineage{t: t, s: s, fake: fake, arn: aws.ToString(out.Table.LatestStreamArn), out: make(chan es.Batch, 100)}
}

// appendEvents appends n events to stream at expected and returns them.
func (l *lineage) appendEvents(stream es.StreamRef, expected int64, n int) []es.Envelope {
	l.t.Helper()
	now := time.Now().UTC()
	req := es.AppendRequest{Stream: stream, Expected: expected, State: es.StateRecord{Version: expected + int64(n), Schema: 1, Data: json.RawMessage(`{}`)}}
	for i := range n {
		v := expected + int64(i) + 1
		req.Events = append(req.Events, es.Envelope{
			ID: es.NewULID(now), Stream: stream, Version: v, Type: "Ticked", SchemaVersion: 1, Time: now,
			Actor: "tester", Data: json.RawMessage(fmt.Sprintf(`{"v":%d}`, v)),
		})
	}
	res, err := l.s.Append(l.t.Context(), req)
	if err != nil {
		l.t.Fatalf("append: %v", err)
	}
	return res.Events
}

// checkpointAt is a checkpoint naming the shards with these positions.
func (l *lineage) checkpointAt(shards map[string]string, done ...string) string {
	return checkpoint{Stream: l.arn, At: time.Now().Unix(), Shards: shards, Done: done}.String()
}

// follow starts the feed from cp until the test ends; stop ends it.
func (l *lineage) follow(cp string) (stop func()) {
	ctx, cancel := context.WithCancel(l.t.Context())
	done := make(chan error, 1)
	l.start = time.Now()
	go func() {
		done <- l.s.Feed().Follow(ctx, cp, func(ctx context.Context, b es.Batch) error {
			select {
			case l.out <- b:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			l.t.Errorf("Follow: %v", err)
		}
	}
	l.t.Cleanup(stop)
	return stop
}

// expect waits for exactly these (stream, version) pairs, in a per-stream
// order that must match, and returns them.
func (l *lineage) expect(want ...string) []es.Envelope {
	l.t.Helper()
	var got []es.Envelope
	deadline := time.After(10 * time.Second)
	for len(got) < len(want) {
		select {
		case b := <-l.out:
			got = append(got, b.Events...)
			l.cp = b.Checkpoint
		case <-deadline:
			l.t.Fatalf("got %v, want %v", names(got), want)
		}
	}
	l.got = append(l.got, got...)
	if g := names(got); !samePerStream(g, want) {
		l.t.Fatalf("got %v, want %v", g, want)
	}
	return got
}

// quiet fails if anything is handed on within d.
func (l *lineage) quiet(d time.Duration) {
	l.t.Helper()
	select {
	case b := <-l.out:
		l.t.Fatalf("unexpected %v", names(b.Events))
	case <-time.After(d):
	}
}

func names(envs []es.Envelope) []string {
	out := make([]string, len(envs))
	for i, e := range envs {
		out[i] = fmt.Sprintf("%s/%d", e.Stream.ID, e.Version)
	}
	return out
}

// samePerStream: the same multiset, and each stream's subsequence equal.
func samePerStream(got, want []string) bool {
	if len(got) != len(want) {
		return false
	}
	by := func(xs []string) map[string][]string {
		m := map[string][]string{}
		for _, x := range xs {
			s, _, _ := strings.Cut(x, "/")
			m[s] = append(m[s], x)
		}
		return m
	}
	g, w := by(got), by(want)
	if len(g) != len(w) {
		return false
	}
	for k := range w {
		if !slices.Equal(g[k], w[k]) {
			return false
		}
	}
	return true
}

func (l *lineage) checkpoint() checkpoint {
	l.t.Helper()
	cp, err := parseCheckpoint(l.cp)
	if err != nil {
		l.t.Fatal(err)
	}
	return cp
}

var (
	sS = es.StreamRef{Type: "match", ID: "s"}
	sT = es.StreamRef{Type: "match", ID: "t"}
	sU = es.StreamRef{Type: "match", ID: "u"}
)

func TestFeedReadsParentShardsBeforeChildren(t *testing.T) {
	l := newLineage(t, 10*time.Second)
	s := l.appendEvents(sS, 0, 4)
	tt := l.appendEvents(sT, 0, 2)
	// A → B → D, A → C; DescribeStream lists them D, C, B, A, one a page.
	for _, sh := range [][2]string{{"A", ""}, {"B", "A"}, {"C", "A"}, {"D", "B"}} {
		l.fake.addShard(sh[0], sh[1])
	}
	l.fake.put("A", s[0], tt[0], s[1])
	l.fake.put("B", s[2])
	l.fake.put("C", tt[1])
	l.fake.put("D", s[3])
	for _, id := range []string{"A", "B", "C"} {
		l.fake.close(id)
	}
	l.follow(l.checkpointAt(map[string]string{"A": "", "B": "", "C": "", "D": ""}))
	l.expect("s/1", "t/1", "s/2", "s/3", "t/2", "s/4")
	read := l.fake.recordsRead()
	pos := func(id string) int { return slices.Index(read, id) }
	if pos("A") != 0 || pos("B") < pos("A") || pos("C") < pos("A") || pos("D") < pos("B") {
		t.Errorf("shards read in the order %v: want parents before children", read)
	}
	if cp := l.checkpoint(); !slices.Equal(cp.Done, []string{"A", "B", "C"}) {
		t.Errorf("checkpoint done %v, want A B C", cp.Done)
	}
	if !slices.Contains(l.fake.log(), "DescribeStream C") {
		t.Errorf("DescribeStream was not paged: %v", l.fake.log())
	}
}

// Open sibling shards are read at once, at most maxParallelReads together,
// each shard's records still in order and each stream's events in version
// order.
func TestFeedReadsSiblingShardsInParallel(t *testing.T) {
	l := newLineage(t, 10*time.Second)
	s := l.appendEvents(sS, 0, 3)
	tt := l.appendEvents(sT, 0, 3)
	l.fake.addShard("A", "")
	children := strings.Split("BCDEFGHIJK", "") // ten, more than maxParallelReads
	for _, id := range children {
		l.fake.addShard(id, "A")
	}
	l.fake.put("A", s[0], tt[0])
	l.fake.close("A")
	from := map[string]string{"A": ""}
	for _, id := range children {
		from[id] = ""
	}
	l.follow(l.checkpointAt(from))
	l.expect("s/1", "t/1")
	// Once the children have been read (their iterators got, nothing in
	// them yet), each GetRecords waits until two are under way together (2 s
	// at most): reads begun together meet there however loaded the machine.
	// How many are due at one moment depends on the machine (a load of 22
	// spread their polls: 4, then 7 at once), so the bound of eight is
	// TestFetchDueStartsTheDueShardsTogetherUpToTheBound's.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		read := l.fake.recordsRead()
		if !slices.ContainsFunc(children, func(id string) bool { return !slices.Contains(read, id) }) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the children were not read within 5 s: %v", read)
		}
	}
	l.fake.mu.Lock()
	l.fake.delay, l.fake.maxInFlight = 2*time.Second, 0
	l.fake.together, l.fake.opened = 2, make(chan struct{})
	l.fake.mu.Unlock()
	l.fake.put("B", s[1])
	l.fake.put("C", tt[1], s[2])
	l.fake.put("D", tt[2])
	l.expect("s/2", "t/2", "s/3", "t/3")
	l.fake.mu.Lock()
	most := l.fake.maxInFlight
	l.fake.mu.Unlock()
	if most < 2 || most > maxParallelReads {
		t.Errorf("at most %d GetRecords under way at once, want the children's together, %d at a time at most", most, maxParallelReads)
	}
	if read := l.fake.recordsRead(); read[0] != "A" {
		t.Errorf("shards read in the order %v: want the parent A first", read)
	}
}

func TestFeedFollowsAShardRolloverAndResumesAfterIt(t *testing.T) {
	l := newLineage(t, 10*time.Second)
	s := l.appendEvents(sS, 0, 5)
	tt := l.appendEvents(sT, 0, 1)
	l.fake.addShard("A", "")
	l.fake.put("A", s[0], s[1])
	stop := l.follow(l.checkpointAt(map[string]string{"A": ""}))
	l.expect("s/1", "s/2")

	// A closes and B takes over (the four-hourly rollover of a shard).
	l.fake.put("A", s[2])
	l.fake.close("A")
	l.fake.addShard("B", "A")
	l.fake.put("B", s[3], tt[0])
	l.expect("s/3", "s/4", "t/1")
	cp := l.checkpoint()
	if !slices.Equal(cp.Done, []string{"A"}) || len(cp.Shards) != 1 || cp.Shards["B"] == "" {
		t.Errorf("checkpoint after the rollover: %+v", cp)
	}
	stop()

	// A restart resumes in B, after what was handed on: nothing again.
	l.fake.put("B", s[4])
	l.follow(l.cp)
	l.expect("s/5")
	l.quiet(200 * time.Millisecond)
}

func TestFeedHoldsAnEarlyArrivalUntilItsPredecessorComes(t *testing.T) {
	l := newLineage(t, 10*time.Second) // long: the gap must fill from the stream
	s := l.appendEvents(sS, 0, 3)
	l.fake.addShard("A", "")
	l.fake.addShard("B", "")
	seqs := l.fake.put("A", s[0], s[2])
	l.follow(l.checkpointAt(map[string]string{"A": "", "B": ""}))
	l.expect("s/1")
	if got := l.checkpoint().Shards["A"]; got != seqs[0] {
		t.Errorf("checkpoint of A %q while version 3 is held, want %q (version 1's record)", got, seqs[0])
	}
	l.quiet(300 * time.Millisecond)
	l.fake.put("B", s[1])
	l.expect("s/2", "s/3")
	if got := l.checkpoint().Shards["A"]; got != seqs[1] {
		t.Errorf("checkpoint of A %q once version 3 went, want %q", got, seqs[1])
	}
	if time.Since(l.start) > 5*time.Second {
		t.Error("the gap was filled by the timeout, not by the record")
	}
}

func TestFeedReadsAGapThatDoesNotFillFromTheEventsTable(t *testing.T) {
	const gap = 300 * time.Millisecond
	l := newLineage(t, gap)
	s := l.appendEvents(sS, 0, 4)
	l.fake.addShard("A", "")
	l.fake.put("A", s[0], s[2], s[3]) // version 2's record is lost
	l.follow(l.checkpointAt(map[string]string{"A": ""}))
	l.expect("s/1")
	began := time.Now()
	got := l.expect("s/2", "s/3", "s/4")
	if waited := time.Since(began); waited < gap/2 {
		t.Errorf("the gap was read after %v, before the gap timeout %v", waited, gap)
	}
	if got[0].ID != s[1].ID {
		t.Errorf("version 2 from the table is %+v, want %+v", got[0], s[1])
	}
	// The checkpoint passes every record once all were handed on.
	if cp := l.checkpoint(); cp.Shards["A"] == "" {
		t.Errorf("checkpoint %+v", cp)
	}
}

func TestFeedReplacesAnExpiredIteratorAndBacksOffWhenThrottled(t *testing.T) {
	l := newLineage(t, 10*time.Second)
	s := l.appendEvents(sS, 0, 3)
	l.fake.addShard("A", "")
	seqs := l.fake.put("A", s[0])
	l.follow(l.checkpointAt(map[string]string{"A": ""}))
	l.expect("s/1")
	l.fake.failNext("A",
		&stypes.ExpiredIteratorException{Message: aws.String("expired")},
		&stypes.LimitExceededException{Message: aws.String("slow down")},
		&stypes.LimitExceededException{Message: aws.String("slow down")})
	l.fake.put("A", s[1], s[2])
	l.expect("s/2", "s/3")
	l.quiet(200 * time.Millisecond)
	if !slices.Contains(l.fake.log(), "GetShardIterator A AFTER_SEQUENCE_NUMBER "+seqs[0]) {
		t.Errorf("no new iterator after version 1's record: %v", l.fake.log())
	}
}

func TestFeedRebuildsFromTheTableWhenRecordsWereTrimmed(t *testing.T) {
	l := newLineage(t, 10*time.Second)
	s := l.appendEvents(sS, 0, 4)
	tt := l.appendEvents(sT, 0, 2)
	l.fake.addShard("A", "")
	seqs := l.fake.put("A", s[0], s[1], s[2], s[3], tt[0], tt[1])
	l.fake.trim("A", 4) // the projector had applied s/1 and s/2; s/3 and s/4 are gone
	l.follow(l.checkpointAt(map[string]string{"A": seqs[1]}))
	// Everything, from the table (handing on s/1 and s/2 again is harmless).
	l.expect("s/1", "s/2", "s/3", "s/4", "t/1", "t/2")
	l.quiet(200 * time.Millisecond) // t's records in the stream are repeats
	// Then the tail goes on.
	s5 := l.appendEvents(sS, 4, 1)
	l.fake.put("A", s5...)
	l.expect("s/5")
	if cp := l.checkpoint(); cp.Rebuild != nil || cp.Shards["A"] == "" {
		t.Errorf("checkpoint after the rebuild: %+v", cp)
	}
}

func TestFeedPlacesAStreamItHasNotSeenYet(t *testing.T) {
	// After a restart, s/3 is the first record of s. With one shard its
	// predecessors can only be behind the checkpoint: s/3 goes on alone.
	// With a sibling shard open, s/2 might still be unread there: s/1 and s/2
	// are read from the table and handed on first.
	for _, tc := range []struct {
		name   string
		shards []string
		want   []string
	}{
		{"one shard", []string{"A"}, []string{"s/3"}},
		{"sibling shards", []string{"A", "B"}, []string{"s/1", "s/2", "s/3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLineage(t, 10*time.Second)
			s := l.appendEvents(sS, 0, 3)
			positions := map[string]string{}
			for _, id := range tc.shards {
				l.fake.addShard(id, "")
				positions[id] = ""
			}
			l.fake.put("A", s[2])
			l.follow(l.checkpointAt(positions))
			l.expect(tc.want...)
			l.quiet(200 * time.Millisecond)
		})
	}
}

// fetchDue starts the reads of the shards due together, up to
// maxParallelReads: ten due siblings get eight calls under way at once (each
// held until eight are, so that a loaded machine cannot spread them), and
// no more.
func TestFetchDueStartsTheDueShardsTogetherUpToTheBound(t *testing.T) {
	fake := newFakeStreams()
	fake.delay, fake.together, fake.opened = 30*time.Second, maxParallelReads, make(chan struct{})
	tl := &tailer{streams: fake, shards: map[string]*shard{}}
	for _, id := range strings.Split("BCDEFGHIJK", "") {
		tl.shards[id] = &shard{id: id, iter: "iter-" + id}
	}
	tl.fetchDue(t.Context(), time.Now())
	started := 0
	for _, sh := range tl.shards {
		if sh.ahead != nil {
			started++
			<-sh.ahead.done
		}
	}
	fake.mu.Lock()
	most := fake.maxInFlight
	fake.mu.Unlock()
	if started != maxParallelReads || most != maxParallelReads {
		t.Errorf("%d reads started, %d under way at once; want %d of each", started, most, maxParallelReads)
	}
}
