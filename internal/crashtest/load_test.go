package crashtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// command is one JSON command a client sends.
type command struct {
	stream string // "cart/c-1"
	path   string
	body   map[string]any // with its commandId
	id     string         // the command id
	repeat bool           // sent before by the same client
}

// outcome is what became of one command.
type outcome struct {
	cmd    command
	client int
	// status is the answer's status; 0 when no answer came (err says why).
	status int
	err    error
	code   string // the error code of a refusal
	// version and versions are the stream's version and the versions of the
	// events a 2xx answer carries.
	version  int64
	versions []int64
	// resent: the command was sent again after its first answer was lost.
	resent bool
	call   time.Time
	ret    time.Time
}

func (o outcome) acked() bool { return o.status >= 200 && o.status < 300 }

// driver sends commands from many clients to one server and keeps every
// outcome.
type driver struct {
	url  string
	run  string // makes the ids of this run's commands and matches unique
	http *http.Client

	acked    atomic.Int64
	mu       sync.Mutex
	outcomes []outcome
}

func newDriver(url, run string, clients int) *driver {
	return &driver{url: url, run: run, http: &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns: clients, MaxIdleConnsPerHost: clients,
			// Keep-alive connections, as browsers and programs use them.
			IdleConnTimeout: 30 * time.Second,
		},
	}}
}

func (d *driver) close() { d.http.CloseIdleConnections() }

// send sends one command and records its outcome.
func (d *driver) send(ctx context.Context, client int, c command) outcome {
	o := outcome{cmd: c, client: client, call: time.Now()}
	defer func() {
		o.ret = time.Now()
		d.mu.Lock()
		d.outcomes = append(d.outcomes, o)
		d.mu.Unlock()
		if o.acked() {
			d.acked.Add(1)
		}
	}()
	body, _ := json.Marshal(c.body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.url+c.path, bytes.NewReader(body))
	if err != nil {
		o.err = err
		return o
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	// One actor for every client: the carts and matches they share are
	// then theirs to change (owner rules), and their appends still race.
	req.Header.Set("X-Actor", "crashtest")
	// The command id makes the POST safe to repeat: Go's client may then
	// resend it on a kept-alive connection the server closed as idle.
	req.Header.Set("Idempotency-Key", c.id)
	res, err := d.http.Do(req)
	if err != nil {
		o.err = err
		return o
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		// The status came but not the body: the answer was cut off.
		o.err = fmt.Errorf("reading the answer (status %d): %w", res.StatusCode, err)
		return o
	}
	o.status = res.StatusCode
	if o.acked() {
		var ans struct {
			Version int64 `json:"version"`
			Events  []struct {
				Version   int64  `json:"version"`
				CommandID string `json:"commandId"`
			} `json:"events"`
		}
		if err := json.Unmarshal(b, &ans); err != nil {
			o.err = fmt.Errorf("a %d answer that is not the contract's JSON: %q", o.status, b)
			return o
		}
		o.version = ans.Version
		for _, e := range ans.Events {
			o.versions = append(o.versions, e.Version)
		}
		return o
	}
	var refusal struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(b, &refusal)
	o.code = refusal.Error.Code
	return o
}

// drive runs clients, each sending commands one after another, until ctx
// ends or the server stops answering (a client stops at its first error).
func (d *driver) drive(ctx context.Context, clients int, seed uint64) {
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			g := newGen(d.run, c, seed)
			for ctx.Err() == nil {
				o := d.send(ctx, c, g.next())
				g.learn(o)
				if o.err != nil {
					return
				}
			}
		})
	}
	wg.Wait()
}

// snapshot returns the outcomes so far.
func (d *driver) snapshot() []outcome {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]outcome(nil), d.outcomes...)
}

// gen makes one client's commands: mostly items added to carts that every
// client shares (so appends race), some removed, the odd checkout, matches
// of the client's own scored innings by innings with the version it saw, a
// few stale expected versions and a few repeated command ids.
type gen struct {
	client int
	run    string
	rng    *rand.Rand
	n      int
	last   *command
	// carts is the version of each cart this client last saw.
	carts map[string]int64
	// match is the client's current match ("" for none), its version and
	// innings completed.
	match   string
	matchV  int64
	innings int
	matches int
}

func newGen(run string, client int, seed uint64) *gen {
	return &gen{client: client, run: run, rng: rand.New(rand.NewPCG(seed, uint64(client))), carts: map[string]int64{}}
}

var prices = []string{"1.00", "2.50", "19.99", "0.05"}

func (g *gen) next() command {
	if g.last != nil && g.rng.IntN(100) < 3 {
		c := *g.last // the same command id again
		c.repeat = true
		return c
	}
	g.n++
	id := fmt.Sprintf("%s-%d-%d", g.run, g.client, g.n)
	var c command
	switch r := g.rng.IntN(100); {
	case r < 12:
		c = g.matchCommand()
	default:
		cart := fmt.Sprintf("c-%d", g.rng.IntN(4))
		if g.rng.IntN(2) == 0 {
			cart = fmt.Sprintf("c-%s-%d", g.run, g.rng.IntN(4))
		}
		c = command{stream: "cart/" + cart}
		switch r := g.rng.IntN(1000); {
		case r < 2:
			c.path, c.body = "/carts/"+cart+"/checkout", map[string]any{}
		case r < 100:
			sku := fmt.Sprintf("sku-%d", g.rng.IntN(12))
			c.path, c.body = "/carts/"+cart+"/items/"+sku+"/remove", map[string]any{}
		default:
			sku := g.rng.IntN(12)
			c.path = "/carts/" + cart + "/items"
			c.body = map[string]any{
				// A sku has one price: another would be refused (PriceMismatch).
				"sku": fmt.Sprintf("sku-%d", sku), "qty": 1 + g.rng.IntN(3), "price": prices[sku%len(prices)],
			}
			if v, ok := g.carts[cart]; ok && g.rng.IntN(10) == 0 {
				c.body["expectedVersion"] = v // often stale: a 409, nothing appended
			}
		}
	}
	c.id = id
	c.body["commandId"] = id
	g.last = &c
	return c
}

func (g *gen) matchCommand() command {
	if g.match == "" {
		g.matches++
		g.match = fmt.Sprintf("m-%s-%d-%d", g.run, g.client, g.matches)
		g.matchV, g.innings = 0, 0
		return command{stream: "match/" + g.match, path: "/matches", body: map[string]any{
			"matchId": g.match, "venue": "Ground " + g.run, "homeTeam": fmt.Sprintf("Home %d", g.client), "awayTeam": "Away",
		}}
	}
	c := command{stream: "match/" + g.match}
	if g.innings == 4 {
		c.path, c.body = "/matches/"+g.match+"/end", map[string]any{"result": "a draw", "expectedVersion": g.matchV}
		return c
	}
	c.path, c.body = "/matches/"+g.match+"/innings", map[string]any{
		"innings": g.innings + 1, "runs": g.rng.IntN(500), "wickets": g.rng.IntN(11), "expectedVersion": g.matchV,
	}
	return c
}

func (g *gen) learn(o outcome) {
	typ, id := splitStream(o.cmd.stream)
	switch typ {
	case "cart":
		if o.acked() {
			g.carts[id] = o.version
		}
	case "match":
		if id != g.match || o.resent || o.cmd.repeat {
			return
		}
		if !o.acked() {
			g.match = "" // its state is unknown now: start another
			return
		}
		g.matchV = o.version
		switch o.cmd.path {
		case "/matches/" + id + "/innings":
			g.innings++
		case "/matches/" + id + "/end":
			g.match = ""
		}
	}
}

func splitStream(s string) (typ, id string) {
	for i := range len(s) {
		if s[i] == '/' {
			return s[:i], s[i+1:]
		}
	}
	return s, ""
}
