package web_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/foldboard/foldboard/internal/apptest"
	"github.com/foldboard/foldboard/web"
)

// shortLimits are timeouts short enough to wait out in a test.
var shortLimits = web.Limits{
	ReadHeaderTimeout: 300 * time.Millisecond,
	ReadTimeout:       600 * time.Millisecond,
	WriteTimeout:      600 * time.Millisecond,
	IdleTimeout:       time.Second,
}

func startLimited(t *testing.T, store string, change func(*web.Deps)) *apptest.App {
	t.Helper()
	return apptest.Start(t, apptest.Options{Store: store, Configure: func(d *web.Deps) {
		d.Limits = shortLimits
		if change != nil {
			change(d)
		}
	}})
}

func dialRaw(t *testing.T, app *apptest.App) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(app.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// closedWithin reads from conn until the server closes it, and says how long
// that took; it fails the test if the server keeps it open past limit.
func closedWithin(t *testing.T, conn net.Conn, limit time.Duration) (time.Duration, string) {
	t.Helper()
	begin := time.Now()
	conn.SetReadDeadline(begin.Add(limit))
	got, err := io.ReadAll(conn)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("the server kept the connection open for %v", limit)
	}
	return time.Since(begin), string(got)
}

// TestSlowClientsAreCutOffByTheServersTimeouts: a client that sends its
// headers too slowly, or its body, loses the connection after the header and
// read timeouts, holding nothing of the server for longer.
func TestSlowClientsAreCutOffByTheServersTimeouts(t *testing.T) {
	app := startLimited(t, "sqlite", nil)

	conn := dialRaw(t, app)
	fmt.Fprintf(conn, "GET /matches HTTP/1.1\r\nHost: localhost\r\n") // and never the blank line
	if took, _ := closedWithin(t, conn, 5*time.Second); took < 200*time.Millisecond {
		t.Errorf("closed after %v, before the header timeout", took)
	}

	// A body that stops coming: 408 once the read timeout passes (the
	// write timeout, longer here, leaves time to say so), nothing appended.
	app = startLimited(t, "sqlite", func(d *web.Deps) { d.Limits.WriteTimeout = 5 * time.Second })
	conn = dialRaw(t, app)
	fmt.Fprintf(conn, "POST /matches HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nAccept: application/json\r\nContent-Length: 1000\r\n\r\n{\"venue\":")
	took, answer := closedWithin(t, conn, 5*time.Second)
	if took > 3*time.Second {
		t.Errorf("a stalled body held the connection %v", took)
	}
	if !strings.HasPrefix(answer, "HTTP/1.1 408") || !strings.Contains(answer, "RequestTimeout") {
		t.Errorf("a stalled body was answered %.200q, want 408 RequestTimeout", answer)
	}
	c := newClient(t, app)
	if n := len(c.do("GET", "/events", "", "", map[string]string{"Accept": "application/json"}).json(t)["events"].([]any)); n != 0 {
		t.Errorf("%d events appended by cut-off requests", n)
	}
}

// TestOversizedHeadersAreRefused: headers over the limit get 431.
func TestOversizedHeadersAreRefused(t *testing.T) {
	app := apptest.Start(t, apptest.Options{})
	c := newClient(t, app)
	r := c.do("GET", "/matches", "", "", map[string]string{"X-Filler": strings.Repeat("x", 100<<10)})
	if r.status != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("a 100 KiB header: %d", r.status)
	}
}

// TestLiveConnectionsOutliveTheRequestTimeouts: the read and write timeouts
// that bound a request do not cut a page's live connection, which lasts as
// long as the page; it still receives changes long after them.
func TestLiveConnectionsOutliveTheRequestTimeouts(t *testing.T) {
	for _, store := range apptest.Stores {
		t.Run(store, func(t *testing.T) {
			app := startLimited(t, store, nil)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(app.URL, "http")+"/ws?topic=matches", nil)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.CloseNow()
			readUntil(t, ctx, conn, `id="match-list"`)
			time.Sleep(3 * shortLimits.WriteTimeout)
			startMatch(t, newClient(t, app), "late")
			readUntil(t, ctx, conn, "/matches/late")
		})
	}
}

// TestLiveClientsAreBounded: connections beyond MaxLiveClients are refused
// with 503; when one goes, another may come.
func TestLiveClientsAreBounded(t *testing.T) {
	const max = 3
	app := startLimited(t, "sqlite", func(d *web.Deps) { d.MaxLiveClients = max })
	url := "ws" + strings.TrimPrefix(app.URL, "http") + "/ws?topic=matches"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var conns []*websocket.Conn
	for range max {
		conn, _, err := websocket.Dial(ctx, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.CloseNow()
		conns = append(conns, conn)
	}
	if _, res, err := websocket.Dial(ctx, url, nil); err == nil || res == nil || res.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("connection %d of at most %d: %v %v, want 503", max+1, max, res, err)
	}
	conns[0].Close(websocket.StatusNormalClosure, "")
	waitFor(t, func() bool { return app.Server.Hub().Clients() < max })
	conn, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		t.Fatalf("after one left, a new connection: %v", err)
	}
	conn.CloseNow()
}
