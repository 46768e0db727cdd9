package cricket

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/foldboard/foldboard/es"
)

var (
	started = MatchStarted{Venue: "Lord's", HomeTeam: "England", AwayTeam: "Australia"}
	inn1    = InningsCompleted{Innings: 1, Runs: 250, Wickets: 10}
	inn2    = InningsCompleted{Innings: 2, Runs: 301, Wickets: 8}
	inn3    = InningsCompleted{Innings: 3, Runs: 199, Wickets: 10}
	inn4    = InningsCompleted{Innings: 4, Runs: 149, Wickets: 3}
	ended   = MatchEnded{Result: "Australia won by 7 wickets"}
)

type scenario struct {
	name  string
	given []Event
	when  Command
	then  []Event   // the events decided, when err is nil
	err   *es.Error // the sentinel whose code and kind the error must have
}

func TestDecide(t *testing.T) {
	long := strings.Repeat("é", MaxNameLen) // characters, not bytes, count
	run(t, []scenario{
		// StartMatch
		{name: "start a match", when: StartMatch{Venue: "Lord's", HomeTeam: "England", AwayTeam: "Australia"}, then: []Event{started}},
		{name: "start trims names", when: StartMatch{Venue: "  Lord's\t", HomeTeam: " England ", AwayTeam: "Australia\n"}, then: []Event{started}},
		{name: "start with names of 200 characters", when: StartMatch{Venue: long, HomeTeam: long, AwayTeam: "x" + long[2:]},
			then: []Event{MatchStarted{Venue: long, HomeTeam: long, AwayTeam: "x" + long[2:]}}},
		{name: "start with a venue of 1 character", when: StartMatch{Venue: "X", HomeTeam: "A", AwayTeam: "B"}, then: []Event{MatchStarted{Venue: "X", HomeTeam: "A", AwayTeam: "B"}}},
		{name: "start twice", given: []Event{started}, when: StartMatch{Venue: "Oval", HomeTeam: "A", AwayTeam: "B"}, err: ErrAlreadyStarted},
		{name: "start an ended match", given: []Event{started, ended}, when: StartMatch{Venue: "Oval", HomeTeam: "A", AwayTeam: "B"}, err: ErrAlreadyStarted},
		{name: "start without a venue", when: StartMatch{Venue: "", HomeTeam: "A", AwayTeam: "B"}, err: ErrBadVenue},
		{name: "start with a blank venue", when: StartMatch{Venue: " \t ", HomeTeam: "A", AwayTeam: "B"}, err: ErrBadVenue},
		{name: "start with a venue of 201 characters", when: StartMatch{Venue: long + "x", HomeTeam: "A", AwayTeam: "B"}, err: ErrBadVenue},
		{name: "start with a venue that is not UTF-8", when: StartMatch{Venue: "Lord\xff", HomeTeam: "A", AwayTeam: "B"}, err: ErrBadVenue},
		{name: "start without a home team", when: StartMatch{Venue: "Oval", HomeTeam: " ", AwayTeam: "B"}, err: ErrBadTeam},
		{name: "start without an away team", when: StartMatch{Venue: "Oval", HomeTeam: "A", AwayTeam: ""}, err: ErrBadTeam},
		{name: "start with an away team of 201 characters", when: StartMatch{Venue: "Oval", HomeTeam: "A", AwayTeam: long + "x"}, err: ErrBadTeam},
		{name: "start a team against itself", when: StartMatch{Venue: "Oval", HomeTeam: "England", AwayTeam: "england "}, err: ErrSameTeams},
		{name: "values are checked before the state", given: []Event{started}, when: StartMatch{Venue: "", HomeTeam: "A", AwayTeam: "B"}, err: ErrBadVenue},

		// CompleteInnings
		{name: "complete the first innings", given: []Event{started}, when: CompleteInnings{Innings: 1, Runs: 250, Wickets: 10}, then: []Event{inn1}},
		{name: "complete the second innings", given: []Event{started, inn1}, when: CompleteInnings{Innings: 2, Runs: 301, Wickets: 8}, then: []Event{inn2}},
		{name: "complete the fourth innings", given: []Event{started, inn1, inn2, inn3}, when: CompleteInnings{Innings: 4, Runs: 149, Wickets: 3}, then: []Event{inn4}},
		{name: "complete an innings of 0 for 0", given: []Event{started}, when: CompleteInnings{Innings: 1}, then: []Event{InningsCompleted{Innings: 1}}},
		{name: "complete an innings of 10,000 for 10", given: []Event{started}, when: CompleteInnings{Innings: 1, Runs: 10_000, Wickets: 10}, then: []Event{InningsCompleted{Innings: 1, Runs: 10_000, Wickets: 10}}},
		{name: "complete an innings of a match never started", when: CompleteInnings{Innings: 1, Runs: 1}, err: ErrMatchNotFound},
		{name: "a missing match is found out before bad values", when: CompleteInnings{Innings: 9, Runs: -1}, err: ErrMatchNotFound},
		{name: "complete innings 0", given: []Event{started}, when: CompleteInnings{Innings: 0}, err: ErrBadInnings},
		{name: "complete innings 5", given: []Event{started}, when: CompleteInnings{Innings: 5}, err: ErrBadInnings},
		{name: "complete a fifth innings", given: []Event{started, inn1, inn2, inn3, inn4}, when: CompleteInnings{Innings: 5, Runs: 10}, err: ErrBadInnings},
		{name: "complete an innings after all four", given: []Event{started, inn1, inn2, inn3, inn4}, when: CompleteInnings{Innings: 4, Runs: 10}, err: ErrAllInningsCompleted},
		{name: "complete negative runs", given: []Event{started}, when: CompleteInnings{Innings: 1, Runs: -1}, err: ErrBadRuns},
		{name: "complete 10,001 runs", given: []Event{started}, when: CompleteInnings{Innings: 1, Runs: 10_001}, err: ErrBadRuns},
		{name: "complete negative wickets", given: []Event{started}, when: CompleteInnings{Innings: 1, Wickets: -1}, err: ErrBadWickets},
		{name: "complete 11 wickets", given: []Event{started}, when: CompleteInnings{Innings: 1, Wickets: 11}, err: ErrBadWickets},
		{name: "skip an innings", given: []Event{started}, when: CompleteInnings{Innings: 2, Runs: 10}, err: ErrInningsOutOfOrder},
		{name: "repeat an innings", given: []Event{started, inn1}, when: CompleteInnings{Innings: 1, Runs: 10}, err: ErrInningsOutOfOrder},
		{name: "go back an innings", given: []Event{started, inn1, inn2, inn3}, when: CompleteInnings{Innings: 2, Runs: 10}, err: ErrInningsOutOfOrder},
		{name: "complete an innings of an ended match", given: []Event{started, inn1, ended}, when: CompleteInnings{Innings: 2, Runs: 10}, err: ErrAlreadyEnded},
		{name: "bad values of an ended match are invalid", given: []Event{started, ended}, when: CompleteInnings{Innings: 1, Wickets: 12}, err: ErrBadWickets},

		// EndMatch
		{name: "end a match", given: []Event{started, inn1, inn2, inn3, inn4}, when: EndMatch{Result: " Australia won by 7 wickets "}, then: []Event{ended}},
		{name: "end a match before any innings", given: []Event{started}, when: EndMatch{Result: "Abandoned"}, then: []Event{MatchEnded{Result: "Abandoned"}}},
		{name: "end with a result of 500 characters", given: []Event{started}, when: EndMatch{Result: strings.Repeat("ü", 500)}, then: []Event{MatchEnded{Result: strings.Repeat("ü", 500)}}},
		{name: "end a match never started", when: EndMatch{Result: "Draw"}, err: ErrMatchNotFound},
		{name: "end twice", given: []Event{started, ended}, when: EndMatch{Result: "Draw"}, err: ErrAlreadyEnded},
		{name: "end without a result", given: []Event{started}, when: EndMatch{Result: "  "}, err: ErrBadResult},
		{name: "end with a result of 501 characters", given: []Event{started}, when: EndMatch{Result: strings.Repeat("ü", 501)}, err: ErrBadResult},

		// Not a command
		{name: "a nil command", when: nil, err: ErrUnknownCommand},
		{name: "a pointer to a command", when: &EndMatch{Result: "Draw"}, given: []Event{started}, err: ErrUnknownCommand},
	})
}

func run(t *testing.T, scenarios []scenario) {
	t.Helper()
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			state := es.Fold(Evolve, Initial(), sc.given)
			before := clone(t, state)
			got, err := Decide(sc.when, state)
			if !reflect.DeepEqual(state, before) {
				t.Errorf("Decide changed its state:\n got %+v\nwant %+v", state, before)
			}
			if sc.err != nil {
				var de *es.Error
				if !errors.As(err, &de) {
					t.Fatalf("got events %+v, error %v; want error %s", got, err, sc.err.Code)
				}
				if de.Code != sc.err.Code || de.Kind != sc.err.Kind || de.Message == "" {
					t.Fatalf("got error %s (%s) %q, want %s (%s)", de.Code, de.Kind, de.Message, sc.err.Code, sc.err.Kind)
				}
				if !errors.Is(err, sc.err) || got != nil {
					t.Fatalf("errors.Is(%v, %v) = false, or events %v with the error", err, sc.err, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want events %+v", err, sc.then)
			}
			if !reflect.DeepEqual(got, sc.then) {
				t.Fatalf("got events %+v, want %+v", got, sc.then)
			}
		})
	}
}

// clone is a deep copy of s, through its stored form.
func clone(t *testing.T, s State) State {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var c State
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestEvolve(t *testing.T) {
	got := es.Fold(Evolve, Initial(), []Event{started, inn1, inn2, inn3, inn4, ended})
	want := State{
		Started: true, Ended: true,
		Venue: "Lord's", HomeTeam: "England", AwayTeam: "Australia",
		Innings: []Innings{
			{Number: 1, Runs: 250, Wickets: 10, Side: Home, Batting: "England"},
			{Number: 2, Runs: 301, Wickets: 8, Side: Away, Batting: "Australia"},
			{Number: 3, Runs: 199, Wickets: 10, Side: Home, Batting: "England"},
			{Number: 4, Runs: 149, Wickets: 3, Side: Away, Batting: "Australia"},
		},
		Result:   "Australia won by 7 wickets",
		HomeRuns: 449, AwayRuns: 450,
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	if got.NextInnings() != 5 || got.Team(Home) != "England" || got.Team(Away) != "Australia" {
		t.Errorf("NextInnings %d, Team(Home) %q, Team(Away) %q", got.NextInnings(), got.Team(Home), got.Team(Away))
	}
}

func TestEvolveFromInitial(t *testing.T) {
	s := Initial()
	if s.Started || s.Ended || len(s.Innings) != 0 || s.NextInnings() != 1 {
		t.Fatalf("Initial() = %+v", s)
	}
	s = Evolve(s, started)
	want := State{Started: true, Venue: "Lord's", HomeTeam: "England", AwayTeam: "Australia", Innings: []Innings{}}
	if !reflect.DeepEqual(s, want) {
		t.Fatalf("got %+v, want %+v", s, want)
	}
}

func TestEvolveIgnoresForeignEvents(t *testing.T) {
	s := es.Fold(Evolve, Initial(), []Event{started, inn1})
	if got := Evolve(s, nil); !reflect.DeepEqual(got, s) {
		t.Fatalf("Evolve(s, nil) = %+v, want %+v", got, s)
	}
}

func TestEvolveDoesNotChangeItsState(t *testing.T) {
	base := es.Fold(Evolve, Initial(), []Event{started, inn1})
	// Room to grow in place: an append without a copy would write into it.
	base.Innings = append(make([]Innings, 0, 8), base.Innings...)
	before := clone(t, base)

	a := Evolve(base, inn2)
	b := Evolve(base, InningsCompleted{Innings: 2, Runs: 7, Wickets: 1})
	_ = Evolve(base, ended)
	if !reflect.DeepEqual(base, before) {
		t.Fatalf("Evolve changed its state:\n got %+v\nwant %+v", base, before)
	}
	if a.Innings[1].Runs != 301 || b.Innings[1].Runs != 7 {
		t.Fatalf("states from one base share innings: %+v and %+v", a.Innings, b.Innings)
	}
}

func TestStateRoundTripsThroughJSON(t *testing.T) {
	histories := [][]Event{
		nil,
		{started},
		{started, inn1, inn2},
		{started, inn1, inn2, inn3, inn4, ended},
		{MatchStarted{Venue: "<Eden & \"Gardens\">", HomeTeam: "Indiа\u2028", AwayTeam: "日本"}, inn1},
	}
	for _, h := range histories {
		s := es.Fold(Evolve, Initial(), h)
		b, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		// Loaded as es.Handler loads it: into Initial(), and into a zero State.
		for _, into := range []State{Initial(), {}} {
			got := into
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, s) {
				t.Errorf("%s\nround-trips to %+v\nwant %+v", b, got, s)
			}
		}
	}
	b, _ := json.Marshal(es.Fold(Evolve, Initial(), []Event{started, inn1}))
	want := `{"started":true,"ended":false,"venue":"Lord's","homeTeam":"England","awayTeam":"Australia",` +
		`"innings":[{"number":1,"runs":250,"wickets":10,"side":"home","batting":"England"}],"result":"","homeRuns":250,"awayRuns":0}`
	if string(b) != want {
		t.Errorf("state JSON\n got %s\nwant %s", b, want)
	}
}

func TestEventsEncodeAsTheContractSays(t *testing.T) {
	reg := Decider().Events
	for _, tc := range []struct {
		event Event
		name  string
		data  string
	}{
		{started, "MatchStarted", `{"venue":"Lord's","homeTeam":"England","awayTeam":"Australia"}`},
		{inn1, "InningsCompleted", `{"innings":1,"runs":250,"wickets":10}`},
		{ended, "MatchEnded", `{"result":"Australia won by 7 wickets"}`},
	} {
		name, schema, data, err := reg.Encode(tc.event)
		if err != nil {
			t.Fatal(err)
		}
		if name != tc.name || schema != 1 || string(data) != tc.data {
			t.Errorf("Encode(%+v) = %s v%d %s, want %s v1 %s", tc.event, name, schema, data, tc.name, tc.data)
		}
		back, err := reg.Decode(name, schema, data)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, tc.event) {
			t.Errorf("Decode gives %#v, want %#v", back, tc.event)
		}
	}
	if n := len(reg.Names()); n != 3 {
		t.Errorf("%d event types registered, want 3", n)
	}
}

func TestDecider(t *testing.T) {
	d := Decider()
	if d.StreamType != "match" || d.StateSchema != 1 || d.Initial == nil || d.Decide == nil || d.Evolve == nil || d.Events == nil {
		t.Fatalf("Decider() = %+v", d)
	}
}

func TestErrorCodesAreStable(t *testing.T) {
	for _, tc := range []struct {
		err  *es.Error
		code string
		kind es.Kind
	}{
		{ErrMatchNotFound, "MatchNotFound", es.Missing},
		{ErrAlreadyStarted, "AlreadyStarted", es.Refused},
		{ErrAlreadyEnded, "AlreadyEnded", es.Refused},
		{ErrInningsOutOfOrder, "InningsOutOfOrder", es.Refused},
		{ErrAllInningsCompleted, "AllInningsCompleted", es.Refused},
		{ErrBadVenue, "BadVenue", es.Invalid},
		{ErrBadTeam, "BadTeam", es.Invalid},
		{ErrSameTeams, "SameTeams", es.Invalid},
		{ErrBadInnings, "BadInnings", es.Invalid},
		{ErrBadRuns, "BadRuns", es.Invalid},
		{ErrBadWickets, "BadWickets", es.Invalid},
		{ErrBadResult, "BadResult", es.Invalid},
		{ErrUnknownCommand, "UnknownCommand", es.Invalid},
	} {
		if tc.err.Code != tc.code || tc.err.Kind != tc.kind {
			t.Errorf("%s is %s (%s), want %s (%s)", tc.err.Message, tc.err.Code, tc.err.Kind, tc.code, tc.kind)
		}
	}
	if !errors.Is(ErrMatchNotFound, es.ErrNotFound) {
		t.Error("ErrMatchNotFound does not match es.ErrNotFound")
	}
}
