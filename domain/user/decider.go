// Package user decides what happens to a person's account: it is registered
// with a password (as an argon2id hash, made outside the decider), and its
// sessions and tokens are started, ended and revoked as events of the
// person's own stream, so that every instance of foldboard finds them in the
// store and a restart keeps them.
//
// Nothing secret is ever in an event: the password only as its argon2id
// hash (and Redact hides even that wherever events are shown), sessions and
// tokens only as SHA-256 hashes of their random values.
//
// Decide checks a command in a fixed order: that the account exists
// (Missing), then who asks (Forbidden), then the command's own values
// (Invalid), then the account's state (Refused). It is pure: no I/O, no
// clock, no randomness; hashes, ids and the actor arrive in the command.
package user

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/foldboard/foldboard/es"
)

const (
	// StreamType is the type part of every account stream: "user/{id}".
	StreamType = "user"
	// StateSchema versions State as stored; bump it when State or Evolve changes.
	StateSchema = 1

	// MaxNameLen is the longest name, in characters.
	MaxNameLen = 40
	// MaxSessions is how many sessions an account keeps; starting another
	// ends the oldest.
	MaxSessions = 32
	// MaxTokens is how many tokens an account may hold at once.
	MaxTokens = 20
	// SystemPrefix begins the reactions' own actors, which no one may take.
	SystemPrefix = "system/"
)

// ValidName accepts 1-40 letters, digits, spaces and - _ . ' with no space at
// either end (no control or markup characters, so a name is safe anywhere it
// is shown). A name beginning "system/" is the reactions' and never valid.
func ValidName(name string) bool {
	if name == "" || utf8.RuneCountInString(name) > MaxNameLen || strings.TrimSpace(name) != name ||
		strings.HasPrefix(name, SystemPrefix) {
		return false
	}
	for _, r := range name {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !strings.ContainsRune(" -_.'", r) {
			return false
		}
	}
	return true
}

// StreamID is the id of the account stream of name. Names that differ only
// in case share one stream (so "Ana" cannot pass for "ana"): a name that,
// lowered, is a plain id ([a-z0-9_-]) is its own id ("user/ana"); any other
// is "u." and a hash of it, which no plain name can be, since plain names
// hold no dot.
func StreamID(name string) string {
	lower := strings.ToLower(name)
	if plainID(lower) {
		return lower
	}
	sum := sha256.Sum256([]byte(lower))
	return "u." + hex.EncodeToString(sum[:16])
}

func plainID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range []byte(s) {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

// Stream is the account stream of name.
func Stream(name string) es.StreamRef { return es.StreamRef{Type: StreamType, ID: StreamID(name)} }

// Command is one of the commands below (as values).
type Command interface{ isCommand() }

// Register creates the account Name with a password hash and, when Session
// is set, starts its first session in the same append.
type Register struct {
	Name         string
	PasswordHash string
	Session      string
}

// ChangePassword replaces the password hash; Actor is who asks.
type ChangePassword struct {
	Actor        string
	PasswordHash string
}

// StartSession records a new session, by the hash of its id, for Actor,
// whose password the caller has checked.
type StartSession struct {
	Actor   string
	Session string
}

// EndSession ends one session (signing out).
type EndSession struct {
	Actor   string
	Session string
}

// IssueToken records a new token for programs: its public id and the hash
// of its secret.
type IssueToken struct {
	Actor string
	Token string
	Hash  string
}

// RevokeToken revokes one token by its id.
type RevokeToken struct {
	Actor string
	Token string
}

// SignOutEverywhere ends every session and revokes every token.
type SignOutEverywhere struct {
	Actor string
}

func (Register) isCommand()          {}
func (ChangePassword) isCommand()    {}
func (StartSession) isCommand()      {}
func (EndSession) isCommand()        {}
func (IssueToken) isCommand()        {}
func (RevokeToken) isCommand()       {}
func (SignOutEverywhere) isCommand() {}

// Event is one of the events below (as values); their type names are fixed.
type Event interface {
	es.Event
	isEvent()
}

// Registered: the account exists, with its name as registered.
type Registered struct {
	Name         string `json:"name"`
	PasswordHash string `json:"passwordHash"`
}

type PasswordChanged struct {
	PasswordHash string `json:"passwordHash"`
}

// SessionStarted: Session is the hex SHA-256 of the session id.
type SessionStarted struct {
	Session string `json:"session"`
}

type SessionEnded struct {
	Session string `json:"session"`
}

// TokenIssued: Token is the token's public id, Hash the hex SHA-256 of its
// secret part.
type TokenIssued struct {
	Token string `json:"token"`
	Hash  string `json:"hash"`
}

type TokenRevoked struct {
	Token string `json:"token"`
}

type SignedOutEverywhere struct{}

func (Registered) EventType() string          { return "Registered" }
func (PasswordChanged) EventType() string     { return "PasswordChanged" }
func (SessionStarted) EventType() string      { return "SessionStarted" }
func (SessionEnded) EventType() string        { return "SessionEnded" }
func (TokenIssued) EventType() string         { return "TokenIssued" }
func (TokenRevoked) EventType() string        { return "TokenRevoked" }
func (SignedOutEverywhere) EventType() string { return "SignedOutEverywhere" }

func (Registered) isEvent()          {}
func (PasswordChanged) isEvent()     {}
func (SessionStarted) isEvent()      {}
func (SessionEnded) isEvent()        {}
func (TokenIssued) isEvent()         {}
func (TokenRevoked) isEvent()        {}
func (SignedOutEverywhere) isEvent() {}

// Token is a live token: its public id and the hash of its secret.
type Token struct {
	ID   string `json:"id"`
	Hash string `json:"hash"`
}

// State is an account as its events leave it. Sessions are the hashes of
// the live sessions, oldest first. It is stored as JSON and round-trips
// exactly; Public is what may be shown of it.
type State struct {
	Exists       bool     `json:"exists"`
	Name         string   `json:"name"`
	PasswordHash string   `json:"passwordHash"`
	Sessions     []string `json:"sessions"`
	Tokens       []Token  `json:"tokens"`
}

// Initial is the state of an account stream with no events.
func Initial() State { return State{} }

// HasSession reports whether the session with this hash is live.
func (s State) HasSession(hash string) bool { return slices.Contains(s.Sessions, hash) }

// HasToken reports whether a live token has this secret hash.
func (s State) HasToken(hash string) bool {
	return slices.ContainsFunc(s.Tokens, func(t Token) bool { return t.Hash == hash })
}

// Decide returns the events cmd causes in state s, or a domain *es.Error.
func Decide(cmd Command, s State) ([]Event, error) {
	switch c := cmd.(type) {
	case Register:
		return register(c, s)
	case ChangePassword:
		return changePassword(c, s)
	case StartSession:
		return startSession(c, s)
	case EndSession:
		return endSession(c, s)
	case IssueToken:
		return issueToken(c, s)
	case RevokeToken:
		return revokeToken(c, s)
	case SignOutEverywhere:
		if err := selfOnly(c.Actor, s); err != nil {
			return nil, err
		}
		return []Event{SignedOutEverywhere{}}, nil
	}
	return nil, ErrUnknownCommand.New("%T is not an account command", cmd)
}

func register(c Register, s State) ([]Event, error) {
	if !ValidName(c.Name) {
		return nil, ErrBadActor.New("a name is 1-%d letters, digits, spaces or - _ . '", MaxNameLen)
	}
	if err := validHash(c.PasswordHash); err != nil {
		return nil, err
	}
	if c.Session != "" && !validSHA256(c.Session) {
		return nil, ErrBadHash.New("a session is recorded by its hex SHA-256")
	}
	if s.Exists {
		return nil, ErrNameTaken.New("the name %q is taken", s.Name)
	}
	events := []Event{Registered{Name: c.Name, PasswordHash: c.PasswordHash}}
	if c.Session != "" {
		events = append(events, SessionStarted{Session: c.Session})
	}
	return events, nil
}

func changePassword(c ChangePassword, s State) ([]Event, error) {
	if err := selfOnly(c.Actor, s); err != nil {
		return nil, err
	}
	if err := validHash(c.PasswordHash); err != nil {
		return nil, err
	}
	return []Event{PasswordChanged{PasswordHash: c.PasswordHash}}, nil
}

func startSession(c StartSession, s State) ([]Event, error) {
	if err := selfOnly(c.Actor, s); err != nil {
		return nil, err
	}
	if !validSHA256(c.Session) {
		return nil, ErrBadHash.New("a session is recorded by its hex SHA-256")
	}
	if s.HasSession(c.Session) {
		return nil, ErrSessionExists.New("that session has already started")
	}
	return []Event{SessionStarted{Session: c.Session}}, nil
}

func endSession(c EndSession, s State) ([]Event, error) {
	if err := selfOnly(c.Actor, s); err != nil {
		return nil, err
	}
	if !s.HasSession(c.Session) {
		return nil, ErrNoSuchSession.New("that session has ended")
	}
	return []Event{SessionEnded{Session: c.Session}}, nil
}

func issueToken(c IssueToken, s State) ([]Event, error) {
	if err := selfOnly(c.Actor, s); err != nil {
		return nil, err
	}
	if !es.ValidID(c.Token) || !validSHA256(c.Hash) {
		return nil, ErrBadHash.New("a token is recorded by an id and the hex SHA-256 of its secret")
	}
	if len(s.Tokens) >= MaxTokens {
		return nil, ErrTooManyTokens.New("an account holds at most %d tokens: revoke one first", MaxTokens)
	}
	if slices.ContainsFunc(s.Tokens, func(t Token) bool { return t.ID == c.Token || t.Hash == c.Hash }) {
		return nil, ErrTokenExists.New("that token has already been issued")
	}
	return []Event{TokenIssued{Token: c.Token, Hash: c.Hash}}, nil
}

func revokeToken(c RevokeToken, s State) ([]Event, error) {
	if err := selfOnly(c.Actor, s); err != nil {
		return nil, err
	}
	if !slices.ContainsFunc(s.Tokens, func(t Token) bool { return t.ID == c.Token }) {
		return nil, ErrNoSuchToken.New("there is no token %q", c.Token)
	}
	return []Event{TokenRevoked{Token: c.Token}}, nil
}

// selfOnly refuses an account that does not exist, then anyone but its
// owner.
func selfOnly(actor string, s State) error {
	if !s.Exists {
		return ErrUserNotFound.New("there is no such account")
	}
	if actor != s.Name {
		return ErrNotYou.New("only %s may do this to their account", s.Name)
	}
	return nil
}

// validHash accepts an argon2id hash in its PHC string form.
func validHash(h string) error {
	if !strings.HasPrefix(h, "$argon2id$") || len(h) > 256 {
		return ErrBadHash.New("a password is recorded as an argon2id hash")
	}
	return nil
}

func validSHA256(h string) bool {
	b, err := hex.DecodeString(h)
	return err == nil && len(b) == sha256.Size && strings.ToLower(h) == h
}

// Evolve returns the state after event e. It never changes s: the slices it
// changes are copied first.
func Evolve(s State, e Event) State {
	switch e := e.(type) {
	case Registered:
		s.Exists, s.Name, s.PasswordHash = true, e.Name, e.PasswordHash
	case PasswordChanged:
		s.PasswordHash = e.PasswordHash
	case SessionStarted:
		sessions := append(slices.Clone(s.Sessions), e.Session)
		if len(sessions) > MaxSessions {
			sessions = sessions[len(sessions)-MaxSessions:]
		}
		s.Sessions = sessions
	case SessionEnded:
		s.Sessions = slices.DeleteFunc(slices.Clone(s.Sessions), func(h string) bool { return h == e.Session })
	case TokenIssued:
		s.Tokens = append(slices.Clone(s.Tokens), Token{ID: e.Token, Hash: e.Hash})
	case TokenRevoked:
		s.Tokens = slices.DeleteFunc(slices.Clone(s.Tokens), func(t Token) bool { return t.ID == e.Token })
	case SignedOutEverywhere:
		s.Sessions, s.Tokens = nil, nil
	}
	return s
}

// Events is a registry of the account's event types, each at schema version 1.
func Events() *es.Registry[Event] {
	r := es.NewRegistry[Event]()
	es.Register[Registered](r, 1)
	es.Register[PasswordChanged](r, 1)
	es.Register[SessionStarted](r, 1)
	es.Register[SessionEnded](r, 1)
	es.Register[TokenIssued](r, 1)
	es.Register[TokenRevoked](r, 1)
	es.Register[SignedOutEverywhere](r, 1)
	return r
}

// Decider is the account decider, for es.Handler.
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
