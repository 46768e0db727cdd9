package bench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"

	"github.com/foldboard/foldboard/domain/blog"
	"github.com/foldboard/foldboard/domain/cart"
	"github.com/foldboard/foldboard/domain/cricket"
	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/es/dynamo"
	"github.com/foldboard/foldboard/es/sqlite"
	"github.com/foldboard/foldboard/handlers"
	"github.com/foldboard/foldboard/internal/dynamotest"
	"github.com/foldboard/foldboard/web"
)

// TestMain shares one DynamoDB Local among the benchmarks that ask for it
// (none is started when none does, as under `make test`) and removes the
// fixtures made for the benchmarks.
func TestMain(m *testing.M) {
	code := dynamotest.Run(m)
	if fixtureDir != "" {
		os.RemoveAll(fixtureDir)
	}
	os.Exit(code)
}

var quiet = slog.New(slog.DiscardHandler)

// snapshotEvery is the server's default, used for the fixtures too.
const snapshotEvery = 100

// stores is one opened event store with its feed and read-model store.
type stores struct {
	Store      es.Store
	Feed       es.Feed
	ReadModels es.ReadModelStore
	Settings   es.Settings
	// GetRecords counts the feed's GetRecords calls (DynamoDB only).
	GetRecords *atomic.Int64
}

// countingStreams counts GetRecords calls.
type countingStreams struct {
	dynamo.StreamsClient
	n *atomic.Int64
}

func (c countingStreams) GetRecords(ctx context.Context, in *dynamodbstreams.GetRecordsInput, o ...func(*dynamodbstreams.Options)) (*dynamodbstreams.GetRecordsOutput, error) {
	c.n.Add(1)
	return c.StreamsClient.GetRecords(ctx, in, o...)
}

// backend opens fresh, empty stores of one kind.
type backend struct {
	name string
	// open opens a new store: a file in dir, or tables of their own.
	open func(tb testing.TB, dir string) stores
}

var (
	sqliteBackend = backend{"sqlite", openSQLite}
	dynamoBackend = backend{"dynamodb", openDynamo}
	backends      = []backend{sqliteBackend, dynamoBackend}
)

var fileSeq struct {
	sync.Mutex
	n int
}

func openSQLite(tb testing.TB, dir string) stores {
	tb.Helper()
	fileSeq.Lock()
	fileSeq.n++
	name := filepath.Join(dir, fmt.Sprintf("foldboard-%d.db", fileSeq.n))
	fileSeq.Unlock()
	s, err := sqlite.Open(context.Background(), name)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return stores{Store: s, Feed: s.Feed(), ReadModels: s, Settings: s}
}

func openDynamo(tb testing.TB, _ string) stores {
	tb.Helper()
	endpoint := dynamotest.Endpoint(tb) // skips (or fails, in CI) without DynamoDB Local
	calls := new(atomic.Int64)
	s, err := dynamo.Open(context.Background(), dynamo.Config{
		Client:      dynamotest.NewClient(endpoint),
		Streams:     countingStreams{dynamotest.NewStreamsClient(endpoint), calls},
		TablePrefix: dynamotest.TablePrefix(tb), CreateTables: true, Logger: quiet,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return stores{Store: s, Feed: s.Feed(), ReadModels: s, Settings: s, GetRecords: calls}
}

// freshStore readies be for a benchmark whose figures depend on what the
// store has been through: on DynamoDB, a restarted DynamoDB Local, empty
// (dynamotest.Fresh; the fixtures made on the old one go with it). Measured
// here: a command's p99 to its WebSocket page on DynamoDB Local was 20.6 and
// 22.6 ms on a fresh one, about 40 ms after BenchmarkCommands had written
// ~5,000 commands' events to it. AWS does not slow with a table's history.
func freshStore(tb testing.TB, be backend) {
	tb.Helper()
	if be.name != dynamoBackend.name {
		return
	}
	dynamotest.Fresh(tb)
	fixtures.Lock()
	delete(fixtures.growing, be.name)
	fixtures.Unlock()
}

// app is foldboard serving on a loopback port, as `go run .` would.
type app struct {
	stores
	URL    string
	Addr   string
	Server *web.Server
	stop   func()
}

func startApp(tb testing.TB, st stores) *app {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := web.New(ctx, web.Deps{
		Backend: es.Backend{Store: st.Store, Feed: st.Feed, ReadModels: st.ReadModels, Settings: st.Settings}, StoreName: "bench",
		Secret: []byte("bench"), Log: quiet, MaxLiveClients: 5000,
		// One address is every client here: no rate or per-address limit.
		Guard: web.Guard{Rates: web.Rates{Off: true}, Live: web.LiveLimits{PerAddress: 5000, PerActor: 5000}},
		// The load names its actors in X-Actor, as a sign-in proxy would.
		Identity: handlers.Identity{ActorHeader: "X-Actor", TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}},
	})
	if err != nil {
		cancel()
		tb.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		cancel()
		tb.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				tb.Errorf("the server did not stop within 30 s")
			}
		})
	}
	tb.Cleanup(stop)
	return &app{stores: st, URL: "http://" + ln.Addr().String(), Addr: ln.Addr().String(), Server: srv, stop: stop}
}

// Stop stops the server (at most once; the end of the benchmark does too).
func (a *app) Stop() { a.stop() }

// waitApplied waits until the server's projector has applied n events since
// it started.
func (a *app) waitApplied(tb testing.TB, n int64) {
	tb.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for a.Server.Projector().Status().Applied < n {
		if time.Now().After(deadline) {
			tb.Fatalf("the projector applied %d events in 3 minutes, want %d", a.Server.Projector().Status().Applied, n)
		}
		time.Sleep(300 * time.Microsecond)
	}
}

var httpClient = &http.Client{
	Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 256, DisableCompression: true},
	Timeout:   30 * time.Second,
}

// post sends a JSON command and returns its status and the version answered.
func (a *app) post(tb testing.TB, path, body, actor string) (int, int64) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPost, a.URL+path, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if actor != "" {
		req.Header.Set("X-Actor", actor)
	}
	res, err := httpClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	var ans struct {
		Version int64 `json:"version"`
	}
	data, _ := io.ReadAll(res.Body)
	_ = json.Unmarshal(data, &ans)
	if res.StatusCode/100 != 2 {
		tb.Fatalf("POST %s: %d %s", path, res.StatusCode, data)
	}
	return res.StatusCode, ans.Version
}

// get reads a page or JSON and fails unless it answers 200.
func (a *app) get(tb testing.TB, path string) []byte {
	tb.Helper()
	req, _ := http.NewRequest(http.MethodGet, a.URL+path, nil)
	req.Header.Set("Accept", "application/json")
	res, err := httpClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		tb.Fatalf("GET %s: %d %s", path, res.StatusCode, data)
	}
	return data
}

// requests turns one stream's events into the appends that wrote them: one
// event each, with the stream's state after it (folded by its domain's own
// decider) and a snapshot where the server would keep one.
func requests(tb testing.TB, envs []es.Envelope) []es.AppendRequest {
	tb.Helper()
	if len(envs) == 0 {
		return nil
	}
	var out []es.AppendRequest
	var err error
	switch envs[0].Stream.Type {
	case cricket.StreamType:
		out, err = requestsFor(cricket.Decider(), envs)
	case cart.StreamType:
		out, err = requestsFor(cart.Decider(), envs)
	case blog.StreamType:
		out, err = requestsFor(blog.Decider(), envs)
	default:
		err = fmt.Errorf("no decider for %s", envs[0].Stream)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

func requestsFor[S any, C any, E es.Event](d es.Decider[S, C, E], envs []es.Envelope) ([]es.AppendRequest, error) {
	state := d.Initial()
	out := make([]es.AppendRequest, 0, len(envs))
	for _, env := range envs {
		e, err := d.Events.DecodeEnvelope(env)
		if err != nil {
			return nil, err
		}
		state = d.Evolve(state, e)
		data, err := json.Marshal(state)
		if err != nil {
			return nil, err
		}
		// The same event under a new id: a store may key retries by the
		// event ids (DynamoDB's ClientRequestToken, across tables).
		env.Position, env.ID = "", es.NewULID(env.Time)
		req := es.AppendRequest{
			Stream: env.Stream, Expected: env.Version - 1, Events: []es.Envelope{env},
			State: es.StateRecord{Version: env.Version, Schema: d.StateSchema, Data: data}, CommandID: env.CommandID,
		}
		if env.Version%snapshotEvery == 0 {
			snap := req.State
			req.Snapshot = &snap
		}
		out = append(out, req)
	}
	return out, nil
}

// appendAll appends each writer's requests in order, the writers
// concurrently, and returns the time it took.
func appendAll(tb testing.TB, s es.Store, writers [][]es.AppendRequest) time.Duration {
	tb.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, len(writers))
	start := time.Now()
	for _, reqs := range writers {
		wg.Go(func() {
			for _, req := range reqs {
				if _, err := s.Append(context.Background(), req); err != nil {
					errs <- fmt.Errorf("raw append to %s at %d: %w", req.Stream, req.Expected, err)
					return
				}
			}
		})
	}
	wg.Wait()
	took := time.Since(start)
	close(errs)
	for err := range errs {
		tb.Fatal(err)
	}
	return took
}

// durations keeps samples for quantiles.
type durations []time.Duration

func (d durations) quantile(q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append(durations(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(q*float64(len(s))+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// attr reads the integer value of attribute name (name="123") at or after
// from in a fragment; -1 when there is none.
func attr(html []byte, name string) int64 {
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
