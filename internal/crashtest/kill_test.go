package crashtest

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"
)

const (
	// killCycles is how many times the server is killed mid-load.
	killCycles = 3
	// loadClients send commands at once, each one after another.
	loadClients = 16
	// acksBeforeKill is how many acknowledged commands a cycle waits for
	// before the kill; the kill then comes at a random moment within
	// killJitter, with commands in flight.
	acksBeforeKill = 150
	killJitter     = 20 * time.Millisecond
)

// TestKillNineLosesNoAcknowledgedCommand runs the binary, drives concurrent
// commands from many clients, kills it with SIGKILL in the middle, checks the
// store's files, restarts it and resends the commands whose answers were
// lost (same command ids), several times over. Then: every command that was
// acknowledged is in its stream, at the versions its answer gave, once; no
// stream has a gap or a duplicate version; each stream's served state and
// its read model equal a fold of its log from scratch; and every saved read
// model document equals what a fresh projector makes from the whole log.
func TestKillNineLosesNoAcknowledgedCommand(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { testKillNine(t, b.make(t)) })
	}
}

func testKillNine(t *testing.T, b backend) {
	var all, unanswered []outcome
	var healthy, current []time.Duration
	var p *proc
	for cycle := 1; cycle <= killCycles+1; cycle++ {
		p = startProc(t, b.args, b.env)
		healthy = append(healthy, p.waitHealthy(t))
		run := "r" + string(rune('0'+cycle))
		d := newDriver(p.url, run, loadClients)
		// The answers the kill cut off are lost on the way back: their
		// senders send the same command ids again.
		for _, o := range unanswered {
			r := d.send(context.Background(), o.client, o.cmd)
			if r.err != nil || r.status >= 500 {
				t.Fatalf("resending %s %s after a restart: %d %v", o.cmd.path, o.cmd.id, r.status, r.err)
			}
		}
		if cycle > killCycles {
			d.close()
			all = append(all, markResent(d.snapshot())...)
			break
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); d.drive(ctx, loadClients, uint64(cycle)) }()
		deadline := time.Now().Add(60 * time.Second)
		for d.acked.Load() < acksBeforeKill+int64(len(unanswered)) {
			if time.Now().After(deadline) {
				t.Fatalf("cycle %d: only %d commands acknowledged within 60 s", cycle, d.acked.Load())
			}
			time.Sleep(2 * time.Millisecond)
		}
		time.Sleep(time.Duration(rand.Int64N(int64(killJitter))))
		p.kill9(t)
		cancel()
		<-done
		d.close()
		outs := d.snapshot()
		resent := markResent(outs[:len(unanswered)])
		all = append(all, resent...)
		all = append(all, outs[len(unanswered):]...)
		unanswered = unanswered[:0]
		for _, o := range outs {
			if o.err != nil {
				unanswered = append(unanswered, o)
			}
		}
		t.Logf("cycle %d: %s; killed", cycle, describe(outs))
		if b.afterKill != nil {
			b.afterKill(t)
		}
	}

	// The last start: it must catch up with everything, then stop cleanly.
	streams := withReports(streamsOf(all))
	logs := readLogs(t, p.url, streams)
	o := b.open(t)
	defer o.close()
	current = append(current, waitApplied(t, o, p, totalEvents(logs)))
	acked, lost := checkOutcomes(t, logs, all)
	checkStates(t, p.url, logs)
	if code, took := p.terminate(t, 10*time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGTERM (%v)", code, took)
	}
	checkReadModels(t, o, logs, b.ordered)
	t.Logf("figures: %d commands sent, %d acknowledged, %d lost, %d events in %d streams; %d kills; "+
		"start to /healthz 200 after each kill: %v; last start to read models current: %v",
		len(all), acked, lost, totalEvents(logs), len(streams), killCycles, healthy[1:], current)
}

func markResent(outs []outcome) []outcome {
	for i := range outs {
		outs[i].resent = true
	}
	return outs
}
