package crashtest

import (
	"context"
	"fmt"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/foldboard/foldboard/es"
)

// crashAfterReactions makes the binary kill itself (SIGKILL) right after
// its n-th reaction command is run, before the reactor's checkpoint is
// saved: the one moment a reaction could be issued twice.
const crashAfterReactions = "FOLDBOARD_CRASH_AFTER_REACTION_COMMANDS"

// TestKillNineBetweenAReactionsCommandAndItsCheckpoint ends matches while
// the binary kills itself between a report's creation and the checkpoint
// that records it, restarts it so that it dies again on the first command of
// its replay (the creation, found done), and then lets it finish. Every
// ended match must end up with exactly one report, created and published
// once, by system/match-report, caused by the match's end and carrying its
// correlation id.
func TestKillNineBetweenAReactionsCommandAndItsCheckpoint(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { testReactionKill(t, b.make(t)) })
	}
}

func testReactionKill(t *testing.T, b backend) {
	var pending []command // commands whose answers the crashes cut off
	matches := []string{"rk-1", "rk-2", "rk-3", "rk-4", "rk-5"}
	var cmds []command
	for i, id := range matches {
		cmds = append(cmds, matchLife(id, i)...)
	}
	// Cycle 1 dies after the 3rd command (rk-2's report created, not
	// published); cycle 2 after its 1st (rk-2's creation again, which must
	// be found done); cycle 3 runs to the end.
	for cycle, crashAfter := range []int{3, 1, 0} {
		env := b.env
		if crashAfter > 0 {
			env = append(append([]string{}, b.env...), fmt.Sprintf("%s=%d", crashAfterReactions, crashAfter))
		}
		p := startProc(t, b.args, env)
		todo := append(pending, cmds...)
		cmds, pending = nil, nil
		if !p.waitHealthyOrExit(t) {
			// It died replaying, before it answered: everything waits
			// for the next start.
			pending = todo
			todo = nil
		}
		d := newDriver(p.url, "rk", 1)
		for _, c := range todo {
			o := d.send(context.Background(), 0, c)
			if o.err != nil || o.status >= 500 {
				pending = append(pending, c)
			} else if !o.acked() {
				t.Fatalf("cycle %d: %s %s answered %d %s", cycle+1, c.path, c.id, o.status, o.code)
			}
		}
		d.close()
		if crashAfter == 0 {
			if len(pending) > 0 {
				t.Fatalf("cycle %d: %d commands unanswered with no crash", cycle+1, len(pending))
			}
			waitReports(t, p.url, matches)
			checkReports(t, p.url, matches)
			if code, took := p.terminate(t, 10*time.Second); code != 0 {
				t.Fatalf("exit code %d after SIGTERM (%v)", code, took)
			}
			return
		}
		select {
		case <-p.exited:
		case <-time.After(60 * time.Second):
			t.Fatalf("cycle %d: the binary did not crash after %d reaction commands", cycle+1, crashAfter)
		}
		if ws, ok := p.state.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("cycle %d: the binary exited with %v, not killed by its crash point", cycle+1, p.state)
		}
		if b.afterKill != nil {
			b.afterKill(t)
		}
		t.Logf("cycle %d: killed after %d reaction commands; %d commands to send again", cycle+1, crashAfter, len(pending))
	}
}

// matchLife is a match started, one innings completed and ended, as JSON
// commands with fixed command ids (sent again after a crash, they append
// nothing more).
func matchLife(id string, i int) []command {
	return []command{
		{stream: "match/" + id, path: "/matches", id: id + "-start",
			body: map[string]any{"matchId": id, "venue": "Oval", "homeTeam": "Home " + id, "awayTeam": "Away", "commandId": id + "-start"}},
		{stream: "match/" + id, path: "/matches/" + id + "/innings", id: id + "-inn",
			body: map[string]any{"innings": 1, "runs": 100 + i, "wickets": i, "commandId": id + "-inn"}},
		{stream: "match/" + id, path: "/matches/" + id + "/end", id: id + "-end",
			body: map[string]any{"result": "Home won", "commandId": id + "-end"}},
	}
}

type eventsAnswer struct {
	Events  []es.Envelope `json:"events"`
	Version int64         `json:"version"`
}

// waitReports waits until every match's report is published (version 2).
func waitReports(t *testing.T, base string, matches []string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for _, id := range matches {
		for {
			var a eventsAnswer
			getJSON(t, base+"/streams/post/report-"+id+"/events", &a)
			if a.Version >= 2 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the report of %s is at version %d after 60 s", id, a.Version)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// checkReports checks that each report holds its creation and publication
// once, caused by the match's end. A moment later, nothing more came.
func checkReports(t *testing.T, base string, matches []string) {
	t.Helper()
	time.Sleep(500 * time.Millisecond)
	for _, id := range matches {
		var m, r eventsAnswer
		getJSON(t, base+"/streams/match/"+id+"/events", &m)
		getJSON(t, base+"/streams/post/report-"+id+"/events", &r)
		if len(m.Events) != 3 || m.Events[2].Type != "MatchEnded" {
			t.Fatalf("match %s holds %d events, want 3 ending with MatchEnded", id, len(m.Events))
		}
		end := m.Events[2]
		if len(r.Events) != 2 || r.Events[0].Type != "PostCreated" || r.Events[1].Type != "PostPublished" {
			t.Errorf("report of %s holds %d events (%v), want PostCreated, PostPublished once each", id, len(r.Events), types(r.Events))
			continue
		}
		for _, e := range r.Events {
			if e.CausationID != end.ID || e.CorrelationID != end.CorrelationID || e.Actor != "system/match-report" ||
				e.CommandID != es.ReactionCommandID("match-report", end.ID, int(e.Version-1)) {
				t.Errorf("report of %s: %s caused by %q correlation %q actor %q command %q; want %s, %s, system/match-report",
					id, e.Type, e.CausationID, e.CorrelationID, e.Actor, e.CommandID, end.ID, end.CorrelationID)
			}
		}
	}
	// A command run twice and not recognised would be refused (the post
	// exists, or is published): none was, and the replays were found done.
	var board struct {
		Reactions []struct {
			Name     string              `json:"name"`
			Outcomes es.ReactionOutcomes `json:"outcomes"`
		} `json:"reactions"`
	}
	getJSON(t, base+"/projections", &board)
	found := false
	for _, r := range board.Reactions {
		if r.Name != "match-report" {
			continue
		}
		found = true
		if o := r.Outcomes; o.Refused != 0 || o.Parked != 0 || o.Repeated == 0 || o.OK+o.Repeated < int64(2*len(matches)) {
			t.Errorf("match-report's outcomes %+v: want none refused or parked, some repeated, %d in all at least", o, 2*len(matches))
		}
	}
	if !found {
		t.Errorf("/projections lists no match-report reaction: %+v", board)
	}
	res, err := http.Get(base + "/healthz")
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("/healthz after the reports: %v %v", res, err)
	}
	res.Body.Close()
}

func types(envs []es.Envelope) []string {
	var out []string
	for _, e := range envs {
		out = append(out, e.Type)
	}
	return out
}

// waitHealthyOrExit waits until /healthz answers 200 (true) or the process
// has exited (false).
func (p *proc) waitHealthyOrExit(t *testing.T) bool {
	t.Helper()
	c := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-p.exited:
			return false
		default:
		}
		if res, err := c.Get(p.url + "/healthz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return true
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz did not answer 200 within 30 s, and the process runs")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
