package es

import (
	"errors"
	"fmt"
)

// ErrNotFound is what a command that needs an existing stream meets on a new one.
var ErrNotFound = errors.New("stream not found")

// ErrConflict is matched by every *ConflictError.
var ErrConflict = errors.New("version conflict")

// ErrBadCursor is matched by the error of a ReadLog whose After is not a
// cursor of that store's log (a caller's typo, or another store's cursor).
var ErrBadCursor = errors.New("not a cursor of this log")

// ErrDuplicateCommand is matched by every *DuplicateCommandError.
var ErrDuplicateCommand = errors.New("command already applied")

// ConflictError says the stream was not at the version the append expected.
type ConflictError struct {
	Stream   StreamRef
	Expected int64
	// Actual is the stream's version when the conflict was seen; -1 when the
	// store could not tell in the same atomic step.
	Actual int64
}

func (e *ConflictError) Error() string {
	if e.Actual < 0 {
		return fmt.Sprintf("stream %s: expected version %d, but it has moved on", e.Stream, e.Expected)
	}
	return fmt.Sprintf("stream %s: expected version %d, but it is at %d", e.Stream, e.Expected, e.Actual)
}

// Is lets errors.Is(err, ErrConflict) match.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// DuplicateCommandError says an append's command id was already recorded on its
// stream; First is the result the first append had.
type DuplicateCommandError struct {
	Stream    StreamRef
	CommandID string
	First     AppendResult
}

func (e *DuplicateCommandError) Error() string {
	return fmt.Sprintf("stream %s: command %s already applied at version %d", e.Stream, e.CommandID, e.First.Version)
}

// Is lets errors.Is(err, ErrDuplicateCommand) match.
func (e *DuplicateCommandError) Is(target error) bool { return target == ErrDuplicateCommand }

// Kind sorts domain errors by what the caller did wrong, free of any transport:
// the web layer maps each kind to its status.
type Kind int

const (
	// Invalid: the command's values break a rule whatever the state (HTTP 422).
	Invalid Kind = iota + 1
	// Refused: the command is valid but the stream's state refuses it (HTTP 409).
	Refused
	// Forbidden: this actor may not do this (HTTP 403).
	Forbidden
	// Missing: the command needs a stream that does not exist (HTTP 404).
	Missing
)

func (k Kind) String() string {
	switch k {
	case Invalid:
		return "invalid"
	case Refused:
		return "refused"
	case Forbidden:
		return "forbidden"
	case Missing:
		return "missing"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Error is a decider's refusal: a stable code ("AlreadyStarted") that programs
// may rely on, a message for people, and its kind.
type Error struct {
	Kind    Kind
	Code    string
	Message string
	// Details are more about the case, as the contract names them (an
	// InsufficientFunds error's "balance"); the error's answer carries them.
	Details map[string]string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Is lets errors.Is(err, ErrNotFound) match a Missing error, and two *Error match
// when their codes do.
func (e *Error) Is(target error) bool {
	if target == ErrNotFound {
		return e.Kind == Missing
	}
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Errorf makes a domain error.
func Errorf(kind Kind, code, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Message: fmt.Sprintf(format, args...)}
}

// New is a fresh error of sentinel e's kind and code, with a message about
// the case at hand: what a decider returns for one of its sentinels.
func (e *Error) New(format string, args ...any) *Error {
	return Errorf(e.Kind, e.Code, format, args...)
}

// WithDetail is e with one more detail.
func (e *Error) WithDetail(key, value string) *Error {
	out := *e
	out.Details = make(map[string]string, len(e.Details)+1)
	for k, v := range e.Details {
		out.Details[k] = v
	}
	out.Details[key] = value
	return &out
}
