// Package decidertest holds the checks every decider's tests share: a table of
// given/when/then scenarios run against an es.Decider, and the properties any
// Evolve, State and event registry must have. A domain's tests state only what
// is theirs (the scenarios, the states, the stored forms); the way each is
// checked is written once, here.
//
// It imports the standard library and es only, so that a domain's tests may
// use it without reaching past the core (internal/archtest holds it to that).
//
// Every comparison of states is reflect.DeepEqual, and every copy of a state is
// made through its JSON form, as a state is stored: a state must round-trip
// exactly for these checks to hold (RoundTrips checks that it does).
package decidertest

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/foldboard/foldboard/es"
)

// Scenario is one row of a decider's table: given events, when a command, then
// the events decided or the domain error.
type Scenario[C any, E es.Event] struct {
	Name  string
	Given []E
	When  C
	Then  []E       // the events decided, when Err is nil
	Err   *es.Error // the sentinel whose code and kind the error must have
}

// Run runs each scenario as a subtest named by its Name. It folds Given from
// d.Initial() through d.Evolve, decides When in that state, and checks:
//   - that Decide left the state as it was (against a copy taken before);
//   - with Err: that the error is an *es.Error of Err's code and kind with a
//     message, that errors.Is(err, Err) holds, and that no events came with it;
//   - without Err: that there is no error and the events deep-equal Then.
func Run[S any, C any, E es.Event](t *testing.T, d es.Decider[S, C, E], scenarios []Scenario[C, E]) {
	t.Helper()
	for _, sc := range scenarios {
		t.Run(sc.Name, func(t *testing.T) {
			for _, p := range decide(d, sc) {
				t.Error(p)
			}
		})
	}
}

// decide is one scenario's checks: the problems found, none when it passes.
func decide[S any, C any, E es.Event](d es.Decider[S, C, E], sc Scenario[C, E]) []string {
	state := es.Fold(d.Evolve, d.Initial(), sc.Given)
	before, err := clone(state)
	if err != nil {
		return []string{err.Error()}
	}
	got, err := d.Decide(sc.When, state)
	var problems []string
	if !reflect.DeepEqual(state, before) {
		problems = append(problems, fmt.Sprintf("Decide changed its state:\n got %s\nwant %s", show(state), show(before)))
	}
	switch want := sc.Err; {
	case want != nil:
		var de *es.Error
		switch {
		case !errors.As(err, &de):
			return append(problems, fmt.Sprintf("got events %s, error %v; want error %s", show(got), err, want.Code))
		case de.Code != want.Code || de.Kind != want.Kind || de.Message == "":
			return append(problems, fmt.Sprintf("got error %s (%s) %q, want %s (%s)", de.Code, de.Kind, de.Message, want.Code, want.Kind))
		case !errors.Is(err, want) || got != nil:
			return append(problems, fmt.Sprintf("errors.Is(%v, %v) = false, or events %s with the error", err, want, show(got)))
		}
	case err != nil:
		return append(problems, fmt.Sprintf("got error %v, want events %s", err, show(sc.Then)))
	case !reflect.DeepEqual(got, sc.Then):
		return append(problems, fmt.Sprintf("got events %s, want %s", show(got), show(sc.Then)))
	}
	return problems
}

// IgnoresForeignEvents checks that d.Evolve returns the state that given leads
// to unchanged for an event it does not know: E's zero value (nil, for an
// interface).
func IgnoresForeignEvents[S any, C any, E es.Event](t testing.TB, d es.Decider[S, C, E], given []E) {
	t.Helper()
	if p := ignoresForeign(d, given); p != "" {
		t.Fatal(p)
	}
}

func ignoresForeign[S any, C any, E es.Event](d es.Decider[S, C, E], given []E) string {
	s := es.Fold(d.Evolve, d.Initial(), given)
	var foreign E
	if got := d.Evolve(s, foreign); !reflect.DeepEqual(got, s) {
		return fmt.Sprintf("Evolve(s, %v) = %s, want %s", foreign, show(got), show(s))
	}
	return ""
}

// Branches evolves base by each event on its own, as replay does to states that
// share a history, and stops the test if any of them changed base (against a
// copy taken first). It returns the states, in the order of events,
// for the caller's own checks: that each holds its own event, so that no two
// share memory. A base with room to grow in place (slices with spare capacity)
// makes an append that does not copy show up there.
func Branches[S any, C any, E es.Event](t testing.TB, d es.Decider[S, C, E], base S, events []E) []S {
	t.Helper()
	states, p := branches(d, base, events)
	if p != "" {
		t.Fatal(p)
	}
	return states
}

func branches[S any, C any, E es.Event](d es.Decider[S, C, E], base S, events []E) ([]S, string) {
	before, err := clone(base)
	if err != nil {
		return nil, err.Error()
	}
	states := make([]S, len(events))
	for i, e := range events {
		states[i] = d.Evolve(base, e)
	}
	if !reflect.DeepEqual(base, before) {
		return nil, fmt.Sprintf("Evolve changed its state:\n got %s\nwant %s", show(base), show(before))
	}
	return states, ""
}

// RoundTrips checks that the state each history leads to is stored and loaded
// exactly: its JSON, unmarshalled into a fresh d.Initial() (as es.Handler loads
// a state) and into a copy of each of into (a zero or stale state, say), gives
// back a state that deep-equals it.
func RoundTrips[S any, C any, E es.Event](t testing.TB, d es.Decider[S, C, E], histories [][]E, into ...S) {
	t.Helper()
	for _, p := range roundTrips(d, histories, into) {
		t.Error(p)
	}
}

func roundTrips[S any, C any, E es.Event](d es.Decider[S, C, E], histories [][]E, into []S) []string {
	var problems []string
	for _, h := range histories {
		s := es.Fold(d.Evolve, d.Initial(), h)
		b, err := json.Marshal(s)
		if err != nil {
			problems = append(problems, fmt.Sprintf("marshalling %s: %v", show(s), err))
			continue
		}
		for _, got := range append([]S{d.Initial()}, into...) {
			if err := json.Unmarshal(b, &got); err != nil {
				problems = append(problems, fmt.Sprintf("unmarshalling %s: %v", show(string(b)), err))
			} else if !reflect.DeepEqual(got, s) {
				problems = append(problems, fmt.Sprintf("%s\nround-trips to %s\nwant %s", show(string(b)), show(got), show(s)))
			}
		}
	}
	return problems
}

// Encoding is an event as the storage contract writes it.
type Encoding[E es.Event] struct {
	Event  E
	Name   string // its type name
	Schema int    // its schema version
	Data   string // its JSON payload, to the byte
}

// EncodesAs checks that reg encodes each event under its name and schema as its
// data, that it decodes that back to the same event, and that reg registers no
// event type that encodings leave out.
func EncodesAs[E es.Event](t testing.TB, reg *es.Registry[E], encodings []Encoding[E]) {
	t.Helper()
	for _, p := range encodesAs(reg, encodings) {
		t.Error(p)
	}
}

func encodesAs[E es.Event](reg *es.Registry[E], encodings []Encoding[E]) []string {
	var problems []string
	listed := map[string]bool{}
	for _, tc := range encodings {
		listed[tc.Name] = true
		name, schema, data, err := reg.Encode(tc.Event)
		if err != nil {
			problems = append(problems, fmt.Sprintf("Encode(%+v): %v", tc.Event, err))
			continue
		}
		if name != tc.Name || schema != tc.Schema || string(data) != tc.Data {
			problems = append(problems, fmt.Sprintf("Encode(%+v) = %s v%d %s, want %s v%d %s", tc.Event, name, schema, data, tc.Name, tc.Schema, tc.Data))
		}
		back, err := reg.Decode(name, schema, data)
		if err != nil {
			problems = append(problems, fmt.Sprintf("Decode(%s, %d, %s): %v", name, schema, data, err))
		} else if !reflect.DeepEqual(back, tc.Event) {
			problems = append(problems, fmt.Sprintf("Decode gives %#v, want %#v", back, tc.Event))
		}
	}
	names := reg.Names()
	slices.Sort(names)
	var unlisted []string
	for _, n := range names {
		if !listed[n] {
			unlisted = append(unlisted, n)
		}
	}
	if len(names) != len(listed) || len(unlisted) > 0 {
		problems = append(problems, fmt.Sprintf("%d event types registered, want %d (%s not listed)", len(names), len(listed), strings.Join(unlisted, ", ")))
	}
	return problems
}

// Code is a domain error's stable code and kind, which programs rely on.
type Code struct {
	Err  *es.Error
	Code string
	Kind es.Kind
}

// ErrorCodes checks that each error has its code and kind.
func ErrorCodes(t testing.TB, codes []Code) {
	t.Helper()
	for _, p := range errorCodes(codes) {
		t.Error(p)
	}
}

func errorCodes(codes []Code) []string {
	var problems []string
	for _, tc := range codes {
		if tc.Err.Code != tc.Code || tc.Err.Kind != tc.Kind {
			problems = append(problems, fmt.Sprintf("%s is %s (%s), want %s (%s)", tc.Err.Message, tc.Err.Code, tc.Err.Kind, tc.Code, tc.Kind))
		}
	}
	return problems
}

// clone is a deep copy of s, through its stored form.
func clone[S any](s S) (S, error) {
	var c S
	b, err := json.Marshal(s)
	if err != nil {
		return c, fmt.Errorf("copying the state through JSON: %w", err)
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("copying the state through JSON: %w", err)
	}
	return c, nil
}

// maxShown is how many bytes of a value a failure shows: states and events can
// hold 64 KiB bodies.
const maxShown = 1000

// show is v as %+v, cut short after maxShown bytes.
func show(v any) string {
	s := fmt.Sprintf("%+v", v)
	if len(s) <= maxShown {
		return s
	}
	cut := maxShown
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s…(%d bytes more)", s[:cut], len(s)-cut)
}
