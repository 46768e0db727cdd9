package es_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/foldboard/foldboard/es"
)

func TestHandleAppendsAndReturnsState(t *testing.T) {
	store := openStore(t)
	h := newHandler(store)
	at := time.Date(2026, 3, 14, 9, 0, 0, 0, time.UTC)
	h.Now = func() time.Time { return at }
	var n int
	h.NewID = func(time.Time) string { n++; return fmt.Sprintf("evt-%d", n) }
	var appended []es.AppendResult
	h.OnAppend = func(r es.AppendResult) { appended = append(appended, r) }

	meta := es.Meta{StreamID: "t-1", Expected: 0, CommandID: "c-1", Actor: "ana", CorrelationID: "corr-1", CausationID: "cause-1"}
	res, err := h.Handle(t.Context(), meta, tallyCmd{Add: []int{2, 3}})
	if err != nil {
		t.Fatalf("Handle: %v", err)
	}
	stream := es.StreamRef{Type: "tally", ID: "t-1"}
	if res.Stream != stream || res.Version != 2 || !res.Created || res.Repeated {
		t.Errorf("result = {%s v%d created %v repeated %v}, want {%s v2 created true repeated false}", res.Stream, res.Version, res.Created, res.Repeated, stream)
	}
	if want := (tally{Total: 5, Items: []int{2, 3}}); !reflect.DeepEqual(res.State, want) {
		t.Errorf("state = %+v, want %+v", res.State, want)
	}
	if len(res.Events) != 2 {
		t.Fatalf("%d events, want 2", len(res.Events))
	}
	for i, e := range res.Events {
		want := es.Envelope{
			ID: fmt.Sprintf("evt-%d", i+1), Stream: stream, Version: int64(i) + 1, Type: "Added", SchemaVersion: 1,
			Time: at, Actor: "ana", CorrelationID: "corr-1", CausationID: "cause-1", CommandID: "c-1",
			Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, []int{2, 3}[i])), Position: e.Position,
		}
		if !reflect.DeepEqual(e, want) {
			t.Errorf("event %d = %+v, want %+v", i, e, want)
		}
		if e.Position == "" {
			t.Errorf("event %d has no position from the store", i)
		}
	}
	if len(appended) != 1 || appended[0].Version != 2 || len(appended[0].Events) != 2 {
		t.Errorf("OnAppend saw %+v, want one append at version 2", appended)
	}

	// The state item written with the append is the returned state.
	head, err := store.Head(t.Context(), stream)
	if err != nil {
		t.Fatal(err)
	}
	var stored tally
	if err := json.Unmarshal(head.Data, &stored); err != nil || head.Version != 2 || head.Schema != 1 || !reflect.DeepEqual(stored, res.State) {
		t.Errorf("head = {v%d schema %d %s} (%v), want the result's state at v2", head.Version, head.Schema, head.Data, err)
	}
	// The result carries that JSON, byte for byte what encoding the state gives.
	if want, _ := json.Marshal(res.State); string(res.StateJSON) != string(want) || string(res.StateJSON) != string(head.Data) {
		t.Errorf("StateJSON = %s, want %s, as stored (%s)", res.StateJSON, want, head.Data)
	}

	res, err = h.Handle(t.Context(), es.Meta{StreamID: "t-1", Expected: 2}, tallyCmd{Add: []int{4}})
	if err != nil {
		t.Fatalf("second Handle: %v", err)
	}
	if res.Version != 3 || res.Created || res.State.Total != 9 {
		t.Errorf("second result = {v%d created %v total %d}, want {v3 false 9}", res.Version, res.Created, res.State.Total)
	}
}

func TestHandleWithoutEventsAppendsNothing(t *testing.T) {
	store := openStore(t)
	h := newHandler(store)
	h.OnAppend = func(es.AppendResult) { t.Error("OnAppend called for a command without events") }
	res, err := h.Handle(t.Context(), es.Meta{StreamID: "t-1"}, tallyCmd{})
	if err != nil || res.Version != 0 || len(res.Events) != 0 || res.StateJSON != nil {
		t.Fatalf("Handle of an empty command = {v%d %d events, state JSON %s}, err %v; want v0, none, none, nil", res.Version, len(res.Events), res.StateJSON, err)
	}
	if head, _ := store.Head(t.Context(), res.Stream); head.Version != 0 {
		t.Errorf("stream at version %d, want 0", head.Version)
	}
}

func TestHandleRefusesStaleExpectedVersion(t *testing.T) {
	store := openStore(t)
	h := newHandler(store)
	if _, err := h.Handle(t.Context(), es.Meta{StreamID: "t-1"}, tallyCmd{Add: []int{1}}); err != nil {
		t.Fatal(err)
	}
	for _, expected := range []int64{0, 2, 7} {
		_, err := h.Handle(t.Context(), es.Meta{StreamID: "t-1", Expected: expected, CommandID: fmt.Sprintf("stale-%d", expected)}, tallyCmd{Add: []int{5}})
		var ce *es.ConflictError
		if !errors.As(err, &ce) || !errors.Is(err, es.ErrConflict) {
			t.Fatalf("Handle expecting %d on a stream at 1: err = %v, want a *ConflictError", expected, err)
		}
		if ce.Stream != (es.StreamRef{Type: "tally", ID: "t-1"}) || ce.Expected != expected || ce.Actual != 1 {
			t.Errorf("ConflictError = %+v, want stream tally/t-1, expected %d, actual 1", *ce, expected)
		}
	}
	envs, err := store.ReadStream(t.Context(), es.StreamRef{Type: "tally", ID: "t-1"}, es.ReadOptions{})
	if err != nil || len(envs) != 1 {
		t.Errorf("stream holds %d events (err %v) after refused commands, want 1", len(envs), err)
	}
}

func TestHandleReturnsDomainErrorsAndAppendsNothing(t *testing.T) {
	store := openStore(t)
	h := newHandler(store)
	if _, err := h.Handle(t.Context(), es.Meta{StreamID: "t-1"}, tallyCmd{Add: []int{1}, Close: true}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		cmd  tallyCmd
		kind es.Kind
		code string
	}{
		{tallyCmd{Add: []int{3}}, es.Refused, "Closed"},
	} {
		_, err := h.Handle(t.Context(), es.Meta{StreamID: "t-1", Expected: es.AnyVersion}, tc.cmd)
		var de *es.Error
		if !errors.As(err, &de) || de.Kind != tc.kind || de.Code != tc.code {
			t.Errorf("Handle(%+v): err = %v, want a %v error %s", tc.cmd, err, tc.kind, tc.code)
		}
	}
	_, err := h.Handle(t.Context(), es.Meta{StreamID: "t-2"}, tallyCmd{Add: []int{0}})
	if !errors.Is(err, &es.Error{Code: "NotPositive"}) {
		t.Errorf("Handle adding 0: err = %v, want NotPositive", err)
	}
	if head, _ := store.Head(t.Context(), es.StreamRef{Type: "tally", ID: "t-1"}); head.Version != 2 {
		t.Errorf("stream at version %d after a refused command, want 2", head.Version)
	}
	if head, _ := store.Head(t.Context(), es.StreamRef{Type: "tally", ID: "t-2"}); head.Version != 0 {
		t.Errorf("an invalid command started its stream (version %d)", head.Version)
	}
}

func TestHandleRefusesBadIDs(t *testing.T) {
	h := newHandler(openStore(t))
	for _, tc := range []struct {
		meta es.Meta
		code string
	}{
		{es.Meta{StreamID: "has space"}, "BadStreamID"},
		{es.Meta{StreamID: ""}, "BadStreamID"},
		{es.Meta{StreamID: "t-1", CommandID: "bad/id"}, "BadCommandID"},
	} {
		_, err := h.Handle(t.Context(), tc.meta, tallyCmd{Add: []int{1}})
		var de *es.Error
		if !errors.As(err, &de) || de.Kind != es.Invalid || de.Code != tc.code {
			t.Errorf("Handle(%+v): err = %v, want invalid %s", tc.meta, err, tc.code)
		}
	}
}

// conflictCounter counts the appends its store refused as conflicts.
type conflictCounter struct {
	es.Store
	conflicts atomic.Int64
}

func (c *conflictCounter) Append(ctx context.Context, req es.AppendRequest) (es.AppendResult, error) {
	res, err := c.Store.Append(ctx, req)
	if errors.Is(err, es.ErrConflict) {
		c.conflicts.Add(1)
	}
	return res, err
}

// hammer has writers × each commands race on one stream, each writer through
// the handler handlerFor gives it, and checks that every one got through,
// decided on the state it was appended after.
func hammer(t *testing.T, handlerFor func(writer int) *es.Handler[tally, tallyCmd, es.Event]) {
	t.Helper()
	const writers, each = 8, 20
	results := make(chan es.Result[tally], writers*each)
	var wg sync.WaitGroup
	for w := range writers {
		handler := handlerFor(w)
		wg.Go(func() {
			for i := range each {
				meta := es.Meta{StreamID: "t-hot", Expected: es.AnyVersion, CommandID: fmt.Sprintf("w%d-%d", w, i)}
				res, err := handler.Handle(t.Context(), meta, tallyCmd{Add: []int{1}})
				if err != nil {
					t.Errorf("writer %d command %d: %v", w, i, err)
					return
				}
				results <- res
			}
		})
	}
	wg.Wait()
	close(results)
	var versions []int64
	for r := range results {
		versions = append(versions, r.Version)
		if r.State.Total != int(r.Version) {
			t.Errorf("result at v%d has total %d: the command was decided on a stale state", r.Version, r.State.Total)
		}
	}
	slices.Sort(versions)
	for i, v := range versions {
		if v != int64(i)+1 {
			t.Fatalf("result versions %v, want 1…%d each once", versions, writers*each)
		}
	}
	state, version, err := handlerFor(0).Load(t.Context(), es.StreamRef{Type: "tally", ID: "t-hot"})
	if err != nil || version != writers*each || state.Total != writers*each || len(state.Items) != writers*each {
		t.Errorf("Load = {v%d total %d} (err %v), want v%d and that total", version, state.Total, err, writers*each)
	}
}

// Writers in other processes (a handler each) race through the store's
// conflicts: each retries on a fresh state until it gets in. Across
// processes nothing is fair: a writer on a loaded machine can lose many races
// in a row, so this test gives the retries a long budget; it checks that they
// converge, not how fast.
func TestHandleRetriesAnyVersionUnderContention(t *testing.T) {
	store := &conflictCounter{Store: openStore(t)}
	hammer(t, func(int) *es.Handler[tally, tallyCmd, es.Event] {
		h := newHandler(store)
		h.RetryFor = time.Minute
		return h
	})
	if store.conflicts.Load() == 0 {
		t.Log("no conflict happened: the retry path went untested this run")
	}
}

// Writers in one process (one handler) take turns on a stream: no attempt is
// wasted on a conflict.
func TestHandleQueuesOneProcesssWritersOnAStream(t *testing.T) {
	store := &conflictCounter{Store: openStore(t)}
	h := newHandler(store)
	hammer(t, func(int) *es.Handler[tally, tallyCmd, es.Event] { return h })
	if n := store.conflicts.Load(); n != 0 {
		t.Errorf("%d conflicts among writers of one process", n)
	}
}

func TestHandleRepeatedCommandReturnsFirstResult(t *testing.T) {
	store := openStore(t)
	h := newHandler(store)
	first, err := h.Handle(t.Context(), es.Meta{StreamID: "t-1", CommandID: "c-1"}, tallyCmd{Add: []int{5, 6}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Handle(t.Context(), es.Meta{StreamID: "t-1", Expected: es.AnyVersion, CommandID: "c-2"}, tallyCmd{Add: []int{1}}); err != nil {
		t.Fatal(err)
	}
	// Sent again, with its stale expected version.
	again, err := h.Handle(t.Context(), es.Meta{StreamID: "t-1", Expected: 0, CommandID: "c-1"}, tallyCmd{Add: []int{5, 6}})
	if err != nil {
		t.Fatalf("repeated command: %v", err)
	}
	if !again.Repeated || again.Version != first.Version || !again.Created || !reflect.DeepEqual(again.State, first.State) {
		t.Errorf("repeated = {v%d repeated %v created %v %+v}, want the first {v%d true true %+v}", again.Version, again.Repeated, again.Created, again.State, first.Version, first.State)
	}
	if !reflect.DeepEqual(again.Events, first.Events) {
		t.Errorf("repeated events = %+v, want the first's %+v", again.Events, first.Events)
	}
	if again.StateJSON != nil {
		t.Errorf("repeated StateJSON = %s, want none: the state was not stored by this call", again.StateJSON)
	}
	if head, _ := store.Head(t.Context(), first.Stream); head.Version != 3 {
		t.Errorf("stream at version %d, want 3: the repeat appended", head.Version)
	}
}

// Commands with one id racing on a new stream: one appends, the others get its
// result, whichever way the store refuses them.
func TestHandleRacingRepeatsAppendOnce(t *testing.T) {
	store := openStore(t)
	h := newHandler(store)
	const racers = 8
	results := make(chan es.Result[tally], racers)
	var wg sync.WaitGroup
	for range racers {
		wg.Go(func() {
			res, err := h.Handle(t.Context(), es.Meta{StreamID: "t-race", Expected: es.AnyVersion, CommandID: "same"}, tallyCmd{Add: []int{7}})
			if err != nil {
				t.Error(err)
				return
			}
			results <- res
		})
	}
	wg.Wait()
	close(results)
	fresh := 0
	for r := range results {
		if !r.Repeated {
			fresh++
		}
		if r.Version != 1 || r.State.Total != 7 || len(r.Events) != 1 {
			t.Errorf("result {v%d total %d, %d events}, want {v1 7, 1 event}", r.Version, r.State.Total, len(r.Events))
		}
	}
	if fresh != 1 {
		t.Errorf("%d results not marked repeated, want 1", fresh)
	}
	if head, _ := store.Head(t.Context(), es.StreamRef{Type: "tally", ID: "t-race"}); head.Version != 1 {
		t.Errorf("stream at version %d, want 1", head.Version)
	}
}

// randomCommand is a command that adds one to three numbers, clears, or both.
func randomCommand(r *rand.Rand) tallyCmd {
	var c tallyCmd
	c.Clear = r.IntN(6) == 0
	for range r.IntN(3) + 1 {
		c.Add = append(c.Add, r.IntN(9)+1)
	}
	return c
}

func TestSnapshotsAndLoadAtAgreeWithFoldFromScratch(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		for _, every := range []int64{2, 3, 5} {
			t.Run(fmt.Sprintf("seed %d every %d", seed, every), func(t *testing.T) {
				checkSnapshotsAgree(t, seed, every)
			})
		}
	}
}

func checkSnapshotsAgree(t *testing.T, seed uint64, every int64) {
	store := &countingStore{Store: openStore(t)}
	h := newHandler(store)
	h.SnapshotEvery = every
	r := rand.New(rand.NewPCG(seed, uint64(every)))
	stream := es.StreamRef{Type: "tally", ID: "t-snap"}

	// The snapshot each append must have left: its last multiple of every.
	wantSnaps := map[int64]bool{}
	for range 30 {
		res, err := h.Handle(t.Context(), es.Meta{StreamID: stream.ID, Expected: es.AnyVersion}, randomCommand(r))
		if err != nil {
			t.Fatal(err)
		}
		firstV := res.Events[0].Version
		if m := res.Version / every * every; m >= firstV {
			wantSnaps[m] = true
		}
	}

	envs, err := store.ReadStream(t.Context(), stream, es.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	events := make([]es.Event, len(envs))
	for i, env := range envs {
		if events[i], err = tallyEvents().DecodeEnvelope(env); err != nil {
			t.Fatal(err)
		}
	}
	last := int64(len(events))
	fold := func(v int64) tally { return es.Fold(evolveTally, tally{}, events[:min(v, last)]) }

	for v := range wantSnaps {
		snap, ok, err := store.Snapshot(t.Context(), stream, v)
		if err != nil || !ok || snap.Version != v {
			t.Errorf("Snapshot(%d) = v%d found %v (err %v), want the snapshot at %d", v, snap.Version, ok, err, v)
			continue
		}
		var s tally
		if err := json.Unmarshal(snap.Data, &s); err != nil || !reflect.DeepEqual(s, fold(v)) {
			t.Errorf("snapshot at %d = %+v (err %v), want %+v", v, s, err, fold(v))
		}
	}

	// Another state schema ignores the snapshots and the head and folds
	// from the start. Its state means something else (each event leaves a
	// -1 in Items, which schema 1 never holds), so a state of schema 1 used
	// in its place shows.
	other := newHandler(store)
	other.Decider.StateSchema = 2
	other.Decider.Evolve = func(s tally, e es.Event) tally {
		s = evolveTally(s, e)
		s.Items = append(slices.Clone(s.Items), -1)
		return s
	}
	otherFold := func(v int64) tally { return es.Fold(other.Decider.Evolve, tally{}, events[:min(v, last)]) }
	for v := int64(0); v <= last+2; v++ {
		snapAt := int64(0)
		if snap, ok, _ := store.Snapshot(t.Context(), stream, v); ok {
			snapAt = snap.Version
		}
		store.read.Store(0)
		state, at, err := h.LoadAt(t.Context(), stream, v)
		if err != nil || at != min(v, last) || !reflect.DeepEqual(state, fold(v)) {
			t.Fatalf("LoadAt(%d) = {v%d %+v} (err %v), want {v%d %+v}", v, at, state, err, min(v, last), fold(v))
		}
		if read := store.read.Load(); read != min(v, last)-snapAt {
			t.Errorf("LoadAt(%d) read %d events, want %d: from the snapshot at %d", v, read, min(v, last)-snapAt, snapAt)
		}

		store.read.Store(0)
		state, at, err = other.LoadAt(t.Context(), stream, v)
		if err != nil || at != min(v, last) || !reflect.DeepEqual(state, otherFold(v)) {
			t.Fatalf("LoadAt(%d) under another schema = {v%d %+v} (err %v), want {v%d %+v}", v, at, state, err, min(v, last), otherFold(v))
		}
		if read := store.read.Load(); read != min(v, last) {
			t.Errorf("LoadAt(%d) under another schema read %d events, want all %d", v, read, min(v, last))
		}
	}

	for hd, want := range map[*es.Handler[tally, tallyCmd, es.Event]]tally{h: fold(last), other: otherFold(last)} {
		state, version, err := hd.Load(t.Context(), stream)
		if err != nil || version != last || !reflect.DeepEqual(state, want) {
			t.Errorf("Load (schema %d) = {v%d %+v} (err %v), want {v%d %+v}", hd.Decider.StateSchema, version, state, err, last, want)
		}
	}
}
