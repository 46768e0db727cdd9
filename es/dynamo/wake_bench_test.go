package dynamo_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/es/dynamo"
	"github.com/foldboard/foldboard/internal/dynamotest"
)

// pageCounter counts a feed's GetRecords, the empty ones apart, and their
// time.
type pageCounter struct {
	dynamo.StreamsClient
	calls, empty, took atomic.Int64
}

func (c *pageCounter) GetRecords(ctx context.Context, in *dynamodbstreams.GetRecordsInput, o ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetRecordsOutput, error) {
	begin := time.Now()
	out, err := c.StreamsClient.GetRecords(ctx, in, o...)
	c.took.Add(int64(time.Since(begin)))
	c.calls.Add(1)
	if err == nil && len(out.Records) == 0 {
		c.empty.Add(1)
	}
	return out, err
}

// BenchmarkWakeUps is the holder's side of issue 15's "GetRecords with 1, 3
// and 5 instances, loaded" in one process, without the cluster's processes
// sharing the machine: a store with two feeds following its table (the
// projector's and the reactors' one, as a holder has), 30 appends a second to
// twelve streams, made
//
//   - local: by the store itself (a cluster of one);
//   - remote: by another store on the same tables, each followed by the
//     wake-up the relay hands the holder, naming the stream and version
//     (Store.Wake(appends, false)): another instance's append;
//   - unnamed: the same, with a wake-up that names nothing
//     (Store.Wake(nil, true)): what every wake-up was before it named the
//     append, and what an older instance's still is.
//
// The three take turns, 5 s each, three rounds, so that the machine's load
// falls on all alike; GetRecords (and the empty ones) per append and a
// second, and the mean GetRecords, per mode:
//
//	go test -run '^$' -bench WakeUps -benchtime 1x ./es/dynamo/
func BenchmarkWakeUps(b *testing.B) {
	const (
		feeds   = 2
		streams = 12
		rate    = 30
		turn    = 5 * time.Second
		rounds  = 3
	)
	counter := &pageCounter{StreamsClient: streamsClient(dynamotest.Endpoint(b))}
	prefix := dynamotest.TablePrefix(b)
	holder, err := dynamo.Open(b.Context(), dynamo.Config{Client: dynamotest.Client(b), Streams: counter, TablePrefix: prefix, CreateTables: true})
	if err != nil {
		b.Fatal(err)
	}
	other, err := dynamo.Open(b.Context(), dynamo.Config{Client: dynamotest.Client(b), TablePrefix: prefix})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(b.Context())
	defer cancel()
	var handed atomic.Int64
	for range feeds {
		go func() {
			_ = holder.Feed().Follow(ctx, "", func(_ context.Context, batch es.Batch) error {
				handed.Add(int64(len(batch.Events)))
				return nil
			})
		}()
	}
	versions := make([]int64, streams)
	type mode struct {
		name   string
		append func(i int)
	}
	appendTo := func(s *dynamo.Store, i int) es.AppendResult {
		k := i % streams
		ref := es.StreamRef{Type: "bench", ID: fmt.Sprint("s", k)}
		res, err := s.Append(b.Context(), request(ref, versions[k], 1, ""))
		if err != nil {
			b.Fatal(err)
		}
		versions[k] = res.Version
		return res
	}
	modes := []mode{
		{"local", func(i int) { appendTo(holder, i) }},
		{"remote", func(i int) {
			res := appendTo(other, i)
			holder.Wake(map[es.StreamRef]int64{res.Events[0].Stream: res.Version}, false)
		}},
		{"unnamed", func(i int) {
			appendTo(other, i)
			holder.Wake(nil, true)
		}},
	}
	type tally struct{ appends, calls, empty, took int64 }
	got := map[string]*tally{}
	i := 0
	run := func(m mode, d time.Duration) (n int64) {
		next := time.Now()
		for end := time.Now().Add(d); time.Now().Before(end); n++ {
			time.Sleep(time.Until(next))
			next = next.Add(time.Second / rate)
			m.append(i)
			i++
		}
		return n
	}
	run(modes[0], 2*time.Second) // warm up: the feeds' first reads, the JVM
	b.ResetTimer()
	for range rounds {
		for _, m := range modes {
			c0, e0, t0 := counter.calls.Load(), counter.empty.Load(), counter.took.Load()
			n := run(m, turn)
			time.Sleep(300 * time.Millisecond) // the last appends handed on
			t := got[m.name]
			if t == nil {
				t = &tally{}
				got[m.name] = t
			}
			t.appends += n
			t.calls += counter.calls.Load() - c0
			t.empty += counter.empty.Load() - e0
			t.took += counter.took.Load() - t0
		}
	}
	b.StopTimer()
	secs := (turn + 300*time.Millisecond).Seconds() * rounds
	for _, m := range modes {
		t := got[m.name]
		mean := time.Duration(t.took / max(t.calls, 1))
		b.Logf("%s: %d appends, %d GetRecords (%d empty): %.2f a append, %.1f a second; a GetRecords %v",
			m.name, t.appends, t.calls, t.empty, float64(t.calls)/float64(t.appends), float64(t.calls)/secs, mean.Round(10*time.Microsecond))
		b.ReportMetric(float64(t.calls)/float64(t.appends), m.name+"-GetRecords/append")
		b.ReportMetric(float64(t.empty)/float64(t.appends), m.name+"-empty/append")
		b.ReportMetric(float64(t.calls)/secs, m.name+"-GetRecords/s")
	}
	b.ReportMetric(0, "ns/op")
}
