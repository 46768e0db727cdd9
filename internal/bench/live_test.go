package bench_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/foldboard/foldboard/internal/loadgen"
)

// liveLoad is the steady load under which the live latency is measured, and
// how often a probe command is sent: well below what each store sustains
// (BenchmarkCommands), as a busy day would be.
var liveLoad = map[string]struct {
	rate  float64       // background commands a second
	every time.Duration // between probes
}{
	"sqlite":   {rate: 200, every: 5 * time.Millisecond},
	"dynamodb": {rate: 50, every: 10 * time.Millisecond},
}

// liveProbes is how many probe carts take turns, so that each one's page
// changes at most every liveProbes × every (320 ms and more): the hub may
// space the pushes of one topic, and a person's command on their own page is
// the case measured.
const liveProbes = 64

// minLiveSamples keeps p99 meaningful even when b.N is small.
const minLiveSamples = 400

// liveWarmUp is how long the probes and the load run before the probes count.
const liveWarmUp = 3 * time.Second

// BenchmarkCommandToWebSocket measures, under a steady background load of
// commands (`foldboard load` paced at liveLoad's rate, the default mix), the
// time from sending a command (an item added to a cart, through HTTP) to a
// WebSocket client watching that cart receiving the fragment that shows it
// (data-version of the new version). A page watching the dashboard and the
// list pages is open too, as it would be. answer-p50/p99 are the command's own
// HTTP answer, for comparison: the rest is the projector and the hub.
func BenchmarkCommandToWebSocket(b *testing.B) {
	for _, be := range backends {
		b.Run("store="+be.name, func(b *testing.B) { benchLive(b, be) })
	}
}

// arrival is a fragment's version and when it arrived.
type arrival struct {
	version int64
	at      time.Time
}

func benchLive(b *testing.B, be backend) {
	load := liveLoad[be.name]
	freshStore(b, be)
	a := startApp(b, be.open(b, b.TempDir()))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ws := "ws" + strings.TrimPrefix(a.URL, "http") + "/ws?"

	var readers sync.WaitGroup
	defer readers.Wait()
	defer cancel()
	watch := func(query string, each func([]byte)) {
		conn, _, err := websocket.Dial(ctx, ws+query, nil)
		if err != nil {
			b.Fatal(err)
		}
		conn.SetReadLimit(1 << 22)
		readers.Go(func() {
			defer conn.CloseNow()
			for {
				_, msg, err := conn.Read(ctx)
				if err != nil {
					return
				}
				each(msg)
			}
		})
	}
	watch("topic=dashboard&topic=matches&topic=carts&topic=posts&topic=events", func([]byte) {})
	arrivals := make([]chan arrival, liveProbes)
	for i := range arrivals {
		arrivals[i] = make(chan arrival, 64)
		watch(fmt.Sprintf("topic=cart/probe-%d", i), func(msg []byte) {
			if v := attr(msg, "data-version"); v >= 0 {
				select {
				case arrivals[i] <- arrival{v, time.Now()}:
				default:
				}
			}
		})
	}

	loadDone := make(chan *loadgen.Report, 1)
	go func() {
		rep, err := loadgen.Run(ctx, loadgen.Config{
			Addr: a.Addr, Clients: 8, Rate: load.rate, Duration: time.Hour, Mix: defaultMix, CommandIDs: true, RunID: "bg",
		})
		if err != nil {
			b.Error(err)
		}
		loadDone <- rep
	}()
	time.Sleep(300 * time.Millisecond) // the load under way

	samples := max(b.N, minLiveSamples)
	lat := make(durations, 0, samples)
	answered := make(durations, 0, samples) // the command's own answer
	versions := make([]int64, liveProbes)
	// The first seconds of probes are not counted: a fresh DynamoDB Local's
	// JVM compiles its hot paths during its first thousand or so calls.
	warmUntil := time.Now().Add(liveWarmUp)
	warm := true
	b.ResetTimer()
	next := time.Now()
	for i := 0; warm || len(lat) < samples; i++ {
		if warm && time.Now().After(warmUntil) {
			warm = false
			lat, answered = lat[:0], answered[:0]
		}
		p := i % liveProbes
		time.Sleep(time.Until(next))
		next = time.Now().Add(load.every)
		sku := fmt.Sprintf("s%d", versions[p]/9000) // a line holds at most 9,999
		start := time.Now()
		_, v := a.post(b, fmt.Sprintf("/carts/probe-%d/items", p), `{"sku":"`+sku+`","qty":1,"price":"2.50"}`, "probe")
		answered = append(answered, time.Since(start))
		versions[p] = v
		deadline := time.After(30 * time.Second)
	wait:
		for {
			select {
			case got := <-arrivals[p]:
				if got.version >= v {
					lat = append(lat, got.at.Sub(start))
					break wait
				}
			case <-deadline:
				b.Fatalf("probe %d: no fragment of cart/probe-%d at version %d within 30 s", i, p, v)
			}
		}
	}
	b.StopTimer()
	cancel()
	rep := <-loadDone
	bgRate := 0.0
	if rep != nil {
		bgRate = float64(rep.Accepted) / rep.Elapsed.Seconds()
	}
	b.ReportMetric(float64(lat.quantile(0.5).Nanoseconds()), "ns/op")
	b.ReportMetric(ms(lat.quantile(0.5)), "p50-ms")
	b.ReportMetric(ms(lat.quantile(0.99)), "p99-ms")
	b.ReportMetric(ms(lat.quantile(1)), "max-ms")
	b.ReportMetric(ms(answered.quantile(0.5)), "answer-p50-ms")
	b.ReportMetric(ms(answered.quantile(0.99)), "answer-p99-ms")
	b.ReportMetric(bgRate+float64(time.Second)/float64(load.every), "load-cmd/s")
}
