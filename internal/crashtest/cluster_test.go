package crashtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/es/dynamo"
	"github.com/foldboard/foldboard/internal/redistest"
	"github.com/foldboard/foldboard/projections"
	"github.com/foldboard/foldboard/reactions"
)

// clusterFailover is the instances' lease failover in these tests: short,
// so that a takeover is quick to wait for.
const clusterFailover = time.Second

// cluster is several instances of the binary on one DynamoDB's tables and
// one Redis.
type cluster struct {
	t     testing.TB
	b     backend
	redis *redistest.Server
	o     opened
	lease *dynamo.Lease // an observer's view of the lease item
	procs map[string]*proc
	clusterOptions
}

// clusterOptions change how a cluster's instances run.
type clusterOptions struct {
	// envOf, when set, adds to instance id's environment.
	envOf func(id string) []string
	// failover is the instances' -failover; clusterFailover when zero.
	failover time.Duration
}

func newCluster(t testing.TB, ids ...string) *cluster {
	t.Helper()
	return newClusterOn(t, dynamoBackend(t), clusterOptions{}, ids...)
}

// newClusterOn starts instances ids on b's tables as opts say.
func newClusterOn(t testing.TB, b backend, opts clusterOptions, ids ...string) *cluster {
	t.Helper()
	if opts.failover == 0 {
		opts.failover = clusterFailover
	}
	c := &cluster{t: t, b: b, redis: redistest.NewServer(t), procs: map[string]*proc{}, clusterOptions: opts}
	// The first instance makes the tables; the observer opens them after.
	c.start(ids[0])
	c.o = b.open(t)
	t.Cleanup(func() { c.o.close() })
	c.lease = c.o.store.(*dynamo.Store).Lease("observer", c.failover, nil)
	for _, id := range ids[1:] {
		c.start(id)
	}
	return c
}

// start starts instance id (again) and waits until it is healthy.
func (c *cluster) start(id string) *proc {
	c.t.Helper()
	args := append(slices.Clone(c.b.args), "-redis", c.redis.URL(), "-instance", id, "-failover", c.failover.String())
	env := c.b.env
	if c.envOf != nil {
		env = append(slices.Clone(env), c.envOf(id)...)
	}
	p := startProc(c.t, args, env)
	p.waitHealthy(c.t)
	c.procs[id] = p
	return p
}

// holder waits until an instance other than not holds the lease, and
// returns it with its epoch.
func (c *cluster) holder(not string) (string, int64) {
	c.t.Helper()
	deadline := time.Now().Add(10 * c.failover)
	for {
		owner, epoch, err := c.lease.Holder(context.Background())
		if err != nil {
			c.t.Fatalf("reading the lease: %v", err)
		}
		if _, ok := c.procs[owner]; ok && owner != not {
			return owner, epoch
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("no instance but %q took the lease within %v (owner %q)", not, 10*c.failover, owner)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// liveEverywhere sends, on each instance, a command to a new cart and
// waits for a fragment naming it on a WebSocket of every other instance.
func (c *cluster) liveEverywhere(run string) {
	c.t.Helper()
	for from, p := range c.procs {
		cart := fmt.Sprintf("live-%s-%s", run, from)
		var conns []*websocket.Conn
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		for to, q := range c.procs {
			if to == from {
				continue
			}
			// As the cart's owner: another's cart is not shown live.
			conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(q.url, "http")+"/ws?topic=cart/"+cart,
				&websocket.DialOptions{HTTPHeader: http.Header{"X-Actor": {"cluster test"}}})
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
		req, _ := http.NewRequest(http.MethodPost, p.url+"/carts/"+cart+"/items", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		req.Header.Set("X-Actor", "cluster test")
		res, err := http.DefaultClient.Do(req)
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
}

var instanceRow = regexp.MustCompile(`data-instance="([^"]+)" data-role="([^"]+)" data-position="([^"]*)" data-clients="(\d+)"`)

// instancesEverywhere opens a WebSocket on each instance (two on the last
// by id) and waits until every instance's dashboard lists them all: holder
// as the projector, the others as followers, each with the position its
// /healthz says and at least the clients opened on it.
func (c *cluster) instancesEverywhere(holder string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ids := slices.Sorted(maps.Keys(c.procs))
	opened := map[string]int{}
	for i, id := range ids {
		n := 1
		if i == len(ids)-1 {
			n = 2
		}
		for range n {
			conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(c.procs[id].url, "http")+"/ws?topic=dashboard", nil)
			if err != nil {
				c.t.Fatalf("WebSocket on %s: %v", id, err)
			}
			defer conn.CloseNow()
			opened[id]++
		}
	}
	var last string
	for {
		pos := c.positions()
		ok := true
		for _, on := range ids {
			res, err := http.Get(c.procs[on].url + "/")
			if err != nil {
				c.t.Fatal(err)
			}
			page, _ := io.ReadAll(res.Body)
			res.Body.Close()
			rows := instanceRow.FindAllStringSubmatch(string(page), -1)
			var listed []string
			for _, r := range rows {
				id, role, position, clients := r[1], r[2], html.UnescapeString(r[3]), r[4]
				listed = append(listed, id)
				wantRole := "follower"
				if id == holder {
					wantRole = "projector"
				}
				n, _ := strconv.Atoi(clients)
				if role != wantRole || position != pos[id] || n < opened[id] {
					ok = false
					last = fmt.Sprintf("%s lists %s as %s at %q with %d clients (want %s at %q, %d+)", on, id, role, position, n, wantRole, pos[id], opened[id])
				}
			}
			if !slices.Equal(listed, ids) {
				ok = false
				last = fmt.Sprintf("%s lists %v, want %v", on, listed, ids)
			}
		}
		if ok {
			return
		}
		if ctx.Err() != nil {
			c.t.Fatalf("the dashboards never listed every instance: %s", last)
		}
		time.Sleep(200 * time.Millisecond)
	}
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
	c.liveEverywhere("a")
	c.instancesEverywhere(first)
	// The saved checkpoint never moves back: not as the holder dies and
	// another takes over from it, nor as a follower dies.
	w := c.watchCheckpoint()

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
	c.liveEverywhere("b")

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
	logs := readLogs(t, anyURL, loggedStreams(t, c.o))
	waitApplied(t, c.o, c.procs[second], totalEvents(logs))
	checkOutcomes(t, logs, all)
	c.sameEverywhere()
	w.end(t)
	c.servedAsFold(t, checkReadModels(t, c.o, logs, c.b.ordered))
}

func readModelsName(t testing.TB, o opened) string {
	t.Helper()
	name, err := projections.CurrentName(context.Background(), o.settings)
	if err != nil {
		t.Fatalf("the read models' name: %v", err)
	}
	return name
}

// checkpoints watches the saved checkpoint and records every time a
// shard's position in it went back.
type checkpoints struct {
	stop  chan struct{}
	done  chan struct{}
	backs []string
	seen  int
}

func (c *cluster) watchCheckpoint() *checkpoints {
	w := &checkpoints{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		last := map[string]string{}
		for {
			select {
			case <-w.stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			// Not readModelsName: its Fatal is for the test's goroutine.
			name, err := projections.CurrentName(context.Background(), c.o.settings)
			if err != nil {
				continue
			}
			saved, _, err := c.o.rm.LoadReadModels(context.Background(), name)
			if err != nil || saved == "" {
				continue
			}
			var cp struct {
				Shards map[string]string `json:"shards"`
			}
			if json.Unmarshal([]byte(saved), &cp) != nil {
				continue
			}
			w.seen++
			for shard, seq := range cp.Shards {
				if old := last[shard]; seq != "" && old != "" && seqLess(seq, old) {
					w.backs = append(w.backs, fmt.Sprintf("shard %s: %s after %s", shard, seq, old))
				}
				if seq != "" {
					last[shard] = seq
				}
			}
		}
	}()
	return w
}

func (w *checkpoints) end(t *testing.T) {
	t.Helper()
	close(w.stop)
	<-w.done
	if w.seen == 0 {
		t.Errorf("the checkpoint watcher never read a saved checkpoint")
	}
	t.Logf("the saved checkpoint, read %d times, never moved back: %d times", w.seen, len(w.backs))
	if len(w.backs) > 0 {
		t.Errorf("the saved checkpoint moved backwards (%d samples): %v", w.seen, w.backs)
	}
}

// seqLess compares two Streams sequence numbers (decimal strings).
func seqLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

func signal(t *testing.T, p *proc, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
}

// reactorCheckpoints are each reaction's saved checkpoint: the position
// of each shard, by reaction.
func (c *cluster) reactorCheckpoints() map[string]map[string]string {
	c.t.Helper()
	out := map[string]map[string]string{}
	for _, name := range []string{reactions.MatchReport, reactions.Loyalty, reactions.CartReminder} {
		saved, _, err := c.o.rm.LoadReadModels(context.Background(), es.ReactorName(name))
		if err != nil {
			c.t.Fatalf("loading reactor %s: %v", name, err)
		}
		var cp struct {
			Shards map[string]string `json:"shards"`
		}
		if saved != "" {
			if err := json.Unmarshal([]byte(saved), &cp); err != nil {
				c.t.Fatalf("reactor %s's checkpoint %q: %v", name, saved, err)
			}
		}
		out[name] = cp.Shards
	}
	return out
}

// reactorsMovedOn waits until every reactor saved a checkpoint past the
// one it had saved in then.
func (c *cluster) reactorsMovedOn(then map[string]map[string]string) {
	c.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		now := c.reactorCheckpoints()
		moved := 0
		for name := range then {
			if ahead(now[name], then[name]) {
				moved++
			}
		}
		if moved == len(then) {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("the reactors' checkpoints did not all move on in 20 s: %v, then %v", now, then)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ahead reports whether checkpoint a is past b: some shard further on,
// none behind.
func ahead(a, b map[string]string) bool {
	further := false
	for shard, seq := range a {
		old := b[shard]
		if old != "" && seqLess(seq, old) {
			return false
		}
		further = further || old == "" || seqLess(old, seq)
	}
	return further
}

// movedBack lists each reactor's shard whose position in now is before the
// one in then.
func movedBack(then, now map[string]map[string]string) []string {
	var out []string
	for name, shards := range then {
		for shard, seq := range shards {
			if got := now[name][shard]; got == "" || seqLess(got, seq) {
				out = append(out, fmt.Sprintf("%s shard %s: %q after %q", name, shard, got, seq))
			}
		}
	}
	return out
}

// role is an instance's role as its /healthz says.
// An instance that just stepped down may answer 503: behind (with its
// role), or its projector not running yet ("").
func (c *cluster) role(id string) string {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.procs[id].url+"/healthz", nil)
	req.Header.Set("Accept", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("GET /healthz of %s: %v", id, err)
	}
	defer res.Body.Close()
	var ans struct{ Role string }
	err = json.NewDecoder(res.Body).Decode(&ans)
	switch {
	case res.StatusCode == http.StatusServiceUnavailable && err != nil:
		return "" // its projector between two roles
	case err != nil || (res.StatusCode != http.StatusOK && res.StatusCode != http.StatusServiceUnavailable):
		c.t.Fatalf("GET /healthz of %s: %d (%v)", id, res.StatusCode, err)
	}
	return ans.Role
}

func TestClusterSurvivesAPausedHolderARedisRestartAndARollingRestart(t *testing.T) {
	c := newCluster(t, "p1", "p2", "p3")
	w := c.watchCheckpoint()
	first, epoch := c.holder("")
	var all []outcome
	others := func(not string) []string {
		var ids []string
		for id := range c.procs {
			if id != not {
				ids = append(ids, id)
			}
		}
		slices.Sort(ids)
		return ids
	}
	// load drives commands on instance on while during runs.
	load := func(on, run string, during func()) {
		t.Helper()
		d := newDriver(c.procs[on].url, run, 3)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); d.drive(ctx, 3, uint64(len(all))) }()
		for d.acked.Load() < 20 {
			time.Sleep(5 * time.Millisecond)
		}
		during()
		for n := d.acked.Load(); d.acked.Load() < n+20; {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
		<-done
		d.close()
		outs := d.snapshot()
		t.Logf("%s on %s: %s", run, on, describe(outs))
		all = append(all, outs...)
	}

	// A holder paused past its lease (SIGSTOP), then woken: it cannot
	// save, not even its reactors' checkpoints (which it would move back
	// when it stops them), and steps down.
	paused := c.procs[first]
	load(others(first)[0], "s1", func() {
		signal(t, paused, syscall.SIGSTOP)
		second, epoch2 := c.holder(first)
		t.Logf("%s paused; %s took the lease (epoch %d after %d)", first, second, epoch2, epoch)
		time.Sleep(clusterFailover) // the new holder saves meanwhile
		// The new holder's reactors save past every event the paused one
		// saw; paused in turn, it saves nothing more for a while.
		c.reactorsMovedOn(c.reactorCheckpoints())
		signal(t, c.procs[second], syscall.SIGSTOP)
		saved := c.reactorCheckpoints()
		signal(t, paused, syscall.SIGCONT)
		deadline := time.Now().Add(10 * clusterFailover)
		for c.role(first) != "follower" {
			if time.Now().After(deadline) {
				t.Fatalf("the woken holder %s did not step down", first)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if back := movedBack(saved, c.reactorCheckpoints()); len(back) > 0 {
			t.Errorf("the woken holder moved reactors' checkpoints back: %v", back)
		}
		signal(t, c.procs[second], syscall.SIGCONT)
	})
	if !strings.Contains(paused.log.String(), "stepping down") {
		t.Errorf("the woken holder did not say it stepped down:\n%s", paused.log)
	}
	c.liveEverywhere("s")

	// Redis stopped and started under load: the followers recover.
	holder, _ := c.holder("")
	load(others(holder)[0], "r1", func() {
		c.redis.Stop(t)
		time.Sleep(500 * time.Millisecond)
		c.redis.Start(t)
	})
	c.liveEverywhere("r")

	// A rolling restart of all three under load (SIGTERM, start again).
	for _, id := range []string{"p1", "p2", "p3"} {
		on := others(id)[0]
		load(on, "rr-"+id, func() {
			if code, took := c.procs[id].terminate(t, 10*time.Second); code != 0 {
				t.Fatalf("%s exited %d after SIGTERM (%v)", id, code, took)
			}
			c.start(id)
		})
	}
	c.liveEverywhere("z")

	holder, _ = c.holder("")
	logs := readLogs(t, c.procs[holder].url, loggedStreams(t, c.o))
	waitApplied(t, c.o, c.procs[holder], totalEvents(logs))
	checkOutcomes(t, logs, all)
	c.sameEverywhere()
	w.end(t)
	c.servedAsFold(t, checkReadModels(t, c.o, logs, c.b.ordered))
}

// loggedStreams lists every stream of the store's log, the reactions'
// included.
func loggedStreams(t *testing.T, o opened) []string {
	t.Helper()
	seen := map[string]bool{}
	var out []string
	q := es.LogQuery{Limit: 1000}
	for {
		page, err := o.store.ReadLog(context.Background(), q)
		if err != nil {
			t.Fatalf("reading the log: %v", err)
		}
		for _, e := range page.Events {
			if s := e.Stream.String(); !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
		if len(page.Events) == 0 || page.Next == "" {
			return out
		}
		q.After = page.Next
	}
}
