package web

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"
)

// TestAClientThatStopsReadingIsDroppedWithoutSlowingTheOthers pushes large
// fragments as fast as they come to two clients, one of which never reads.
// The hub holds at most the newest fragment per topic for it, drops it once
// a write has waited the write timeout, and meanwhile the reading client
// receives the newest fragment promptly. When both are gone, no goroutine is
// left behind.
func TestAClientThatStopsReadingIsDroppedWithoutSlowingTheOthers(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	// Long enough that a hub that waited for the stalled client would hold
	// the reader back for longer than the lag allowed below.
	const writeTimeout, maxLag = 2 * time.Second, time.Second
	var value atomic.Int64
	filler := strings.Repeat("x", 256<<10) // a few of these fill the socket buffers
	h := NewHub(HubConfig{
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), WriteTimeout: writeTimeout,
		ValidTopic: func(topic string) bool { return topic == "t" },
		Render: func(context.Context, string, string) ([]byte, error) {
			return fmt.Appendf(nil, `<p id="t" data-v="%d">%s</p>`, value.Load(), filler), nil
		},
	})
	srv := httptest.NewServer(h)
	defer srv.Close()
	defer h.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/?topic=t"
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	slow, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.CloseNow() // it never reads
	fast, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	fast.SetReadLimit(1 << 20)
	var got atomic.Int64 // the newest value the reading client has
	read := make(chan error, 1)
	go func() {
		for {
			_, msg, err := fast.Read(ctx)
			if err != nil {
				read <- err
				return
			}
			var v int64
			fmt.Sscanf(string(msg), `<p id="t" data-v="%d">`, &v)
			got.Store(v)
		}
	}()
	waitUntil(t, 5*time.Second, "both clients connected", func() bool { return h.Clients() == 2 })

	// Publish for a while, checking that the reader keeps up and that the
	// hub never queues more than one fragment per topic for anyone.
	begin := time.Now()
	var dropped, worstLag time.Duration
	var maxPending int
	published := []time.Time{begin} // published[v] is when value v was published
	for time.Since(begin) < writeTimeout+time.Second {
		published = append(published, time.Now())
		value.Add(1)
		h.Publish(ctx, []string{"t"})
		time.Sleep(5 * time.Millisecond)
		// How long the oldest fragment the reader has not seen has waited.
		if seen := got.Load(); seen+1 < int64(len(published)) {
			worstLag = max(worstLag, time.Since(published[seen+1]))
		}
		maxPending = max(maxPending, h.maxPending())
		if dropped == 0 && h.Clients() == 1 {
			dropped = time.Since(begin)
		}
	}
	final := value.Load()
	waitUntil(t, time.Second, "the reading client has the newest fragment", func() bool { return got.Load() == final })
	if dropped == 0 {
		waitUntil(t, 3*time.Second, "the client that stopped reading is dropped", func() bool { return h.Clients() == 1 })
		dropped = time.Since(begin)
	}
	if dropped > writeTimeout+3*time.Second {
		t.Errorf("the client that stopped reading was dropped after %v", dropped)
	}
	if maxPending > 1 {
		t.Errorf("a client of one topic had %d fragments queued", maxPending)
	}
	if worstLag > maxLag {
		t.Errorf("the reading client fell %v behind while the other stalled", worstLag)
	}
	t.Logf("dropped the stalled client after %v (write timeout %v); the reader was at most %v behind; %d fragments published",
		dropped.Round(time.Millisecond), writeTimeout, worstLag.Round(time.Millisecond), final)

	fast.Close(websocket.StatusNormalClosure, "")
	<-read
	waitUntil(t, 5*time.Second, "every client gone", func() bool { return h.Clients() == 0 })
}

// maxPending is the most fragments any client has queued (its topics here
// being one, at most one may wait).
func (h *Hub) maxPending() int {
	h.mu.Lock()
	var clients []*client
	for _, subs := range h.topics {
		for c := range subs {
			clients = append(clients, c)
		}
	}
	h.mu.Unlock()
	n := 0
	for _, c := range clients {
		c.mu.Lock()
		n = max(n, len(c.order), len(c.pending))
		c.mu.Unlock()
	}
	return n
}

func waitUntil(t *testing.T, limit time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", limit, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
