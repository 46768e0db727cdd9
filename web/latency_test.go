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
	"github.com/foldboard/foldboard/web"
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

var pageFigures = regexp.MustCompile(`data-page-n="(\d+)" data-page-p50-us="(\d+)" data-page-p99-us="(\d+)" data-page-refused="(\d+)"`)

// pageLatency reads the dashboard's append → applied in the page figures
// (the browsers' reports) and how many reports it refused.
func pageLatency(t *testing.T, c *client) (n int, p50 time.Duration, refused int) {
	t.Helper()
	m := pageFigures.FindStringSubmatch(c.get("/").body)
	if m == nil {
		t.Fatal("the dashboard shows no browser latency")
	}
	atoi := func(s string) int { v, _ := strconv.Atoi(s); return v }
	return atoi(m[1]), time.Duration(atoi(m[2])) * time.Microsecond, atoi(m[4])
}

var pushNumber = regexp.MustCompile(`<!--push (\d+)-->$`)

// A timed client plays the page: it takes 30 ms to apply each pushed
// change and reports it. The dashboard's browser figure is at least those
// 30 ms and at most the client's own interval from sending the command to
// seeing the figure; what a hostile client sends besides (a push reported
// twice, one never sent, an apply longer than the round trip, no report at
// all, a binary message) is refused and moves nothing, and a connection
// that goes on sending such is closed, as is one sending a long message.
func TestTheDashboardShowsBrowserReportedLatencyWithinATimedClientsInterval(t *testing.T) {
	app := apptest.Start(t, apptest.Options{})
	c := newClient(t, app)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	dial := func() *websocket.Conn {
		conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(app.URL, "http")+"/ws?topic=match/pl-1", nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.CloseNow() })
		return conn
	}
	conn := dial()
	read := func(conn *websocket.Conn) string {
		t.Helper()
		_, msg, err := conn.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return string(msg)
	}
	send := func(conn *websocket.Conn, msg string) {
		t.Helper()
		if err := conn.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	if first := read(conn); pushNumber.MatchString(first) {
		t.Fatalf("the page's first fragment, of no append, asks for a report: %.100s", first[len(first)-40:])
	}
	if n, _, _ := pageLatency(t, c); n != 0 {
		t.Fatalf("%d browser reports before any push", n)
	}
	const applying = 30 * time.Millisecond
	sent := time.Now()
	startMatch(t, c, "pl-1")
	m := pushNumber.FindStringSubmatch(read(conn))
	if m == nil {
		t.Fatal("the start's push carries no number to report")
	}
	time.Sleep(applying)
	send(conn, `{"applied":`+m[1]+`,"ms":30}`)
	waitFor(t, func() bool { n, _, _ := pageLatency(t, c); return n == 1 })
	interval := time.Since(sent)
	n, p50, refused := pageLatency(t, c)
	if n != 1 || p50 < applying || p50 > interval || refused != 0 {
		t.Errorf("%d reports, p50 %v, %d refused; want 1, from %v to %v, none", n, p50, refused, applying, interval)
	}

	// The next push: reported with an apply longer than the round trip.
	wantStatus(t, c.postJSON("/matches/pl-1/innings", `{"innings":1,"runs":100,"wickets":3}`), 200, "")
	next := pushNumber.FindStringSubmatch(read(conn))
	for _, bad := range []string{
		`{"applied":` + m[1] + `,"ms":1}`,      // reported already
		`{"applied":123456789,"ms":1}`,         // never sent
		`{"applied":` + next[1] + `,"ms":9e6}`, // longer than the round trip
		`{"applied":` + next[1] + `,"ms":1}`,   // then: that push is spent
		`p50=0`,
	} {
		send(conn, bad)
	}
	if err := conn.Write(ctx, websocket.MessageBinary, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { _, _, refused := pageLatency(t, c); return refused == 6 })
	if n2, p2, _ := pageLatency(t, c); n2 != 1 || p2 != p50 {
		t.Errorf("after the bad reports: %d reports, p50 %v; want the one, %v", n2, p2, p50)
	}

	// A connection that goes on sending bad reports is closed; so is one
	// sending a long message.
	for range web.MaxRefusedReports {
		if conn.Write(ctx, websocket.MessageText, []byte(`{}`)) != nil {
			break
		}
	}
	if _, _, err := conn.Read(ctx); websocket.CloseStatus(err) != websocket.StatusPolicyViolation {
		t.Errorf("after %d bad reports: %v, want closed for policy", web.MaxRefusedReports, err)
	}
	long := dial()
	read(long)
	send(long, `{"applied":1,"ms":1,"padding":"`+strings.Repeat("x", 64)+`"}`)
	if _, _, err := long.Read(ctx); websocket.CloseStatus(err) != websocket.StatusMessageTooBig {
		t.Errorf("after a long message: %v, want closed as too big", err)
	}
}
