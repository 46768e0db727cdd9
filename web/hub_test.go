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
)

// counterHub is a hub whose one topic, "t", renders a counter's value, and
// counts its renders.
type counterHub struct {
	*Hub
	value, renders atomic.Int64
	url            string
}

func newCounterHub(t *testing.T, cfg HubConfig) *counterHub {
	t.Helper()
	h := &counterHub{}
	cfg.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg.ValidTopic = func(topic string) bool { return topic == "t" }
	cfg.Render = func(context.Context, string, string) ([]byte, error) {
		h.renders.Add(1)
		return fmt.Appendf(nil, `<p id="t">%d</p>`, h.value.Load()), nil
	}
	h.Hub = NewHub(cfg)
	srv := httptest.NewServer(h.Hub)
	t.Cleanup(func() { h.Close(); srv.Close() })
	h.url = "ws" + strings.TrimPrefix(srv.URL, "http") + "/?topic=t"
	return h
}

func (h *counterHub) dial(t *testing.T, ctx context.Context) *websocket.Conn {
	t.Helper()
	conn, _, err := websocket.Dial(ctx, h.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.CloseNow() })
	return conn
}

// readUntil reads fragments until one holds want, and returns how many it read.
func readUntil(t *testing.T, ctx context.Context, conn *websocket.Conn, want string) int {
	t.Helper()
	for n := 1; ; n++ {
		_, msg, err := conn.Read(ctx)
		if err != nil {
			t.Fatalf("never received %q: %v", want, err)
		}
		if strings.Contains(string(msg), want) {
			return n
		}
	}
}

func TestHubPushesABurstOfChangesAsFewRendersOfTheNewest(t *testing.T) {
	h := newCounterHub(t, HubConfig{MinInterval: 50 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn := h.dial(t, ctx)
	readUntil(t, ctx, conn, ">0<")
	before := h.renders.Load()
	for i := range int64(500) {
		h.value.Store(i + 1)
		h.Publish(ctx, []string{"t"})
	}
	// The last change arrives, whatever was skipped on the way.
	readUntil(t, ctx, conn, ">500<")
	// One render at once, one at the end of the interval, perhaps a few
	// more if the burst outlasted an interval: never one per change.
	if n := h.renders.Load() - before; n > 10 {
		t.Fatalf("%d renders for 500 changes within a few intervals", n)
	}
}

func TestHubRefreshesAWatchedTopicOnItsClock(t *testing.T) {
	h := newCounterHub(t, HubConfig{Refresh: map[string]time.Duration{"t": 10 * time.Millisecond}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn := h.dial(t, ctx)
	readUntil(t, ctx, conn, ">0<")
	// Nothing publishes the change: the clock brings it.
	h.value.Store(7)
	readUntil(t, ctx, conn, ">7<")
}

func TestHubSendsANewSubscriberTheNextChangeEvenIfItRepeatsTheLastPush(t *testing.T) {
	h := newCounterHub(t, HubConfig{MinInterval: -1})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	first := h.dial(t, ctx)
	readUntil(t, ctx, first, ">0<")
	h.value.Store(1)
	h.Publish(ctx, []string{"t"})
	readUntil(t, ctx, first, ">1<")
	// A second page joins; whatever it rendered first, a change pushes to
	// it the newest fragment, even though the same bytes went out before.
	second := h.dial(t, ctx)
	readUntil(t, ctx, second, ">1<")
	h.value.Store(2)
	h.Publish(ctx, []string{"t"})
	readUntil(t, ctx, second, ">2<")
	readUntil(t, ctx, first, ">2<")
}
