package relay_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/es/relay"
	"github.com/foldboard/foldboard/internal/redistest"
)

// BenchmarkPublishToApply measures how long a batch takes from the holder's
// Publish to the apply of every follower (each on its own connection, as on
// its own instance), one batch at a time, beside the raw baseline: the same
// payload through a bare XADD and a blocked XREAD, with no relay code.
func BenchmarkPublishToApply(b *testing.B) {
	for _, size := range []int{1, 100} {
		for _, followers := range []int{1, 3} {
			b.Run(fmt.Sprintf("events=%d/followers=%d", size, followers), func(b *testing.B) {
				relayed := publishToApply(b, size, followers)
				raw := rawXAddToXRead(b, size, followers)
				report(b, "relay", relayed)
				report(b, "raw", raw)
			})
		}
	}
}

func report(b *testing.B, name string, lat []time.Duration) {
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(lat[len(lat)/2]), name+"-p50-ms")
	b.ReportMetric(ms(lat[len(lat)*99/100]), name+"-p99-ms")
}

func publishToApply(b *testing.B, size, followers int) []time.Duration {
	url, prefix := redistest.URL(b), redistest.Prefix(b)
	holder := open(b, url, relay.Options{Prefix: prefix})
	applied := make(chan time.Time, followers)
	ctx, cancel := context.WithCancel(b.Context())
	done := make(chan struct{}, followers)
	defer func() {
		cancel()
		for range followers {
			<-done
		}
	}()
	for range followers {
		r := open(b, url, relay.Options{Prefix: prefix})
		go func() {
			defer func() { done <- struct{}{} }()
			_ = r.Feed().Follow(ctx, "", func(context.Context, es.Batch) error {
				applied <- time.Now()
				return nil
			})
		}()
	}
	blocked(b, url, followers)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		from, to := i*size, (i+1)*size
		start := time.Now()
		if err := holder.Publish(b.Context(), 1, cp(from), es.Batch{Events: events(from, to), Checkpoint: cp(to)}); err != nil {
			b.Fatal(err)
		}
		var last time.Time
		for range followers {
			last = <-applied
		}
		lat = append(lat, last.Sub(start))
	}
	b.StopTimer()
	return lat
}

func rawXAddToXRead(b *testing.B, size, followers int) []time.Duration {
	url, prefix := redistest.URL(b), redistest.Prefix(b)
	key := prefix + "raw"
	enc, err := json.Marshal(events(0, size))
	if err != nil {
		b.Fatal(err)
	}
	writer := rawClient(b, url)
	got := make(chan time.Time, followers)
	ctx, cancel := context.WithCancel(b.Context())
	done := make(chan struct{}, followers)
	defer func() {
		cancel()
		for range followers {
			<-done
		}
	}()
	for range followers {
		o, _ := redis.ParseURL(url)
		o.ContextTimeoutEnabled = true
		reader := redis.NewClient(o)
		stop := context.AfterFunc(ctx, func() { reader.Close() })
		go func() {
			defer func() { done <- struct{}{} }()
			defer stop()
			last := "$"
			for ctx.Err() == nil {
				res, err := reader.XRead(ctx, &redis.XReadArgs{Streams: []string{key, last}, Count: 64, Block: 2 * time.Second}).Result()
				if err != nil {
					continue
				}
				for _, m := range res[0].Messages {
					last = m.ID
					got <- time.Now()
				}
			}
		}()
	}
	blocked(b, url, followers)
	lat := make([]time.Duration, 0, b.N)
	for range b.N {
		start := time.Now()
		if err := writer.XAdd(b.Context(), &redis.XAddArgs{Stream: key, MaxLen: 100_000, Approx: true, Values: []any{"events", enc}}).Err(); err != nil {
			b.Fatal(err)
		}
		var last time.Time
		for range followers {
			last = <-got
		}
		lat = append(lat, last.Sub(start))
	}
	return lat
}
