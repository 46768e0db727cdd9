package decidertest

import (
	"errors"
	"strings"
	"testing"

	"github.com/foldboard/foldboard/es"
)

// A tally: Add{N} records Added{N}; N must not be negative, and a tally takes
// at most three numbers.

type command interface{ isCommand() }

type add struct{ N int }

func (add) isCommand() {}

type event interface {
	es.Event
	isEvent()
}

type added struct {
	N int `json:"n"`
}

func (added) EventType() string { return "Added" }
func (added) isEvent()          {}

type cleared struct{}

func (cleared) EventType() string { return "Cleared" }
func (cleared) isEvent()          {}

type state struct {
	Ns  []int `json:"ns"`
	Sum int   `json:"-"` // not stored: a correct Evolve leaves it 0
}

var (
	errNegative = es.Errorf(es.Invalid, "Negative", "a number must not be negative")
	errFull     = es.Errorf(es.Refused, "Full", "a tally takes three numbers")
	errUnknown  = es.Errorf(es.Invalid, "UnknownCommand", "not a command")
)

func tally() es.Decider[state, command, event] {
	r := es.NewRegistry[event]()
	es.Register[added](r, 1)
	return es.Decider[state, command, event]{
		StreamType:  "tally",
		StateSchema: 1,
		Initial:     func() state { return state{Ns: []int{}} },
		Decide: func(c command, s state) ([]event, error) {
			a, ok := c.(add)
			switch {
			case !ok:
				return nil, errUnknown
			case a.N < 0:
				return nil, errNegative
			case len(s.Ns) == 3:
				return nil, errFull
			}
			return []event{added(a)}, nil
		},
		Evolve: func(s state, e event) state {
			if a, ok := e.(added); ok {
				s.Ns = append(s.Ns[:len(s.Ns):len(s.Ns)], a.N)
			}
			return s
		},
		Events: r,
	}
}

var one, two, three event = added{1}, added{2}, added{3}

func TestRunPassesACorrectDecider(t *testing.T) {
	Run(t, tally(), []Scenario[command, event]{
		{Name: "add to a new tally", When: add{7}, Then: []event{added{7}}},
		{Name: "add a third", Given: []event{one, two}, When: add{3}, Then: []event{three}},
		{Name: "add a fourth", Given: []event{one, two, three}, When: add{4}, Err: errFull},
		{Name: "add a negative", When: add{-1}, Err: errNegative},
		{Name: "a nil command", Err: errUnknown},
	})
	d := tally()
	IgnoresForeignEvents(t, d, []event{one, two})
	base := es.Fold(d.Evolve, d.Initial(), []event{one})
	base.Ns = append(make([]int, 0, 8), base.Ns...)
	if b := Branches(t, d, base, []event{two, three}); b[0].Ns[1] != 2 || b[1].Ns[1] != 3 {
		t.Errorf("branches %+v", b)
	}
	RoundTrips(t, d, [][]event{nil, {one}, {one, two, three}}, state{}, state{Ns: []int{9, 9, 9, 9}})
	EncodesAs(t, d.Events, []Encoding[event]{{one, "Added", 1, `{"n":1}`}})
	ErrorCodes(t, []Code{{errNegative, "Negative", es.Invalid}, {errFull, "Full", es.Refused}})
}

// Each check is shown to fail where it should: a decider, registry or table
// that breaks it one way gives a problem that says so.

func TestDecideFindsEveryWrongOutcome(t *testing.T) {
	plain := errors.New("plain")
	for _, tc := range []struct {
		name   string
		decide func(command, state) ([]event, error)
		sc     Scenario[command, event]
		want   string
	}{
		{"a changed state",
			func(_ command, s state) ([]event, error) { s.Ns[0] = 99; return []event{one}, nil },
			Scenario[command, event]{Given: []event{one}, When: add{1}, Then: []event{one}}, "Decide changed its state"},
		{"a changed state with the right error",
			func(_ command, s state) ([]event, error) { s.Ns[0] = 99; return nil, errFull },
			Scenario[command, event]{Given: []event{one}, When: add{1}, Err: errFull}, "Decide changed its state"},
		{"no error",
			func(command, state) ([]event, error) { return []event{one}, nil },
			Scenario[command, event]{When: add{1}, Err: errFull}, "want error Full"},
		{"an error that is not a domain error",
			func(command, state) ([]event, error) { return nil, plain },
			Scenario[command, event]{When: add{1}, Err: errFull}, "error plain; want error Full"},
		{"another code",
			func(command, state) ([]event, error) { return nil, errNegative },
			Scenario[command, event]{When: add{1}, Err: errFull}, "got error Negative (invalid)"},
		{"another kind",
			func(command, state) ([]event, error) { return nil, es.Errorf(es.Invalid, "Full", "full") },
			Scenario[command, event]{When: add{1}, Err: errFull}, "got error Full (invalid)"},
		{"no message",
			func(command, state) ([]event, error) { return nil, es.Errorf(es.Refused, "Full", "") },
			Scenario[command, event]{When: add{1}, Err: errFull}, `got error Full (refused) ""`},
		{"events with the error",
			func(command, state) ([]event, error) { return []event{}, errFull },
			Scenario[command, event]{When: add{1}, Err: errFull}, "with the error"},
		{"an error where events were due",
			func(command, state) ([]event, error) { return nil, errFull },
			Scenario[command, event]{When: add{1}, Then: []event{one}}, "got error Full"},
		{"other events",
			func(command, state) ([]event, error) { return []event{two}, nil },
			Scenario[command, event]{When: add{1}, Then: []event{one}}, "got events [{N:2}], want [{N:1}]"},
		{"no events where an empty list was due",
			func(command, state) ([]event, error) { return nil, nil },
			Scenario[command, event]{When: add{1}, Then: []event{}}, "got events [], want []"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := tally()
			d.Decide = tc.decide
			got := strings.Join(decide(d, tc.sc), "\n")
			if !strings.Contains(got, tc.want) {
				t.Errorf("problems %q, want one with %q", got, tc.want)
			}
		})
	}
}

func TestEvolveChecksFindWhatTheyLookFor(t *testing.T) {
	d := tally()
	d.Evolve = func(s state, e event) state {
		switch e := e.(type) {
		case added:
			s.Ns = append(s.Ns, e.N) // no copy: branches may share
		case cleared:
			clear(s.Ns) // in place: changes the state it was given
		default:
			s.Ns = nil // forgets the state on a foreign event
		}
		return s
	}
	if p := ignoresForeign(d, []event{one}); !strings.Contains(p, "Evolve(s, <nil>) = {Ns:[] Sum:0}, want {Ns:[1] Sum:0}") {
		t.Errorf("ignoresForeign: %q", p)
	}
	base := es.Fold(d.Evolve, d.Initial(), []event{one, two})
	if _, p := branches(d, base, []event{three, cleared{}}); !strings.Contains(p, "Evolve changed its state") {
		t.Errorf("branches: %q", p)
	}
	if _, p := branches(d, base, []event{three}); p != "" {
		t.Errorf("branches, base unchanged: %q", p)
	}
}

func TestRoundTripsFindsALossyState(t *testing.T) {
	d := tally()
	ps := roundTrips(d, [][]event{{one}}, []state{{Ns: []int{5, 6}}})
	if len(ps) != 0 {
		t.Errorf("a state that round-trips: %q", ps)
	}
	d.Evolve = func(s state, e event) state {
		a := e.(added)
		return state{Ns: append(s.Ns[:len(s.Ns):len(s.Ns)], a.N), Sum: s.Sum + a.N}
	}
	ps = roundTrips(d, [][]event{{one}}, []state{{Sum: 5}})
	if len(ps) != 2 || !strings.Contains(ps[0], "round-trips to {Ns:[1] Sum:0}\nwant {Ns:[1] Sum:1}") ||
		!strings.Contains(ps[1], "round-trips to {Ns:[1] Sum:5}") {
		t.Errorf("a state that loses a field: %q", ps)
	}
}

func TestEncodesAsFindsABrokenContract(t *testing.T) {
	r := es.NewRegistry[event]()
	es.Register[added](r, 1)
	es.Register[cleared](r, 2)
	got := strings.Join(encodesAs(r, []Encoding[event]{
		{one, "Added", 1, `{"N":1}`},
	}), "\n")
	for _, want := range []string{
		"Encode({N:1}) = Added v1 {\"n\":1}, want Added v1 {\"N\":1}",
		"2 event types registered, want 1 (Cleared not listed)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("problems %q, want one with %q", got, want)
		}
	}
	if ps := encodesAs(r, []Encoding[event]{{one, "Added", 1, `{"n":1}`}, {cleared{}, "Cleared", 2, `{}`}}); len(ps) != 0 {
		t.Errorf("a kept contract: %q", ps)
	}
	if ps := encodesAs(r, []Encoding[event]{{one, "Added", 1, `{"n":1}`}, {cleared{}, "Cleared", 1, `{}`}}); len(ps) != 1 {
		t.Errorf("another schema: %q", ps)
	}
}

func TestErrorCodesFindsAChangedCode(t *testing.T) {
	ps := errorCodes([]Code{{errFull, "Full", es.Refused}, {errFull, "Full", es.Invalid}, {errNegative, "Neg", es.Invalid}})
	if len(ps) != 2 || !strings.Contains(ps[0], "is Full (refused), want Full (invalid)") || !strings.Contains(ps[1], "want Neg (invalid)") {
		t.Errorf("problems %q", ps)
	}
}
