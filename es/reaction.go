package es

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// SystemActorPrefix begins the actor of every command a reaction issues:
// "system/match-report". No person's name may begin with it (docs/contract.md,
// "Identity"), so a decider may trust it: an HTTP request can never carry it.
const SystemActorPrefix = "system/"

// SystemActor is the actor of the commands the reaction named name issues.
func SystemActor(name string) string { return SystemActorPrefix + name }

// IsSystemActor reports whether actor is a reaction's.
func IsSystemActor(actor string) bool { return strings.HasPrefix(actor, SystemActorPrefix) }

// IssuedCommand is a command a reaction issues: the stream it is for, the
// command itself (a value of that stream's domain's command type), and the
// version the stream must be at, when the reaction decided on one.
type IssuedCommand struct {
	Stream  StreamRef
	Command any
	// AtVersion, when more than 0, is the version the stream must be at
	// (Meta.Expected): a reaction that saw the stream quiet at version 7
	// says so, and a stream that moved since refuses with a conflict.
	// 0 takes the stream at any version.
	AtVersion int64
}

// Reaction is a policy: what commands an event calls for. Its function is
// pure (the same event, and the same state of the event's stream at the
// event's version, give the same commands), so that a redelivered event asks
// for the same commands with the same derived command ids, and the store
// refuses to apply them twice. A Reactor runs it.
//
// A timed reaction (Schedule set) also finds commands due as time passes:
// the time comes in from the reactor's clock as an argument, never from
// inside a decider.
type Reaction struct {
	// Name names the reaction: its commands' actor is SystemActor(Name), and
	// its checkpoint is saved under ReactorName(Name). 1-32 characters of the
	// id alphabet.
	Name string
	// Types are the event types it reacts to; the reactor passes over every
	// other event without reading anything.
	Types []string
	// Schedule, when set, makes the reaction timed: it watches every event
	// of Types and is asked, every Every, what is due.
	Schedule Schedule
	Every    time.Duration

	commands func(ctx context.Context, store Store, env Envelope) ([]IssuedCommand, error)
}

// Schedule is what a timed reaction remembers of the feed (documents saved
// with its reactor's checkpoint) and what it finds due at a given time.
// The reactor calls it from one goroutine at a time.
type Schedule interface {
	// Watch notes an event of the reaction's types and returns the keys of
	// the documents it changed: at most MaxWatchDocs. An error marked
	// Permanent parks the event at once; any other (a read of the store)
	// is tried again, as a reaction's are.
	Watch(ctx context.Context, env Envelope) (changed []string, err error)
	// Reset forgets everything, before the saved documents are loaded
	// again (an instance that takes the lease over loads what the last
	// holder saved).
	Reset()
	// Load restores one saved document.
	Load(key string, doc json.RawMessage) error
	// Doc is the current document under key, one Watch changed since the
	// last save; nil when it is gone.
	Doc(key string) (json.RawMessage, error)
	// Due lists the commands due at now. Pure in what it remembers (and,
	// a StoredSchedule, what is saved) and now; an error is tried again
	// at the next tick.
	Due(ctx context.Context, now time.Time) ([]DueCommand, error)
}

// MaxWatchDocs is the most documents a Schedule's Watch changes for one
// event: the reactor saves before its changes outgrow one save.
const MaxWatchDocs = 3

// StoredSchedule is a Schedule that keeps what it remembers in the store,
// among its reactor's documents, rather than in memory (issue 19.2): a
// reactor whose store reads documents on demand (ReadModelReader) loads
// none of the schedule's (Load is not called), hands it a reader of what
// its last save left of them, and tells it after each save, so that the
// schedule holds only what changed since: at most DocsPerSave documents.
// On a store that reads nothing on demand, every document is loaded
// (Load) and the schedule holds them all, as any Schedule.
type StoredSchedule interface {
	Schedule
	// Use gives the schedule the reader of its saved documents, at each
	// Load of the reactor, after Reset: nil when there is none (the store
	// reads nothing on demand).
	Use(saved SavedDocs)
	// Saved says the reactor saved every document Watch changed before
	// it, with the checkpoint: what the schedule held of them, it may let
	// go of. Called only with a reader in Use.
	Saved()
}

// SavedDocs reads a schedule's documents as its reactor's last save left
// them, strongly consistent, under the keys Doc names them by.
type SavedDocs interface {
	// Doc is the document under key; nil when none is saved.
	Doc(ctx context.Context, key string) (json.RawMessage, error)
	// Range is the documents q chooses (ReadModelReader.ReadModelRange).
	Range(ctx context.Context, q DocRange) ([]Doc, error)
}

// DueCommand is a command a schedule finds due, and the event it answers:
// its id makes the command's id (the same cause, the same command id, so a
// command due again after a restart is not applied twice) and its
// correlation id is carried over.
type DueCommand struct {
	IssuedCommand
	CauseID          string
	CauseStream      StreamRef
	CauseCorrelation string
}

// maxReactionName keeps derived command ids within 64 characters.
const maxReactionName = 32

// OnEvent is a reaction to events of one domain by their type: f turns the
// decoded event into commands.
func OnEvent[E Event](name string, events *Registry[E], types []string, f func(env Envelope, e E) []IssuedCommand) Reaction {
	checkReaction(name, types)
	return Reaction{Name: name, Types: types, commands: func(_ context.Context, _ Store, env Envelope) ([]IssuedCommand, error) {
		e, err := events.DecodeEnvelope(env)
		if err != nil {
			return nil, permanent(err)
		}
		return f(env, e), nil
	}}
}

// OnState is a reaction that needs the state of the event's own stream: f
// gets the decoded event and the state right after it (folded to the event's
// version, whatever happened to the stream since, so that a replay sees what
// the first run saw).
func OnState[S any, C any, E Event](name string, d Decider[S, C, E], types []string, f func(env Envelope, e E, s S) []IssuedCommand) Reaction {
	checkReaction(name, types)
	return Reaction{Name: name, Types: types, commands: func(ctx context.Context, store Store, env Envelope) ([]IssuedCommand, error) {
		if env.Stream.Type != d.StreamType {
			return nil, nil
		}
		e, err := d.Events.DecodeEnvelope(env)
		if err != nil {
			return nil, permanent(err)
		}
		h := &Handler[S, C, E]{Decider: d, Store: store}
		s, v, err := h.LoadAt(ctx, env.Stream, env.Version)
		if err != nil {
			return nil, fmt.Errorf("reaction %s: state of %s at version %d: %w", name, env.Stream, env.Version, err)
		}
		if v != env.Version {
			return nil, fmt.Errorf("reaction %s: %s read at version %d, not the event's %d", name, env.Stream, v, env.Version)
		}
		return f(env, e, s), nil
	}}
}

// Timed is a reaction whose commands come from a schedule as time passes,
// asked every every; the schedule watches the events of types.
func Timed(name string, types []string, every time.Duration, s Schedule) Reaction {
	checkReaction(name, types)
	if every <= 0 {
		panic(fmt.Sprintf("es: timed reaction %q needs a positive interval", name))
	}
	return Reaction{Name: name, Types: types, Schedule: s, Every: every}
}

func checkReaction(name string, types []string) {
	if !ValidID(name) || len(name) > maxReactionName {
		panic(fmt.Sprintf("es: reaction name %q: want 1-%d characters of A-Z a-z 0-9 - _ .", name, maxReactionName))
	}
	if len(types) == 0 {
		panic(fmt.Sprintf("es: reaction %q reacts to no event type", name))
	}
}

// Commands is what the reaction asks for in answer to env: none for an
// event it does not react to, or for a timed reaction (its schedule's Due
// says). store is read for the state the reaction needs.
func (r Reaction) Commands(ctx context.Context, store Store, env Envelope) ([]IssuedCommand, error) {
	if !r.reactsTo(env) || r.commands == nil {
		return nil, nil
	}
	return guard(func() ([]IssuedCommand, error) { return r.commands(ctx, store, env) })
}

// reactsTo reports whether the reaction wants env.
func (r Reaction) reactsTo(env Envelope) bool { return slices.Contains(r.Types, env.Type) }

// ReactorName is the name a reaction's checkpoint and outcomes are saved
// under, apart from every read model's (a rebuild of the read models never
// touches it).
func ReactorName(reaction string) string { return "reaction-" + reaction }

// ReactionCommandID is the command id of the index-th command the reaction
// issues for the event eventID: the same on every delivery of the event, so
// that the store recognises a command it applied before (the same actor,
// the same stream, the same fields: the first result, nothing appended).
func ReactionCommandID(reaction, eventID string, index int) string {
	id := reaction + "." + eventID + "." + strconv.Itoa(index)
	if ValidID(id) {
		return id
	}
	// An event id from elsewhere (not a ULID): a digest keeps it short.
	sum := sha256.Sum256([]byte(eventID))
	return reaction + "." + hex.EncodeToString(sum[:12]) + "." + strconv.Itoa(index)
}

// permanentError marks a failure that trying again cannot mend (an event
// that does not decode, a command no handler takes): the reactor parks the
// event at once.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

func permanent(err error) error { return permanentError{err} }

// Permanent marks err as one that trying again cannot mend (an event that
// does not decode): a reactor parks the event at once.
func Permanent(err error) error { return permanent(err) }
