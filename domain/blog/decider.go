// Package blog decides what happens to a blog post: its author creates it as a
// draft, and only the author may publish it (once) or change its title (before
// or after publishing).
//
// Decide checks a command in a fixed order: that the post exists (Missing),
// then who asks (Forbidden), then the command's own values (Invalid), then the
// post's state (Refused); so someone who is not the author learns nothing more
// than that. It is pure: no I/O, no clock, no randomness; the actor arrives in
// the command.
//
// Changing the title to the one it has is accepted and records a TitleChanged
// like any other: the author said what the title is, and every command a
// decider accepts leaves its mark in the log. (A repeated form post is what
// command ids are for.)
package blog

import (
	"strings"
	"unicode/utf8"

	"github.com/foldboard/foldboard/es"
)

const (
	// StreamType is the type part of every post stream: "post/{id}".
	StreamType = "post"
	// StateSchema versions State as stored; bump it when State or Evolve changes.
	StateSchema = 1

	MaxTitleLen  = 200      // characters, after trimming
	MaxBodyBytes = 64 << 10 // 64 KiB of UTF-8
	MaxAuthorLen = 200      // characters
)

// Command is one of CreatePost, PublishPost, ChangeTitle (as values).
type Command interface{ isCommand() }

// CreatePost creates a draft; Author is the actor who issues it.
type CreatePost struct {
	Title  string
	Body   string
	Author string
}

// PublishPost publishes the post; Actor is who issues it.
type PublishPost struct {
	Actor string
	Admin bool
}

// ChangeTitle retitles the post; Actor is who issues it.
type ChangeTitle struct {
	Title string
	Actor string
	Admin bool
}

func (CreatePost) isCommand()  {}
func (PublishPost) isCommand() {}
func (ChangeTitle) isCommand() {}

// Event is one of PostCreated, PostPublished, TitleChanged (as values). Their
// JSON is the payload of docs/contract.md; their type names are fixed.
type Event interface {
	es.Event
	isEvent()
}

// PostCreated: the title is stored trimmed, the body as given. Author is a
// field beyond docs/contract.md's (title, body): the author is also the envelope's
// actor, but Evolve sees only events, and State needs the author so that a
// fold alone rebuilds who may publish.
type PostCreated struct {
	Title  string `json:"title"`
	Body   string `json:"body"`
	Author string `json:"author"`
}

type PostPublished struct{}

// TitleChanged: the title is stored trimmed.
type TitleChanged struct {
	Title string `json:"title"`
}

func (PostCreated) EventType() string   { return "PostCreated" }
func (PostPublished) EventType() string { return "PostPublished" }
func (TitleChanged) EventType() string  { return "TitleChanged" }

func (PostCreated) isEvent()   {}
func (PostPublished) isEvent() {}
func (TitleChanged) isEvent()  {}

// State is a post as its events leave it. It is stored as JSON (state items,
// snapshots) and round-trips exactly.
type State struct {
	Exists    bool   `json:"exists"`
	Title     string `json:"title"`
	Body      string `json:"body"`
	Author    string `json:"author"`
	Published bool   `json:"published"`
}

// Initial is the state of a post stream with no events.
func Initial() State { return State{} }

// Decide returns the events cmd causes in state s, or a domain *es.Error.
func Decide(cmd Command, s State) ([]Event, error) {
	switch c := cmd.(type) {
	case CreatePost:
		return createPost(c, s)
	case PublishPost:
		return publishPost(c, s)
	case ChangeTitle:
		return changeTitle(c, s)
	}
	return nil, ErrUnknownCommand.New("%T is not a post command", cmd)
}

func createPost(c CreatePost, s State) ([]Event, error) {
	if n := utf8.RuneCountInString(c.Author); strings.TrimSpace(c.Author) == "" || n > MaxAuthorLen || !utf8.ValidString(c.Author) {
		return nil, ErrBadAuthor.New("author: want 1-%d characters", MaxAuthorLen)
	}
	title, err := validTitle(c.Title)
	if err != nil {
		return nil, err
	}
	if len(c.Body) > MaxBodyBytes {
		return nil, ErrBodyTooLong.New("body of %d bytes: want at most %d", len(c.Body), MaxBodyBytes)
	}
	if !utf8.ValidString(c.Body) {
		return nil, ErrBadBody.New("body: want UTF-8 text")
	}
	if s.Exists {
		return nil, ErrPostExists.New("the post %q already exists", s.Title)
	}
	return []Event{PostCreated{Title: title, Body: c.Body, Author: c.Author}}, nil
}

func publishPost(c PublishPost, s State) ([]Event, error) {
	if err := authorOnly(c.Actor, c.Admin, s); err != nil {
		return nil, err
	}
	if s.Published {
		return nil, ErrAlreadyPublished.New("the post %q is already published", s.Title)
	}
	return []Event{PostPublished{}}, nil
}

func changeTitle(c ChangeTitle, s State) ([]Event, error) {
	if err := authorOnly(c.Actor, c.Admin, s); err != nil {
		return nil, err
	}
	title, err := validTitle(c.Title)
	if err != nil {
		return nil, err
	}
	return []Event{TitleChanged{Title: title}}, nil
}

// authorOnly refuses a post that does not exist, then anyone but its author
// and admins.
func authorOnly(actor string, admin bool, s State) error {
	if !s.Exists {
		return ErrPostNotFound.New("the post does not exist")
	}
	if actor != s.Author && !admin {
		return ErrNotAuthor.New("only %s, the post's author, may do this", s.Author)
	}
	return nil
}

func validTitle(title string) (string, error) {
	title = strings.TrimSpace(title)
	if n := utf8.RuneCountInString(title); n < 1 || n > MaxTitleLen || !utf8.ValidString(title) {
		return "", ErrBadTitle.New("title: want 1-%d characters", MaxTitleLen)
	}
	return title, nil
}

// Evolve returns the state after event e. It never changes s (State holds no
// maps or slices: a copy is a copy).
func Evolve(s State, e Event) State {
	switch e := e.(type) {
	case PostCreated:
		s.Exists = true
		s.Title, s.Body, s.Author = e.Title, e.Body, e.Author
	case PostPublished:
		s.Published = true
	case TitleChanged:
		s.Title = e.Title
	}
	return s
}

// Events is a registry of the post's event types, each at schema version 1.
func Events() *es.Registry[Event] {
	r := es.NewRegistry[Event]()
	es.Register[PostCreated](r, 1)
	es.Register[PostPublished](r, 1)
	es.Register[TitleChanged](r, 1)
	return r
}

// Decider is the post decider, for es.Handler.
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
