package sqlite_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/es/estest"
	"github.com/foldboard/foldboard/es/sqlite"
)

func openAt(tb testing.TB, path string) *sqlite.Store {
	tb.Helper()
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return s
}

func open(tb testing.TB) *sqlite.Store {
	tb.Helper()
	return openAt(tb, filepath.Join(tb.TempDir(), "foldboard.db"))
}

func TestConformance(t *testing.T) {
	estest.Run(t, func(t *testing.T) estest.Harness {
		s := open(t)
		return estest.Harness{Store: s, Feed: s.Feed(), ReadModels: s}
	})
	// The feeds take this process's latest appends from memory: the same
	// again with every event read from the file, as after a restart.
	t.Run("feeds reading the file", func(t *testing.T) {
		estest.Run(t, func(t *testing.T) estest.Harness {
			s := open(t)
			sqlite.ReadFeedsFromFile(s)
			return estest.Harness{Store: s, Feed: s.Feed(), ReadModels: s}
		})
	})
}

// oneEvent is an append of one event at version after+1.
func oneEvent(stream es.StreamRef, after int64) es.AppendRequest {
	now := time.Now()
	v := after + 1
	return es.AppendRequest{
		Stream:   stream,
		Expected: after,
		Events: []es.Envelope{{
			ID: es.NewULID(now), Stream: stream, Version: v, Type: "Ticked", SchemaVersion: 1,
			Time: now, Actor: "bench", Data: json.RawMessage(`{"n":` + strconv.FormatInt(v, 10) + `}`),
		}},
		State: es.StateRecord{Version: v, Schema: 1, Data: json.RawMessage(`{"count":` + strconv.FormatInt(v, 10) + `}`)},
	}
}

// next waits, within a bounded time, for the feed's next batch.
func next(t *testing.T, batches <-chan es.Batch, within time.Duration) es.Batch {
	t.Helper()
	select {
	case b := <-batches:
		return b
	case <-time.After(within):
		t.Fatalf("no batch within %v", within)
		return es.Batch{}
	}
}

// followInto runs Follow in the background, sending each batch on the channel
// it returns.
func followInto(t *testing.T, f es.Feed) <-chan es.Batch {
	t.Helper()
	batches := make(chan es.Batch)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- f.Follow(ctx, "", func(ctx context.Context, b es.Batch) error {
			select {
			case batches <- b:
			case <-ctx.Done():
			}
			return nil
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Follow: %v", err)
		}
	})
	return batches
}

func TestFeedIsWokenByAppendAtOnce(t *testing.T) {
	s := open(t)
	// The poll would never fire within the test: only the append's signal can
	// deliver the events.
	sqlite.SetPollInterval(s, time.Hour)
	stream := es.StreamRef{Type: "match", ID: "m-1"}
	if _, err := s.Append(t.Context(), oneEvent(stream, 0)); err != nil {
		t.Fatal(err)
	}
	batches := followInto(t, s.Feed())
	if b := next(t, batches, 5*time.Second); len(b.Events) != 1 {
		t.Fatalf("first batch has %d events, want 1", len(b.Events))
	}
	for v := int64(1); v < 4; v++ {
		res, err := s.Append(t.Context(), oneEvent(stream, v))
		if err != nil {
			t.Fatal(err)
		}
		b := next(t, batches, 5*time.Second)
		if len(b.Events) != 1 || b.Events[0].ID != res.Events[0].ID || b.Checkpoint != res.Events[0].Position {
			t.Fatalf("batch %+v, want the event just appended at position %s", b, res.Events[0].Position)
		}
	}
}

// Another Store on the same file stands for another process: its appends do
// not signal this store's feed, which must find them by polling.
func TestFeedFindsAppendsOfAnotherProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shared.db")
	reading, writing := openAt(t, path), openAt(t, path)
	sqlite.SetPollInterval(reading, 20*time.Millisecond)
	batches := followInto(t, reading.Feed())
	stream := es.StreamRef{Type: "cart", ID: "c-1"}
	for v := range int64(3) {
		res, err := writing.Append(t.Context(), oneEvent(stream, v))
		if err != nil {
			t.Fatal(err)
		}
		b := next(t, batches, 5*time.Second)
		if len(b.Events) != 1 || b.Events[0].ID != res.Events[0].ID {
			t.Fatalf("batch %+v, want the event appended by the other store", b)
		}
	}
}

// Two stores on one file have two writer connections: the guard must hold
// across them, not only within one process's queue.
func TestAppendersOnTwoConnectionsLeaveNoGaps(t *testing.T) {
	path := filepath.Join(t.TempDir(), "shared.db")
	stores := []*sqlite.Store{openAt(t, path), openAt(t, path)}
	stream := es.StreamRef{Type: "match", ID: "m-hot"}
	const perStore, each = 4, 25
	var wg sync.WaitGroup
	for _, s := range stores {
		for range perStore {
			wg.Go(func() {
				for range each {
					for {
						head, err := s.Head(t.Context(), stream)
						if err != nil {
							t.Error(err)
							return
						}
						_, err = s.Append(t.Context(), oneEvent(stream, head.Version))
						if errors.Is(err, es.ErrConflict) {
							continue
						}
						if err != nil {
							t.Error(err)
							return
						}
						break
					}
				}
			})
		}
	}
	wg.Wait()
	envs, err := stores[0].ReadStream(t.Context(), stream, es.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	const total = 2 * perStore * each
	if len(envs) != total {
		t.Fatalf("%d events, want %d", len(envs), total)
	}
	for i, e := range envs {
		if e.Version != int64(i)+1 {
			t.Fatalf("event %d has version %d", i, e.Version)
		}
	}
}

func TestReopenKeepsEverything(t *testing.T) {
	path := filepath.Join(t.TempDir(), "foldboard.db")
	s, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	stream := es.StreamRef{Type: "post", ID: "p-1"}
	first, err := s.Append(t.Context(), oneEvent(stream, 0))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SaveReadModels(t.Context(), "posts", first.Events[0].Position, map[string]json.RawMessage{"p-1": json.RawMessage(`{"title":"hi"}`)}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openAt(t, path)
	if head, err := s.Head(t.Context(), stream); err != nil || head.Version != 1 {
		t.Fatalf("Head after reopening: version %d, err %v; want 1", head.Version, err)
	}
	cp, docs, err := s.LoadReadModels(t.Context(), "posts")
	if err != nil || cp != first.Events[0].Position || len(docs) != 1 {
		t.Fatalf("read models after reopening: %q %v %v", cp, docs, err)
	}
	second, err := s.Append(t.Context(), oneEvent(stream, 1))
	if err != nil {
		t.Fatal(err)
	}
	p1, _ := strconv.ParseInt(first.Events[0].Position, 10, 64)
	p2, _ := strconv.ParseInt(second.Events[0].Position, 10, 64)
	if p2 <= p1 {
		t.Errorf("position after reopening %d, want more than %d", p2, p1)
	}
}

func TestOpenRefusesWhatIsNotAFile(t *testing.T) {
	for _, path := range []string{"", ":memory:", "file:x.db", filepath.Join(t.TempDir(), "a?b.db")} {
		if s, err := sqlite.Open(t.Context(), path); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded, want an error", path)
		}
	}
}

func TestOpenConfiguresTheWriter(t *testing.T) {
	s := open(t)
	for pragma, want := range map[string]string{
		"journal_mode": "wal",
		"synchronous":  "2", // FULL
		"foreign_keys": "1",
		"busy_timeout": "5000",
	} {
		got, err := sqlite.WriterPragma(s, pragma)
		if err != nil || got != want {
			t.Errorf("PRAGMA %s = %q (err %v), want %q", pragma, got, err, want)
		}
	}
}

func TestFollowRefusesForeignCheckpoint(t *testing.T) {
	s := open(t)
	err := s.Feed().Follow(t.Context(), "shard-1:42", func(context.Context, es.Batch) error { return nil })
	if err == nil {
		t.Fatal("Follow from a checkpoint that is not a position succeeded")
	}
}

// BenchmarkAppend appends single events with 1, 4 and 16 writers, each to its
// own stream, or all to one hot stream with re-read-and-retry.
func BenchmarkAppend(b *testing.B) {
	for _, hot := range []bool{false, true} {
		for _, writers := range []int{1, 4, 16} {
			streams := "separate"
			if hot {
				streams = "hot"
			}
			b.Run(fmt.Sprintf("streams=%s/writers=%d", streams, writers), func(b *testing.B) {
				benchmarkAppend(b, writers, hot)
			})
		}
	}
}

func benchmarkAppend(b *testing.B, writers int, hot bool) {
	s := open(b)
	ctx := context.Background()
	var claimed, conflicts atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for w := range writers {
		wg.Go(func() {
			stream := es.StreamRef{Type: "bench", ID: "hot"}
			if !hot {
				stream.ID = fmt.Sprintf("w-%d", w)
			}
			var version int64
			for claimed.Add(1) <= int64(b.N) {
				for {
					if hot {
						head, err := s.Head(ctx, stream)
						if err != nil {
							b.Error(err)
							return
						}
						version = head.Version
					}
					_, err := s.Append(ctx, oneEvent(stream, version))
					if errors.Is(err, es.ErrConflict) {
						conflicts.Add(1)
						continue
					}
					if err != nil {
						b.Error(err)
						return
					}
					version++
					break
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(conflicts.Load())/float64(b.N), "conflicts/op")
	if envs, err := s.ReadLog(ctx, es.LogQuery{Limit: b.N + 1}); err != nil || len(envs.Events) != b.N {
		b.Fatalf("log holds %d events (err %v), want %d", len(envs.Events), err, b.N)
	}
}
