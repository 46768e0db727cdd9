package crashtest

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/foldboard/foldboard/es"
)

// liveSockets are the WebSocket clients open when the stop comes.
const liveSockets = 8

// TestSIGTERMAnswersEveryRequestAndExitsZero sends SIGTERM to the binary while
// many clients send commands and WebSocket clients watch. Every request is
// answered (without a 5xx) or refused before the server took it (the
// connection is refused); no request the server took is cut off. Every live
// client gets a "going away" close. The process exits 0 within 10 s, and the
// read models it saved already hold every acknowledged command: the
// projector caught up and checkpointed before it stopped.
func TestSIGTERMAnswersEveryRequestAndExitsZero(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { testGracefulStop(t, b.make(t)) })
	}
}

func testGracefulStop(t *testing.T, b backend) {
	p := startProc(t, b.args, b.env)
	p.waitHealthy(t)

	// Live clients, each on the lists and a cart that the load changes.
	var frames atomic.Int64
	closes := make(chan error, liveSockets)
	wsURL := "ws" + strings.TrimPrefix(p.url, "http") + "/ws?topic=matches&topic=dashboard&topic=carts&topic=cart/c-0"
	for range liveSockets {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		conn, _, err := websocket.Dial(ctx, wsURL, nil)
		if err != nil {
			cancel()
			t.Fatalf("opening a live connection: %v", err)
		}
		go func() {
			defer cancel()
			defer conn.CloseNow()
			for {
				if _, _, err := conn.Read(ctx); err != nil {
					closes <- err
					return
				}
				frames.Add(1)
			}
		}()
	}

	d := newDriver(p.url, "t", loadClients)
	defer d.close()
	done := make(chan struct{})
	go func() { defer close(done); d.drive(context.Background(), loadClients, 7) }()
	deadline := time.Now().Add(60 * time.Second)
	for d.acked.Load() < acksBeforeKill {
		if time.Now().After(deadline) {
			t.Fatalf("only %d commands acknowledged within 60 s", d.acked.Load())
		}
		time.Sleep(2 * time.Millisecond)
	}
	code, took := p.terminate(t, 10*time.Second)
	if code != 0 {
		t.Errorf("exit code %d after SIGTERM, want 0", code)
	}
	// Every client stops at its first refused connection.
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("clients still busy 30 s after the server stopped")
	}

	outs := d.snapshot()
	var refusedConn int
	for _, o := range outs {
		switch {
		case o.err != nil && (isRefusal(o.err) || closedAsIdle(o.err)):
			// Refused at connect, or sent on a kept-alive connection as the
			// server closed it idle (Shutdown closes the idle ones first):
			// never taken, which checkUnansweredNotAppended holds it to.
			refusedConn++
		case o.err != nil:
			t.Errorf("%s %s: the server took the request but gave no answer: %v", o.cmd.path, o.cmd.id, o.err)
		case o.status >= 500:
			t.Errorf("%s %s: answered %d %s during the stop", o.cmd.path, o.cmd.id, o.status, o.code)
		}
	}
	var goingAway int
	for range liveSockets {
		select {
		case err := <-closes:
			if websocket.CloseStatus(err) == websocket.StatusGoingAway {
				goingAway++
			} else {
				t.Errorf("a live client ended with %v, want a going-away close (1001)", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a live client was neither closed nor cut off 10 s after the exit")
		}
	}
	if frames.Load() == 0 {
		t.Error("the live clients received no fragment at all")
	}

	o := b.open(t)
	defer o.close()
	logs := readStoreLogs(t, o, withReports(streamsOf(outs)))
	acked, lost := checkOutcomes(t, logs, outs)
	checkUnansweredNotAppended(t, logs, outs)
	if got, total := appliedEvents(t, o), totalEvents(logs); got != total {
		t.Errorf("after the stop the saved read models hold %d events of %d: the projector stopped before it caught up", got, total)
	}
	checkReadModels(t, o, logs, b.ordered)
	t.Logf("figures: SIGTERM with %d clients sending and %d live: exit %d in %v; %s; %d acknowledged, %d lost, %d refused at connect; %d going-away closes, %d fragments",
		loadClients, liveSockets, code, took.Round(time.Millisecond), describe(outs), acked, lost, refusedConn, goingAway, frames.Load())
}

// readStoreLogs reads each stream from the store itself (the server is gone),
// with the checks of readLogs.
func readStoreLogs(t *testing.T, o opened, streams []string) map[string][]es.Envelope {
	t.Helper()
	logs := map[string][]es.Envelope{}
	for _, s := range streams {
		ref, err := es.ParseStreamRef(s)
		if err != nil {
			t.Fatal(err)
		}
		envs, err := o.store.ReadStream(context.Background(), ref, es.ReadOptions{})
		if err != nil {
			t.Fatalf("reading %s: %v", s, err)
		}
		head, err := o.store.Head(context.Background(), ref)
		if err != nil {
			t.Fatalf("head of %s: %v", s, err)
		}
		if int64(len(envs)) != head.Version {
			t.Errorf("%s: %d events, but the stream is at version %d", s, len(envs), head.Version)
		}
		for i, e := range envs {
			if e.Version != int64(i)+1 {
				t.Fatalf("%s: event %d has version %d: a gap or a duplicate", s, i+1, e.Version)
			}
		}
		logs[s] = envs
	}
	return logs
}

// checkUnansweredNotAppended: a command whose every send failed at the
// connection was never taken, so nothing of it may be in the store.
func checkUnansweredNotAppended(t *testing.T, logs map[string][]es.Envelope, outs []outcome) {
	t.Helper()
	answered := map[string]bool{}
	for _, o := range outs {
		if o.err == nil {
			answered[o.cmd.stream+" "+o.cmd.id] = true
		}
	}
	for _, o := range outs {
		k := o.cmd.stream + " " + o.cmd.id
		if o.err == nil || answered[k] {
			continue
		}
		for _, e := range logs[o.cmd.stream] {
			if e.CommandID == o.cmd.id {
				t.Errorf("command %s was refused at the connection, yet it is in %s at version %d", o.cmd.id, o.cmd.stream, e.Version)
			}
		}
	}
}

// closedAsIdle reports whether err is a request's on a kept-alive
// connection that the server closed as idle while it went out: a reset or
// an end of the connection before any answer. Go's client retries such a
// request only when it is idempotent, which a POST is not.
func closedAsIdle(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || strings.Contains(err.Error(), "server closed idle connection")
}
