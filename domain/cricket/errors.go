package cricket

import "github.com/foldboard/foldboard/es"

// The match's domain errors. Each is a sentinel for errors.Is (an *es.Error
// matches another with the same code); Decide returns a fresh copy of one with
// a message about the command at hand.
var (
	// ErrMatchNotFound: CompleteInnings or EndMatch on a match never started.
	ErrMatchNotFound = &es.Error{Kind: es.Missing, Code: "MatchNotFound", Message: "the match has not been started"}
	// ErrNotScorer: CompleteInnings or EndMatch by anyone but who started
	// the match, or an admin.
	ErrNotScorer = &es.Error{Kind: es.Forbidden, Code: "NotScorer", Message: "only the match's scorer may score it"}
	// ErrAlreadyStarted: StartMatch on a match that has started.
	ErrAlreadyStarted = &es.Error{Kind: es.Refused, Code: "AlreadyStarted", Message: "the match has already started"}
	// ErrAlreadyEnded: any change to a match that has ended.
	ErrAlreadyEnded = &es.Error{Kind: es.Refused, Code: "AlreadyEnded", Message: "the match has already ended"}
	// ErrInningsOutOfOrder: an innings other than the next one.
	ErrInningsOutOfOrder = &es.Error{Kind: es.Refused, Code: "InningsOutOfOrder", Message: "innings must be completed in order"}
	// ErrAllInningsCompleted: an innings after the fourth has been completed.
	ErrAllInningsCompleted = &es.Error{Kind: es.Refused, Code: "AllInningsCompleted", Message: "all 4 innings have been completed"}

	// ErrBadVenue: a venue that is not 1-200 characters after trimming.
	ErrBadVenue = &es.Error{Kind: es.Invalid, Code: "BadVenue", Message: "venue: want 1-200 characters"}
	// ErrBadTeam: a team name that is not 1-200 characters after trimming.
	ErrBadTeam = &es.Error{Kind: es.Invalid, Code: "BadTeam", Message: "team: want 1-200 characters"}
	// ErrSameTeams: home and away teams with the same name (ignoring case).
	ErrSameTeams = &es.Error{Kind: es.Invalid, Code: "SameTeams", Message: "a team cannot play itself"}
	// ErrBadInnings: an innings number outside 1-4.
	ErrBadInnings = &es.Error{Kind: es.Invalid, Code: "BadInnings", Message: "innings: want 1-4"}
	// ErrBadRuns: runs outside 0-10,000.
	ErrBadRuns = &es.Error{Kind: es.Invalid, Code: "BadRuns", Message: "runs: want 0-10000"}
	// ErrBadWickets: wickets outside 0-10.
	ErrBadWickets = &es.Error{Kind: es.Invalid, Code: "BadWickets", Message: "wickets: want 0-10"}
	// ErrBadResult: a result that is not 1-500 characters after trimming.
	ErrBadResult = &es.Error{Kind: es.Invalid, Code: "BadResult", Message: "result: want 1-500 characters"}
	// ErrUnknownCommand: a nil command, or a pointer to one (commands are values).
	ErrUnknownCommand = &es.Error{Kind: es.Invalid, Code: "UnknownCommand", Message: "not a match command"}
)
