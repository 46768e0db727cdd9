package sqlite_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/es/sqlite"
)

// appendStreams appends n events, in streams of 50 appended at once.
func appendStreams(t *testing.T, s *sqlite.Store, n int) {
	t.Helper()
	now := time.Now()
	for i := 0; n > 0; i++ {
		stream := es.StreamRef{Type: "cart", ID: fmt.Sprintf("c-%d", i)}
		req := es.AppendRequest{Stream: stream}
		for v := int64(1); v <= 50 && n > 0; v, n = v+1, n-1 {
			req.Events = append(req.Events, es.Envelope{
				ID: es.NewULID(now), Stream: stream, Version: v, Type: "Ticked", SchemaVersion: 1,
				Time: now, Actor: "test", Data: json.RawMessage(`{"n":` + strconv.FormatInt(v, 10) + `}`),
			})
			req.State = es.StateRecord{Version: v, Schema: 1, Data: json.RawMessage(`{}`)}
		}
		if _, err := s.Append(t.Context(), req); err != nil {
			t.Fatal(err)
		}
	}
}

// After a full batch (from the file, or from memory) the feed reads the next one while the first is being
// applied: an event appended meanwhile is not in it, but comes at once in
// the batch after (the poll would take an hour), and nothing is lost or
// repeated.
func TestFeedReadsTheNextBatchWhileApplyingAFullOne(t *testing.T) {
	for _, fromFile := range []bool{false, true} {
		t.Run(map[bool]string{false: "from memory", true: "from the file"}[fromFile], func(t *testing.T) {
			s := open(t)
			sqlite.SetPollInterval(s, time.Hour)
			if fromFile {
				sqlite.ReadFeedsFromFile(s)
			}
			appendStreams(t, s, 700)
			var sizes []int
			var positions []string
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			done := make(chan error, 1)
			third := make(chan struct{})
			go func() {
				done <- s.Feed().Follow(ctx, "", func(ctx context.Context, b es.Batch) error {
					sizes = append(sizes, len(b.Events))
					for _, env := range b.Events {
						positions = append(positions, env.Position)
					}
					switch len(sizes) {
					case 1:
						// The next batch is being read now; give it time to finish,
						// then append.
						time.Sleep(time.Second)
						if _, err := s.Append(ctx, oneEvent(es.StreamRef{Type: "match", ID: "late"}, 0)); err != nil {
							return err
						}
					case 3:
						close(third)
					}
					return nil
				})
			}()
			select {
			case <-third:
			case err := <-done:
				t.Fatalf("Follow returned %v", err)
			case <-time.After(10 * time.Second):
				t.Fatalf("batches of %v after 10 s, want 500, 200 and the late event's 1", sizes)
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(sizes) != "[500 200 1]" {
				t.Fatalf("batches of %v, want [500 200 1]: the second read before the late append", sizes)
			}
			for i, p := range positions {
				if p != strconv.Itoa(i+1) {
					t.Fatalf("event %d at position %s: the log out of order, or an event lost or repeated", i+1, p)
				}
			}
		})
	}
}

// An apply that fails while the next batch is being read ends Follow with
// its error.
func TestFeedReturnsApplyErrorWhileReadingAhead(t *testing.T) {
	for _, fromFile := range []bool{false, true} {
		t.Run(map[bool]string{false: "from memory", true: "from the file"}[fromFile], func(t *testing.T) {
			s := open(t)
			if fromFile {
				sqlite.ReadFeedsFromFile(s)
			}
			appendStreams(t, s, 1200)
			boom := errors.New("boom")
			calls := 0
			err := s.Feed().Follow(t.Context(), "", func(context.Context, es.Batch) error {
				calls++
				if calls == 2 {
					return boom
				}
				return nil
			})
			if !errors.Is(err, boom) || calls != 2 {
				t.Fatalf("Follow returned %v after %d batches, want boom after 2", err, calls)
			}
		})
	}
}
