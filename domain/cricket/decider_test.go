package cricket

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/es/decidertest"
)

var (
	started = MatchStarted{Venue: "Lord's", HomeTeam: "England", AwayTeam: "Australia"}
	inn1    = InningsCompleted{Innings: 1, Runs: 250, Wickets: 10}
	inn2    = InningsCompleted{Innings: 2, Runs: 301, Wickets: 8}
	inn3    = InningsCompleted{Innings: 3, Runs: 199, Wickets: 10}
	inn4    = InningsCompleted{Innings: 4, Runs: 149, Wickets: 3}
	ended   = MatchEnded{Result: "Australia won by 7 wickets"}
	// anasMatch was started by ana, its scorer.
	anasMatch = MatchStarted{Venue: "Lord's", HomeTeam: "England", AwayTeam: "Australia", Scorer: "ana"}
)

type scenario = decidertest.Scenario[Command, Event]

func TestDecide(t *testing.T) {
	long := strings.Repeat("é", MaxNameLen) // characters, not bytes, count
	decidertest.Run(t, Decider(), []scenario{
		// Scorers: whoever started the match; only they, and admins, score it.
		{Name: "the starter is the scorer", When: StartMatch{Venue: "Lord's", HomeTeam: "England", AwayTeam: "Australia", Scorer: "ana"}, Then: []Event{anasMatch}},
		{Name: "the scorer completes an innings", Given: []Event{anasMatch}, When: CompleteInnings{Innings: 1, Runs: 250, Wickets: 10, Actor: "ana"}, Then: []Event{inn1}},
		{Name: "someone else completes an innings", Given: []Event{anasMatch}, When: CompleteInnings{Innings: 1, Runs: 250, Wickets: 10, Actor: "ben"}, Err: ErrNotScorer},
		{Name: "someone else ends the match", Given: []Event{anasMatch}, When: EndMatch{Result: "a draw", Actor: "ben"}, Err: ErrNotScorer},
		{Name: "no one is not the scorer", Given: []Event{anasMatch}, When: EndMatch{Result: "a draw"}, Err: ErrNotScorer},
		{Name: "an admin scores it", Given: []Event{anasMatch}, When: CompleteInnings{Innings: 1, Runs: 250, Wickets: 10, Actor: "root", Admin: true}, Then: []Event{inn1}},
		{Name: "an admin ends it", Given: []Event{anasMatch}, When: EndMatch{Result: "a draw", Actor: "root", Admin: true}, Then: []Event{MatchEnded{Result: "a draw"}}},
		{Name: "someone else is refused before the values", Given: []Event{anasMatch}, When: CompleteInnings{Innings: 9, Runs: -1, Actor: "ben"}, Err: ErrNotScorer},
		{Name: "a match not started is missing before it is anyone's", When: EndMatch{Result: "a draw", Actor: "ben"}, Err: ErrMatchNotFound},
		{Name: "a match from before scorers is anyone's", Given: []Event{started}, When: EndMatch{Result: "a draw", Actor: "ben"}, Then: []Event{MatchEnded{Result: "a draw"}}},
		// StartMatch
		{Name: "start a match", When: StartMatch{Venue: "Lord's", HomeTeam: "England", AwayTeam: "Australia"}, Then: []Event{started}},
		{Name: "start trims names", When: StartMatch{Venue: "  Lord's\t", HomeTeam: " England ", AwayTeam: "Australia\n"}, Then: []Event{started}},
		{Name: "start with names of 200 characters", When: StartMatch{Venue: long, HomeTeam: long, AwayTeam: "x" + long[2:]},
			Then: []Event{MatchStarted{Venue: long, HomeTeam: long, AwayTeam: "x" + long[2:]}}},
		{Name: "start with a venue of 1 character", When: StartMatch{Venue: "X", HomeTeam: "A", AwayTeam: "B"}, Then: []Event{MatchStarted{Venue: "X", HomeTeam: "A", AwayTeam: "B"}}},
		{Name: "start twice", Given: []Event{started}, When: StartMatch{Venue: "Oval", HomeTeam: "A", AwayTeam: "B"}, Err: ErrAlreadyStarted},
		{Name: "start an ended match", Given: []Event{started, ended}, When: StartMatch{Venue: "Oval", HomeTeam: "A", AwayTeam: "B"}, Err: ErrAlreadyStarted},
		{Name: "start without a venue", When: StartMatch{Venue: "", HomeTeam: "A", AwayTeam: "B"}, Err: ErrBadVenue},
		{Name: "start with a blank venue", When: StartMatch{Venue: " \t ", HomeTeam: "A", AwayTeam: "B"}, Err: ErrBadVenue},
		{Name: "start with a venue of 201 characters", When: StartMatch{Venue: long + "x", HomeTeam: "A", AwayTeam: "B"}, Err: ErrBadVenue},
		{Name: "start with a venue that is not UTF-8", When: StartMatch{Venue: "Lord\xff", HomeTeam: "A", AwayTeam: "B"}, Err: ErrBadVenue},
		{Name: "start without a home team", When: StartMatch{Venue: "Oval", HomeTeam: " ", AwayTeam: "B"}, Err: ErrBadTeam},
		{Name: "start without an away team", When: StartMatch{Venue: "Oval", HomeTeam: "A", AwayTeam: ""}, Err: ErrBadTeam},
		{Name: "start with an away team of 201 characters", When: StartMatch{Venue: "Oval", HomeTeam: "A", AwayTeam: long + "x"}, Err: ErrBadTeam},
		{Name: "start a team against itself", When: StartMatch{Venue: "Oval", HomeTeam: "England", AwayTeam: "england "}, Err: ErrSameTeams},
		{Name: "values are checked before the state", Given: []Event{started}, When: StartMatch{Venue: "", HomeTeam: "A", AwayTeam: "B"}, Err: ErrBadVenue},

		// CompleteInnings
		{Name: "complete the first innings", Given: []Event{started}, When: CompleteInnings{Innings: 1, Runs: 250, Wickets: 10}, Then: []Event{inn1}},
		{Name: "complete the second innings", Given: []Event{started, inn1}, When: CompleteInnings{Innings: 2, Runs: 301, Wickets: 8}, Then: []Event{inn2}},
		{Name: "complete the fourth innings", Given: []Event{started, inn1, inn2, inn3}, When: CompleteInnings{Innings: 4, Runs: 149, Wickets: 3}, Then: []Event{inn4}},
		{Name: "complete an innings of 0 for 0", Given: []Event{started}, When: CompleteInnings{Innings: 1}, Then: []Event{InningsCompleted{Innings: 1}}},
		{Name: "complete an innings of 10,000 for 10", Given: []Event{started}, When: CompleteInnings{Innings: 1, Runs: 10_000, Wickets: 10}, Then: []Event{InningsCompleted{Innings: 1, Runs: 10_000, Wickets: 10}}},
		{Name: "complete an innings of a match never started", When: CompleteInnings{Innings: 1, Runs: 1}, Err: ErrMatchNotFound},
		{Name: "a missing match is found out before bad values", When: CompleteInnings{Innings: 9, Runs: -1}, Err: ErrMatchNotFound},
		{Name: "complete innings 0", Given: []Event{started}, When: CompleteInnings{Innings: 0}, Err: ErrBadInnings},
		{Name: "complete innings 5", Given: []Event{started}, When: CompleteInnings{Innings: 5}, Err: ErrBadInnings},
		{Name: "complete a fifth innings", Given: []Event{started, inn1, inn2, inn3, inn4}, When: CompleteInnings{Innings: 5, Runs: 10}, Err: ErrBadInnings},
		{Name: "complete an innings after all four", Given: []Event{started, inn1, inn2, inn3, inn4}, When: CompleteInnings{Innings: 4, Runs: 10}, Err: ErrAllInningsCompleted},
		{Name: "complete negative runs", Given: []Event{started}, When: CompleteInnings{Innings: 1, Runs: -1}, Err: ErrBadRuns},
		{Name: "complete 10,001 runs", Given: []Event{started}, When: CompleteInnings{Innings: 1, Runs: 10_001}, Err: ErrBadRuns},
		{Name: "complete negative wickets", Given: []Event{started}, When: CompleteInnings{Innings: 1, Wickets: -1}, Err: ErrBadWickets},
		{Name: "complete 11 wickets", Given: []Event{started}, When: CompleteInnings{Innings: 1, Wickets: 11}, Err: ErrBadWickets},
		{Name: "skip an innings", Given: []Event{started}, When: CompleteInnings{Innings: 2, Runs: 10}, Err: ErrInningsOutOfOrder},
		{Name: "repeat an innings", Given: []Event{started, inn1}, When: CompleteInnings{Innings: 1, Runs: 10}, Err: ErrInningsOutOfOrder},
		{Name: "go back an innings", Given: []Event{started, inn1, inn2, inn3}, When: CompleteInnings{Innings: 2, Runs: 10}, Err: ErrInningsOutOfOrder},
		{Name: "complete an innings of an ended match", Given: []Event{started, inn1, ended}, When: CompleteInnings{Innings: 2, Runs: 10}, Err: ErrAlreadyEnded},
		{Name: "bad values of an ended match are invalid", Given: []Event{started, ended}, When: CompleteInnings{Innings: 1, Wickets: 12}, Err: ErrBadWickets},

		// EndMatch
		{Name: "end a match", Given: []Event{started, inn1, inn2, inn3, inn4}, When: EndMatch{Result: " Australia won by 7 wickets "}, Then: []Event{ended}},
		{Name: "end a match before any innings", Given: []Event{started}, When: EndMatch{Result: "Abandoned"}, Then: []Event{MatchEnded{Result: "Abandoned"}}},
		{Name: "end with a result of 500 characters", Given: []Event{started}, When: EndMatch{Result: strings.Repeat("ü", 500)}, Then: []Event{MatchEnded{Result: strings.Repeat("ü", 500)}}},
		{Name: "end a match never started", When: EndMatch{Result: "Draw"}, Err: ErrMatchNotFound},
		{Name: "end twice", Given: []Event{started, ended}, When: EndMatch{Result: "Draw"}, Err: ErrAlreadyEnded},
		{Name: "end without a result", Given: []Event{started}, When: EndMatch{Result: "  "}, Err: ErrBadResult},
		{Name: "end with a result of 501 characters", Given: []Event{started}, When: EndMatch{Result: strings.Repeat("ü", 501)}, Err: ErrBadResult},

		// Not a command
		{Name: "a nil command", When: nil, Err: ErrUnknownCommand},
		{Name: "a pointer to a command", When: &EndMatch{Result: "Draw"}, Given: []Event{started}, Err: ErrUnknownCommand},
	})
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
	decidertest.IgnoresForeignEvents(t, Decider(), []Event{started, inn1})
}

func TestEvolveDoesNotChangeItsState(t *testing.T) {
	base := es.Fold(Evolve, Initial(), []Event{started, inn1})
	// Room to grow in place: an append without a copy would write into it.
	base.Innings = append(make([]Innings, 0, 8), base.Innings...)

	branches := decidertest.Branches(t, Decider(), base, []Event{inn2, InningsCompleted{Innings: 2, Runs: 7, Wickets: 1}, ended})
	a, b := branches[0], branches[1]
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
	// Loaded as es.Handler loads it: into Initial(), and into a zero State.
	decidertest.RoundTrips(t, Decider(), histories, State{})
	b, _ := json.Marshal(es.Fold(Evolve, Initial(), []Event{started, inn1}))
	want := `{"started":true,"ended":false,"venue":"Lord's","homeTeam":"England","awayTeam":"Australia",` +
		`"innings":[{"number":1,"runs":250,"wickets":10,"side":"home","batting":"England"}],"result":"","homeRuns":250,"awayRuns":0}`
	if string(b) != want {
		t.Errorf("state JSON\n got %s\nwant %s", b, want)
	}
}

func TestEventsEncodeAsTheContractSays(t *testing.T) {
	decidertest.EncodesAs(t, Decider().Events, []decidertest.Encoding[Event]{
		{Event: started, Name: "MatchStarted", Schema: 1, Data: `{"venue":"Lord's","homeTeam":"England","awayTeam":"Australia"}`},
		{Event: inn1, Name: "InningsCompleted", Schema: 1, Data: `{"innings":1,"runs":250,"wickets":10}`},
		{Event: ended, Name: "MatchEnded", Schema: 1, Data: `{"result":"Australia won by 7 wickets"}`},
	})
}

func TestDecider(t *testing.T) {
	d := Decider()
	if d.StreamType != "match" || d.StateSchema != 2 || d.Initial == nil || d.Decide == nil || d.Evolve == nil || d.Events == nil {
		t.Fatalf("Decider() = %+v", d)
	}
}

func TestErrorCodesAreStable(t *testing.T) {
	decidertest.ErrorCodes(t, []decidertest.Code{
		{Err: ErrMatchNotFound, Code: "MatchNotFound", Kind: es.Missing},
		{Err: ErrAlreadyStarted, Code: "AlreadyStarted", Kind: es.Refused},
		{Err: ErrAlreadyEnded, Code: "AlreadyEnded", Kind: es.Refused},
		{Err: ErrInningsOutOfOrder, Code: "InningsOutOfOrder", Kind: es.Refused},
		{Err: ErrAllInningsCompleted, Code: "AllInningsCompleted", Kind: es.Refused},
		{Err: ErrBadVenue, Code: "BadVenue", Kind: es.Invalid},
		{Err: ErrBadTeam, Code: "BadTeam", Kind: es.Invalid},
		{Err: ErrSameTeams, Code: "SameTeams", Kind: es.Invalid},
		{Err: ErrBadInnings, Code: "BadInnings", Kind: es.Invalid},
		{Err: ErrBadRuns, Code: "BadRuns", Kind: es.Invalid},
		{Err: ErrBadWickets, Code: "BadWickets", Kind: es.Invalid},
		{Err: ErrBadResult, Code: "BadResult", Kind: es.Invalid},
		{Err: ErrUnknownCommand, Code: "UnknownCommand", Kind: es.Invalid},
	})
	if !errors.Is(ErrMatchNotFound, es.ErrNotFound) {
		t.Error("ErrMatchNotFound does not match es.ErrNotFound")
	}
}
