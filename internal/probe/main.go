// Command probe replays issue 18's abuse probes against a foldboard on this
// machine and prints what got through, for RELIABILITY.md's figures:
//
//	go run . -db /tmp/probe.db -addr 127.0.0.1:18080 &
//	go run ./internal/probe -addr 127.0.0.1:18080 -pid $! metrics
//	go run ./internal/probe -addr 127.0.0.1:18080 -pid $! ws
//	go run ./internal/probe -addr 127.0.0.1:18080 carts
//
// Start the server afresh for each probe: they spend the same address's
// buckets. The other addresses are 127.0.0.2 and up (all of 127/8 is
// loopback).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "the foldboard to probe (loopback)")
	pid := flag.Int("pid", 0, "its process id, to read its resident memory")
	flag.Parse()
	p := prober{addr: *addr, pid: *pid}
	var err error
	switch flag.Arg(0) {
	case "metrics":
		err = p.metrics()
	case "ws":
		err = p.idleSockets(10_000)
	case "carts":
		err = p.carts(3 * time.Second)
	default:
		err = errors.New("want a probe: metrics, ws or carts")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "probe:", err)
		os.Exit(1)
	}
}

type prober struct {
	addr string
	pid  int
}

// metrics sends 5,000 made-up methods and 200 of 30,000 characters and
// compares /metrics before and after.
func (p prober) metrics() error {
	before, _, err := p.metricsSize()
	if err != nil {
		return err
	}
	for i := range 5200 {
		method := fmt.Sprintf("M%d", i)
		if i >= 5000 {
			method = strings.Repeat("X", 30_000) + method
		}
		if err := p.raw(method, fmt.Sprintf("/made/up/%d", i)); err != nil {
			return err
		}
	}
	after, took, err := p.metricsSize()
	fmt.Printf("metrics: %d bytes before, %d after 5,000 made-up methods and 200 of 30,000 characters; a scrape %v\n", before, after, took.Round(time.Microsecond))
	return err
}

// raw sends a request line Go's client would refuse.
func (p prober) raw(method, path string) error {
	c, err := net.DialTimeout("tcp", p.addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", method, path)
	_, err = io.Copy(io.Discard, c)
	return err
}

func (p prober) metricsSize() (int, time.Duration, error) {
	start := time.Now()
	res, err := http.Get("http://" + p.addr + "/metrics")
	if err != nil {
		return 0, 0, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return len(b), time.Since(start), err
}

// idleSockets opens n live connections from one address that never read
// (so never answer a ping), tries one from another address, and counts the
// idle ones left after 45 s.
func (p prober) idleSockets(n int) error {
	ctx := context.Background()
	fmt.Println("ws: resident memory before:", p.rss())
	client := fromAddress("127.0.0.1")
	var (
		mu      sync.Mutex
		conns   []*websocket.Conn
		refused = map[int]int{}
		wg      sync.WaitGroup
		slots   = make(chan struct{}, 64)
	)
	start := time.Now()
	for range n {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			c, res, err := websocket.Dial(ctx, "ws://"+p.addr+"/ws?topic=matches", &websocket.DialOptions{HTTPClient: client})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				status := 0
				if res != nil {
					status = res.StatusCode
				}
				refused[status]++
				return
			}
			conns = append(conns, c)
		}()
	}
	wg.Wait()
	defer func() {
		for _, c := range conns {
			c.CloseNow()
		}
	}()
	fmt.Printf("ws: %d dials from one address in %v: %d accepted, refused by status %v; resident memory %s\n",
		n, time.Since(start).Round(time.Millisecond), len(conns), refused, p.rss())
	other, _, err := websocket.Dial(ctx, "ws://"+p.addr+"/ws?topic=matches", &websocket.DialOptions{HTTPClient: fromAddress("127.0.0.2")})
	fmt.Println("ws: another address then connects:", err == nil)
	if err == nil {
		other.CloseNow()
	}
	time.Sleep(45 * time.Second)
	live, err := p.liveClients()
	fmt.Println("ws: live clients after 45 s of silence:", live)
	return err
}

// liveClients reads foldboard_live_clients from /metrics.
func (p prober) liveClients() (string, error) {
	res, err := http.Get("http://" + p.addr + "/metrics")
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "foldboard_live_clients "); ok {
			return v, err
		}
	}
	return "?", err
}

// carts makes new carts as fast as one client can for d, then asks for one
// from another address.
func (p prober) carts(d time.Duration) error {
	c := fromAddress("127.0.0.1")
	made, limited := 0, 0
	for i, start := 0, time.Now(); time.Since(start) < d; i++ {
		status, err := addItem(c, fmt.Sprintf("http://%s/carts/probe-%d/items", p.addr, i))
		if err != nil {
			return err
		}
		switch status {
		case http.StatusCreated:
			made++
		case http.StatusTooManyRequests:
			limited++
		}
	}
	fmt.Printf("carts: in %v from one address %d carts made, %d refused 429\n", d, made, limited)
	status, err := addItem(fromAddress("127.0.0.2"), "http://"+p.addr+"/carts/probe-other/items")
	fmt.Println("carts: another address meanwhile:", status)
	return err
}

func addItem(c *http.Client, url string) (int, error) {
	req, err := http.NewRequest("POST", url, strings.NewReader(`{"sku":"a","qty":1,"price":"1"}`))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	res, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	_, err = io.Copy(io.Discard, res.Body)
	return res.StatusCode, err
}

// fromAddress is a client whose connections leave from the loopback
// address ip, as another computer's would.
func fromAddress(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 64}, Timeout: 10 * time.Second}
}

// rss is the server's resident memory, from /proc.
func (p prober) rss() string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.pid))
	if err != nil {
		return "?"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}
