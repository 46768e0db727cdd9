package web_test

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/foldboard/foldboard/internal/apptest"
)

var latencyFigures = regexp.MustCompile(`id="live-latency" data-n="(\d+)" data-p50-us="(\d+)" data-p99-us="(\d+)"`)

// liveLatency reads the dashboard's command → browser figures.
func liveLatency(t *testing.T, c *client) (n int, p50, p99 time.Duration) {
	t.Helper()
	m := latencyFigures.FindStringSubmatch(c.get("/").body)
	if m == nil {
		t.Fatal("the dashboard shows no command → browser latency")
	}
	atoi := func(s string) int { v, _ := strconv.Atoi(s); return v }
	return atoi(m[1]), time.Duration(atoi(m[2])) * time.Microsecond, time.Duration(atoi(m[3])) * time.Microsecond
}

// The dashboard's command → browser figure is of the appends whose fragment
// was written to a WebSocket: none before one is pushed, then one per write,
// and never more than a timed client saw from sending the command to
// receiving its fragment (which holds the server's interval).
func TestTheDashboardShowsCommandToBrowserLatency(t *testing.T) {
	for _, store := range apptest.Stores {
		t.Run(store, func(t *testing.T) {
			app := apptest.Start(t, apptest.Options{Store: store})
			c := newClient(t, app)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if n, _, _ := liveLatency(t, c); n != 0 {
				t.Fatalf("%d writes before anyone watched", n)
			}
			// Watched from before its start: every push is of an append timed here.
			conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(app.URL, "http")+"/ws?topic=match/lat-1", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.CloseNow()
			if _, _, err := conn.Read(ctx); err != nil { // the page's first fragment: no append to time
				t.Fatal(err)
			}
			if n, _, _ := liveLatency(t, c); n != 0 {
				t.Fatalf("the first fragment counted: %d writes", n)
			}
			sent := time.Now()
			startMatch(t, c, "lat-1")
			_, msg, err := conn.Read(ctx)
			if err != nil || !strings.Contains(string(msg), `data-version="1"`) {
				t.Fatalf("the start's fragment: %v %.200s", err, msg)
			}
			// The hub counts a write once it returns, which may be after the
			// client has the message: the client's interval, from before the
			// command to the figure counting it, holds the server's.
			counted := func(sent time.Time, want int) time.Duration {
				waitFor(t, func() bool { n, _, _ := liveLatency(t, c); return n >= want })
				return time.Since(sent)
			}
			slowest := counted(sent, 1)
			for i := range 3 {
				sent := time.Now()
				wantStatus(t, c.postJSON("/matches/lat-1/innings", `{"innings":`+strconv.Itoa(i+1)+`,"runs":100,"wickets":3}`), 200, "")
				_, msg, err := conn.Read(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(string(msg), `data-version="`+strconv.Itoa(i+2)+`"`) {
					t.Fatalf("the fragment after innings %d does not show it: %.200s", i+1, msg)
				}
				slowest = max(slowest, counted(sent, i+2))
			}
			n, p50, p99 := liveLatency(t, c)
			if n != 4 {
				t.Errorf("%d writes counted; want the 4 pushed", n)
			}
			if p50 <= 0 || p50 > p99 || p99 > slowest {
				t.Errorf("p50 %v, p99 %v; want 0 < p50 ≤ p99 ≤ %v, the slowest the client saw", p50, p99, slowest)
			}
		})
	}
}
