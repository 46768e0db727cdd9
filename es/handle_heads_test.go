package es_test

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/foldboard/foldboard/es"
)

// With Heads, a command on a stream this process wrote last decides on the
// state it remembers: one append, no read.
func TestHeadsSkipTheReadOfAStreamThisProcessWrote(t *testing.T) {
	store := &callCounter{Store: openStore(t)}
	h := newHandler(store)
	h.Heads = es.NewHeads(1 << 20)
	for i, meta := range []es.Meta{
		{StreamID: "t-1", Expected: 0, CommandID: "c-1"},
		{StreamID: "t-1", Expected: es.AnyVersion, CommandID: "c-2"},
		{StreamID: "t-1", Expected: 2},
	} {
		before := store.calls()
		res, err := h.Handle(t.Context(), meta, tallyCmd{Add: []int{i + 1}})
		if err != nil {
			t.Fatal(err)
		}
		after := store.calls()
		wantHeads := int64(0)
		if i == 0 {
			wantHeads = 1 // nothing remembered yet
		}
		if heads, appends := after[0]-before[0], after[4]-before[4]; heads != wantHeads || appends != 1 {
			t.Errorf("command %d: %d head reads and %d appends, want %d and 1", i+1, heads, appends, wantHeads)
		}
		if want := (tally{Total: (i + 1) * (i + 2) / 2, Items: []int{1, 2, 3}[:i+1]}); !reflect.DeepEqual(res.State, want) {
			t.Errorf("command %d: state %+v, want %+v", i+1, res.State, want)
		}
	}
	// A refusal decided on a remembered state is checked against the store.
	if _, err := h.Handle(t.Context(), es.Meta{StreamID: "t-1", Expected: es.AnyVersion}, tallyCmd{Close: true}); err != nil {
		t.Fatal(err)
	}
	before := store.calls()
	_, err := h.Handle(t.Context(), es.Meta{StreamID: "t-1", Expected: es.AnyVersion}, tallyCmd{Add: []int{1}})
	if !errors.Is(err, &es.Error{Code: "Closed"}) {
		t.Fatalf("adding to a closed tally: %v, want Closed", err)
	}
	if heads := store.calls()[0] - before[0]; heads != 1 {
		t.Errorf("a refusal on a remembered state read the store %d times, want 1", heads)
	}
}

// Two processes on one store, each remembering what it wrote: every answer is
// the one the store's current state gives, whoever wrote last. The model is
// the tally folded from every accepted command in order.
func TestHeadsNeverDecideOnAStaleState(t *testing.T) {
	store := openStore(t)
	procs := []*es.Handler[tally, tallyCmd, es.Event]{newHandler(store), newHandler(store), newHandler(store)}
	procs[0].Heads, procs[1].Heads = es.NewHeads(1<<20), es.NewHeads(1<<20) // the third remembers nothing
	rng := rand.New(rand.NewPCG(8, 23))
	var model tally
	var version int64
	for i := range 400 {
		h := procs[rng.IntN(len(procs))]
		var cmd tallyCmd
		switch r := rng.IntN(20); {
		case r == 0 && i > 300:
			cmd.Close = true
		case r == 1:
			cmd.Clear = true
		case r == 2:
			cmd.Add = []int{0} // invalid whatever the state
		default:
			cmd.Add = []int{rng.IntN(9) + 1}
		}
		expected := es.AnyVersion
		switch rng.IntN(3) {
		case 0:
			expected = version
		case 1:
			expected = max(0, version-int64(rng.IntN(3)))
		}
		res, err := h.Handle(t.Context(), es.Meta{StreamID: "t-1", Expected: expected}, cmd)

		// What the store's state says.
		var wantErr error
		var events []es.Event
		if expected != es.AnyVersion && expected != version {
			wantErr = &es.ConflictError{Stream: es.StreamRef{Type: "tally", ID: "t-1"}, Expected: expected, Actual: version}
		} else {
			events, wantErr = decideTally(cmd, model)
		}
		switch {
		case wantErr != nil:
			var ce, wantCE *es.ConflictError
			if errors.As(wantErr, &wantCE) {
				if !errors.As(err, &ce) || *ce != *wantCE {
					t.Fatalf("command %d %+v expecting %d: err %v, want %v", i, cmd, expected, err, wantErr)
				}
			} else if !errors.Is(err, wantErr) {
				t.Fatalf("command %d %+v on %+v: err %v, want %v", i, cmd, model, err, wantErr)
			}
		case err != nil:
			t.Fatalf("command %d %+v on %+v at v%d: %v, want it accepted", i, cmd, model, version, err)
		default:
			for _, e := range events {
				model = evolveTally(model, e)
			}
			version += int64(len(events))
			if res.Version != version || !reflect.DeepEqual(res.State, model) {
				t.Fatalf("command %d: v%d %+v, want v%d %+v", i, res.Version, res.State, version, model)
			}
		}
	}
	if head, _ := store.Head(t.Context(), es.StreamRef{Type: "tally", ID: "t-1"}); head.Version != version {
		t.Errorf("store at v%d, model at v%d", head.Version, version)
	}
}

// A state that grows past what Heads takes must not leave its smaller, older
// record behind: the next command would decide on it and conflict with this
// process's own last append.
func TestHeadsForgetAStateThatGrewTooBig(t *testing.T) {
	store := &callCounter{Store: openStore(t)}
	h := newHandler(store)
	h.Heads = es.NewHeads(8 * 400) // records of up to ~400 bytes
	meta := es.Meta{StreamID: "t-1", Expected: es.AnyVersion}
	big := make([]int, 100) // ~200 bytes of JSON more
	for i := range big {
		big[i] = 9
	}
	for i, cmd := range []tallyCmd{{Add: []int{1}}, {Add: big}, {Add: []int{2}}} {
		before := store.appends.Load()
		if _, err := h.Handle(t.Context(), meta, cmd); err != nil {
			t.Fatal(err)
		}
		if n := store.appends.Load() - before; n != 1 {
			t.Errorf("command %d: %d appends, want 1 (a conflict with this process's own last append)", i+1, n)
		}
	}
}
