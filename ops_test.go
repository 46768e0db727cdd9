package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedBuffer is a buffer the server's logger and the test share.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// serveFor runs the server with env and args, and returns its address, its
// log, and a stop function.
func serveFor(t *testing.T, env map[string]string, args ...string) (string, *lockedBuffer, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out, w := io.Pipe()
	logs := &lockedBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, func(k string) string { return env[k] }, w, logs) }()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cancel()
		t.Fatalf("run printed no address: %v (%v)\n%s", err, <-done, logs)
	}
	go io.Copy(io.Discard, out)
	addr := strings.TrimSpace(line[strings.LastIndex(line, "http://")+len("http://"):])
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return addr, logs, stop
}

func TestEachCommandIsLoggedWithItsStreamVersionAndOutcome(t *testing.T) {
	env := map[string]string{"FOLDBOARD_ADDR": "127.0.0.1:0", "FOLDBOARD_DB": filepath.Join(t.TempDir(), "f.db"),
		"FOLDBOARD_ACTOR_HEADER": "X-Actor", "FOLDBOARD_TRUSTED_PROXIES": "127.0.0.0/8"}
	addr, logs, _ := serveFor(t, env)
	post := func(body string) {
		req, _ := http.NewRequest("POST", "http://"+addr+"/matches", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		req.Header.Set("X-Actor", "ana")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	post(`{"matchId":"m-1","venue":"Lord's","homeTeam":"A","awayTeam":"B"}`)
	post(`{"matchId":"m-1","venue":"Lord's","homeTeam":"A","awayTeam":"B"}`)
	for _, want := range []string{
		"msg=command command=StartMatch stream=match/m-1 version=1 outcome=ok actor=ana",
		"msg=command command=StartMatch stream=match/m-1 version=0 outcome=AlreadyStarted actor=ana",
		`msg=request method=POST route=/matches path=/matches status=409`,
	} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("no log line with %q in:\n%s", want, logs)
		}
	}
}

func TestHealthcheckExitsZeroForAHealthyServerAndOneOtherwise(t *testing.T) {
	env := map[string]string{"FOLDBOARD_ADDR": "127.0.0.1:0", "FOLDBOARD_DB": filepath.Join(t.TempDir(), "f.db")}
	addr, _, stop := serveFor(t, env)
	_, port, _ := net.SplitHostPort(addr)
	getenv := func(k string) string {
		if k == "FOLDBOARD_ADDR" {
			return ":" + port // as the container sets it: every interface
		}
		return ""
	}
	ctx := context.Background()
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := run(ctx, []string{"healthcheck"}, getenv, io.Discard, io.Discard)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("healthcheck of a running server: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := run(ctx, []string{"-healthcheck"}, getenv, io.Discard, io.Discard); err != nil {
		t.Fatalf("-healthcheck: %v", err)
	}
	stop()
	if err := run(ctx, []string{"healthcheck"}, getenv, io.Discard, io.Discard); err == nil {
		t.Fatal("healthcheck said healthy with no server")
	}
}

func TestPprofServesOnLoopbackOnlyAndOnlyWhenAsked(t *testing.T) {
	getenv := func(string) string { return "" }
	err := run(context.Background(), []string{"-pprof", "0.0.0.0:0", "-db", filepath.Join(t.TempDir(), "f.db")}, getenv, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("-pprof on every interface: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pprofAddr := ln.Addr().String()
	ln.Close()
	env := map[string]string{"FOLDBOARD_ADDR": "127.0.0.1:0", "FOLDBOARD_DB": filepath.Join(t.TempDir(), "f.db")}
	addr, _, _ := serveFor(t, env, "-pprof", pprofAddr)
	res, err := http.Get("http://" + pprofAddr + "/debug/pprof/goroutine?debug=1")
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("pprof: %v %v", res, err)
	}
	res.Body.Close()
	// Not on the application's own address.
	res, err = http.Get("http://" + addr + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Fatalf("the application serves /debug/pprof/: %d", res.StatusCode)
	}
}
