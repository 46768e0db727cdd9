package es

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
)

// AnyVersion as a command's expected version means "whatever the stream is
// at": the handler re-reads and retries when another writer gets in first.
const AnyVersion int64 = -1

// Meta is what accompanies a command besides its own fields.
type Meta struct {
	StreamID string
	// Expected is the version the caller saw (a form carries the version it
	// was rendered at), or AnyVersion.
	Expected  int64
	CommandID string
	// Fingerprint is the request the command id was sent with
	// (RequestFingerprint: actor, route, stream, fields); empty, the handler
	// makes one from the actor, the command's name and its JSON.
	Fingerprint   string
	Actor         string
	CorrelationID string
	CausationID   string
}

// Result is a handled command: the stream's version and state after it, and
// the events it appended (or, for a repeated command id, the events the first
// one appended).
type Result[S any] struct {
	Stream  StreamRef
	Version int64
	State   S
	// StateJSON is State encoded as the store keeps it (json.Marshal), when
	// the command appended: an answer can send it as it is rather than
	// encode the state a second time. Nil otherwise.
	StateJSON json.RawMessage
	Events    []Envelope
	// Created says the command started the stream.
	Created bool
	// Repeated says the command id had been handled before and nothing was
	// appended now.
	Repeated bool
}

// Handler runs commands of one domain against a store.
type Handler[S any, C any, E Event] struct {
	Decider Decider[S, C, E]
	Store   Store
	// Now and NewID default to the wall clock and monotonic ULIDs.
	Now   func() time.Time
	NewID func(time.Time) string
	// SnapshotEvery keeps a snapshot of the state every so many versions; 0
	// keeps none.
	SnapshotEvery int64
	// RetryFor bounds the re-read-and-retry loop of commands with
	// AnyVersion: a command that keeps losing the race to other writers tries
	// again for this long (default 5 s) before it answers with the conflict.
	// A time budget rather than a count: an attempt on a large stream state
	// takes longer, and under contention every writer must still get through.
	RetryFor time.Duration
	// OnAppend, when set, is called after each successful append (to wake a
	// change feed tailer at once, say).
	OnAppend func(AppendResult)
	// Heads, when set, remembers each stream's state as this process last
	// wrote or read it, so that a command decides without reading the store
	// first; the append's version condition catches a stale memory (see
	// Heads). Handlers may share one.
	Heads *Heads

	// writers queues this process's commands on one stream (those that name
	// no version), so that they take turns instead of racing each other
	// through conflicts and retries. The store still detects every conflict,
	// as it must with other processes.
	writers streamQueue
}

// streamQueue is a lock per stream, kept only while someone holds or waits
// for it.
type streamQueue struct {
	mu    sync.Mutex
	locks map[StreamRef]*queuedLock
}

type queuedLock struct {
	turn  chan struct{} // holds a token while someone has the turn
	users int
}

// lock waits for the stream's turn, or for ctx to end; the function it
// returns gives the turn back.
func (q *streamQueue) lock(ctx context.Context, s StreamRef) (func(), error) {
	q.mu.Lock()
	if q.locks == nil {
		q.locks = map[StreamRef]*queuedLock{}
	}
	l := q.locks[s]
	if l == nil {
		l = &queuedLock{turn: make(chan struct{}, 1)}
		q.locks[s] = l
	}
	l.users++
	q.mu.Unlock()
	leave := func() {
		q.mu.Lock()
		if l.users--; l.users == 0 {
			delete(q.locks, s)
		}
		q.mu.Unlock()
	}
	select {
	case l.turn <- struct{}{}:
		return func() { <-l.turn; leave() }, nil
	case <-ctx.Done():
		leave()
		return nil, ctx.Err()
	}
}

// Handle decides cmd on the stream's current state and appends the events with
// optimistic concurrency. Errors: a domain *Error from the decider,
// *ConflictError when meta.Expected does not match (or a race outlasts the
// retries), or the store's error.
func (h *Handler[S, C, E]) Handle(ctx context.Context, meta Meta, cmd C) (Result[S], error) {
	stream := StreamRef{Type: h.Decider.StreamType, ID: meta.StreamID}
	if err := stream.Validate(); err != nil {
		return Result[S]{}, &Error{Kind: Invalid, Code: "BadStreamID", Message: err.Error()}
	}
	if meta.CommandID != "" && !ValidID(meta.CommandID) {
		return Result[S]{}, &Error{Kind: Invalid, Code: "BadCommandID", Message: "command id: want 1-64 characters of A-Z a-z 0-9 - _ ."}
	}
	if meta.CommandID != "" && meta.Fingerprint == "" {
		meta.Fingerprint = commandFingerprint(meta, stream, cmd)
	}
	retryFor := h.RetryFor
	if retryFor <= 0 {
		retryFor = 5 * time.Second
	}
	giveUp := time.Now().Add(retryFor)
	// A command id is looked up in the head the command decides on (its
	// recent ids ride on it): a repeat answers without deciding, and the
	// append, conditioned on the head's version, refuses a repeat the head
	// did not show yet. Only a command that appends nothing (refused,
	// conflicting, no events) asks the store's head again.
	if meta.Expected == AnyVersion {
		unlock, err := h.writers.lock(ctx, stream)
		if err != nil {
			return Result[S]{}, err
		}
		defer unlock()
	}
	for attempt := 1; ; attempt++ {
		res, remembered, err := h.try(ctx, stream, meta, cmd, false)
		var dup *DuplicateCommandError
		var first *CommandRecord
		switch {
		case err == nil && res.first != nil:
			return h.repeated(ctx, stream, *res.first)
		case err == nil && len(res.Events) > 0:
			if h.OnAppend != nil {
				h.OnAppend(AppendResult{Version: res.Version, Events: res.Events})
			}
			return res.Result, nil
		case errors.As(err, &dup):
			return h.repeatedResult(ctx, stream, dup.First)
		case errors.Is(err, ErrCommandReused):
			return Result[S]{}, errKeyReused(stream, meta.CommandID)
		case errors.Is(err, ErrConflict) && meta.Expected == AnyVersion && remembered && time.Now().Before(giveUp):
			continue // what Heads remembered was stale: decide on the store's state, now
		case errors.Is(err, ErrConflict) && meta.Expected == AnyVersion && time.Now().Before(giveUp):
			if err := backoff(ctx, attempt); err != nil {
				return Result[S]{}, err
			}
			continue
		}
		var domain *Error
		if meta.CommandID != "" && (err == nil || errors.As(err, &domain) || errors.Is(err, ErrConflict)) {
			// Sent before, the command may be refused now, or conflict (its
			// form's version is stale): it answers with its first result.
			head, lerr := h.Store.Head(ctx, stream)
			if lerr != nil {
				return Result[S]{}, lerr
			}
			if first, lerr = repeatIn(head.Commands, stream, meta, h.now()); lerr != nil {
				return Result[S]{}, lerr
			} else if first != nil {
				return h.repeated(ctx, stream, *first)
			}
		}
		if err != nil {
			return Result[S]{}, err
		}
		return res.Result, nil // the decider returned no events: nothing appended
	}
}

// commandFingerprint is a command's fingerprint when its caller gave none:
// the actor, the command's name, the stream and its fields.
func commandFingerprint(meta Meta, stream StreamRef, cmd any) string {
	fields, err := json.Marshal(cmd)
	if err != nil {
		fields = []byte(fmt.Sprintf("%#v", cmd))
	}
	return RequestFingerprint(meta.Actor, fmt.Sprintf("%T", cmd), stream, fields)
}

// repeatIn looks for meta's command id among a head's recent ones: nil when
// it is new (or out of the window at now), its record when sent before with
// the same fingerprint, the contract's IdempotencyKeyReused when with
// another.
func repeatIn(recent []CommandRecord, stream StreamRef, meta Meta, now time.Time) (*CommandRecord, error) {
	first, err := RepeatOf(recent, AppendRequest{Stream: stream, CommandID: meta.CommandID, Fingerprint: meta.Fingerprint}, now)
	if err != nil {
		return nil, errKeyReused(stream, meta.CommandID)
	}
	return first, nil
}

// attempt is one try's outcome: a result, or the record of the first
// command with this id, found in the head decided on.
type attempt[S any] struct {
	Result[S]
	first *CommandRecord
}

// try decides cmd once and appends what it decides. It decides on the state
// Heads remembers when that is the version expected, unless fromStore;
// remembered says it did. A command id found in the head's recent ones is
// answered from there, without deciding.
func (h *Handler[S, C, E]) try(ctx context.Context, stream StreamRef, meta Meta, cmd C, fromStore bool) (_ attempt[S], remembered bool, _ error) {
	state, head, remembered, err := h.current(ctx, stream, meta.Expected, fromStore)
	if err != nil {
		return attempt[S]{}, false, err
	}
	version := head.Version
	if first, err := repeatIn(head.Commands, stream, meta, h.now()); err != nil || first != nil {
		// Even from a stale memory: a command once in the head was
		// appended, and its first result does not change.
		return attempt[S]{first: first}, false, err
	}
	if meta.Expected != AnyVersion && meta.Expected != version {
		return attempt[S]{}, false, &ConflictError{Stream: stream, Expected: meta.Expected, Actual: version}
	}
	events, err := h.Decider.Decide(cmd, state)
	if remembered && (err != nil || len(events) == 0) {
		// Nothing to append means no version condition to catch a stale
		// memory: answer on what the store holds.
		return h.try(ctx, stream, meta, cmd, true)
	}
	if err != nil {
		return attempt[S]{}, false, err
	}
	if len(events) == 0 {
		return attempt[S]{Result: Result[S]{Stream: stream, Version: version, State: state}}, false, nil
	}
	now := h.now()
	req := AppendRequest{Stream: stream, Expected: version, CommandID: meta.CommandID, Fingerprint: meta.Fingerprint, Recent: head.Commands}
	for i, e := range events {
		name, schema, data, err := h.Decider.Events.Encode(e)
		if err != nil {
			return attempt[S]{}, remembered, err
		}
		v := version + int64(i) + 1
		req.Events = append(req.Events, Envelope{
			ID: h.newID(now), Stream: stream, Version: v,
			Type: name, SchemaVersion: schema, Time: now, Actor: meta.Actor,
			CorrelationID: meta.CorrelationID, CausationID: meta.CausationID, CommandID: meta.CommandID,
			Data: data,
		})
		state = h.Decider.Evolve(state, e)
		if k := h.SnapshotEvery; k > 0 && v%k == 0 {
			// Encoded at once: a later Evolve may share the state's maps.
			snap, err := h.record(v, state)
			if err != nil {
				return attempt[S]{}, remembered, err
			}
			req.Snapshot = &snap
		}
	}
	if req.State, err = h.record(version+int64(len(events)), state); err != nil {
		return attempt[S]{}, remembered, err
	}
	res, err := h.Store.Append(ctx, req)
	if err != nil {
		h.Heads.forget(stream)
		return attempt[S]{}, remembered, err
	}
	kept := req.State
	kept.Commands = res.Commands
	h.Heads.put(stream, kept)
	return attempt[S]{Result: Result[S]{Stream: stream, Version: res.Version, State: state, StateJSON: req.State.Data, Events: res.Events, Created: version == 0}}, remembered, nil
}

// current is the state to decide on, and the head it comes from: the one
// Heads remembers when it is at the version expected (any, for AnyVersion),
// else the store's.
func (h *Handler[S, C, E]) current(ctx context.Context, stream StreamRef, expected int64, fromStore bool) (S, StateRecord, bool, error) {
	if !fromStore {
		if rec, ok := h.Heads.get(stream); ok && rec.Schema == h.Decider.StateSchema && (expected == AnyVersion || expected == rec.Version) {
			s := h.Decider.Initial()
			if err := json.Unmarshal(rec.Data, &s); err == nil {
				return s, rec, true, nil
			}
		}
	}
	s, head, err := h.load(ctx, stream)
	return s, head, false, err
}

func (h *Handler[S, C, E]) record(version int64, state S) (StateRecord, error) {
	data, err := json.Marshal(state)
	if err != nil {
		return StateRecord{}, fmt.Errorf("encoding state at version %d: %w", version, err)
	}
	return StateRecord{Version: version, Schema: h.Decider.StateSchema, Data: data}, nil
}

// repeated answers a command id sent before with its first result, read
// again from the versions it appended.
func (h *Handler[S, C, E]) repeated(ctx context.Context, stream StreamRef, first CommandRecord) (Result[S], error) {
	envs, err := h.Store.ReadStream(ctx, stream, ReadOptions{From: first.From, Limit: int(first.To - first.From + 1)})
	if err != nil {
		return Result[S]{}, err
	}
	return h.repeatedResult(ctx, stream, AppendResult{Version: first.To, Events: envs})
}

func (h *Handler[S, C, E]) repeatedResult(ctx context.Context, stream StreamRef, first AppendResult) (Result[S], error) {
	state, _, err := h.LoadAt(ctx, stream, first.Version)
	if err != nil {
		return Result[S]{}, err
	}
	created := len(first.Events) > 0 && first.Events[0].Version == 1
	return Result[S]{Stream: stream, Version: first.Version, State: state, Events: first.Events, Created: created, Repeated: true}, nil
}

// Load returns the stream's current state and version, from its state item when
// that was written with the decider's current StateSchema, else by folding the
// stream's events.
func (h *Handler[S, C, E]) Load(ctx context.Context, stream StreamRef) (S, int64, error) {
	s, head, err := h.load(ctx, stream)
	return s, head.Version, err
}

// load is Load that returns the head read too (its version the state's).
func (h *Handler[S, C, E]) load(ctx context.Context, stream StreamRef) (S, StateRecord, error) {
	head, err := h.Store.Head(ctx, stream)
	if err != nil {
		return h.Decider.Initial(), StateRecord{}, err
	}
	if head.Version == 0 {
		return h.Decider.Initial(), head, nil
	}
	if head.Schema == h.Decider.StateSchema {
		s := h.Decider.Initial()
		if err := json.Unmarshal(head.Data, &s); err == nil {
			h.Heads.put(stream, head)
			return s, head, nil
		}
	}
	s, v, err := h.LoadAt(ctx, stream, head.Version)
	head.Version = v
	return s, head, err
}

// LoadAt returns the stream's state after version (or after its last event,
// when it has fewer), folded from the newest usable snapshot at or below it.
func (h *Handler[S, C, E]) LoadAt(ctx context.Context, stream StreamRef, version int64) (S, int64, error) {
	state, at := h.Decider.Initial(), int64(0)
	if snap, ok, err := h.Store.Snapshot(ctx, stream, version); err != nil {
		return state, 0, err
	} else if ok && snap.Schema == h.Decider.StateSchema {
		s := h.Decider.Initial()
		if err := json.Unmarshal(snap.Data, &s); err == nil {
			state, at = s, snap.Version
		}
	}
	for at < version {
		envs, err := h.Store.ReadStream(ctx, stream, ReadOptions{From: at + 1, Limit: int(min(version-at, 1000))})
		if err != nil {
			return state, at, err
		}
		if len(envs) == 0 {
			break
		}
		for _, env := range envs {
			e, err := h.Decider.Events.DecodeEnvelope(env)
			if err != nil {
				return state, at, fmt.Errorf("%s version %d: %w", stream, env.Version, err)
			}
			state = h.Decider.Evolve(state, e)
			at = env.Version
		}
	}
	return state, at, nil
}

func (h *Handler[S, C, E]) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now().UTC()
}

func (h *Handler[S, C, E]) newID(t time.Time) string {
	if h.NewID != nil {
		return h.NewID(t)
	}
	return NewULID(t)
}

var (
	entropyMu sync.Mutex
	entropy   = ulid.Monotonic(rand.Reader, 0)
)

// NewULID makes a ULID for time t, monotonic within this process.
func NewULID(t time.Time) string {
	entropyMu.Lock()
	defer entropyMu.Unlock()
	return ulid.MustNew(ulid.Timestamp(t), entropy).String()
}

// backoff waits before retry attempt n: a jittered delay of up to a few
// milliseconds. It stays short on purpose: a writer that waited longer after
// each loss would lose every race to fresh commands, whose first attempt
// comes at once, and starve; the jitter is only there to break lockstep.
func backoff(ctx context.Context, attempt int) error {
	ceiling := time.Duration(min(attempt, 8)) * time.Millisecond / 2
	d := time.Duration(mrand.Int64N(int64(ceiling) + 1))
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
