package bench_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/foldboard/foldboard/es"
)

// BenchmarkHTTPFloor measures what HTTP alone costs an append, on this
// machine: the raw appends of BenchmarkCommands (one event, its state), in
// turns, once from a loop and once each from an HTTP handler that does
// nothing else (no decoding, no decider, no projector), driven by one client
// on a kept-alive loopback connection, as `foldboard load` drives foldboard.
// http/raw is the most BenchmarkCommands' http/raw could be at one client
// if foldboard's own layers cost nothing: the round trip and the wake-ups it
// takes on each side, next to the store's append.
func BenchmarkHTTPFloor(b *testing.B) {
	for _, be := range backends {
		b.Run("store="+be.name, func(b *testing.B) { benchHTTPFloor(b, be) })
	}
}

func benchHTTPFloor(b *testing.B, be backend) {
	freshStore(b, be)
	st := be.open(b, b.TempDir())
	seq := 0
	// next is a fresh stream's first event, as a command starting one appends.
	next := func() es.AppendRequest {
		seq++
		ref := es.StreamRef{Type: "cart", ID: "floor-" + strconv.Itoa(seq)}
		now := time.Now()
		return es.AppendRequest{
			Stream: ref, CommandID: "c-" + strconv.Itoa(seq),
			Events: []es.Envelope{{
				ID: es.NewULID(now), Stream: ref, Version: 1, Type: "ItemAdded", SchemaVersion: 1, Time: now,
				Actor: "floor", CommandID: "c-" + strconv.Itoa(seq),
				Data: json.RawMessage(`{"sku":"s1","qty":1,"price":"2.50"}`),
			}},
			State: es.StateRecord{Version: 1, Schema: 1, Data: json.RawMessage(`{"exists":true,"lines":[{"sku":"s1","qty":1,"price":"2.50"}],"total":"2.50","items":1}`)},
		}
	}
	queued := make(chan es.AppendRequest, 1)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		res, err := st.Store.Append(r.Context(), <-queued)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"version":%d}`, res.Version)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: handler}
	go srv.Serve(ln)
	b.Cleanup(func() { srv.Close() })
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	br, bw := bufio.NewReader(conn), bufio.NewWriter(conn)
	url := "http://" + ln.Addr().String() + "/carts/x/items"
	body := `{"sku":"s1","qty":1,"price":"2.50"}`
	post := func() {
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		if err := req.Write(bw); err != nil {
			b.Fatal(err)
		}
		if err := bw.Flush(); err != nil {
			b.Fatal(err)
		}
		res, err := http.ReadResponse(br, req)
		if err != nil {
			b.Fatal(err)
		}
		data, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			b.Fatalf("%d %s", res.StatusCode, data)
		}
	}
	const turn = 200
	var httpTime, rawTime time.Duration
	round := func(n int) {
		reqs := make([]es.AppendRequest, n)
		for i := range reqs {
			reqs[i] = next()
		}
		start := time.Now()
		for range n {
			queued <- next()
			post()
		}
		httpTime += time.Since(start)
		start = time.Now()
		for _, req := range reqs {
			if _, err := st.Store.Append(context.Background(), req); err != nil {
				b.Fatal(err)
			}
		}
		rawTime += time.Since(start)
	}
	round(turn) // warm-up, as in BenchmarkCommands
	httpTime, rawTime = 0, 0
	b.ResetTimer()
	for done := 0; done < b.N; done += turn {
		round(min(turn, b.N-done))
	}
	b.StopTimer()
	n := float64(max(b.N, 1))
	b.ReportMetric(float64(httpTime.Nanoseconds())/n, "ns/op")
	b.ReportMetric(us(httpTime)/n, "http-us/append")
	b.ReportMetric(us(rawTime)/n, "raw-us/append")
	b.ReportMetric(rawTime.Seconds()/httpTime.Seconds(), "http/raw")
}
