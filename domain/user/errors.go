package user

import "github.com/foldboard/foldboard/es"

// The account's domain errors. Each is a sentinel for errors.Is (an *es.Error
// matches another with the same code); Decide returns a fresh copy of one with
// a message about the command at hand.
var (
	// ErrUserNotFound: any command but Register on an account never registered.
	ErrUserNotFound = &es.Error{Kind: es.Missing, Code: "UserNotFound", Message: "there is no such account"}
	// ErrNotYou: a command on an account by anyone but its owner.
	ErrNotYou = &es.Error{Kind: es.Forbidden, Code: "NotYou", Message: "only the account's owner may do this"}
	// ErrNameTaken: Register on a name (in any case) that is registered.
	ErrNameTaken = &es.Error{Kind: es.Refused, Code: "NameTaken", Message: "the name is taken"}
	// ErrSessionExists: StartSession with the hash of a live session.
	ErrSessionExists = &es.Error{Kind: es.Refused, Code: "SessionExists", Message: "that session has already started"}
	// ErrNoSuchSession: EndSession of a session that is not live.
	ErrNoSuchSession = &es.Error{Kind: es.Refused, Code: "NoSuchSession", Message: "that session has ended"}
	// ErrTooManyTokens: IssueToken on an account holding MaxTokens.
	ErrTooManyTokens = &es.Error{Kind: es.Refused, Code: "TooManyTokens", Message: "too many tokens"}
	// ErrTokenExists: IssueToken with the id or hash of a live token.
	ErrTokenExists = &es.Error{Kind: es.Refused, Code: "TokenExists", Message: "that token has already been issued"}
	// ErrNoSuchToken: RevokeToken of a token that is not live.
	ErrNoSuchToken = &es.Error{Kind: es.Refused, Code: "NoSuchToken", Message: "there is no such token"}

	// ErrBadActor: Register with a name outside the rules of ValidName.
	ErrBadActor = &es.Error{Kind: es.Invalid, Code: "BadActor", Message: "a name is 1-40 letters, digits, spaces or - _ . '"}
	// ErrBadHash: a password that is not an argon2id hash, a session or
	// token that is not a SHA-256.
	ErrBadHash = &es.Error{Kind: es.Invalid, Code: "BadHash", Message: "not a hash this account records"}
	// ErrUnknownCommand: a nil command, or a pointer to one (commands are values).
	ErrUnknownCommand = &es.Error{Kind: es.Invalid, Code: "UnknownCommand", Message: "not an account command"}
)
