package crashtest

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/foldboard/foldboard/es/dynamo"
	"github.com/foldboard/foldboard/internal/redistest"
	"github.com/foldboard/foldboard/projections"
)

// clusterFailover is the instances' lease failover in these tests: short,
// so that a takeover is quick to wait for.
const clusterFailover = time.Second

// cluster is several instances of the binary on one DynamoDB's tables and
// one Redis.
type cluster struct {
	t     *testing.T
	b     backend
	redis *redistest.Server
	o     opened
	lease *dynamo.Lease // an observer's view of the lease item
	procs map[string]*proc
}

func newCluster(t *testing.T, ids ...string) *cluster {
	t.Helper()
	b := dynamoBackend(t)
	c := &cluster{t: t, b: b, redis: redistest.NewServer(t), procs: map[string]*proc{}}
	// The first instance makes the tables; the observer opens them after.
	c.start(ids[0])
	c.o = b.open(t)
	t.Cleanup(func() { c.o.close() })
	c.lease = c.o.store.(*dynamo.Store).Lease("observer", clusterFailover, nil)
	for _, id := range ids[1:] {
		c.start(id)
	}
	return c
}

// start starts instance id (again) and waits until it is healthy.
func (c *cluster) start(id string) *proc {
	c.t.Helper()
	args := append(slices.Clone(c.b.args), "-redis", c.redis.URL(), "-instance", id, "-failover", clusterFailover.String())
	p := startProc(c.t, args, c.b.env)
	p.waitHealthy(c.t)
	c.procs[id] = p
	return p
}

// holder waits until an instance other than not holds the lease, and
// returns it with its epoch.
func (c *cluster) holder(not string) (string, int64) {
	c.t.Helper()
	deadline := time.Now().Add(10 * clusterFailover)
	for {
		owner, epoch, err := c.lease.Holder(context.Background())
		if err != nil {
			c.t.Fatalf("reading the lease: %v", err)
		}
		if _, ok := c.procs[owner]; ok && owner != not {
			return owner, epoch
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("no instance but %q took the lease within %v (owner %q)", not, 10*clusterFailover, owner)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// liveEverywhere sends, on each instance, a command to a new cart and
// waits for a fragment naming it on a WebSocket of every other instance.
// It returns the carts' streams.
func (c *cluster) liveEverywhere(run string) (streams []string) {
	c.t.Helper()
	for from, p := range c.procs {
		cart := fmt.Sprintf("live-%s-%s", run, from)
		streams = append(streams, "cart/"+cart)
		var conns []*websocket.Conn
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		for to, q := range c.procs {
			if to == from {
				continue
			}
			conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(q.url, "http")+"/ws?topic=cart/"+cart, nil)
			if err != nil {
				c.t.Fatalf("WebSocket on %s: %v", to, err)
			}
			defer conn.CloseNow()
			if _, _, err := conn.Read(ctx); err != nil { // the cart as it is: empty
				c.t.Fatalf("first fragment on %s: %v", to, err)
			}
			conns = append(conns, conn)
		}
		body := `{"sku":"sku-live","qty":2,"price":"1.00"}`
		res, err := http.Post(p.url+"/carts/"+cart+"/items", "application/json", strings.NewReader(body))
		if err != nil || res.StatusCode >= 300 {
			c.t.Fatalf("a command on %s: %v %v", from, res, err)
		}
		res.Body.Close()
		for _, conn := range conns {
			for {
				_, msg, err := conn.Read(ctx)
				if err != nil {
					c.t.Fatalf("a command on %s never reached a page on another instance: %v", from, err)
				}
				if bytes.Contains(msg, []byte("sku-live")) {
					break
				}
			}
		}
		cancel()
	}
	return streams
}

// positions is each instance's read-model position, as its /healthz
// says, with its role.
func (c *cluster) positions() map[string]string {
	c.t.Helper()
	out := map[string]string{}
	for id, p := range c.procs {
		var ans struct{ Status, Instance, Role, Position string }
		getJSON(c.t, p.url+"/healthz", &ans)
		if ans.Status != "ok" || ans.Instance != id || (ans.Role != "projector" && ans.Role != "follower") {
			c.t.Fatalf("%s's /healthz: %+v", id, ans)
		}
		out[id] = ans.Position
	}
	return out
}

// sameEverywhere waits until every instance's read models stand at the
// saved checkpoint.
func (c *cluster) sameEverywhere() {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		name := readModelsName(c.t, c.o)
		saved, _, err := c.o.rm.LoadReadModels(context.Background(), name)
		if err != nil {
			c.t.Fatal(err)
		}
		pos := c.positions()
		same := len(pos) == len(c.procs)
		for _, p := range pos {
			same = same && p == saved
		}
		if same {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("the instances' read models stand at %v; the saved ones at %q", pos, saved)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestClusterHasOneProjectorEveryInstanceLiveAndSurvivesKillNine(t *testing.T) {
	c := newCluster(t, "i1", "i2", "i3")
	first, epoch := c.holder("")
	streams := c.liveEverywhere("a")

	// kill -9 of the holder under load on the others.
	var all []outcome
	load := func(on string, run string, during func()) {
		d := newDriver(c.procs[on].url, run, 4)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); d.drive(ctx, 4, uint64(len(run))) }()
		for d.acked.Load() < 30 {
			time.Sleep(5 * time.Millisecond)
		}
		during()
		for n := d.acked.Load(); d.acked.Load() < n+30; {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
		<-done
		d.close()
		outs := d.snapshot()
		t.Logf("%s on %s: %s", run, on, describe(outs))
		all = append(all, outs...)
	}
	follower := func(not ...string) string {
		for id := range c.procs {
			if !slices.Contains(not, id) {
				return id
			}
		}
		t.Fatal("no instance left")
		return ""
	}
	on := follower(first)
	killed := time.Now()
	load(on, "k1", func() {
		c.procs[first].kill9(t)
		delete(c.procs, first)
	})
	second, epoch2 := c.holder(first)
	t.Logf("holder %s (epoch %d) killed; %s took over (epoch %d) %v after the kill", first, epoch, second, epoch2, time.Since(killed).Round(time.Millisecond))
	if epoch2 <= epoch {
		t.Fatalf("the new holder's epoch %d is not past the old %d", epoch2, epoch)
	}
	c.start(first) // back, as a follower
	streams = append(streams, c.liveEverywhere("b")...)

	// kill -9 of a follower under load.
	f := follower(second)
	load(second, "k2", func() {
		c.procs[f].kill9(t)
		delete(c.procs, f)
	})
	c.start(f)

	// Every acknowledged command in the log once; every instance's read
	// models where the saved ones are, and those equal a fresh fold.
	var anyURL string
	for _, p := range c.procs {
		anyURL = p.url
	}
	logs := readLogs(t, anyURL, append(streams, streamsOf(all)...))
	waitApplied(t, c.o, c.procs[second], totalEvents(logs))
	checkOutcomes(t, logs, all)
	c.sameEverywhere()
	checkReadModels(t, c.o, logs, c.b.ordered)
}

func readModelsName(t *testing.T, o opened) string {
	t.Helper()
	name, err := projections.CurrentName(context.Background(), o.settings)
	if err != nil {
		t.Fatalf("the read models' name: %v", err)
	}
	return name
}
