package dynamo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	stypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/foldboard/foldboard/es"
)

// Feed tuning that needs no knob.
const (
	// eagerWindow: a local append wakes the feed, which reads at once, and
	// again every eagerPoll (growing to maxEagerPoll while reads come back
	// empty) until the append's record has been handed on, for at most this
	// long; then at its idle pace. The record reaches Streams a millisecond
	// or so after the commit on DynamoDB Local; reading on after it has come
	// (beyond the one read that finds the shard's end) would only take CPU
	// from the writes (DynamoDB Local) or read capacity (AWS, where a
	// throttled shard sets the pace: shard.minGap).
	eagerWindow  = 100 * time.Millisecond
	eagerPoll    = time.Millisecond
	maxEagerPoll = 5 * time.Millisecond
	// recordsPerCall is GetRecords's maximum.
	recordsPerCall = 1000
	// logBatch is how many events of the events table one rebuild batch holds.
	logBatch = 1000
	// streamRetention is how long DynamoDB Streams keeps a record, and
	// retention that less a margin.
	streamRetention = 24 * time.Hour
	retention       = streamRetention - 4*time.Hour
	// maxBackoff caps the pause after repeated failures (throttling,
	// DynamoDB unreachable).
	maxBackoff = 5 * time.Second
)

// errTrimmed says records the feed still needed have left the stream.
var errTrimmed = errors.New("stream records trimmed")

// Feed is the store's change feed, read from the DynamoDB Streams of the
// events table.
//
// Every event is handed on in its stream's version order: an event that
// arrives before its predecessor (records are ordered per item only) is held
// until the predecessor has been handed on, and a gap that does not fill within
// Config.GapTimeout is read from the events table, never skipped. Shards are
// read parents before children; new shards are found when one closes and every
// Config.DescribeInterval. A first start (checkpoint "") and a checkpoint whose
// records have been trimmed rebuild from the events table, then tail.
//
// Delivery is at least once: after a restart, events may be handed on again
// (where the checkpoint had to stay behind an event held back, or, with several
// shards open at once, when a stream's predecessor cannot be placed); read
// models ignore versions they have applied.
type Feed struct {
	s *Store
}

// Feed returns the store's change feed.
func (s *Store) Feed() es.Feed { return &Feed{s: s} }

// Follow implements es.Feed.
func (f *Feed) Follow(ctx context.Context, from string, apply func(context.Context, es.Batch) error) error {
	s := f.s
	if s.streams == nil {
		return errors.New("dynamo: feed: Config.Streams is nil")
	}
	var cp checkpoint
	if from != "" {
		var err error
		if cp, err = parseCheckpoint(from); err != nil {
			return err
		}
	}
	arn, err := retrying(ctx, s.log, "describing table "+s.events, func() (string, error) {
		out, err := s.db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(s.events)})
		if err != nil {
			return "", err
		}
		if out.Table.LatestStreamArn == nil {
			return "", fmt.Errorf("dynamo: feed: table %s has no stream", s.events)
		}
		return *out.Table.LatestStreamArn, nil
	})
	if err != nil {
		return quiet(ctx, err)
	}
	t := &tailer{
		s: s, streams: s.streams, log: s.log.With("table", s.events), arn: arn, apply: apply,
		shards: map[string]*shard{}, seq: newSequencer(),
	}
	return quiet(ctx, t.run(ctx, from, cp))
}

// quiet turns an error caused by the context's end into the nil that Follow
// returns then.
func quiet(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// shard is what the tailer knows of one shard.
type shard struct {
	id, parent string
	listed     bool   // in the last DescribeStream
	iter       string // "" when a new iterator is needed
	lastRead   string // sequence number of the last record read: where a new iterator starts
	safe       string // every record up to here handed on: the checkpoint
	pending    []*record
	closed     bool // read to its end
	nextPoll   time.Time
	empties    int   // empty GetRecords in a row
	failures   int   // failed calls in a row
	ahead      *page // the next page, fetched while this one is handed on

	// lastReadAt and safeAt are when those two records were made (Unix
	// seconds; 0: not known).
	lastReadAt, safeAt int64
	// readAt is when GetRecords was last called on the shard, and minGap
	// the least time between two calls: 0 until the shard is throttled
	// (AWS allows 5 reads a second a shard, DynamoDB Local any number), then
	// doubled at each throttle and shrunk by an eighth at each read that
	// is not, so that eager polling settles just under the shard's limit.
	readAt time.Time
	minGap time.Duration
}

// maxMinGap caps a throttled shard's least time between reads.
const maxMinGap = time.Second

// paced is t, or later if the shard's least time between reads says so.
func (sh *shard) paced(t time.Time) time.Time {
	if earliest := sh.readAt.Add(sh.minGap); sh.minGap > 0 && t.Before(earliest) {
		return earliest
	}
	return t
}

// page is a GetRecords call made ahead, on the iterator iter: after a full
// page the next one is fetched while the records of this one are decoded and
// handed on. Only the tailer's goroutine reads it; the records are still taken
// in order, one page after the other, so the checkpoint and the order of
// events are as without it. A page for an iterator the shard no longer holds
// (replaced after a failure, an expiry, a rebuild) is dropped.
type page struct {
	iter string
	done chan pageResult
}

type pageResult struct {
	out *dynamodbstreams.GetRecordsOutput
	err error
}

// fetch starts a GetRecords call on iter in its own goroutine.
func (t *tailer) fetch(ctx context.Context, iter string) *page {
	p := &page{iter: iter, done: make(chan pageResult, 1)}
	go func() {
		out, err := t.streams.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: aws.String(iter), Limit: aws.Int32(recordsPerCall)})
		p.done <- pageResult{out, err}
	}()
	return p
}

func (sh *shard) finished() bool { return sh.closed && len(sh.pending) == 0 }

// advance moves the checkpoint over the records whose events are all handed on.
func (sh *shard) advance() {
	i := 0
	for i < len(sh.pending) && sh.pending[i].done {
		sh.safe, sh.safeAt = sh.pending[i].seq, sh.pending[i].at
		i++
	}
	sh.pending = sh.pending[i:]
}

// tailer is one Follow: it owns all its state, in one goroutine.
type tailer struct {
	s       *Store
	streams StreamsClient
	log     *slog.Logger
	arn     string
	apply   func(context.Context, es.Batch) error

	shards        map[string]*shard
	order         []*shard // parents before children; nil when shards changed
	seq           *sequencer
	lastDescribe  time.Time
	describeNow   bool
	describeAfter time.Time // back-off after a failed describe
	describeFails int
	// boot is the last re-bootstrap from the events table, carried in the
	// checkpoints.
	boot *bootNote
}

func (t *tailer) run(ctx context.Context, from string, cp checkpoint) error {
	switch {
	case from == "":
		if err := t.rebuild(ctx, "first start"); err != nil {
			return err
		}
	case cp.Stream != t.arn:
		if err := t.rebuild(ctx, "the checkpoint names another stream ("+cp.Stream+")"); err != nil {
			return err
		}
	default:
		t.load(cp)
		if err := t.describeRetrying(ctx); err != nil {
			return err
		}
		if cp.Rebuild != nil {
			if err := t.scan(ctx, *cp.Rebuild); err != nil {
				return err
			}
		} else if why := t.lost(cp); why != "" {
			if err := t.rebuild(ctx, why); err != nil {
				return err
			}
		}
	}
	return t.tail(ctx)
}

// load takes the shards a checkpoint names.
func (t *tailer) load(cp checkpoint) {
	for id, seq := range cp.Shards {
		at := cp.Times[id]
		t.shards[id] = &shard{id: id, lastRead: seq, safe: seq, lastReadAt: at, safeAt: at}
	}
	t.boot = cp.Boot
	for _, id := range cp.Done {
		t.shards[id] = &shard{id: id, closed: true}
	}
	t.order = nil
}

// lost says why records after the checkpoint may have left the stream
// unread, or "" when none can have. Called after the first describe.
func (t *tailer) lost(cp checkpoint) string {
	for id, seq := range cp.Shards {
		sh := t.shards[id]
		if !sh.listed {
			return "shard " + id + " of the checkpoint has been trimmed"
		}
		if seq == "" && time.Since(time.Unix(cp.At, 0)) > retention {
			return "shard " + id + " was never read and the checkpoint is older than the stream's retention"
		}
	}
	for _, sh := range t.shards {
		if _, known := cp.Shards[sh.id]; known || slices.Contains(cp.Done, sh.id) || sh.parent == "" {
			continue
		}
		if _, ok := t.shards[sh.parent]; !ok {
			return "shard " + sh.id + " is new and its parent " + sh.parent + " has been trimmed"
		}
	}
	return ""
}

// rebuild reads every event from the events table, then leaves the tailer at
// the stream positions taken before that read began: events committed while
// the table was read come again from the stream, and are recognised as
// repeats.
func (t *tailer) rebuild(ctx context.Context, why string) error {
	t.log.Info("dynamo feed: rebuilding from the events table", "why", why)
	t.boot = &bootNote{At: time.Now().Unix(), Why: clip(why, maxBootWhy)}
	t.shards, t.order = map[string]*shard{}, nil
	t.seq.forgetHeld()
	if err := t.describeRetrying(ctx); err != nil {
		return err
	}
	if err := t.drain(ctx); err != nil {
		return err
	}
	return t.scan(ctx, "")
}

// drain reads every shard from TRIM_HORIZON to where it ended when the drain
// began (madeAfter), parents first, keeping only the positions (and the
// iterators, for the tail).
func (t *tailer) drain(ctx context.Context) error {
	start := time.Now()
	drained := map[string]bool{}
	for {
		progressed := false
		for _, sh := range t.ordered() {
			if drained[sh.id] || !t.readable(sh) {
				continue
			}
			drained[sh.id], progressed = true, true
			for restarts := 0; !sh.closed; {
				past := false
				n, err := t.getRecords(ctx, sh, func(r stypes.Record) error {
					past = past || madeAfter(r, start)
					return nil
				})
				if errors.Is(err, errTrimmed) && restarts < 3 {
					// Trimmed while draining: start that shard over.
					sh.iter, sh.lastRead, sh.lastReadAt = "", "", 0
					restarts++
					continue
				}
				if err != nil {
					return err
				}
				if n == 0 || past {
					break // empty (caught up, or put off by a failure), or at the start's end
				}
			}
			sh.safe, sh.safeAt, sh.pending = sh.lastRead, sh.lastReadAt, nil
		}
		if !progressed {
			return nil
		}
		if t.describeNow { // a shard closed: its children may be new
			if err := t.describeRetrying(ctx); err != nil {
				return err
			}
		}
	}
}

// scan hands on the events table, page by page, after the log cursor.
func (t *tailer) scan(ctx context.Context, cursor string) error {
	for {
		var envs []es.Envelope
		var done bool
		_, err := retrying(ctx, t.log, "reading the events table", func() (struct{}, error) {
			var err error
			var next string
			envs, next, done, err = t.s.readLog(ctx, cursor, logBatch)
			if err == nil {
				cursor = next
			}
			return struct{}{}, err
		})
		if err != nil {
			return err
		}
		now := time.Now()
		for _, e := range envs {
			// The log is in version order per stream, from version 1 or
			// from where the interrupted rebuild stopped: trusted.
			t.seq.offer(e, nil, now, t.s.cfg.GapTimeout, true)
		}
		var rebuild *string
		if !done {
			rebuild = &cursor
		} else if err := t.catchUp(ctx); err != nil {
			return err
		}
		if err := t.flush(ctx, rebuild); err != nil {
			return err
		}
		if done {
			return nil
		}
	}
}

// madeAfter reports whether a record was made after start. A drain or a
// catch-up stops at the first such record: an empty page, the only other
// end, never comes while writes arrive faster than a read goes round (a
// slow GetRecords, steady commands). The event's own time is taken when
// its command is decided, before the commit: an event timed after start
// was committed after it (give or take the writers' clock skew, which only
// moves the stop a little; a stop too early costs repeats that the tail
// recognises). DynamoDB's ApproximateCreationDateTime says the same where
// it is precise enough (AWS rounds it down to the second; DynamoDB Local,
// to the minute).
func madeAfter(r stypes.Record, start time.Time) bool {
	if at := r.Dynamodb.ApproximateCreationDateTime; at != nil && at.After(start) {
		return true
	}
	v, ok := r.Dynamodb.NewImage[attrTime].(*stypes.AttributeValueMemberS)
	if !ok {
		return false
	}
	at, err := time.Parse(time.RFC3339Nano, v.Value)
	return err == nil && at.After(start)
}

// recordTime is when a record was made, in Unix seconds (0: not known):
// DynamoDB's ApproximateCreationDateTime (rounded down, so never late), or
// else its event's own time, taken just before the commit.
func recordTime(r stypes.Record) int64 {
	if at := r.Dynamodb.ApproximateCreationDateTime; at != nil {
		return at.Unix()
	}
	v, ok := r.Dynamodb.NewImage[attrTime].(*stypes.AttributeValueMemberS)
	if !ok {
		return 0
	}
	at, err := time.Parse(time.RFC3339Nano, v.Value)
	if err != nil {
		return 0
	}
	return at.Unix()
}

// catchUp reads the shards to where they ended when it began, at the end of
// a rebuild: the records of events the table has just handed on (committed
// after the drain, or visible in the stream only after it) are recognised as
// repeats, so the rebuild's last checkpoint is past them and a restart from
// it does not hand them on again.
func (t *tailer) catchUp(ctx context.Context) error {
	start := time.Now()
	for _, sh := range t.ordered() {
		if sh.closed || !t.readable(sh) {
			continue
		}
		trusted := t.trusted(sh)
		for !sh.closed {
			past := false
			n, err := t.getRecords(ctx, sh, func(r stypes.Record) error {
				past = past || madeAfter(r, start)
				return t.accept(sh, r, trusted)
			})
			if errors.Is(err, errTrimmed) {
				return nil // the tail meets it again, and rebuilds
			}
			if err != nil {
				return err
			}
			if n == 0 || past {
				break
			}
		}
	}
	return nil
}

// tail reads the shards until ctx ends.
func (t *tailer) tail(ctx context.Context) error {
	wake := t.s.wakeChan()
	for {
		if ctx.Err() != nil {
			return nil
		}
		now := time.Now()
		select {
		case <-wake:
			wake = t.s.wakeChan()
			for _, sh := range t.shards {
				// A throttled shard keeps its back-off; an eager one, its
				// pace (it is due within maxEagerPoll anyway).
				if first := sh.paced(now); sh.failures == 0 && sh.nextPoll.After(first) {
					sh.nextPoll, sh.empties = first, 0
				}
			}
		default:
		}
		if t.describeDue(now) {
			if err := t.describe(ctx); err != nil {
				if classify(ctx, err) == permanent {
					return err
				}
				t.describeFails++
				t.describeAfter = now.Add(backoff(t.describeFails))
				t.log.Warn("dynamo feed: describing the stream", "err", err)
			}
		}
		progressed := false
		t.fetchDue(ctx, now)
		for _, sh := range t.ordered() {
			if sh.closed || !t.readable(sh) || sh.nextPoll.After(now) {
				continue
			}
			trusted := t.trusted(sh)
			n, err := t.getRecords(ctx, sh, func(r stypes.Record) error { return t.accept(sh, r, trusted) })
			if errors.Is(err, errTrimmed) {
				if err := t.rebuild(ctx, fmt.Sprintf("records of shard %s were trimmed before they were read", sh.id)); err != nil {
					return err
				}
				progressed = true
				break
			}
			if err != nil {
				return err
			}
			if n > 0 || sh.closed {
				progressed = true
			}
			if err := t.flush(ctx, nil); err != nil {
				return err
			}
		}
		if _, err := t.seq.fill(ctx, time.Now(), t.s.cfg.GapTimeout, t.readGap); err != nil {
			if classify(ctx, err) == permanent {
				return err
			}
			t.log.Warn("dynamo feed: reading a gap from the events table", "err", err)
		}
		if err := t.flush(ctx, nil); err != nil {
			return err
		}
		if !progressed {
			t.wait(ctx, wake)
		}
	}
}

// fetchDue starts the GetRecords calls of the shards due now at once when
// there are several (siblings after a split, a busy table's partitions), at
// most maxParallelReads, so that their round trips overlap instead of adding
// up. The loop then takes each shard's page in order, as it takes a page
// fetched ahead: records are taken as before, parents first (a child is due
// only once its parent is read to its end). A lone due shard, and a shard's
// first read (it gets its iterator there), are read in the loop.
func (t *tailer) fetchDue(ctx context.Context, now time.Time) {
	var due []*shard
	for _, sh := range t.ordered() {
		if !sh.closed && t.readable(sh) && !sh.nextPoll.After(now) && sh.iter != "" && sh.ahead == nil {
			due = append(due, sh)
		}
	}
	if len(due) < 2 {
		return
	}
	started := time.Now()
	for _, sh := range due[:min(len(due), maxParallelReads)] {
		sh.readAt = started
		sh.ahead = t.fetch(ctx, sh.iter)
	}
}

// maxParallelReads bounds the GetRecords calls fetchDue starts together:
// each may bring a page of up to 1 MB, and the SDK keeps 10 idle connections
// to a host.
const maxParallelReads = 8

// readGap reads held-back versions from the events table.
func (t *tailer) readGap(ctx context.Context, stream es.StreamRef, from, to int64) ([]es.Envelope, error) {
	envs, err := t.s.ReadStream(ctx, stream, es.ReadOptions{From: from, Limit: int(to - from + 1)})
	if err == nil {
		level := slog.LevelInfo
		if from == 1 {
			level = slog.LevelDebug // a stream first met after a restart: routine with several shards
		}
		t.log.Log(ctx, level, "dynamo feed: read a gap from the events table", "stream", stream.String(), "from", from, "to", to, "events", len(envs))
	}
	return envs, err
}

// wait sleeps until a shard is due, a held gap is due, the next describe, a
// local append, or the end.
func (t *tailer) wait(ctx context.Context, wake <-chan struct{}) {
	next := t.lastDescribe.Add(t.s.cfg.DescribeInterval)
	if t.describeNow || t.describeAfter.After(next) {
		next = t.describeAfter
	}
	for _, sh := range t.shards {
		if !sh.closed && t.readable(sh) && sh.nextPoll.Before(next) {
			next = sh.nextPoll
		}
	}
	if due, ok := t.seq.nextDue(); ok && due.Before(next) {
		next = due
	}
	d := time.Until(next)
	if d <= 0 {
		return
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
	case <-wake:
	case <-timer.C:
	}
}

// flush hands on what the sequencer released, with the checkpoint after it.
// An empty batch is not handed on: the checkpoint then waits for the next
// event (re-reading a few repeats after a restart is cheap).
func (t *tailer) flush(ctx context.Context, rebuild *string) error {
	events := t.seq.take()
	if len(events) == 0 {
		return nil
	}
	return t.apply(ctx, es.Batch{Events: events, Checkpoint: t.checkpoint(rebuild)})
}

func (t *tailer) checkpoint(rebuild *string) string {
	c := checkpoint{Stream: t.arn, At: time.Now().Unix(), Shards: map[string]string{}, Rebuild: rebuild, Boot: t.boot}
	for _, sh := range t.shards {
		sh.advance()
		switch {
		case sh.finished():
			c.Done = append(c.Done, sh.id)
		default:
			c.Shards[sh.id] = sh.safe
			if sh.safe != "" && sh.safeAt != 0 {
				if c.Times == nil {
					c.Times = map[string]int64{}
				}
				c.Times[sh.id] = sh.safeAt
			}
		}
	}
	return c.String()
}

// accept takes one stream record: its event goes to the sequencer, the record
// to the shard's pending list until that event is handed on.
func (t *tailer) accept(sh *shard, r stypes.Record, trusted bool) error {
	rec := &record{seq: aws.ToString(r.Dynamodb.SequenceNumber), at: recordTime(r)}
	sh.pending = append(sh.pending, rec)
	if r.EventName == stypes.OperationTypeRemove || r.Dynamodb.NewImage == nil {
		rec.done = true // events are never deleted; nothing to hand on
		return nil
	}
	env, err := decodeStreamEvent(r.Dynamodb.NewImage)
	if err != nil {
		return fmt.Errorf("dynamo feed: shard %s record %s: %w", sh.id, rec.seq, err)
	}
	t.seq.offer(env, rec, time.Now(), t.s.cfg.GapTimeout, trusted)
	return nil
}

// trusted reports whether, for a stream this process has not seen yet, a
// record read from sh may be taken to follow a version already handed on.
// It may when no shard that could hold the stream's previous version unread
// is open besides sh's own lineage: a stream's earlier versions precede it in
// sh, in sh's ancestors (read first), or before the checkpoint. That holds on
// a table with one partition (and on DynamoDB Local, one shard); with sibling
// shards open the previous versions are read from the events table instead.
func (t *tailer) trusted(sh *shard) bool {
	for _, o := range t.shards {
		if o == sh || o.closed || t.ancestor(o, sh) || t.ancestor(sh, o) {
			continue
		}
		return false
	}
	return true
}

// ancestor reports whether a is a parent, grandparent … of b.
func (t *tailer) ancestor(a, b *shard) bool {
	for p := b.parent; p != ""; {
		if p == a.id {
			return true
		}
		ps, ok := t.shards[p]
		if !ok {
			return false
		}
		p = ps.parent
	}
	return false
}

// readable: a shard is read only once its parent has been read to its end.
func (t *tailer) readable(sh *shard) bool {
	p, ok := t.shards[sh.parent]
	return sh.parent == "" || !ok || p.closed
}

// ordered lists the shards parents first.
func (t *tailer) ordered() []*shard {
	if t.order != nil {
		return t.order
	}
	depth := func(sh *shard) int {
		d := 0
		for p, ok := t.shards[sh.parent]; ok && d < len(t.shards); p, ok = t.shards[p.parent] {
			d++
		}
		return d
	}
	t.order = make([]*shard, 0, len(t.shards))
	for _, sh := range t.shards {
		t.order = append(t.order, sh)
	}
	slices.SortFunc(t.order, func(a, b *shard) int {
		if da, db := depth(a), depth(b); da != db {
			return da - db
		}
		switch {
		case a.id < b.id:
			return -1
		case a.id > b.id:
			return 1
		}
		return 0
	})
	return t.order
}

func (t *tailer) describeDue(now time.Time) bool {
	if now.Before(t.describeAfter) {
		return false
	}
	return t.describeNow || now.Sub(t.lastDescribe) >= t.s.cfg.DescribeInterval
}

func (t *tailer) describeRetrying(ctx context.Context) error {
	_, err := retrying(ctx, t.log, "describing the stream", func() (struct{}, error) { return struct{}{}, t.describe(ctx) })
	return err
}

// describe lists the stream's shards, page by page (ExclusiveStartShardId),
// adds the new ones and forgets finished ones that have left the stream.
func (t *tailer) describe(ctx context.Context) error {
	listed := map[string]bool{}
	in := &dynamodbstreams.DescribeStreamInput{StreamArn: aws.String(t.arn)}
	var shards []stypes.Shard
	for {
		out, err := t.streams.DescribeStream(ctx, in)
		if err != nil {
			return err
		}
		shards = append(shards, out.StreamDescription.Shards...)
		last := out.StreamDescription.LastEvaluatedShardId
		if last == nil {
			break
		}
		in.ExclusiveStartShardId = last
	}
	for _, s := range shards {
		id := aws.ToString(s.ShardId)
		listed[id] = true
		sh := t.shards[id]
		if sh == nil {
			sh = &shard{id: id}
			t.shards[id] = sh
			t.order = nil
			t.log.Debug("dynamo feed: new shard", "shard", id, "parent", aws.ToString(s.ParentShardId))
		}
		sh.parent, sh.listed = aws.ToString(s.ParentShardId), true
	}
	parents := map[string]bool{}
	for id := range listed {
		parents[t.shards[id].parent] = true
	}
	for id, sh := range t.shards {
		if !listed[id] {
			sh.listed = false
			if sh.finished() && !parents[id] {
				delete(t.shards, id)
				t.order = nil
			}
		}
	}
	t.lastDescribe, t.describeNow, t.describeFails, t.describeAfter = time.Now(), false, 0, time.Time{}
	return nil
}

// getRecords makes one GetRecords call on sh (getting an iterator first when
// it needs one) and hands each record to take. It returns how many records
// came. Throttling and transient failures put the shard off with a back-off
// and return no error; an expired iterator is replaced; trimmed records
// return errTrimmed.
func (t *tailer) getRecords(ctx context.Context, sh *shard, take func(stypes.Record) error) (int, error) {
	now := time.Now()
	if sh.iter == "" {
		in := &dynamodbstreams.GetShardIteratorInput{StreamArn: aws.String(t.arn), ShardId: aws.String(sh.id), ShardIteratorType: stypes.ShardIteratorTypeTrimHorizon}
		if sh.lastRead != "" {
			in.ShardIteratorType, in.SequenceNumber = stypes.ShardIteratorTypeAfterSequenceNumber, aws.String(sh.lastRead)
		}
		out, err := t.streams.GetShardIterator(ctx, in)
		if err != nil {
			return 0, t.shardFailed(ctx, sh, now, "getting an iterator", err)
		}
		if out.ShardIterator == nil { // a closed shard with nothing after lastRead
			sh.closed, t.describeNow = true, true
			return 0, nil
		}
		sh.iter = *out.ShardIterator
	}
	var out *dynamodbstreams.GetRecordsOutput
	var err error
	if ahead := sh.ahead; ahead != nil && ahead.iter == sh.iter {
		sh.ahead = nil
		r := <-ahead.done
		out, err = r.out, r.err
	} else {
		sh.ahead = nil
		sh.readAt = now
		out, err = t.streams.GetRecords(ctx, &dynamodbstreams.GetRecordsInput{ShardIterator: aws.String(sh.iter), Limit: aws.Int32(recordsPerCall)})
	}
	if err == nil && len(out.Records) >= recordsPerCall && out.NextShardIterator != nil {
		// A full page: more are likely waiting; fetch the next one while
		// this one is handed on.
		sh.ahead = t.fetch(ctx, *out.NextShardIterator)
	}
	var expired *stypes.ExpiredIteratorException
	if errors.As(err, &expired) {
		sh.iter, sh.nextPoll = "", now // a new one from lastRead, at once
		return 0, nil
	}
	if err != nil {
		return 0, t.shardFailed(ctx, sh, now, "reading records", err)
	}
	sh.failures = 0
	if sh.minGap -= sh.minGap / 8; sh.minGap < time.Millisecond {
		sh.minGap = 0
	}
	for _, r := range out.Records {
		if r.Dynamodb == nil {
			continue
		}
		if err := take(r); err != nil {
			return 0, err
		}
		sh.lastRead, sh.lastReadAt = aws.ToString(r.Dynamodb.SequenceNumber), recordTime(r)
	}
	n := len(out.Records)
	t.s.tips.read(sh.id, sh.lastRead, n, now)
	switch {
	case out.NextShardIterator == nil:
		sh.closed, sh.iter, t.describeNow = true, "", true
		t.log.Debug("dynamo feed: shard closed", "shard", sh.id)
	default:
		sh.iter = *out.NextShardIterator
	}
	if n > 0 {
		sh.empties = 0
	} else {
		sh.empties++
	}
	switch {
	case n > 0:
		// More may be waiting: a page is cut at 1,000 records or 1 MB, and
		// only an empty one says the shard has been read to its end.
		sh.nextPoll = now
	case t.awaiting(now):
		sh.nextPoll = now.Add(min(time.Duration(sh.empties+1)*eagerPoll, maxEagerPoll, t.s.cfg.PollInterval))
	default:
		sh.nextPoll = now.Add(t.s.cfg.PollInterval)
	}
	sh.nextPoll = sh.paced(sh.nextPoll)
	return n, nil
}

// awaiting reports whether an append of this process's has not been handed
// on yet (see Store.awaiting).
func (t *tailer) awaiting(now time.Time) bool {
	return t.s.awaiting(now, func(s es.StreamRef) int64 { return t.seq.delivered[streamKey(s)] })
}

// shardFailed sorts a failed Streams call on a shard: trimmed records and a
// vanished shard are errTrimmed (rebuild), throttling and transient errors put
// the shard off, anything else ends the feed.
func (t *tailer) shardFailed(ctx context.Context, sh *shard, now time.Time, doing string, err error) error {
	var trimmed *stypes.TrimmedDataAccessException
	var missing *stypes.ResourceNotFoundException
	switch {
	case errors.As(err, &trimmed):
		return fmt.Errorf("shard %s: %w: %w", sh.id, errTrimmed, err)
	case errors.As(err, &missing):
		// The shard (or the stream) is gone; the rebuild's describe tells
		// which, and fails if it is the stream.
		return fmt.Errorf("shard %s: %w: %w", sh.id, errTrimmed, err)
	case classify(ctx, err) != permanent:
		if throttled(err) {
			sh.minGap = min(max(2*sh.minGap, 50*time.Millisecond), maxMinGap)
		}
		sh.failures++
		sh.iter = "" // it may be the iterator's fault; a new one is cheap
		sh.nextPoll = sh.paced(now.Add(backoff(sh.failures)))
		if sh.failures == 1 || sh.failures%20 == 0 {
			t.log.Warn("dynamo feed: "+doing, "shard", sh.id, "failures", sh.failures, "err", err)
		}
		return nil
	}
	return fmt.Errorf("dynamo feed: shard %s: %s: %w", sh.id, doing, err)
}

// backoff is the pause after n failures in a row: 50 ms doubling to
// maxBackoff.
func backoff(n int) time.Duration {
	return min(50*time.Millisecond<<min(n-1, 10), maxBackoff)
}

// retrying calls do until it succeeds, fails for good, or ctx ends, pausing
// with a growing back-off after transient failures (DynamoDB unreachable,
// throttling).
func retrying[T any](ctx context.Context, log *slog.Logger, doing string, do func() (T, error)) (T, error) {
	for attempt := 1; ; attempt++ {
		v, err := do()
		if err == nil || classify(ctx, err) == permanent {
			return v, err
		}
		if attempt == 1 || attempt%20 == 0 {
			log.Warn("dynamo feed: "+doing, "attempt", attempt, "err", err)
		}
		if err := pause(ctx, attempt, 50*time.Millisecond, maxBackoff); err != nil {
			return v, err
		}
	}
}
