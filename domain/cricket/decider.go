// Package cricket decides what happens to a cricket match: it starts at a venue
// between a home and an away team, up to four innings are completed in order
// (home bats first, then the sides alternate), and it ends with a result.
//
// Decide checks a command in a fixed order: that the match exists (Missing),
// then the command's own values (Invalid), then the match's state (Refused).
// It is pure: no I/O, no clock, no randomness.
package cricket

import (
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/foldboard/foldboard/es"
)

const (
	// StreamType is the type part of every match stream: "match/{id}".
	StreamType = "match"
	// StateSchema versions State as stored; bump it when State or Evolve changes.
	StateSchema = 2

	MaxNameLen   = 200 // venue and team names, in characters after trimming
	MaxResultLen = 500 // a result, in characters after trimming
	MaxInnings   = 4
	MaxRuns      = 10_000
	MaxWickets   = 10
)

// Command is one of StartMatch, CompleteInnings, EndMatch (as values).
type Command interface{ isCommand() }

// StartMatch starts a match; the stream must have no events.
type StartMatch struct {
	Venue    string
	HomeTeam string
	AwayTeam string
	// Scorer is who starts it: the only one (with an admin) who may score it.
	Scorer string
}

// CompleteInnings records an innings: the next one in order, 1-4. By the
// match's scorer or an admin.
type CompleteInnings struct {
	Innings int
	Runs    int
	Wickets int
	Actor   string
	Admin   bool
}

// EndMatch ends the match with a result, after any number of innings. By
// the match's scorer or an admin.
type EndMatch struct {
	Result string
	Actor  string
	Admin  bool
}

func (StartMatch) isCommand()      {}
func (CompleteInnings) isCommand() {}
func (EndMatch) isCommand()        {}

// Event is one of MatchStarted, InningsCompleted, MatchEnded (as values). Their
// JSON is the payload of docs/contract.md; their type names are fixed.
type Event interface {
	es.Event
	isEvent()
}

// MatchStarted: names are stored trimmed.
// MatchStarted: Scorer, beyond contract.md's fields, is who started the
// match (Evolve sees only events, and State needs who may score it).
type MatchStarted struct {
	Venue    string `json:"venue"`
	HomeTeam string `json:"homeTeam"`
	AwayTeam string `json:"awayTeam"`
	Scorer   string `json:"scorer,omitempty"`
}

type InningsCompleted struct {
	Innings int `json:"innings"`
	Runs    int `json:"runs"`
	Wickets int `json:"wickets"`
}

// MatchEnded: the result is stored trimmed.
type MatchEnded struct {
	Result string `json:"result"`
}

func (MatchStarted) EventType() string     { return "MatchStarted" }
func (InningsCompleted) EventType() string { return "InningsCompleted" }
func (MatchEnded) EventType() string       { return "MatchEnded" }

func (MatchStarted) isEvent()     {}
func (InningsCompleted) isEvent() {}
func (MatchEnded) isEvent()       {}

// Side is which team of a match: "home" or "away".
type Side string

const (
	Home Side = "home"
	Away Side = "away"
)

// BattingSide is the side batting in innings n: home in odd innings, away in
// even ones.
func BattingSide(n int) Side {
	if n%2 == 1 {
		return Home
	}
	return Away
}

// Innings is one completed innings.
type Innings struct {
	Number  int    `json:"number"`
	Runs    int    `json:"runs"`
	Wickets int    `json:"wickets"`
	Side    Side   `json:"side"`
	Batting string `json:"batting"` // the batting team's name
}

// State is a match as its events leave it. It is stored as JSON (state items,
// snapshots) and round-trips exactly.
type State struct {
	Started bool `json:"started"`
	// Scorer started the match ("" for a match from before scorers).
	Scorer   string    `json:"scorer,omitempty"`
	Ended    bool      `json:"ended"`
	Venue    string    `json:"venue"`
	HomeTeam string    `json:"homeTeam"`
	AwayTeam string    `json:"awayTeam"`
	Innings  []Innings `json:"innings"`
	Result   string    `json:"result"`
	HomeRuns int       `json:"homeRuns"` // the home team's runs over all its innings
	AwayRuns int       `json:"awayRuns"`
}

// Team is the name of a side's team.
func (s State) Team(side Side) string {
	if side == Home {
		return s.HomeTeam
	}
	return s.AwayTeam
}

// NextInnings is the number of the innings the match takes next (5 when all
// four are complete).
func (s State) NextInnings() int { return len(s.Innings) + 1 }

// Initial is the state of a match stream with no events.
func Initial() State { return State{Innings: []Innings{}} }

// Decide returns the events cmd causes in state s, or a domain *es.Error.
func Decide(cmd Command, s State) ([]Event, error) {
	switch c := cmd.(type) {
	case StartMatch:
		return startMatch(c, s)
	case CompleteInnings:
		return completeInnings(c, s)
	case EndMatch:
		return endMatch(c, s)
	}
	return nil, ErrUnknownCommand.New("%T is not a match command", cmd)
}

func startMatch(c StartMatch, s State) ([]Event, error) {
	venue, ok := text(c.Venue, MaxNameLen)
	if !ok {
		return nil, ErrBadVenue.New("venue: want 1-%d characters", MaxNameLen)
	}
	home, ok := text(c.HomeTeam, MaxNameLen)
	if !ok {
		return nil, ErrBadTeam.New("home team: want 1-%d characters", MaxNameLen)
	}
	away, ok := text(c.AwayTeam, MaxNameLen)
	if !ok {
		return nil, ErrBadTeam.New("away team: want 1-%d characters", MaxNameLen)
	}
	if strings.EqualFold(home, away) {
		return nil, ErrSameTeams.New("%s cannot play itself", home)
	}
	if s.Started {
		return nil, ErrAlreadyStarted.New("the match has already started (%s v %s)", s.HomeTeam, s.AwayTeam)
	}
	return []Event{MatchStarted{Venue: venue, HomeTeam: home, AwayTeam: away, Scorer: c.Scorer}}, nil
}

func completeInnings(c CompleteInnings, s State) ([]Event, error) {
	if !s.Started {
		return nil, ErrMatchNotFound.New("the match has not been started")
	}
	if err := scorerOnly(c.Actor, c.Admin, s); err != nil {
		return nil, err
	}
	if c.Innings < 1 || c.Innings > MaxInnings {
		return nil, ErrBadInnings.New("innings %d: want 1-%d", c.Innings, MaxInnings)
	}
	if c.Runs < 0 || c.Runs > MaxRuns {
		return nil, ErrBadRuns.New("runs %d: want 0-%d", c.Runs, MaxRuns)
	}
	if c.Wickets < 0 || c.Wickets > MaxWickets {
		return nil, ErrBadWickets.New("wickets %d: want 0-%d", c.Wickets, MaxWickets)
	}
	if s.Ended {
		return nil, ErrAlreadyEnded.New("the match has ended: %s", s.Result)
	}
	if len(s.Innings) >= MaxInnings {
		return nil, ErrAllInningsCompleted.New("all %d innings have been completed", MaxInnings)
	}
	if next := s.NextInnings(); c.Innings != next {
		return nil, ErrInningsOutOfOrder.New("innings %d: the next innings is %d", c.Innings, next)
	}
	return []Event{InningsCompleted{Innings: c.Innings, Runs: c.Runs, Wickets: c.Wickets}}, nil
}

func endMatch(c EndMatch, s State) ([]Event, error) {
	if !s.Started {
		return nil, ErrMatchNotFound.New("the match has not been started")
	}
	if err := scorerOnly(c.Actor, c.Admin, s); err != nil {
		return nil, err
	}
	result, ok := text(c.Result, MaxResultLen)
	if !ok {
		return nil, ErrBadResult.New("result: want 1-%d characters", MaxResultLen)
	}
	if s.Ended {
		return nil, ErrAlreadyEnded.New("the match has already ended: %s", s.Result)
	}
	return []Event{MatchEnded{Result: result}}, nil
}

// scorerOnly refuses anyone but the match's scorer and admins (a match
// from before scorers is anyone's to score).
func scorerOnly(actor string, admin bool, s State) error {
	if s.Scorer == "" || admin || actor == s.Scorer {
		return nil
	}
	return ErrNotScorer.New("only %s, who started the match, may score it", s.Scorer)
}

// Evolve returns the state after event e. It never changes s: replay to older
// versions keeps states that share a history.
func Evolve(s State, e Event) State {
	switch e := e.(type) {
	case MatchStarted:
		s.Started, s.Scorer = true, e.Scorer
		s.Venue, s.HomeTeam, s.AwayTeam = e.Venue, e.HomeTeam, e.AwayTeam
	case InningsCompleted:
		side := BattingSide(e.Innings)
		// Clip makes append copy, so no two states share the array.
		s.Innings = append(slices.Clip(s.Innings), Innings{
			Number: e.Innings, Runs: e.Runs, Wickets: e.Wickets,
			Side: side, Batting: s.Team(side),
		})
		if side == Home {
			s.HomeRuns += e.Runs
		} else {
			s.AwayRuns += e.Runs
		}
	case MatchEnded:
		s.Ended = true
		s.Result = e.Result
	}
	return s
}

// Events is a registry of the match's event types, each at schema version 1.
func Events() *es.Registry[Event] {
	r := es.NewRegistry[Event]()
	es.Register[MatchStarted](r, 1)
	es.Register[InningsCompleted](r, 1)
	es.Register[MatchEnded](r, 1)
	return r
}

// Decider is the match decider, for es.Handler.
func Decider() es.Decider[State, Command, Event] {
	return es.Decider[State, Command, Event]{
		StreamType:  StreamType,
		StateSchema: StateSchema,
		Initial:     Initial,
		Decide:      Decide,
		Evolve:      Evolve,
		Events:      Events(),
	}
}

// text trims s and reports whether it is valid UTF-8 of 1 to max characters.
func text(s string, max int) (string, bool) {
	s = strings.TrimSpace(s)
	n := utf8.RuneCountInString(s)
	return s, n >= 1 && n <= max && utf8.ValidString(s)
}
