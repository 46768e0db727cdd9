package web_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/internal/apptest"
)

// call is one command or read as a racing client sees it: sent, and answered
// or not. It is goroutine-safe, unlike client.do, which fails the test.
type call struct {
	status  int
	code    string
	version int64   // a 2xx command's version, or a read's
	events  []int64 // versions of the events a 2xx command answer carries
	ids     []string
	current int64 // a VersionConflict's currentVersion (-1 when absent)
	err     error
}

func (c *client) send(method, path, body string) call {
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		return call{err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Actor", "tester") // apptest trusts X-Actor from loopback
	res, err := c.http.Do(req)
	if err != nil {
		return call{err: err}
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return call{err: err}
	}
	return decodeCall(res.StatusCode, b)
}

func decodeCall(status int, b []byte) call {
	out := call{status: status, current: -1}
	var ans struct {
		Version int64 `json:"version"`
		Events  []struct {
			ID      string `json:"id"`
			Version int64  `json:"version"`
		} `json:"events"`
		Error struct {
			Code           string `json:"code"`
			CurrentVersion *int64 `json:"currentVersion"`
		} `json:"error"`
	}
	if err := json.Unmarshal(b, &ans); err != nil {
		out.err = fmt.Errorf("%d answer is not JSON: %q", status, b)
		return out
	}
	out.version, out.code = ans.Version, ans.Error.Code
	for _, e := range ans.Events {
		out.events = append(out.events, e.Version)
		out.ids = append(out.ids, e.ID)
	}
	if ans.Error.CurrentVersion != nil {
		out.current = *ans.Error.CurrentVersion
	}
	return out
}

// sendAndHangUp sends a command on a connection of its own and hangs up
// once the request is written, without reading the answer: the request may
// be cut off, or handled with its answer lost.
func sendAndHangUp(base, path, body string) error {
	conn, err := sendRaw(base, path, body)
	if err != nil {
		return err
	}
	return conn.Close()
}

// sendRaw writes a JSON command on a connection of its own and returns the
// connection, its answer unread.
func sendRaw(base, path, body string) (net.Conn, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		return nil, err
	}
	w := bufio.NewWriter(conn)
	fmt.Fprintf(w, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nAccept: application/json\r\nX-Actor: tester\r\nContent-Length: %d\r\n\r\n%s",
		path, u.Host, len(body), body)
	if err := w.Flush(); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

// op is an operation of the linearizability check: on one stream, a command
// (an item added with or without an expected version, under a command id,
// perhaps again) or a read of the stream's version.
type op struct {
	stream   string
	read     bool
	expected int64 // es.AnyVersion for none
	cmdID    string
}

// result is what an operation answered; unknown when its answer was lost.
type result struct {
	unknown  bool
	ok       bool  // a 2xx
	conflict bool  // 409 VersionConflict
	version  int64 // the version a 2xx or a read gave
	current  int64 // a conflict's currentVersion, -1 when absent
}

// streamState is the sequential specification's state of one stream: its
// version, the version each command id's append left it at, and the ids in
// the order appended (a stream remembers its last es.RecentCommands).
type streamState struct {
	version int64
	cmds    map[string]int64
	order   []string
}

func (s streamState) with(id string, v int64) streamState {
	cmds := make(map[string]int64, len(s.cmds)+1)
	for k, x := range s.cmds {
		cmds[k] = x
	}
	cmds[id] = v
	return streamState{version: v, cmds: cmds, order: append(slices.Clip(s.order), id)}
}

// remembers reports whether id is among the stream's recent command ids.
func (s streamState) remembers(id string) bool {
	return slices.Contains(s.order[max(0, len(s.order)-es.RecentCommands):], id)
}

// streamModel is the contract's sequential behaviour of one stream: a read
// answers the version; a repeated command id answers its first result and
// changes nothing (within the window of es.RecentCommands ids; beyond it,
// the id is new again); a command whose expected version is not the stream's is a
// conflict that names the current version; any other command appends one
// event (a command without an expected version may, after its retries, still
// answer a conflict, changing nothing). An operation whose answer was lost may
// have happened or not.
var streamModel = porcupine.NondeterministicModel{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		by := map[string][]porcupine.Operation{}
		var order []string
		for _, o := range history {
			s := o.Input.(op).stream
			if _, ok := by[s]; !ok {
				order = append(order, s)
			}
			by[s] = append(by[s], o)
		}
		out := make([][]porcupine.Operation, 0, len(by))
		for _, s := range order {
			out = append(out, by[s])
		}
		return out
	},
	Init: func() []any { return []any{streamState{}} },
	Step: func(state, input, output any) []any {
		s, in, out := state.(streamState), input.(op), output.(result)
		if in.read {
			if out.unknown || out.version == s.version {
				return []any{s}
			}
			return nil
		}
		if first, ok := s.cmds[in.cmdID]; ok && s.remembers(in.cmdID) {
			if out.unknown || out.ok && out.version == first {
				return []any{s}
			}
			return nil
		}
		if in.expected != es.AnyVersion && in.expected != s.version {
			if out.unknown || out.conflict && (out.current < 0 || out.current == s.version) {
				return []any{s}
			}
			return nil
		}
		next := s.with(in.cmdID, s.version+1)
		switch {
		case out.unknown:
			return []any{next, s}
		case out.ok && out.version == next.version:
			return []any{next}
		case out.conflict && in.expected == es.AnyVersion:
			return []any{s}
		}
		return nil
	},
	Equal: func(a, b any) bool {
		x, y := a.(streamState), b.(streamState)
		if x.version != y.version || len(x.cmds) != len(y.cmds) || !slices.Equal(x.order, y.order) {
			return false
		}
		for k, v := range x.cmds {
			if w, ok := y.cmds[k]; !ok || w != v {
				return false
			}
		}
		return true
	},
	Hash: func(state any) uint64 {
		s := state.(streamState)
		return uint64(s.version)<<20 ^ uint64(len(s.cmds))
	},
	DescribeOperation: func(input, output any) string {
		in, out := input.(op), output.(result)
		what := fmt.Sprintf("add %s", in.cmdID)
		if in.read {
			what = "read"
		} else if in.expected != es.AnyVersion {
			what += fmt.Sprintf(" at %d", in.expected)
		}
		switch {
		case out.unknown:
			return what + " → ?"
		case out.ok:
			return fmt.Sprintf("%s → %d", what, out.version)
		case out.conflict:
			return fmt.Sprintf("%s → conflict (%d)", what, out.current)
		}
		return what + " → refused"
	},
	DescribeState: func(state any) string { return fmt.Sprintf("v%d", state.(streamState).version) },
}

// history records operations with their call and return times.
type history struct {
	mu    sync.Mutex
	begin time.Time
	ops   []porcupine.Operation
}

func (h *history) now() int64 { return int64(time.Since(h.begin)) }

func (h *history) add(client int, in op, call int64, out result, ret int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.ops = append(h.ops, porcupine.Operation{ClientId: client, Input: in, Call: call, Output: out, Return: ret})
}

// summary counts the history's operations by outcome.
func (h *history) summary() string {
	n := map[string]int{}
	for _, o := range h.ops {
		in, out := o.Input.(op), o.Output.(result)
		switch {
		case in.read:
			n["reads"]++
		case out.unknown:
			n["answers lost"]++
		case out.ok:
			n["appended or repeated"]++
		case out.conflict:
			n["conflicts"]++
		default:
			n["refused"]++
		}
	}
	return fmt.Sprint(n)
}

// check checks the history with porcupine, and on failure saves a
// visualisation and says where.
func (h *history) check(t *testing.T) {
	t.Helper()
	// An operation whose answer was lost may take effect any time after
	// its call: it returns at the end of the history.
	end := h.now() + 1
	for i := range h.ops {
		if h.ops[i].Output.(result).unknown {
			h.ops[i].Return = end
		}
	}
	model := streamModel.ToModel()
	res, info := porcupine.CheckOperationsVerbose(model, h.ops, 60*time.Second)
	switch res {
	case porcupine.Ok:
		return
	case porcupine.Unknown:
		t.Fatalf("porcupine could not decide within 60 s on %d operations", len(h.ops))
	}
	path := filepath.Join(os.TempDir(), fmt.Sprintf("foldboard-%s-%d.html", strings.ReplaceAll(t.Name(), "/", "_"), time.Now().UnixNano()))
	if err := porcupine.VisualizePath(model, info, path); err != nil {
		t.Logf("visualising: %v", err)
	}
	t.Fatalf("the history of %d operations is not linearizable; see %s", len(h.ops), path)
}

// TestRacingWritersOnAStreamAreLinearizable runs many clients against two
// hot carts at once: items added without an expected version (the server
// retries a race), with the version the client last saw (a conflict when it
// is stale), the same command id again, commands whose answer is lost (the
// connection hung up right after sending) and then sent again, and reads of
// the version. The recorded history of each stream must be linearizable
// against the contract's sequential behaviour, and the stored log must hold
// each command id's event once, with no gap.
func TestRacingWritersOnAStreamAreLinearizable(t *testing.T) {
	const clients, opsPerClient = 10, 16
	for _, store := range apptest.Stores {
		t.Run(store, func(t *testing.T) {
			app := apptest.Start(t, apptest.Options{Store: store})
			c := newClient(t, app)
			streams := []string{"hot-a", "hot-b"}
			h := &history{begin: time.Now()}
			var wg sync.WaitGroup
			for id := range clients {
				wg.Go(func() {
					rng := rand.New(rand.NewPCG(uint64(id), 7))
					seen := map[string]int64{}
					var sent []op
					var lost []op
					for n := range opsPerClient {
						cart := streams[rng.IntN(len(streams))]
						in := op{stream: cart, expected: es.AnyVersion, cmdID: fmt.Sprintf("c%d-%d", id, n)}
						hangUp := false
						r := rng.IntN(100)
						switch {
						case r < 15:
							in = op{stream: cart, read: true}
						case r < 35:
							in.expected = seen[cart]
						case r < 45 && len(sent) > 0:
							in = sent[rng.IntN(len(sent))]
						case r < 55:
							hangUp = true
							lost = append(lost, in)
						case r < 65 && len(lost) > 0:
							in, lost = lost[0], lost[1:]
						}
						begin := h.now()
						if in.read {
							got := c.send("GET", "/streams/cart/"+in.stream+"/events?limit=1&reverse=true", "")
							ret := h.now()
							if got.err != nil || got.status != 200 {
								h.add(id, in, begin, result{unknown: true}, ret)
								continue
							}
							seen[in.stream] = got.version
							h.add(id, in, begin, result{version: got.version}, ret)
							continue
						}
						body := addItemBody(in)
						if hangUp {
							_ = sendAndHangUp(app.URL, "/carts/"+in.stream+"/items", body)
							h.add(id, in, begin, result{unknown: true}, h.now())
							continue
						}
						got := c.send("POST", "/carts/"+in.stream+"/items", body)
						ret := h.now()
						out := result{current: got.current}
						switch {
						case got.err != nil:
							out.unknown = true
						case got.status == 200 || got.status == 201:
							out.ok, out.version = true, got.version
							seen[in.stream] = got.version
						case got.status == 409 && got.code == "VersionConflict":
							out.conflict = true
							if got.current >= 0 {
								seen[in.stream] = got.current
							}
						}
						h.add(id, in, begin, out, ret)
						if !slices.Contains(sent, in) {
							sent = append(sent, in)
						}
					}
				})
			}
			wg.Wait()
			h.check(t)
			checkEachCommandOnce(t, app.Store, streams)
			t.Logf("%d operations on %d streams, linearizable: %s", len(h.ops), len(streams), h.summary())
		})
	}
}

// addItemBody is an AddItem the cart never refuses: one sku per command,
// so the same price each time it comes again.
func addItemBody(in op) string {
	body := fmt.Sprintf(`{"sku":%q,"qty":1,"price":"1.50","commandId":%q`, in.cmdID, in.cmdID)
	if in.expected != es.AnyVersion {
		body += fmt.Sprintf(`,"expectedVersion":%d`, in.expected)
	}
	return body + "}"
}

// checkEachCommandOnce reads the carts from the store: versions 1…N with no
// gap, and no command id twice within the window of es.RecentCommands ids
// (sent again after as many others, an id is a new command).
func checkEachCommandOnce(t *testing.T, store es.Store, carts []string) {
	t.Helper()
	for _, id := range carts {
		ref := es.StreamRef{Type: "cart", ID: id}
		envs, err := store.ReadStream(context.Background(), ref, es.ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]int{} // the index in order of each id's last append
		var order []string
		for i, e := range envs {
			if e.Version != int64(i)+1 {
				t.Fatalf("%s: event %d has version %d", ref, i+1, e.Version)
			}
			if at, ok := seen[e.CommandID]; ok && len(order)-at <= es.RecentCommands {
				t.Fatalf("%s: command %s appended twice, %d commands apart (at version %d)", ref, e.CommandID, len(order)-at, e.Version)
			}
			seen[e.CommandID] = len(order)
			order = append(order, e.CommandID)
		}
	}
}

// TestTheStreamModelRefusesALostUpdate shows the check is not vacuous: two
// writers that expected the same version both told they won, or a repeated
// command id appended twice, are not linearizable.
func TestTheStreamModelRefusesALostUpdate(t *testing.T) {
	model := streamModel.ToModel()
	add := func(client int, id string, expected int64, call, ret int64, out result) porcupine.Operation {
		return porcupine.Operation{ClientId: client, Input: op{stream: "s", expected: expected, cmdID: id}, Call: call, Output: out, Return: ret}
	}
	read := func(client int, call, ret, v int64) porcupine.Operation {
		return porcupine.Operation{ClientId: client, Input: op{stream: "s", read: true}, Call: call, Output: result{version: v}, Return: ret}
	}
	for name, ops := range map[string][]porcupine.Operation{
		"both won at version 0": {
			add(0, "a", 0, 0, 10, result{ok: true, version: 1}),
			add(1, "b", 0, 1, 11, result{ok: true, version: 1}),
		},
		"a repeat appended again": {
			add(0, "a", es.AnyVersion, 0, 1, result{ok: true, version: 1}),
			add(0, "a", es.AnyVersion, 2, 3, result{ok: true, version: 2}),
		},
		"a read saw an acknowledged append undone": {
			add(0, "a", es.AnyVersion, 0, 1, result{ok: true, version: 1}),
			read(1, 2, 3, 0),
		},
		"a conflict named a version the stream never had": {
			add(0, "a", es.AnyVersion, 0, 1, result{ok: true, version: 1}),
			add(1, "b", 0, 2, 3, result{conflict: true, current: 5}),
		},
	} {
		if porcupine.CheckOperations(model, ops) {
			t.Errorf("%s: accepted as linearizable", name)
		}
	}
	ok := []porcupine.Operation{
		add(0, "a", 0, 0, 10, result{ok: true, version: 1}),
		add(1, "b", 0, 1, 11, result{conflict: true, current: 1}),
		add(2, "c", es.AnyVersion, 2, 12, result{unknown: true}),
		read(3, 13, 14, 2),
	}
	if !porcupine.CheckOperations(model, ok) {
		t.Errorf("a linearizable history was refused")
	}
}

// TestOfTwoWritersWithTheSameExpectedVersionOneWins races two commands that
// both expect the version they read, again and again: one is appended, the
// other gets 409 VersionConflict naming the winner's version.
func TestOfTwoWritersWithTheSameExpectedVersionOneWins(t *testing.T) {
	const rounds = 15
	for _, store := range apptest.Stores {
		t.Run(store, func(t *testing.T) {
			app := apptest.Start(t, apptest.Options{Store: store})
			c := newClient(t, app)
			for round := range rounds {
				v := int64(round)
				var answers [2]call
				start := make(chan struct{})
				var wg sync.WaitGroup
				for i := range answers {
					wg.Go(func() {
						<-start
						answers[i] = c.send("POST", "/carts/duel/items", addItemBody(op{cmdID: fmt.Sprintf("r%d-w%d", round, i), expected: v}))
					})
				}
				close(start)
				wg.Wait()
				won, lost := 0, 0
				for _, a := range answers {
					switch {
					case a.err != nil:
						t.Fatalf("round %d: %v", round, a.err)
					case a.status == 200 || a.status == 201:
						won++
						if a.version != v+1 {
							t.Errorf("round %d: the winner is at version %d, want %d", round, a.version, v+1)
						}
					case a.status == 409 && a.code == "VersionConflict":
						lost++
						if a.current != v+1 {
							t.Errorf("round %d: the loser's conflict names version %d, want %d", round, a.current, v+1)
						}
					default:
						t.Fatalf("round %d: %d %s", round, a.status, a.code)
					}
				}
				if won != 1 || lost != 1 {
					t.Fatalf("round %d at version %d: %d won, %d lost; want exactly one of each", round, v, won, lost)
				}
			}
			checkEachCommandOnce(t, app.Store, []string{"duel"})
		})
	}
}

// TestARepeatedCommandIDAppendsOnceWhenTheCopiesRaceOrTheAnswerIsLost sends
// copies of one command at once, and a command whose answer is lost after
// the server handled it: each appends one event, and every copy, and the
// resend, answers that event.
func TestARepeatedCommandIDAppendsOnceWhenTheCopiesRaceOrTheAnswerIsLost(t *testing.T) {
	const copies = 8
	for _, store := range apptest.Stores {
		t.Run(store, func(t *testing.T) {
			app := apptest.Start(t, apptest.Options{Store: store})
			c := newClient(t, app)
			for round := range 5 {
				body := addItemBody(op{cmdID: fmt.Sprintf("twin-%d", round), expected: es.AnyVersion})
				var answers [copies]call
				start := make(chan struct{})
				var wg sync.WaitGroup
				for i := range answers {
					wg.Go(func() {
						<-start
						answers[i] = c.send("POST", "/carts/twins/items", body)
					})
				}
				close(start)
				wg.Wait()
				for i, a := range answers {
					if a.err != nil || a.status/100 != 2 {
						t.Fatalf("round %d copy %d: %d %s %v", round, i, a.status, a.code, a.err)
					}
					if a.version != answers[0].version || !slices.Equal(a.ids, answers[0].ids) || len(a.ids) != 1 {
						t.Fatalf("round %d: copies answered differently: %v %v and %v %v", round, answers[0].version, answers[0].ids, a.version, a.ids)
					}
				}
			}

			// The answer is lost after the server has appended: the sender
			// cannot tell, and sends the command again.
			body := addItemBody(op{cmdID: "lost-answer", expected: es.AnyVersion})
			conn, err := sendRaw(app.URL, "/carts/twins/items", body)
			if err != nil {
				t.Fatal(err)
			}
			ref := es.StreamRef{Type: "cart", ID: "twins"}
			var first es.AppendResult
			waitFor(t, func() bool {
				r, ok, err := app.Store.Command(context.Background(), ref, "lost-answer")
				first = r
				return err == nil && ok
			})
			conn.Close() // the answer, unread, is lost
			again := c.send("POST", "/carts/twins/items", body)
			if again.err != nil || again.status != 200 || again.version != first.Version || len(again.ids) != 1 || again.ids[0] != first.Events[0].ID {
				t.Fatalf("the resend answered %d %s %v version %d %v; the first append was version %d, event %s",
					again.status, again.code, again.err, again.version, again.ids, first.Version, first.Events[0].ID)
			}
			checkEachCommandOnce(t, app.Store, []string{"twins"})
			if head, _ := app.Store.Head(context.Background(), ref); head.Version != 6 {
				t.Fatalf("twins is at version %d after 6 distinct commands", head.Version)
			}
		})
	}
}
