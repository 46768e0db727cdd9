package blog

import "github.com/foldboard/foldboard/es"

// The post's domain errors. Each is a sentinel for errors.Is (an *es.Error
// matches another with the same code); Decide returns a fresh copy of one with
// a message about the command at hand.
var (
	// ErrPostNotFound: PublishPost or ChangeTitle on a post never created.
	ErrPostNotFound = &es.Error{Kind: es.Missing, Code: "PostNotFound", Message: "the post does not exist"}
	// ErrNotAuthor: PublishPost or ChangeTitle by anyone but the post's author.
	ErrNotAuthor = &es.Error{Kind: es.Forbidden, Code: "NotAuthor", Message: "only the post's author may do this"}
	// ErrPostExists: CreatePost on a post that exists.
	ErrPostExists = &es.Error{Kind: es.Refused, Code: "PostExists", Message: "the post already exists"}
	// ErrAlreadyPublished: PublishPost on a published post.
	ErrAlreadyPublished = &es.Error{Kind: es.Refused, Code: "AlreadyPublished", Message: "the post is already published"}

	// ErrBadTitle: a title that is not 1-200 characters after trimming.
	ErrBadTitle = &es.Error{Kind: es.Invalid, Code: "BadTitle", Message: "title: want 1-200 characters"}
	// ErrBodyTooLong: a body over 64 KiB.
	ErrBodyTooLong = &es.Error{Kind: es.Invalid, Code: "BodyTooLong", Message: "body: want at most 64 KiB"}
	// ErrBadBody: a body that is not UTF-8 text.
	ErrBadBody = &es.Error{Kind: es.Invalid, Code: "BadBody", Message: "body: want UTF-8 text"}
	// ErrBadAuthor: a CreatePost whose author is blank or over 200 characters.
	ErrBadAuthor = &es.Error{Kind: es.Invalid, Code: "BadAuthor", Message: "author: want 1-200 characters"}
	// ErrUnknownCommand: a nil command, or a pointer to one (commands are values).
	ErrUnknownCommand = &es.Error{Kind: es.Invalid, Code: "UnknownCommand", Message: "not a post command"}
)
