package crashtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/foldboard/foldboard/internal/dynamotest"
	"github.com/foldboard/foldboard/internal/loadgen"
)

// BenchmarkCluster runs the built binary as a cluster on one DynamoDB Local
// and one Redis, as the crash tests do (-failover 1s unless said), and
// measures what
// issue 15 asks of one (BENCHMARKS.md, "A cluster of instances", says how
// to read each figure):
//
//   - live: a command on one instance until a WebSocket on each instance
//     shows it, every sender and receiver in turns in one run, so that each
//     instance's own p99 (C→C) stands beside the others' (A→C);
//   - fanout: one change pushed to 3 × 2,000 WebSocket clients, 2,000 on
//     each instance;
//   - failover: kill -9 of the lease holder until a follower's page shows
//     the next change, with the crash tests' -failover 1s and with the
//     default 10s;
//   - getrecords: the Streams calls a second of 1, 3 and 5 instances, idle
//     and under the same load, counted by a reverse proxy in front of
//     DynamoDB Local.
//
// Each sub-benchmark measures a fixed number of samples (more when b.N
// asks) on a cluster of its own, so one iteration is one whole measurement.
func BenchmarkCluster(b *testing.B) {
	b.Run("live", benchClusterLive)
	b.Run("fanout", benchClusterFanOut)
	b.Run("failover", func(b *testing.B) {
		b.Run("lease=1s", func(b *testing.B) { benchClusterFailover(b, clusterFailover, 5) })
		b.Run("lease=8s", func(b *testing.B) { benchClusterFailover(b, 8*time.Second, 2) }) // the default
	})
	b.Run("getrecords", func(b *testing.B) {
		for _, n := range []int{1, 3, 5} {
			b.Run(fmt.Sprintf("instances=%d", n), func(b *testing.B) { benchGetRecords(b, n) })
		}
	})
}

// benchAuthor is the actor the benchmarks' commands name (X-Actor, which
// the crash tests' servers trust from loopback): the posts are theirs.
const benchAuthor = "bench"

// benchLoadRate is the background load of the loaded measurements, in
// commands a second across the whole cluster (spread evenly over its
// instances), `foldboard load`'s default mix: steady, and well below what
// DynamoDB Local takes on this machine.
const benchLoadRate = 30

// benchWarmUp is how long a fresh cluster runs before anything counts: a
// fresh DynamoDB Local's JVM compiles its hot paths in its first thousand
// or so calls.
const benchWarmUp = 3 * time.Second

var benchMix = func() loadgen.Mix {
	m, err := loadgen.ParseMix("innings=1,cart=2,post=1")
	if err != nil {
		panic(err)
	}
	return m
}()

// freshCluster starts instances i1…in on tables of their own in a DynamoDB
// Local restarted for them (dynamotest.Fresh: it slows with what was
// written to it before, across tables), as opts say.
func freshCluster(b *testing.B, n int, opts clusterOptions) (*cluster, []string) {
	b.Helper()
	dynamotest.Fresh(b)
	ids := instanceIDs(n)
	return newClusterOn(b, dynamoBackend(b), opts, ids...), ids
}

func instanceIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("i%d", i+1)
	}
	return ids
}

// --- live: a command on A, seen on C ---------------------------------------

const (
	// liveProbes posts take turns, so that one post's topic changes at
	// most every liveProbes probes; prime to the three senders, so that
	// each post is changed on every instance in turn.
	liveProbes = 25
	// liveEvery spaces the probes; each waits for its fragment on every
	// instance before the next.
	liveEvery = 20 * time.Millisecond
	// minClusterLiveSamples probes, a third sent on each instance: each
	// (sender, receiver) pair gets about 300.
	minClusterLiveSamples = 900
)

func benchClusterLive(b *testing.B) {
	c, ids := freshCluster(b, 3, clusterOptions{})
	holder, _ := c.holder("")
	client := benchClient()
	ctx, cancel := context.WithCancel(context.Background())
	var readers sync.WaitGroup
	defer readers.Wait()
	defer cancel()

	// arrivals[to][p]: post p's versions as the WebSocket on instance to
	// got them.
	arrivals := map[string][]chan arrival{}
	for _, to := range ids {
		arrivals[to] = make([]chan arrival, liveProbes)
	}
	for p := range liveProbes {
		post := fmt.Sprintf("bench-live-%d", p)
		newPost(b, client, c.procs[ids[p%len(ids)]].url, post, "")
		for _, to := range ids {
			ch := make(chan arrival, 64)
			arrivals[to][p] = ch
			watchVersions(ctx, b, &readers, c.procs[to].url, "post/"+post, nil, func(a arrival) {
				select {
				case ch <- a:
				default:
				}
			})
		}
	}
	load := startLoad(ctx, c, ids, benchLoadRate)

	samples := max(b.N, minClusterLiveSamples)
	lat := map[[2]string]durations{} // by (from, to)
	var answered durations           // the command's own answer
	warmUntil := time.Now().Add(benchWarmUp)
	warm, n := true, 0
	b.ResetTimer()
	next := time.Now()
	for i := 0; warm || n < samples; i++ {
		if warm && time.Now().After(warmUntil) {
			warm, n = false, 0
			clear(lat)
			answered = answered[:0]
		}
		// The senders take turns probe by probe, so that what the machine
		// does meanwhile falls on every pair alike.
		p, from := i%liveProbes, ids[i%len(ids)]
		time.Sleep(time.Until(next))
		next = time.Now().Add(liveEvery)
		start := time.Now()
		v := benchPost(b, client, c.procs[from].url+"/posts/"+fmt.Sprintf("bench-live-%d", p)+"/title", fmt.Sprintf(`{"title":"probe %d"}`, i))
		answered = append(answered, time.Since(start))
		for _, to := range ids {
			got := awaitVersion(b, arrivals[to][p], v, 30*time.Second)
			key := [2]string{from, to}
			lat[key] = append(lat[key], got.Sub(start))
		}
		n++
	}
	b.StopTimer()
	cancel()
	loadRate := load.wait(b)

	// Each receiver's own p99 beside the others' to it, by its role.
	var worst float64
	self, cross := map[string]durations{}, map[string]durations{}
	for _, to := range ids {
		var own, others durations
		for _, from := range ids {
			if from == to {
				own = append(own, lat[[2]string{from, to}]...)
			} else {
				others = append(others, lat[[2]string{from, to}]...)
			}
		}
		ratio := ms(others.quantile(0.99)) / ms(own.quantile(0.99))
		worst = max(worst, ratio)
		role := "follower"
		if to == holder {
			role = "holder"
		}
		self[role] = append(self[role], own...)
		cross[role] = append(cross[role], others...)
		b.Logf("on %s (%s): own p50 %.1f p99 %.1f ms; from the others p50 %.1f p99 %.1f ms (%d, %d samples); %.2f×",
			to, role, ms(own.quantile(0.5)), ms(own.quantile(0.99)), ms(others.quantile(0.5)), ms(others.quantile(0.99)), len(own), len(others), ratio)
	}
	for _, from := range ids {
		var row []string
		for _, to := range ids {
			d := lat[[2]string{from, to}]
			row = append(row, fmt.Sprintf("→%s p50 %.1f p99 %.1f", to, ms(d.quantile(0.5)), ms(d.quantile(0.99))))
		}
		b.Logf("from %s: %s ms", from, strings.Join(row, ", "))
	}
	b.Logf("holder %s; load %.1f commands/s", holder, loadRate)
	b.ReportMetric(float64(cross["follower"].quantile(0.99).Nanoseconds()), "ns/op")
	for _, role := range []string{"follower", "holder"} {
		b.ReportMetric(ms(self[role].quantile(0.5)), role+"-self-p50-ms")
		b.ReportMetric(ms(self[role].quantile(0.99)), role+"-self-p99-ms")
		b.ReportMetric(ms(cross[role].quantile(0.5)), role+"-cross-p50-ms")
		b.ReportMetric(ms(cross[role].quantile(0.99)), role+"-cross-p99-ms")
	}
	b.ReportMetric(worst, "worst-cross/self-p99")
	b.ReportMetric(ms(answered.quantile(0.5)), "answer-p50-ms")
	b.ReportMetric(ms(answered.quantile(0.99)), "answer-p99-ms")
	b.ReportMetric(loadRate, "load-cmd/s")
}

// --- fanout: one change to 3 × 2,000 clients ---------------------------------

const (
	fanPerInstance = 2000
	// fanPerAddress clients share a source address (127.1.x.y): the
	// servers allow 100 live connections per client address.
	fanPerAddress = 50
	// minClusterFanSamples changes, one at a time, fanGap apart.
	minClusterFanSamples = 100
	fanGap               = 100 * time.Millisecond
)

func benchClusterFanOut(b *testing.B) {
	c, ids := freshCluster(b, 3, clusterOptions{})
	client := benchClient()
	// A published post with a body of some size, so that a fragment weighs
	// what a real one does.
	const post = "bench-fan"
	newPost(b, client, c.procs[ids[0]].url, post, strings.Repeat("A paragraph of the post. ", 80))
	ctx, cancel := context.WithCancel(context.Background())
	var readers sync.WaitGroup
	defer readers.Wait()
	defer cancel()

	total := fanPerInstance * len(ids)
	var mu sync.Mutex
	pushes := map[int64]*clusterPush{}
	lookup := func(v int64) *clusterPush {
		mu.Lock()
		defer mu.Unlock()
		return pushes[v]
	}
	var dialing sync.WaitGroup
	sem := make(chan struct{}, 32)
	var failed atomic.Pointer[error]
	for k, id := range ids {
		clients := map[int]*websocket.DialOptions{}
		for j := range fanPerInstance {
			a := j / fanPerAddress
			if clients[a] == nil {
				clients[a] = &websocket.DialOptions{HTTPClient: fromAddress(net.IPv4(127, 1, byte(k), byte(a+1)))}
			}
			opts, base := clients[a], c.procs[id].url
			sem <- struct{}{}
			dialing.Go(func() {
				defer func() { <-sem }()
				conn, err := dialRetrying(ctx, base, "post/"+post, opts)
				if err != nil {
					failed.CompareAndSwap(nil, &err)
					return
				}
				readers.Go(func() { readFan(ctx, conn, k, lookup) })
			})
		}
	}
	dialing.Wait()
	if err := failed.Load(); err != nil {
		b.Fatalf("connecting %d clients: %v", total, *err)
	}
	time.Sleep(time.Second) // the first fragments read

	samples := max(b.N, minClusterFanSamples)
	var lasts, firsts durations
	perInstance := make([]durations, len(ids))
	version := int64(2) // created, published
	b.ResetTimer()
	for i := range samples {
		time.Sleep(fanGap)
		version++
		p := &clusterPush{done: make(chan struct{}), want: int32(total), wantEach: fanPerInstance}
		mu.Lock()
		pushes[version] = p
		mu.Unlock()
		start := time.Now()
		from := ids[i%len(ids)]
		if v := benchPost(b, client, c.procs[from].url+"/posts/"+post+"/title", fmt.Sprintf(`{"title":"change %d"}`, i)); v != version {
			b.Fatalf("the post at version %d, want %d", v, version)
		}
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
			b.Fatalf("change %d: %d of %d clients had version %d after 30 s", i, p.got.Load(), total, version)
		}
		mu.Lock()
		delete(pushes, version)
		mu.Unlock()
		since := func(at int64) time.Duration { return time.Duration(at - start.UnixNano()) }
		firsts, lasts = append(firsts, since(p.first.Load())), append(lasts, since(p.last.Load()))
		for k := range ids {
			perInstance[k] = append(perInstance[k], since(p.lastEach[k].Load()))
		}
	}
	b.StopTimer()
	holder, _ := c.holder("")
	for k, id := range ids {
		b.Logf("the last of %s's %d clients (holder %s): p50 %.1f p99 %.1f ms", id, fanPerInstance, holder, ms(perInstance[k].quantile(0.5)), ms(perInstance[k].quantile(0.99)))
	}
	b.ReportMetric(float64(lasts.quantile(0.5).Nanoseconds()), "ns/op")
	b.ReportMetric(ms(lasts.quantile(0.5)), "p50-ms")
	b.ReportMetric(ms(lasts.quantile(0.99)), "p99-ms")
	b.ReportMetric(ms(lasts.quantile(1)), "max-ms")
	b.ReportMetric(ms(firsts.quantile(0.5)), "first-p50-ms")
	b.ReportMetric(float64(total), "clients")
}

// clusterPush counts the clients that have one version of the fan-out post.
type clusterPush struct {
	want, wantEach int32
	got            atomic.Int32
	gotEach        [3]atomic.Int32
	first, last    atomic.Int64
	lastEach       [3]atomic.Int64
	done           chan struct{}
}

// readFan reads one fan-out client's fragments and counts each version's
// arrival on instance k.
func readFan(ctx context.Context, conn *websocket.Conn, k int, lookup func(int64) *clusterPush) {
	defer conn.CloseNow()
	var buf []byte
	for {
		msg, err := readInto(ctx, conn, buf[:0])
		if err != nil {
			return
		}
		buf = msg
		p := lookup(attrInt(msg, "data-version"))
		if p == nil {
			continue
		}
		now := time.Now().UnixNano()
		p.first.CompareAndSwap(0, now)
		if p.gotEach[k].Add(1) == p.wantEach {
			p.lastEach[k].Store(now)
		}
		if p.got.Add(1) == p.want {
			p.last.Store(now)
			close(p.done)
		}
	}
}

// fromAddress is an HTTP client whose connections come from the loopback
// address ip.
func fromAddress(ip net.IP) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}, Timeout: 10 * time.Second}
	return &http.Client{Transport: &http.Transport{Proxy: nil, DialContext: d.DialContext}}
}

// dialRetrying opens a WebSocket watching topic, trying again for a while
// (a busy server's backlog may refuse some of thousands of dials).
func dialRetrying(ctx context.Context, base, topic string, opts *websocket.DialOptions) (*websocket.Conn, error) {
	for attempt := 0; ; attempt++ {
		conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(base, "http")+"/ws?topic="+url.QueryEscape(topic), opts)
		if err == nil {
			conn.SetReadLimit(1 << 22)
			return conn, nil
		}
		if attempt == 20 || ctx.Err() != nil {
			return nil, err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// readInto reads one message into buf, grown as needed, so that thousands
// of readers do not allocate a message each.
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

// --- failover: kill -9 of the holder until a follower is live again ----------

// failoverEvery is the pause between the sender's commands.
const failoverEvery = 20 * time.Millisecond

// benchClusterFailover kills the holder of three instances with -failover
// lease minRounds times or more (b.N), each time bringing it back as a
// follower.
func benchClusterFailover(b *testing.B, lease time.Duration, minRounds int) {
	c, ids := freshCluster(b, 3, clusterOptions{failover: lease})
	client := benchClient()
	rounds := max(b.N, minRounds)
	var live, taken durations
	b.ResetTimer()
	for r := range rounds {
		holder, _ := c.holder("")
		var followers []string
		for _, id := range ids {
			if id != holder {
				followers = append(followers, id)
			}
		}
		watchOn, sendOn := followers[0], followers[1]
		post := fmt.Sprintf("bench-failover-%d", r)
		newPost(b, client, c.procs[sendOn].url, post, "")
		got, took := c.timeFailover(client, holder, watchOn, sendOn, post)
		live, taken = append(live, got), append(taken, took)
		b.Logf("round %d: killed %s; the lease taken %v, %s live again %v after the kill (commands on %s)", r, holder, took.Round(time.Millisecond), watchOn, got.Round(time.Millisecond), sendOn)
		c.start(holder) // back, as a follower
	}
	b.StopTimer()
	b.ReportMetric(float64(live.quantile(0.5).Nanoseconds()), "ns/op")
	b.ReportMetric(ms(live.quantile(0.5)), "p50-ms")
	b.ReportMetric(ms(live.quantile(1)), "max-ms")
	b.ReportMetric(ms(taken.quantile(0.5)), "lease-p50-ms")
	b.ReportMetric(ms(taken.quantile(1)), "lease-max-ms")
}

// timeFailover changes post on sendOn every failoverEvery while a
// WebSocket on watchOn watches it, kills the holder once the page is live,
// and returns the time from the kill until watchOn's page shows a command
// sent after it (one only a new holder can have applied), and until
// another instance held the lease.
func (c *cluster) timeFailover(client *http.Client, holder, watchOn, sendOn, post string) (live, lease time.Duration) {
	c.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var readers sync.WaitGroup
	defer readers.Wait()
	defer cancel()
	arrivals := make(chan arrival, 4096)
	watchVersions(ctx, c.t, &readers, c.procs[watchOn].url, "post/"+post, nil, func(a arrival) {
		select {
		case arrivals <- a:
		default:
		}
	})

	// sent[i] is the version and start time of the sender's command i.
	type sentCommand struct {
		version int64
		at      time.Time
	}
	var mu sync.Mutex
	var sent []sentCommand
	var sendErr error
	readers.Go(func() {
		for i := 0; ctx.Err() == nil; i++ {
			at := time.Now()
			v, err := postCommand(ctx, client, c.procs[sendOn].url+"/posts/"+post+"/title", fmt.Sprintf(`{"title":"change %d"}`, i))
			mu.Lock()
			if err != nil {
				if ctx.Err() == nil {
					sendErr = err
				}
				mu.Unlock()
				return
			}
			sent = append(sent, sentCommand{v, at})
			mu.Unlock()
			time.Sleep(failoverEvery)
		}
	})
	// Live before the kill: ten changes seen.
	for seen := 0; seen < 10; {
		select {
		case <-arrivals:
			seen++
		case <-time.After(30 * time.Second):
			c.t.Fatalf("%s's page saw %d changes of %s in 30 s before the kill", watchOn, seen, post)
		}
	}

	killed := time.Now()
	c.procs[holder].kill9(c.t)
	delete(c.procs, holder)
	c.holder(holder)
	lease = time.Since(killed)
	// The first command sent after the kill, and its arrival on watchOn.
	var after int64
	deadline := time.Now().Add(30 * time.Second)
	for after == 0 {
		mu.Lock()
		for _, s := range sent {
			if s.at.After(killed) {
				after = s.version
				break
			}
		}
		err := sendErr
		mu.Unlock()
		if err != nil {
			c.t.Fatalf("commands on %s: %v", sendOn, err)
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("no command on %s answered within 30 s of the kill", sendOn)
		}
		time.Sleep(5 * time.Millisecond)
	}
	at := awaitVersion(c.t, arrivals, after, 30*time.Second)
	return at.Sub(killed), lease
}

// --- getrecords: the Streams reads of 1, 3 and 5 instances -------------------

// getRecordsWindow is how long each count runs.
const getRecordsWindow = 10 * time.Second

func benchGetRecords(b *testing.B, n int) {
	endpoint := dynamotest.Endpoint(b) // the same after freshCluster's restart
	calls := &streamCalls{n: map[string]map[string]int64{}}
	proxies := map[string]string{}
	envOf := func(id string) []string {
		if proxies[id] == "" {
			proxies[id] = calls.proxy(b, id, endpoint)
		}
		return []string{"AWS_ENDPOINT_URL_DYNAMODB_STREAMS=" + proxies[id]}
	}
	c, ids := freshCluster(b, n, clusterOptions{envOf: envOf})
	holder, _ := c.holder("")
	time.Sleep(benchWarmUp) // the holder's first reads done, the followers settled

	// count counts the calls for getRecordsWindow: a second, but the
	// followers' GetRecords in all; and the mean GetRecords call.
	var empties float64 // of the last count, a second
	count := func() (all, getRecords, followers float64, mean time.Duration) {
		before, tookBefore := calls.snapshot()
		time.Sleep(getRecordsWindow)
		after, tookAfter := calls.snapshot()
		empties = 0
		for id, targets := range after {
			for target, k := range targets {
				d := float64(k - before[id][target])
				if target == emptyRecordsTarget {
					empties += d / getRecordsWindow.Seconds()
					continue
				}
				all += d
				if target == getRecordsTarget {
					getRecords += d
					if id != holder {
						followers += d
					}
				}
			}
		}
		if getRecords > 0 {
			mean = (tookAfter - tookBefore) / time.Duration(getRecords)
		}
		s := getRecordsWindow.Seconds()
		return all / s, getRecords / s, followers, mean
	}
	// underLoad counts while benchLoadRate commands a second are sent,
	// spread over the instances on, and returns the commands accepted a
	// second too.
	underLoad := func(on []string) (all, getRecords, followers float64, mean time.Duration, rate float64) {
		ctx, cancel := context.WithCancel(context.Background())
		load := startLoad(ctx, c, on, benchLoadRate)
		time.Sleep(benchWarmUp)
		all, getRecords, followers, mean = count()
		cancel()
		return all, getRecords, followers, mean, load.wait(b)
	}
	b.ResetTimer()
	idleAll, idle, idleFollowers, idleMean := count()
	idleEmpty := empties
	loadedAll, loaded, loadedFollowers, loadedMean, loadRate := underLoad(ids)
	loadedEmpty := empties
	// The same load on the holder alone: what the followers' share of
	// the appends costs in reads.
	var alone, aloneRate, aloneEmpty float64
	var aloneMean time.Duration
	if n > 1 {
		_, alone, _, aloneMean, aloneRate = underLoad([]string{holder})
		aloneEmpty = empties
	}
	b.StopTimer()
	if h, _ := c.holder(""); h != holder {
		b.Fatalf("the lease moved from %s to %s while counting", holder, h)
	}
	byInstance, _ := calls.snapshot()
	b.Logf("%d instances, holder %s: idle %.1f GetRecords/s (%.1f Streams calls/s, a GetRecords %v), loaded %.1f (%.1f, %v) at %.1f commands/s; followers' GetRecords: %v idle, %v loaded; calls by instance: %v",
		n, holder, idle, idleAll, idleMean.Round(10*time.Microsecond), loaded, loadedAll, loadedMean.Round(10*time.Microsecond), loadRate, idleFollowers, loadedFollowers, byInstance)
	b.Logf("empty GetRecords a second: idle %.1f, loaded %.1f", idleEmpty, loadedEmpty)
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(loadedEmpty, "loaded-empty-GetRecords/s")
	b.ReportMetric(idle, "idle-GetRecords/s")
	b.ReportMetric(loaded, "loaded-GetRecords/s")
	if loadRate > 0 {
		b.ReportMetric(loaded/loadRate, "loaded-GetRecords/cmd")
	}
	b.ReportMetric(idleAll, "idle-streams-calls/s")
	b.ReportMetric(loadedAll, "loaded-streams-calls/s")
	b.ReportMetric(ms(idleMean), "idle-GetRecords-ms")
	b.ReportMetric(ms(loadedMean), "loaded-GetRecords-ms")
	b.ReportMetric(idleFollowers+loadedFollowers, "followers-GetRecords")
	b.ReportMetric(loadRate, "load-cmd/s")
	if n > 1 {
		b.Logf("the same load on the holder alone: %.1f GetRecords/s (%.1f empty, a GetRecords %v) at %.1f commands/s", alone, aloneEmpty, aloneMean.Round(10*time.Microsecond), aloneRate)
		b.ReportMetric(alone, "on-holder-GetRecords/s")
		b.ReportMetric(aloneEmpty, "on-holder-empty-GetRecords/s")
		b.ReportMetric(aloneRate, "on-holder-load-cmd/s")
	}
}

// The Streams API's X-Amz-Target is its prefix and the operation's name.
const (
	streamsTargetPrefix = "DynamoDBStreams_20120810."
	getRecordsTarget    = "GetRecords"
	// emptyRecordsTarget counts the GetRecords that found no record (also
	// counted as GetRecords); not a call of its own.
	emptyRecordsTarget = "GetRecords (empty)"
)

// streamCalls counts the calls each instance's Streams client makes, by
// the operation their X-Amz-Target names, through a reverse proxy of its
// own in front of DynamoDB Local.
type streamCalls struct {
	mu   sync.Mutex
	n    map[string]map[string]int64 // instance → target → calls
	took time.Duration               // the GetRecords calls' time, in all
}

// proxy starts instance's proxy to endpoint and returns its URL.
func (s *streamCalls) proxy(tb testing.TB, instance, endpoint string) string {
	to, err := url.Parse(endpoint)
	if err != nil {
		tb.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(to)
	rp.Transport = &http.Transport{MaxIdleConnsPerHost: 32}
	// A killed or stopping instance's calls end mid-way: not worth a line.
	rp.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, _ error) { w.WriteHeader(http.StatusBadGateway) }
	// An empty page (a read that found the shard's end: an idle poll, an
	// eager one before the record came, or the one after it) counts as
	// emptyRecordsTarget too.
	rp.ModifyResponse = func(resp *http.Response) error {
		if resp.Request.Header.Get("X-Amz-Target") != streamsTargetPrefix+getRecordsTarget || resp.StatusCode != http.StatusOK {
			return nil
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		if err == nil && bytes.Contains(body, []byte(`"Records":[]`)) {
			s.mu.Lock()
			if s.n[instance] == nil {
				s.n[instance] = map[string]int64{}
			}
			s.n[instance][emptyRecordsTarget]++
			s.mu.Unlock()
		}
		return err
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target, ok := strings.CutPrefix(r.Header.Get("X-Amz-Target"), streamsTargetPrefix)
		if !ok {
			target = "other"
		}
		begin := time.Now()
		rp.ServeHTTP(w, r)
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.n[instance] == nil {
			s.n[instance] = map[string]int64{}
		}
		s.n[instance][target]++
		if target == getRecordsTarget {
			s.took += time.Since(begin)
		}
	}))
	tb.Cleanup(srv.Close)
	return srv.URL
}

// snapshot returns the calls so far and the time the GetRecords calls
// took in all.
func (s *streamCalls) snapshot() (map[string]map[string]int64, time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]map[string]int64{}
	for id, targets := range s.n {
		out[id] = maps.Clone(targets)
	}
	return out, s.took
}

// --- shared parts ------------------------------------------------------------

// background is `foldboard load` running on some instances.
type background struct {
	reports chan *loadgen.Report
	errs    chan error
	n       int
}

// loadRuns numbers the background loads, so that no two sign up the same
// people or write the same streams.
var loadRuns atomic.Int64

// startLoad drives rate commands a second in all, spread evenly over the
// instances ids, until ctx ends.
func startLoad(ctx context.Context, c *cluster, ids []string, rate float64) *background {
	bg := &background{reports: make(chan *loadgen.Report, len(ids)), errs: make(chan error, len(ids)), n: len(ids)}
	run := loadRuns.Add(1)
	for _, id := range ids {
		url, runID := c.procs[id].url, fmt.Sprintf("bg%d-%s", run, id)
		go func() {
			rep, err := loadgen.Run(ctx, loadgen.Config{
				// Twelve clients in all, whatever the instances: enough to
				// hold the rate on a slow DynamoDB Local.
				Addr: url, Clients: (12 + len(ids) - 1) / len(ids), Rate: rate / float64(len(ids)), Duration: time.Hour,
				Mix: benchMix, CommandIDs: true, RunID: runID,
			})
			bg.errs <- err
			bg.reports <- rep
		}()
	}
	return bg
}

// wait waits for the load to end (its context cancelled) and returns the
// commands accepted a second, in all.
func (bg *background) wait(tb testing.TB) float64 {
	tb.Helper()
	var rate float64
	for range bg.n {
		if err := <-bg.errs; err != nil {
			tb.Errorf("the background load: %v", err)
		}
		if rep := <-bg.reports; rep != nil && rep.Elapsed > 0 {
			rate += float64(rep.Accepted) / rep.Elapsed.Seconds()
		}
	}
	return rate
}

func benchClient() *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
}

// newPost creates post id with body on base and publishes it (version 2),
// so that anyone may watch it.
func newPost(tb testing.TB, client *http.Client, base, id, body string) {
	tb.Helper()
	create, _ := json.Marshal(map[string]string{"postId": id, "title": "Benchmark " + id, "body": body})
	benchPost(tb, client, base+"/posts", string(create))
	if v := benchPost(tb, client, base+"/posts/"+id+"/publish", `{}`); v != 2 {
		tb.Fatalf("post %s at version %d once published, want 2", id, v)
	}
}

// benchPost sends one command and returns the stream's version after it.
func benchPost(tb testing.TB, client *http.Client, url, body string) int64 {
	tb.Helper()
	v, err := postCommand(context.Background(), client, url, body)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

// postCommand sends one command as benchAuthor and returns the stream's
// version after it.
func postCommand(ctx context.Context, client *http.Client, url, body string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Actor", benchAuthor)
	res, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, err
	}
	if res.StatusCode < 200 || res.StatusCode >= 300 {
		return 0, fmt.Errorf("POST %s: %d %s", url, res.StatusCode, b)
	}
	var ans struct {
		Version int64 `json:"version"`
	}
	if err := json.Unmarshal(b, &ans); err != nil || ans.Version == 0 {
		return 0, fmt.Errorf("POST %s: no version in %q", url, b)
	}
	return ans.Version, nil
}

// arrival is a fragment's version and when it arrived.
type arrival struct {
	version int64
	at      time.Time
}

// watchVersions opens a WebSocket on base watching topic and calls each
// with the version of every fragment that has one, until ctx ends.
func watchVersions(ctx context.Context, tb testing.TB, readers *sync.WaitGroup, base, topic string, opts *websocket.DialOptions, each func(arrival)) {
	tb.Helper()
	conn, err := dialRetrying(ctx, base, topic, opts)
	if err != nil {
		tb.Fatalf("WebSocket on %s: %v", base, err)
	}
	readers.Go(func() {
		defer conn.CloseNow()
		for {
			_, msg, err := conn.Read(ctx)
			if err != nil {
				return
			}
			if v := attrInt(msg, "data-version"); v >= 0 {
				each(arrival{v, time.Now()})
			}
		}
	})
}

// awaitVersion waits for an arrival of version v or later on ch and
// returns when it came.
func awaitVersion(tb testing.TB, ch <-chan arrival, v int64, limit time.Duration) time.Time {
	tb.Helper()
	deadline := time.After(limit)
	for {
		select {
		case a := <-ch:
			if a.version >= v {
				return a.at
			}
		case <-deadline:
			tb.Fatalf("no fragment at version %d within %v", v, limit)
		}
	}
}

// attrInt reads the integer value of the first attribute name="123" in a
// fragment; -1 when there is none.
func attrInt(html []byte, name string) int64 {
	i := bytes.Index(html, []byte(name+`="`))
	if i < 0 {
		return -1
	}
	rest := html[i+len(name)+2:]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return -1
	}
	n, err := strconv.ParseInt(string(rest[:j]), 10, 64)
	if err != nil {
		return -1
	}
	return n
}

type durations []time.Duration

func (d durations) quantile(q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(q*float64(len(s))+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
