package bench_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
)

const (
	fanClients = 1000
	// fanTopics carts take turns changing, and every client watches them
	// all: each change reaches every client, and each cart's page changes
	// at most every fanTopics × fanEvery, beyond the hub's spacing of one
	// topic's pushes.
	fanTopics = 8
	fanEvery  = 40 * time.Millisecond
	// fanLines fill each cart, so a fragment weighs what a real one does.
	fanLines      = 12
	minFanSamples = 100
)

// BenchmarkFanOut connects 1,000 WebSocket clients (coder/websocket, in this
// process) that all watch the same carts, changes one cart with a command
// through HTTP, and measures the time until the last of the 1,000 has the
// fragment that shows the change (and the first, for the spread). It does
// so first with every client reading, then with one more client that never
// reads (its receive buffer tiny, so the server's writes to it block at
// once): stuck/free is what that client moves the p99, and should be 1.
func BenchmarkFanOut(b *testing.B) {
	a := startApp(b, sqliteBackend.open(b, b.TempDir()))
	for c := range fanTopics {
		for l := range fanLines {
			a.post(b, fmt.Sprintf("/carts/fan-%d/items", c), fmt.Sprintf(`{"sku":"sku-%02d","qty":%d,"price":"%d.99"}`, l, 1+l, 3+l), "fan")
		}
	}
	versions := make([]atomic.Int64, fanTopics)
	for c := range fanTopics {
		versions[c].Store(fanLines)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var readers sync.WaitGroup
	defer readers.Wait()
	defer cancel()

	// pushes[c][v] counts the clients that have cart c at version v.
	var mu sync.Mutex
	pushes := map[[2]int64]*fanPush{}
	lookup := func(c, v int64) *fanPush {
		mu.Lock()
		defer mu.Unlock()
		return pushes[[2]int64{c, v}]
	}
	var query strings.Builder
	for c := range fanTopics {
		fmt.Fprintf(&query, "topic=cart/fan-%d&", c)
	}
	url := "ws" + strings.TrimPrefix(a.URL, "http") + "/ws?" + query.String()
	dial := func(opts *websocket.DialOptions) *websocket.Conn {
		for attempt := 0; ; attempt++ {
			conn, _, err := websocket.Dial(ctx, url, opts)
			if err == nil {
				return conn
			}
			if attempt == 20 {
				b.Fatal(err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	connect := func() {
		conn := dial(nil)
		readers.Go(func() {
			defer conn.CloseNow()
			var buf []byte
			for {
				msg, err := readInto(ctx, conn, buf[:0])
				if err != nil {
					return
				}
				buf = msg
				c := attrCart(msg)
				v := attr(msg, "data-version")
				if c < 0 || v < 0 {
					continue
				}
				if p := lookup(c, v); p != nil {
					now := time.Now().UnixNano()
					p.first.CompareAndSwap(0, now)
					if p.got.Add(1) == fanClients {
						p.last.Store(now)
						close(p.done)
					}
				}
			}
		})
	}
	var dialing sync.WaitGroup
	sem := make(chan struct{}, 32)
	for range fanClients {
		sem <- struct{}{}
		dialing.Go(func() {
			defer func() { <-sem }()
			connect()
		})
	}
	dialing.Wait()
	time.Sleep(500 * time.Millisecond) // the first fragments read

	push := func(i int) (first, last time.Duration) {
		c := i % fanTopics
		v := versions[c].Add(1)
		p := &fanPush{done: make(chan struct{})}
		mu.Lock()
		pushes[[2]int64{int64(c), v}] = p
		mu.Unlock()
		start := time.Now()
		_, got := a.post(b, fmt.Sprintf("/carts/fan-%d/items", c), `{"sku":"sku-00","qty":1,"price":"3.99"}`, "fan")
		if got != v {
			b.Fatalf("cart fan-%d at version %d, want %d", c, got, v)
		}
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
			b.Fatalf("push %d: %d of %d clients had cart fan-%d at version %d after 30 s", i, p.got.Load(), fanClients, c, v)
		}
		mu.Lock()
		delete(pushes, [2]int64{int64(c), v})
		mu.Unlock()
		return time.Duration(p.first.Load() - start.UnixNano()), time.Duration(p.last.Load() - start.UnixNano())
	}
	samples := max(b.N, minFanSamples)
	phase := func(n int) (firsts, lasts durations) {
		next := time.Now()
		for i := range n {
			time.Sleep(time.Until(next))
			next = time.Now().Add(fanEvery)
			f, l := push(i)
			firsts, lasts = append(firsts, f), append(lasts, l)
		}
		return firsts, lasts
	}

	// The two take turns, a fresh stuck client each time, so that drift
	// (the machine's other work, the heap) falls on both alike.
	const rounds = 4
	var free, withStuck, firsts durations
	b.ResetTimer()
	for range rounds {
		f, l := phase((samples + rounds - 1) / rounds)
		firsts, free = append(firsts, f...), append(free, l...)
		stuck := stuckClient(b, ctx, url)
		_, l = phase((samples + rounds - 1) / rounds)
		withStuck = append(withStuck, l...)
		stuck.CloseNow()
	}
	b.StopTimer()

	b.ReportMetric(float64(free.quantile(0.5).Nanoseconds()), "ns/op")
	b.ReportMetric(ms(free.quantile(0.5)), "p50-ms")
	b.ReportMetric(ms(free.quantile(0.99)), "p99-ms")
	b.ReportMetric(ms(withStuck.quantile(0.99)), "stuck-p99-ms")
	b.ReportMetric(ms(firsts.quantile(0.5)), "first-p50-ms")
	b.ReportMetric(ms(withStuck.quantile(0.99))/ms(free.quantile(0.99)), "stuck/free")
}

// readInto reads one message into buf, grown as needed, so that a thousand
// readers do not allocate a message each.
func readInto(ctx context.Context, conn *websocket.Conn, buf []byte) ([]byte, error) {
	_, r, err := conn.Reader(ctx)
	if err != nil {
		return buf, err
	}
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

type fanPush struct {
	got         atomic.Int32
	first, last atomic.Int64
	done        chan struct{}
}

// stuckClient connects a client that never reads, with a receive buffer so
// small that the server's writes to it block almost at once.
func stuckClient(b *testing.B, ctx context.Context, url string) *websocket.Conn {
	dialer := &net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 1024)
		})
		if err != nil {
			return err
		}
		return serr
	}}
	client := &http.Client{Transport: &http.Transport{Proxy: nil, DialContext: dialer.DialContext}}
	conn, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{HTTPClient: client})
	if err != nil {
		b.Fatal(err)
	}
	return conn
}

// attrCart reads which fan cart a fragment shows, from its heading; -1 for
// none.
func attrCart(html []byte) int64 {
	const mark = `<span class="cart-id">fan-`
	i := bytes.Index(html, []byte(mark))
	if i < 0 {
		return -1
	}
	n := int64(0)
	digits := 0
	for _, c := range html[i+len(mark):] {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int64(c-'0')
		digits++
	}
	if digits == 0 {
		return -1
	}
	return n
}
