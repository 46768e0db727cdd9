package relay_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/es/relay"
	"github.com/foldboard/foldboard/internal/redistest"
)

func TestMain(m *testing.M) {
	// go-redis reports each failed dial on stderr; the tests stop Redis on
	// purpose.
	redis.SetLogger(discard{})
	redistest.Main(m)
}

type discard struct{}

func (discard) Printf(context.Context, string, ...any) {}

// quiet is a logger for tests whose Redis goes away on purpose.
var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// open opens a relay on url with the test's own key prefix (unless opts
// names one), closed at the test's end.
func open(t testing.TB, url string, opts relay.Options) *relay.Relay {
	t.Helper()
	if opts.Prefix == "" {
		opts.Prefix = redistest.Prefix(t)
	}
	r, err := relay.Open(t.Context(), url, opts)
	if err != nil {
		t.Fatalf("relay.Open(%s): %v", url, err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// rawClient is a plain client for looking at what the relay wrote.
func rawClient(t testing.TB, url string) *redis.Client {
	t.Helper()
	o, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(o)
	t.Cleanup(func() { c.Close() })
	return c
}

// streamKey is the relay's stream for prefix (see the package comment).
func streamKey(prefix string) string { return "{" + prefix + "relay}:applied" }

var base = time.Date(2026, 12, 2, 15, 4, 5, 123456789, time.UTC)

// event is the n-th event of a test's log, with every field set.
func event(n int) es.Envelope {
	return es.Envelope{
		ID:            fmt.Sprintf("01JEVENT%018d", n),
		Stream:        es.StreamRef{Type: "match", ID: "m-" + strconv.Itoa(n%3)},
		Version:       int64(n/3 + 1),
		Type:          "BallBowled",
		SchemaVersion: 2,
		Time:          base.Add(time.Duration(n) * time.Millisecond),
		Actor:         "ann",
		CorrelationID: "corr-" + strconv.Itoa(n),
		CausationID:   "cause-" + strconv.Itoa(n),
		CommandID:     "cmd-" + strconv.Itoa(n),
		Data:          json.RawMessage(`{"runs":` + strconv.Itoa(n%7) + `,"note":"ünïcode \"quoted\""}`),
		Position:      "pos-" + strconv.Itoa(n),
	}
}

// events are the events numbered from, from+1, … to-1.
func events(from, to int) []es.Envelope {
	var out []es.Envelope
	for n := from; n < to; n++ {
		out = append(out, event(n))
	}
	return out
}

// cp is the checkpoint after n events of a test's log ("" before any).
func cp(n int) string {
	if n == 0 {
		return ""
	}
	return "cp-" + strconv.Itoa(n)
}

// publish publishes the batch of events [from, to) with checkpoints cp(from)
// and cp(to), and returns it.
func publish(t testing.TB, r *relay.Relay, epoch int64, from, to int) es.Batch {
	t.Helper()
	b := es.Batch{Events: events(from, to), Checkpoint: cp(to)}
	if err := r.Publish(t.Context(), epoch, cp(from), b); err != nil {
		t.Fatalf("Publish %d..%d: %v", from, to, err)
	}
	return b
}

// following is a Follow running in the background, collecting batches.
type following struct {
	mu      sync.Mutex
	batches []es.Batch
	more    chan struct{} // a value after each batch
	done    chan error    // Follow's result
	cancel  context.CancelFunc
}

// follow starts Follow on r's feed from checkpoint from.
func follow(t testing.TB, r *relay.Relay, from string) *following {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	f := &following{more: make(chan struct{}, 1<<16), done: make(chan error, 1), cancel: cancel}
	go func() {
		f.done <- r.Feed().Follow(ctx, from, func(_ context.Context, b es.Batch) error {
			f.mu.Lock()
			f.batches = append(f.batches, b)
			f.mu.Unlock()
			f.more <- struct{}{}
			return nil
		})
	}()
	t.Cleanup(func() {
		cancel()
		<-f.done
	})
	return f
}

// got returns the batches applied so far.
func (f *following) got() []es.Batch {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]es.Batch(nil), f.batches...)
}

// waitFor waits until n batches have been applied, or fails.
func (f *following) waitFor(t testing.TB, n int) []es.Batch {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		if got := f.got(); len(got) >= n {
			return got
		}
		select {
		case <-f.more:
		case err := <-f.done:
			f.done <- err
			t.Fatalf("Follow returned %v after %d of %d batches", err, len(f.got()), n)
		case <-deadline:
			t.Fatalf("waited 20 s for %d batches; have %d", n, len(f.got()))
		}
	}
}

// blocked waits until n clients of the Redis at url are blocked in XREAD:
// followers waiting for the next entry.
func blocked(t testing.TB, url string, n int) {
	t.Helper()
	raw := rawClient(t, url)
	deadline := time.Now().Add(20 * time.Second)
	for {
		list, err := raw.ClientList(t.Context()).Result()
		if err != nil {
			t.Fatal(err)
		}
		waiting := 0
		for _, line := range strings.Split(list, "\n") {
			if strings.Contains(line, "flags=b") && strings.Contains(line, "cmd=xread") {
				waiting++
			}
		}
		if waiting >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("fewer than %d clients blocked in XREAD after 20 s:\n%s", n, list)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// result waits for Follow to return, or fails.
func (f *following) result(t testing.TB) error {
	t.Helper()
	select {
	case err := <-f.done:
		f.done <- err
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("Follow did not return within 20 s")
		return nil
	}
}
