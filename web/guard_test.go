package web_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/es/sqlite"
	"github.com/foldboard/foldboard/internal/apptest"
	"github.com/foldboard/foldboard/web"
)

// startGuarded starts a server whose guard change sets.
func startGuarded(t *testing.T, change func(*web.Deps)) *apptest.App {
	t.Helper()
	return apptest.Start(t, apptest.Options{Configure: change})
}

// fromAddress is a client whose connections leave from the loopback
// address ip (all of 127/8 is this machine), as another computer's would.
func fromAddress(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{
		Transport:     &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 64},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       10 * time.Second,
	}
}

// send makes one request and reads its answer.
func send(t *testing.T, c *http.Client, method, url, body string, header map[string]string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Actor", "tester") // apptest trusts X-Actor from loopback
	for k, v := range header {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return response{status: res.StatusCode, header: res.Header, body: string(b)}
}

// TestARequestForAHostNotServedIsRefused: a page of evil.example whose name
// was made to resolve to this server (DNS rebinding) sends its own Host and
// Origin, which pass a same-origin check: every request, command, page or
// WebSocket, for a host foldboard does not serve gets 421 and appends
// nothing. The hosts it serves still work.
func TestARequestForAHostNotServedIsRefused(t *testing.T) {
	app := startGuarded(t, func(d *web.Deps) {
		d.Guard.PublicURL = "https://board.example.com/"
		d.Guard.AllowedHosts = []string{"foldboard", "*.lan.example"}
	})
	c := http.DefaultClient
	port := app.URL[strings.LastIndexByte(app.URL, ':'):]
	for _, host := range []string{"evil.example", "evil.example" + port, "board.example.com.evil.example", "localhost.evil.example",
		"lan.example", "127.0.0.1.nip.io", "foldboard.evil", ":" + port[1:]} {
		before := logLength(t, app)
		h := map[string]string{"Host": host, "Origin": "http://" + host}
		r := send(t, c, "POST", app.URL+"/matches", `{"venue":"V","homeTeam":"A","awayTeam":"B"}`, h)
		wantStatus(t, r, http.StatusMisdirectedRequest, "MisdirectedRequest")
		if r := send(t, c, "GET", app.URL+"/", "", h); r.status != http.StatusMisdirectedRequest {
			t.Errorf("GET / for %q: %d", host, r.status)
		}
		if r := send(t, c, "GET", app.URL+"/ws?topic=matches", "", map[string]string{"Host": host, "Origin": "http://" + host,
			"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="}); r.status != http.StatusMisdirectedRequest {
			t.Errorf("WebSocket for %q: %d", host, r.status)
		}
		if n := logLength(t, app); n != before {
			t.Errorf("a command for %q appended %d events", host, n-before)
		}
	}
	for _, host := range []string{"localhost", "localhost" + port, "LocalHost.", "app.localhost" + port, "127.0.0.1" + port,
		"[::1]" + port, "10.1.2.3", "board.example.com", "BOARD.example.com:443", "foldboard:8080", "pi.lan.example"} {
		h := map[string]string{"Host": host, "Origin": "http://" + host}
		r := send(t, c, "POST", app.URL+"/matches", `{"venue":"V","homeTeam":"A","awayTeam":"B"}`, h)
		wantStatus(t, r, http.StatusCreated, "")
	}
}

func TestAPublicURLThatIsNotOneStopsTheServer(t *testing.T) {
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "f.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	for _, bad := range []string{"board.example.com", "ftp://x", "https://"} {
		_, err := web.New(context.Background(), web.Deps{Backend: es.Backend{Store: store, Feed: store.Feed(), ReadModels: store}, Secret: []byte("s"), Guard: web.Guard{PublicURL: bad}})
		if err == nil {
			t.Errorf("public URL %q accepted", bad)
		}
	}
}

// TestCommandsBeyondARateAreRefusedWithRetryAfter: an address over its
// commands' rate gets 429 RateLimited with Retry-After and appends nothing,
// while another address goes on; an actor is limited across addresses.
func TestCommandsBeyondARateAreRefusedWithRetryAfter(t *testing.T) {
	app := startGuarded(t, func(d *web.Deps) {
		d.Guard.Rates = web.Rates{AddressCommands: 0.01, AddressBurst: 5, ActorCommands: 0.01, ActorBurst: 8, AddressReads: 1000, ReadBurst: 1000}
	})
	a, b, c := fromAddress("127.0.0.1"), fromAddress("127.0.0.2"), fromAddress("127.0.0.3")
	add := func(client *http.Client, actor string, i int) response {
		return send(t, client, "POST", fmt.Sprintf("%s/carts/c-%s-%d/items", app.URL, actor, i), `{"sku":"a","qty":1,"price":"1"}`, map[string]string{"X-Actor": actor})
	}
	for i := range 5 {
		wantStatus(t, add(a, "ana", i), http.StatusCreated, "")
	}
	before := logLength(t, app)
	r := add(a, "ana", 5)
	wantStatus(t, r, http.StatusTooManyRequests, "RateLimited")
	if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 {
		t.Errorf("Retry-After %q", r.header.Get("Retry-After"))
	}
	if n := logLength(t, app); n != before {
		t.Errorf("a refused command appended %d events", n-before)
	}
	// Reads from the limited address go on: they have their own bucket.
	if r := send(t, a, "GET", app.URL+"/carts/c-ana-0", "", nil); r.status != http.StatusOK {
		t.Errorf("a read from the limited address: %d", r.status)
	}
	// Another address, the same actor: three more of ana's eight.
	for i := range 3 {
		wantStatus(t, add(b, "ana", 10+i), http.StatusCreated, "")
	}
	r = add(b, "ana", 13)
	wantStatus(t, r, http.StatusTooManyRequests, "RateLimited")
	if !strings.Contains(r.body, "actor") {
		t.Errorf("the actor's refusal does not say so: %s", r.body)
	}
	// Someone else at that address, and anonymous people anywhere, go on.
	wantStatus(t, add(b, "bo", 0), http.StatusCreated, "")
	for i := range 5 {
		wantStatus(t, send(t, c, "POST", fmt.Sprintf("%s/carts/anon-%d/items", app.URL, i), `{"sku":"a","qty":1,"price":"1"}`, nil), http.StatusCreated, "")
	}
}

// TestTheDefaultRateStopsALoopButNotAPerson: with the defaults, a loop's
// burst of commands from one address is cut off after the burst, and a
// person's pace never is.
func TestTheDefaultRateStopsALoopButNotAPerson(t *testing.T) {
	app := startGuarded(t, func(d *web.Deps) { d.Guard.Rates = web.Rates{} })
	c := fromAddress("127.0.0.1")
	limited := 0
	for i := range 600 {
		// Refused commands (no fields) spend a token and append nothing.
		r := send(t, c, "POST", app.URL+"/matches", `{}`, nil)
		if r.status == http.StatusTooManyRequests {
			limited++
		} else if r.status != http.StatusBadRequest {
			t.Fatalf("command %d: %d", i, r.status)
		}
	}
	if limited < 50 {
		t.Errorf("600 commands at once from one address: %d refused, want the burst's excess", limited)
	}
	wantStatus(t, send(t, fromAddress("127.0.0.2"), "POST", app.URL+"/matches", `{"venue":"V","homeTeam":"A","awayTeam":"B"}`, nil), http.StatusCreated, "")
}

// dialLive opens a live connection from the loopback address ip.
func dialLive(ctx context.Context, app *apptest.App, ip, actor string) (*websocket.Conn, int, error) {
	h := http.Header{}
	if actor != "" {
		h.Set("X-Actor", actor)
	}
	conn, res, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(app.URL, "http")+"/ws?topic=matches",
		&websocket.DialOptions{HTTPClient: fromAddress(ip), HTTPHeader: h})
	status := 0
	if res != nil {
		status = res.StatusCode
	}
	return conn, status, err
}

// TestOneAddressCannotTakeEveryLiveSlot: an address holds at most its share
// of the live connections (429 beyond it), an actor too across addresses,
// and when many addresses have filled the rest, a reserve still lets in an
// address that holds few.
func TestOneAddressCannotTakeEveryLiveSlot(t *testing.T) {
	app := startGuarded(t, func(d *web.Deps) {
		d.MaxLiveClients = 30
		d.Guard.Live = web.LiveLimits{PerAddress: 10, PerActor: 4, Reserve: 6, ReserveShare: 2}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var mu sync.Mutex
	var open []*websocket.Conn
	t.Cleanup(func() {
		for _, c := range open {
			c.CloseNow()
		}
	})
	// fill dials n from ip and reports how many got in, and the statuses
	// of the rest.
	fill := func(ip, actor string, n int) (in int, refused map[int]int) {
		refused = map[int]int{}
		for range n {
			conn, status, err := dialLive(ctx, app, ip, actor)
			if err != nil {
				refused[status]++
				continue
			}
			mu.Lock()
			open = append(open, conn)
			mu.Unlock()
			in++
		}
		return in, refused
	}
	if in, refused := fill("127.0.0.1", "", 15); in != 10 || refused[http.StatusTooManyRequests] != 5 {
		t.Fatalf("one address: %d in, refused %v; want 10 in, 5 × 429", in, refused)
	}
	if in, refused := fill("127.0.0.2", "ana", 6); in != 4 || refused[http.StatusTooManyRequests] != 2 {
		t.Fatalf("actor ana: %d in, refused %v; want 4", in, refused)
	}
	if in, _ := fill("127.0.0.3", "ana", 1); in != 0 {
		t.Fatalf("actor ana from another address got past her share")
	}
	// 14 held; 10 more from .4 make 24, the end of the shared part.
	if in, _ := fill("127.0.0.4", "", 10); in != 10 {
		t.Fatalf("address .4: %d in", in)
	}
	if in, refused := fill("127.0.0.5", "", 4); in != 2 || refused[http.StatusServiceUnavailable] != 2 {
		t.Fatalf("into the reserve: %d in, refused %v; want 2 (its share of the reserve)", in, refused)
	}
	if in, _ := fill("127.0.0.1", "", 1); in != 0 {
		t.Fatalf("an address holding its share got into the reserve")
	}
	for i := 6; i < 8; i++ {
		if in, _ := fill(fmt.Sprintf("127.0.0.%d", i), "", 2); in != 2 {
			t.Fatalf("newcomer .%d kept out while the reserve has room", i)
		}
	}
	if in, refused := fill("127.0.0.9", "", 1); in != 0 || refused[http.StatusServiceUnavailable] != 1 {
		t.Fatalf("past MaxLiveClients: %d in, %v", in, refused)
	}
	if got := app.Server.Hub().Clients(); got != 30 {
		t.Errorf("hub holds %d, want 30", got)
	}
}

// TestLiveConnectionsThatDoNotAnswerPingsAreClosed: a peer that has gone
// (here: one that never reads, so never answers a ping) is closed after the
// ping's timeout; one that answers stays.
func TestLiveConnectionsThatDoNotAnswerPingsAreClosed(t *testing.T) {
	app := startGuarded(t, func(d *web.Deps) {
		d.Guard.Live = web.LiveLimits{PingInterval: 100 * time.Millisecond, PongTimeout: 300 * time.Millisecond}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	alive, _, err := dialLive(ctx, app, "127.0.0.1", "")
	if err != nil {
		t.Fatal(err)
	}
	defer alive.CloseNow()
	// It reads, and so answers pings.
	aliveCtx, gone := context.WithCancel(ctx)
	go func() {
		defer gone()
		for {
			if _, _, err := alive.Read(ctx); err != nil {
				return
			}
		}
	}()
	silent, _, err := dialLive(ctx, app, "127.0.0.1", "")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.CloseNow()
	waitFor(t, func() bool { return app.Server.Hub().Clients() == 1 })
	time.Sleep(time.Second) // ten pings more
	if app.Server.Hub().Clients() != 1 || aliveCtx.Err() != nil {
		t.Fatalf("the connection that answers pings was closed too")
	}
}

// TestBehindTrustedProxiesEachClientHasItsOwnLimits: behind a load balancer
// every client arrives from the proxy's address; X-Forwarded-For, read only
// from a trusted proxy and from the right, names the client its limits are
// kept by. Two clients behind one proxy are limited apart; one that writes
// another address into the header is still known by the one the proxy
// appended; a peer that is no trusted proxy is known by its own address,
// whatever header it sends.
func TestBehindTrustedProxiesEachClientHasItsOwnLimits(t *testing.T) {
	app := startGuarded(t, func(d *web.Deps) {
		d.Identity.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
		d.Guard.Rates = web.Rates{AddressCommands: 0.01, AddressBurst: 3, ActorCommands: 1000, ActorBurst: 1000, AddressReads: 1000, ReadBurst: 1000}
	})
	proxy, other := fromAddress("127.0.0.1"), fromAddress("127.0.0.2")
	n := 0
	add := func(client *http.Client, forwardedFor string) response {
		n++
		h := map[string]string{"X-Actor": "ana"}
		if forwardedFor != "" {
			h["X-Forwarded-For"] = forwardedFor
		}
		return send(t, client, "POST", fmt.Sprintf("%s/carts/c-%d/items", app.URL, n), `{"sku":"a","qty":1,"price":"1"}`, h)
	}
	for range 3 {
		wantStatus(t, add(proxy, "203.0.113.7"), http.StatusCreated, "")
	}
	wantStatus(t, add(proxy, "203.0.113.7"), http.StatusTooManyRequests, "RateLimited")
	// The client wrote an address of its own; the proxy appended the real one.
	wantStatus(t, add(proxy, "198.51.100.1, 203.0.113.7"), http.StatusTooManyRequests, "RateLimited")
	// Another client behind the same proxy, and one behind two proxies.
	for range 3 {
		wantStatus(t, add(proxy, "203.0.113.8"), http.StatusCreated, "")
	}
	wantStatus(t, add(proxy, "203.0.113.9, 127.0.0.1"), http.StatusCreated, "")
	// An untrusted peer is its own address, whatever it forwards (and its
	// X-Actor is ignored too: its commands are refused, but they count).
	for i := range 3 {
		wantStatus(t, add(other, fmt.Sprintf("192.0.2.%d", i)), http.StatusUnauthorized, "SignInRequired")
	}
	wantStatus(t, add(other, "192.0.2.99"), http.StatusTooManyRequests, "RateLimited")
}
