package bench_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"runtime"
	"strings"
	"testing"

	"github.com/foldboard/foldboard/domain/cart"
	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/handlers"
	"github.com/foldboard/foldboard/web"
)

// BenchmarkCommandAllocs is one command on the hot path, in the process: an
// item added to a cart as JSON with a command id, through the whole server
// (router, middleware, decoding, es.Handle, the store, the JSON answer), on
// SQLite, with no projector running, so that -benchmem's allocs/op are the
// command's own. Beside it, measured in the same run: the same command
// through es.Handle alone (handle-allocs/op), and the raw append of the same
// event (append-allocs/op), so the layers' shares can be read off. For the
// allocators by name:
//
//	go test -run '^$' -bench CommandAllocs -benchmem -memprofile mem.out ./internal/bench
//	go tool pprof -sample_index=alloc_objects -top mem.out
func BenchmarkCommandAllocs(b *testing.B) {
	st := sqliteBackend.open(b, b.TempDir())
	st.Feed = idleFeed{}
	srv, err := web.New(context.Background(), web.Deps{
		Backend: es.Backend{Store: st.Store, Feed: st.Feed, ReadModels: st.ReadModels, Settings: st.Settings}, StoreName: "bench",
		Secret: []byte("bench"), Log: quiet,
		// httptest's requests name example.com; no rate limit in a loop.
		Guard: web.Guard{Rates: web.Rates{Off: true}, AllowedHosts: []string{"example.com"}},
		// The load names its actors in X-Actor, as a sign-in proxy would.
		Identity: handlers.Identity{ActorHeader: "X-Actor", TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}},
	})
	if err != nil {
		b.Fatal(err)
	}
	// A cart takes nine items, then the next one (as foldboard load does).
	body := func(i int) (string, string) {
		return fmt.Sprintf("/carts/alloc-%d/items", i/9),
			fmt.Sprintf(`{"sku":"sku-%d","qty":1,"price":"2.50","commandId":"alloc-%d"}`, i%9, i)
	}
	serve := func(i int) {
		path, json := body(i)
		req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(json))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		req.RemoteAddr = "127.0.0.1:1234" // X-Actor is trusted from loopback
		req.Header.Set("X-Actor", "bench")
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code/100 != 2 {
			b.Fatalf("POST %s: %d %s", path, rec.Code, rec.Body)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		serve(i)
		i++
	}
	b.StopTimer()

	h := cartHandler(st.Store)
	handled := allocsPer(200, func(i int) {
		meta := es.Meta{StreamID: fmt.Sprintf("handle-%d", i/9), Expected: es.AnyVersion, CommandID: fmt.Sprintf("h-%d", i), Actor: "bench"}
		if _, err := h.Handle(context.Background(), meta, cart.AddItem{SKU: fmt.Sprintf("sku-%d", i%9), Qty: 1, Price: 250}); err != nil {
			b.Fatal(err)
		}
	})
	var reqs []es.AppendRequest
	for n := 0; len(reqs) < 200; n++ {
		envs, err := st.Store.ReadStream(context.Background(), es.StreamRef{Type: cart.StreamType, ID: fmt.Sprintf("handle-%d", n)}, es.ReadOptions{})
		if err != nil || len(envs) == 0 {
			b.Fatalf("reading handle-%d: %d events, %v", n, len(envs), err)
		}
		for _, r := range requests(b, envs) {
			r.Stream.ID = "raw-" + r.Stream.ID
			r.Events[0].Stream = r.Stream
			reqs = append(reqs, r)
		}
	}
	appended := allocsPer(200, func(i int) {
		if _, err := st.Store.Append(context.Background(), reqs[i]); err != nil {
			b.Fatal(err)
		}
	})
	b.ReportMetric(handled, "handle-allocs/op")
	b.ReportMetric(appended, "append-allocs/op")
}

// allocsPer runs do n times and returns the mean allocations of a run, of
// the whole process (nothing else runs here).
func allocsPer(n int, do func(i int)) float64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range n {
		do(i)
	}
	runtime.ReadMemStats(&after)
	return float64(after.Mallocs-before.Mallocs) / float64(n)
}
