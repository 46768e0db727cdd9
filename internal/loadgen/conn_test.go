package loadgen_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/foldboard/foldboard/internal/loadgen"
)

// stub is an HTTP server that answers every command 200 with a version, as
// foldboard would, counting the connections it accepted and the requests it
// answered; answer may change an answer before it is written.
type stub struct {
	*httptest.Server
	conns    atomic.Int64
	requests atomic.Int64
}

func startStub(t *testing.T, answer func(n int64, w http.ResponseWriter) (skip bool)) *stub {
	t.Helper()
	s := &stub{}
	var mu sync.Mutex
	versions := map[string]int64{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := s.requests.Add(1)
		if answer != nil && answer(n, w) {
			return
		}
		mu.Lock()
		versions[r.URL.Path]++
		v := versions[r.URL.Path]
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"version":` + strconv.FormatInt(v, 10) + `}`))
	}))
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func addr(s *stub) string { return strings.TrimPrefix(s.URL, "http://") }

var cartsOnly = func() loadgen.Mix {
	m, err := loadgen.ParseMix("cart=1")
	if err != nil {
		panic(err)
	}
	return m
}()

// stubToken spares a run against a stub the sign-up a stub cannot answer.
var stubToken = []string{"stub-token"}

func TestEachClientKeepsOneConnection(t *testing.T) {
	s := startStub(t, nil)
	rep, err := loadgen.Run(t.Context(), loadgen.Config{Addr: addr(s), Clients: 4, Count: 200, Duration: time.Minute, Mix: cartsOnly, Tokens: stubToken})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Accepted != 200 || rep.Errors != 0 {
		t.Fatalf("%d accepted, %d errors (%s); want 200 and 0", rep.Accepted, rep.Errors, rep.FirstError)
	}
	if got := s.conns.Load(); got != 4 {
		t.Errorf("the server accepted %d connections for 4 clients, want 4", got)
	}
}

func TestAConnectionTheServerClosesIsDialledAgain(t *testing.T) {
	// Every fifth answer closes its connection, the way a server going
	// away or limiting a connection's requests does.
	s := startStub(t, func(n int64, w http.ResponseWriter) bool {
		if n%5 == 0 {
			w.Header().Set("Connection", "close")
		}
		return false
	})
	rep, err := loadgen.Run(t.Context(), loadgen.Config{Addr: addr(s), Clients: 2, Count: 50, Duration: time.Minute, Mix: cartsOnly, Tokens: stubToken})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Accepted != 50 || rep.Errors != 0 {
		t.Fatalf("%d accepted, %d errors (%s); want 50 and 0", rep.Accepted, rep.Errors, rep.FirstError)
	}
	// 10 connections closed by the server, each client's first: 12, less
	// any close that was a client's last answer.
	if got := s.conns.Load(); got < 10 || got > 12 {
		t.Errorf("%d connections, want one per client and one after each close (10-12)", got)
	}
}

func TestATimedOutRequestCountsAsAnErrorAndTheNextGoesOnAFreshConnection(t *testing.T) {
	s := startStub(t, func(n int64, w http.ResponseWriter) bool {
		if n == 2 {
			time.Sleep(400 * time.Millisecond)
		}
		return false
	})
	rep, err := loadgen.Run(t.Context(), loadgen.Config{
		Addr: addr(s), Clients: 1, Count: 5, Duration: time.Minute, Mix: cartsOnly, Timeout: 100 * time.Millisecond, Tokens: stubToken,
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Errors != 1 || rep.Accepted != 4 || !strings.Contains(rep.FirstError, "deadline") {
		t.Fatalf("%d errors (%q), %d accepted; want the slow answer a deadline error and the 4 others accepted", rep.Errors, rep.FirstError, rep.Accepted)
	}
	if got := s.conns.Load(); got != 2 {
		t.Errorf("%d connections, want 2: the one the timeout ended, and the next", got)
	}
}

func TestChunkedAndLongAnswersAreReadWhole(t *testing.T) {
	s := startStub(t, func(n int64, w http.ResponseWriter) bool {
		w.Header().Set("Content-Type", "application/json")
		switch n % 3 {
		case 0: // chunked: flushed before it ends
			w.Write([]byte(`{"version":`))
			w.(http.Flusher).Flush()
			w.Write([]byte(`1}`))
		case 1: // longer than what a client reads of an answer
			w.Write([]byte(`{"version":1,"pad":"` + strings.Repeat("x", 5<<20) + `"}`))
		default:
			return false
		}
		return true
	})
	rep, err := loadgen.Run(t.Context(), loadgen.Config{Addr: addr(s), Clients: 1, Count: 9, Duration: time.Minute, Mix: cartsOnly, Tokens: stubToken})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Accepted != 9 || rep.Errors != 0 {
		t.Fatalf("%d accepted, %d errors (%s); want 9 and 0", rep.Accepted, rep.Errors, rep.FirstError)
	}
	// The three long answers are left unread, with their connections.
	if got := s.conns.Load(); got != 4 {
		t.Errorf("%d connections, want 4: the first, and one after each answer too long to read", got)
	}
}
