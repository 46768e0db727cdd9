package dynamo

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
	stypes "github.com/aws/aws-sdk-go-v2/service/dynamodbstreams/types"

	"github.com/foldboard/foldboard/es"
)

// fakeStreams is a scripted DynamoDB Streams: a shard tree that a test grows,
// closes and trims, with failures on cue. DynamoDB Local keeps one shard
// forever, so shard lineage can only be tested this way.
type fakeStreams struct {
	mu       sync.Mutex
	shards   []*fakeShard // in the order DescribeStream lists them
	pageSize int          // shards per DescribeStream page
	seq      int
	iters    map[string]fakeIter
	nextIter int
	// failures to answer, per shard, in order, before the next GetRecords
	// succeeds: an *stypes.ExpiredIteratorException, a throttle …
	fail  map[string][]error
	calls []string
	// delay, when set, is how long each GetRecords takes, outside the lock;
	// inFlight and maxInFlight count the calls under way together.
	delay                 time.Duration
	inFlight, maxInFlight int
	// together, when set with opened, holds each GetRecords (for delay at
	// most) until that many are under way at once, and then none: a feed
	// that reads that many in parallel gets there at once however loaded
	// the machine, one that reads fewer waits out the delay on each.
	together int
	opened   chan struct{}
	// growing, when set, is a shard that gets a new record before each read
	// of it: writes that outpace the reads, so it never reads empty.
	growing string
	grown   int
}

type fakeShard struct {
	id, parent string
	records    []stypes.Record
	trimmed    int // records[:trimmed] have left the stream
	closed     bool
}

type fakeIter struct {
	shard string
	pos   int
}

func newFakeStreams() *fakeStreams {
	return &fakeStreams{pageSize: 1, iters: map[string]fakeIter{}, fail: map[string][]error{}}
}

func (f *fakeStreams) shard(id string) *fakeShard {
	for _, sh := range f.shards {
		if sh.id == id {
			return sh
		}
	}
	return nil
}

// addShard adds a shard; listed first, so that describe order is not parent
// order.
func (f *fakeStreams) addShard(id, parent string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.shards = append([]*fakeShard{{id: id, parent: parent}}, f.shards...)
}

// put adds a record of each event to a shard and returns their sequence numbers.
func (f *fakeStreams) put(shard string, envs ...es.Envelope) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.putLocked(shard, envs...)
}

func (f *fakeStreams) putLocked(shard string, envs ...es.Envelope) []string {
	sh := f.shard(shard)
	if sh == nil || sh.closed {
		panic("fakeStreams: no open shard " + shard)
	}
	var seqs []string
	for _, e := range envs {
		f.seq++
		seq := fmt.Sprintf("%021d", f.seq*100)
		seqs = append(seqs, seq)
		sh.records = append(sh.records, stypes.Record{
			EventName: stypes.OperationTypeInsert,
			Dynamodb: &stypes.StreamRecord{
				SequenceNumber: aws.String(seq),
				// As DynamoDB gives it: rounded down to the second.
				ApproximateCreationDateTime: aws.Time(time.Now().Truncate(time.Second)),
				NewImage:                    toStreams(eventItem(e)),
				StreamViewType:              stypes.StreamViewTypeNewImage,
			},
		})
	}
	return seqs
}

func (f *fakeStreams) close(shard string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.shard(shard).closed = true
}

// trim removes a shard's first n records from the stream.
func (f *fakeStreams) trim(shard string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.shard(shard).trimmed = n
}

func (f *fakeStreams) failNext(shard string, errs ...error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[shard] = append(f.fail[shard], errs...)
}

func (f *fakeStreams) log() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakeStreams) DescribeStream(_ context.Context, in *dynamodbstreams.DescribeStreamInput, _ ...func(*dynamodbstreams.Options)) (*dynamodbstreams.DescribeStreamOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, "DescribeStream "+aws.ToString(in.ExclusiveStartShardId))
	start := 0
	if in.ExclusiveStartShardId != nil {
		for i, sh := range f.shards {
			if sh.id == *in.ExclusiveStartShardId {
				start = i + 1
			}
		}
	}
	end := min(start+f.pageSize, len(f.shards))
	desc := &stypes.StreamDescription{StreamArn: in.StreamArn, StreamStatus: stypes.StreamStatusEnabled}
	for _, sh := range f.shards[start:end] {
		s := stypes.Shard{ShardId: aws.String(sh.id), SequenceNumberRange: &stypes.SequenceNumberRange{StartingSequenceNumber: aws.String(fmt.Sprintf("%021d", 0))}}
		if sh.closed {
			// As DynamoDB lists a closed shard: with an ending sequence number.
			s.SequenceNumberRange.EndingSequenceNumber = aws.String(fmt.Sprintf("%021d", f.seq*100))
		}
		if sh.parent != "" {
			s.ParentShardId = aws.String(sh.parent)
		}
		desc.Shards = append(desc.Shards, s)
	}
	if end < len(f.shards) {
		desc.LastEvaluatedShardId = aws.String(f.shards[end-1].id)
	}
	return &dynamodbstreams.DescribeStreamOutput{StreamDescription: desc}, nil
}

func (f *fakeStreams) GetShardIterator(_ context.Context, in *dynamodbstreams.GetShardIteratorInput, _ ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetShardIteratorOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := aws.ToString(in.ShardId)
	f.calls = append(f.calls, fmt.Sprintf("GetShardIterator %s %s %s", id, in.ShardIteratorType, aws.ToString(in.SequenceNumber)))
	sh := f.shard(id)
	if sh == nil {
		return nil, &stypes.ResourceNotFoundException{Message: aws.String("no shard " + id)}
	}
	pos := sh.trimmed
	switch in.ShardIteratorType {
	case stypes.ShardIteratorTypeTrimHorizon:
	case stypes.ShardIteratorTypeAfterSequenceNumber:
		want := aws.ToString(in.SequenceNumber)
		pos = -1
		for i, r := range sh.records {
			if *r.Dynamodb.SequenceNumber == want {
				pos = i + 1
			}
		}
		if pos < 0 || pos-1 < sh.trimmed {
			return nil, &stypes.TrimmedDataAccessException{Message: aws.String("trimmed: " + want)}
		}
	default:
		return nil, fmt.Errorf("fakeStreams: iterator type %s", in.ShardIteratorType)
	}
	f.nextIter++
	it := strconv.Itoa(f.nextIter)
	f.iters[it] = fakeIter{shard: id, pos: pos}
	return &dynamodbstreams.GetShardIteratorOutput{ShardIterator: aws.String(it)}, nil
}

func (f *fakeStreams) GetRecords(ctx context.Context, in *dynamodbstreams.GetRecordsInput, _ ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetRecordsOutput, error) {
	f.mu.Lock()
	delay, opened := f.delay, f.opened
	f.inFlight++
	f.maxInFlight = max(f.maxInFlight, f.inFlight)
	if opened != nil && f.inFlight >= f.together {
		select {
		case <-opened:
		default:
			close(opened)
		}
	}
	f.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-opened: // nil, and never ready, without together
		case <-ctx.Done():
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	defer func() { f.inFlight-- }()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	it, ok := f.iters[aws.ToString(in.ShardIterator)]
	if !ok {
		return nil, fmt.Errorf("fakeStreams: unknown iterator %q", aws.ToString(in.ShardIterator))
	}
	sh := f.shard(it.shard)
	f.calls = append(f.calls, "GetRecords "+sh.id)
	if sh.id == f.growing {
		f.grown++
		now := time.Now().UTC()
		f.putLocked(sh.id, es.Envelope{
			ID: es.NewULID(now), Stream: es.StreamRef{Type: "match", ID: fmt.Sprintf("g-%d", f.grown)}, Version: 1,
			Type: "Ticked", SchemaVersion: 1, Time: now, Actor: "tester", Data: []byte(`{}`),
		})
	}
	if errs := f.fail[sh.id]; len(errs) > 0 {
		f.fail[sh.id] = errs[1:]
		return nil, errs[0]
	}
	if it.pos < sh.trimmed {
		return nil, &stypes.TrimmedDataAccessException{Message: aws.String("trimmed")}
	}
	end := min(len(sh.records), it.pos+int(aws.ToInt32(in.Limit)))
	out := &dynamodbstreams.GetRecordsOutput{Records: append([]stypes.Record(nil), sh.records[it.pos:end]...)}
	if !sh.closed || end < len(sh.records) {
		f.nextIter++
		next := strconv.Itoa(f.nextIter)
		f.iters[next] = fakeIter{shard: sh.id, pos: end}
		out.NextShardIterator = aws.String(next)
	}
	return out, nil
}

// recordsRead lists the shards of the GetRecords calls that were made, in order,
// collapsing repeats.
func (f *fakeStreams) recordsRead() []string {
	var out []string
	for _, c := range f.log() {
		if id, ok := strings.CutPrefix(c, "GetRecords "); ok && (len(out) == 0 || out[len(out)-1] != id) {
			out = append(out, id)
		}
	}
	return out
}

// toStreams converts a DynamoDB item to the Streams API's own types, as a
// record's NEW_IMAGE holds it.
func toStreams(item map[string]types.AttributeValue) map[string]stypes.AttributeValue {
	out := map[string]stypes.AttributeValue{}
	for k, v := range item {
		switch v := v.(type) {
		case *types.AttributeValueMemberS:
			out[k] = &stypes.AttributeValueMemberS{Value: v.Value}
		case *types.AttributeValueMemberN:
			out[k] = &stypes.AttributeValueMemberN{Value: v.Value}
		default:
			panic(fmt.Sprintf("toStreams: %T", v))
		}
	}
	return out
}
