package es

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
)

// StateRecord is a stream's state as stored: the current state item written
// with every append, or a snapshot. Schema is the decider's StateSchema when it
// was written.
type StateRecord struct {
	Version int64
	Schema  int
	Data    json.RawMessage
	// Commands are the stream's recent command ids, oldest first, as its
	// head keeps them (see RecentCommands); a snapshot has none.
	Commands []CommandRecord
}

// AppendRequest is one atomic append: the events, the stream's state after them,
// and the command id that caused them, all or nothing.
type AppendRequest struct {
	Stream StreamRef
	// Expected is the version the stream must be at for the append to succeed:
	// 0 for a stream that must not exist yet.
	Expected int64
	// Events are numbered Expected+1, Expected+2, … by the caller.
	Events []Envelope
	// State is the stream's state after the events; State.Version is the last
	// event's version.
	State StateRecord
	// Snapshot, when set, is kept so that replay to a version at or after it
	// need not fold from the start.
	Snapshot *StateRecord
	// CommandID, when set, is recorded in the stream's head with the append,
	// for the window of RecentCommands and RecentCommandsFor: a second append
	// with the same command id on the same stream fails with
	// *DuplicateCommandError when its Fingerprint is the first's, else with
	// *CommandReusedError.
	CommandID   string
	Fingerprint string
	// Recent is the head's Commands at Expected, as Head returned them: what
	// the store keeps beside this append's command (NextCommands). A store
	// may condition its write on them and mend a stale Recent itself (at the
	// cost of a round trip), so it is a hint, never trusted for correctness.
	Recent []CommandRecord
}

// AppendResult is what an append left in the store.
type AppendResult struct {
	Version int64      // the stream's version after the append
	Events  []Envelope // the events appended, with any store positions
	// Commands are the recent command ids the head keeps after it.
	Commands []CommandRecord
}

// ReadOptions chooses a slice of one stream.
type ReadOptions struct {
	// From is the first version wanted: forwards, 0 means 1; in reverse, 0 means
	// the current version.
	From int64
	// Limit caps the number of events; 0 means no cap.
	Limit   int
	Reverse bool
}

// LogQuery pages through the store's global log, oldest first.
type LogQuery struct {
	// After is the cursor of the last event already seen ("" for the start).
	After string
	Limit int
	// Type, when set, keeps only events of that type. The work of a page
	// stays bounded by Limit, not by the log: a store with an index by type
	// fills the page from it; one without examines a bounded stretch of the
	// log and may answer fewer events than Limit, none even, with a Next to
	// go on.
	Type string
}

// LogPage is one page of the global log; Next is the cursor to continue after
// it ("" with no events, unless a query by type examined some: see
// LogQuery.Type). End says the log held nothing after the page when it was
// read (a page may be full and End too).
type LogPage struct {
	Events []Envelope
	Next   string
	End    bool
}

// BackwardQuery pages the log newest first, as the event browser shows it.
type BackwardQuery struct {
	// Before is the position to go on before (a previous page's Next); 0
	// starts at the newest event.
	Before int64
	// Type and StreamType, when set, keep only events of that event type and
	// of streams of that type.
	Type, StreamType string
	Limit            int
}

// BackwardPage is a page of the log newest first: Next is the position to go
// on before (0 at the start of the log), Total the events in the log.
type BackwardPage struct {
	Events []Envelope
	Next   int64
	Total  int64
}

// LogBackward is implemented by a store whose log has positions and pages
// newest first (SQLite), so that the event browser reads the store rather
// than a copy of every event in memory. A page's work is bounded by its
// limit: a filter the store has no index for examines a bounded stretch and
// may answer fewer events, with a Next to go on.
type LogBackward interface {
	ReadLogBackward(ctx context.Context, q BackwardQuery) (BackwardPage, error)
}

// Store is an event store. Implementations must pass estest.Run.
type Store interface {
	// Append writes the request atomically, or fails with *ConflictError when
	// the stream is not at req.Expected, *DuplicateCommandError when the
	// command id is among the head's recent ones with the same fingerprint
	// (whatever the version), *CommandReusedError when with another; on any
	// error nothing is written.
	Append(ctx context.Context, req AppendRequest) (AppendResult, error)
	// Head returns the stream's current state record; Version 0 and no data for
	// a stream with no events.
	Head(ctx context.Context, stream StreamRef) (StateRecord, error)
	// ReadStream returns a slice of one stream in version order (or reverse).
	ReadStream(ctx context.Context, stream StreamRef, opts ReadOptions) ([]Envelope, error)
	// Command returns the result recorded for a command id among the
	// stream's recent ones.
	Command(ctx context.Context, stream StreamRef, commandID string) (AppendResult, bool, error)
	// Snapshot returns the newest snapshot at or below version.
	Snapshot(ctx context.Context, stream StreamRef, atOrBelow int64) (StateRecord, bool, error)
	// ReadLog pages through every event of every stream; within a stream the
	// log is in version order. Every event it returns carries in Position a
	// cursor that, as LogQuery.After, continues right after that event. An
	// After that is not such a cursor fails with an error matching
	// ErrBadCursor.
	ReadLog(ctx context.Context, q LogQuery) (LogPage, error)
	// Ping reports whether the store answers.
	Ping(ctx context.Context) error
}

// Batch is a run of committed events from a feed, and the checkpoint that,
// once they are applied, resumes the feed after them.
type Batch struct {
	Events     []Envelope
	Checkpoint string
}

// Feed is a store's change feed.
type Feed interface {
	// Follow calls apply with every event committed after the checkpoint from
	// ("" for the beginning), each stream's events in version order, then with
	// each new commit as it happens, until ctx ends (returning nil) or apply
	// fails (returning its error). A checkpoint is opaque: only the feed that
	// made it reads it.
	Follow(ctx context.Context, from string, apply func(context.Context, Batch) error) error
}

// CheckpointOrder is implemented by a feed whose checkpoints can be put in
// order, so that several readers of the log (the reactors) can follow one
// Follow of it from the oldest of their checkpoints, each passing over what
// its own had already handed on.
type CheckpointOrder interface {
	// Covers reports whether checkpoint a is at or past b: every event the
	// feed had handed on when it made b, it had handed on when it made a.
	// Every checkpoint covers "" and "" covers only "". A checkpoint the
	// feed cannot place against b (another stream, positions neither ahead
	// nor behind) does not cover it: a false answer costs a reader events
	// handed on again, never one missed.
	Covers(a, b string) (bool, error)
}

// MaxDocsPerSave bounds the documents of one SaveReadModels call, so that every
// store can save them in one atomic write (DynamoDB's transactions take 100
// items: the documents, the checkpoint and the check of the lease's epoch).
const MaxDocsPerSave = 98

// StreamWriteLimit is implemented by a store whose streams each take at most
// so many write units a second, however much capacity the store has
// (DynamoDB: a stream's events share one partition key). The dashboard warns
// of a stream nearing its limit.
type StreamWriteLimit interface {
	// StreamWriteUnits is the most write units a second one stream's events
	// take.
	StreamWriteUnits() float64
	// EventWriteUnits is what appending e costs against that limit.
	EventWriteUnits(e Envelope) float64
}

// SaveCapacity is implemented by a ReadModelStore that can write more than
// MaxDocsPerSave documents in one atomic save (SQLite's transactions take any
// number; DynamoDB's take 100 items), to say how many.
type SaveCapacity interface {
	// MaxDocsPerSave is the most documents one SaveReadModels takes, and
	// writes atomically with its checkpoint; never less than MaxDocsPerSave.
	MaxDocsPerSave() int
}

// DocsPerSave is the most documents one SaveReadModels of store takes: what
// the store says through SaveCapacity, MaxDocsPerSave when it says nothing.
func DocsPerSave(store ReadModelStore) int {
	if c, ok := store.(SaveCapacity); ok {
		return max(c.MaxDocsPerSave(), MaxDocsPerSave)
	}
	return MaxDocsPerSave
}

// ReadModelStore keeps a projector's read models, as JSON documents by key, and
// the feed checkpoint they reflect.
type ReadModelStore interface {
	// LoadReadModels returns the checkpoint and every document saved for the
	// projector; "" and none for a projector never saved.
	LoadReadModels(ctx context.Context, projector string) (checkpoint string, docs map[string]json.RawMessage, err error)
	// SaveReadModels writes the documents (a nil value deletes its key) and the
	// checkpoint in one atomic step; at most MaxDocsPerSave documents, or
	// the store's own maximum when it has one (SaveCapacity, DocsPerSave).
	SaveReadModels(ctx context.Context, projector, checkpoint string, docs map[string]json.RawMessage) error
}

// ReadModelReader is implemented by a ReadModelStore that reads its
// documents one at a time and by a range of keys, so that read models need
// not all be held in memory: a page reads the one view it shows, a list the
// newest entries of an index kept for it (issue 19.2). Both read what the
// last SaveReadModels left, strongly consistent.
type ReadModelReader interface {
	// ReadModel returns the projector's document under key; nil when none
	// is saved.
	ReadModel(ctx context.Context, projector, key string) (json.RawMessage, error)
	// ReadModelRange returns the projector's documents whose keys begin
	// with q.Prefix and sort before q.Before (any, when ""), greatest key
	// first (keys compare as bytes; least first with q.Ascending), at most
	// q.Limit of them.
	ReadModelRange(ctx context.Context, projector string, q DocRange) ([]Doc, error)
}

// DocRange chooses documents by key for ReadModelRange.
type DocRange struct {
	Prefix string
	// Before is the key to go on before (the last key of a previous page);
	// "" starts at the greatest key with the prefix.
	Before string
	// Limit caps the documents; at least 1, at most MaxDocRange.
	Limit int
	// Ascending reads the least key first: the oldest entries of an index
	// kept by time, up to Before (the range's upper bound then; a page is
	// not gone on from its last key).
	Ascending bool
}

// MaxDocRange is the most documents one ReadModelRange returns.
const MaxDocRange = 1000

// Doc is one saved read-model document.
type Doc struct {
	Key  string
	Data json.RawMessage
}

// RangeEnd is the least key greater than every key beginning with prefix
// ("" when there is none: a prefix of 0xff bytes only, or none).
func RangeEnd(prefix string) string {
	b := []byte(prefix)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1])
		}
	}
	return ""
}

// RangeUpper is the exclusive upper bound of q's keys: Before or the end of
// the prefix, whichever is less ("" for none).
func (q DocRange) RangeUpper() string {
	end := RangeEnd(q.Prefix)
	switch {
	case q.Before == "":
		return end
	case end == "" || q.Before < end:
		return q.Before
	default:
		return end
	}
}

// RangeLimit is q.Limit within [1, MaxDocRange].
func (q DocRange) RangeLimit() int { return min(max(q.Limit, 1), MaxDocRange) }

// ReadModelLoader is implemented by a ReadModelStore that loads a
// projector's documents leaving out whole prefixes of keys: those of the
// read models read on demand, so that a start reads only what is held in
// memory (issue 19.2).
type ReadModelLoader interface {
	// LoadReadModelsExcept is LoadReadModels without the documents whose
	// keys begin with one of skip.
	LoadReadModelsExcept(ctx context.Context, projector string, skip []string) (checkpoint string, docs map[string]json.RawMessage, err error)
}

// SaveMarker is implemented by a ReadModelStore whose loads may overlap
// another process's saves of the same read models (DynamoDB's: a cluster
// follower loads what its holder is saving). SaveMark is a mark of the
// last save of projector's read models, different after every save,
// whatever it changed (a save may keep the checkpoint): a load between two
// equal marks saw no save.
type SaveMarker interface {
	SaveMark(ctx context.Context, projector string) (string, error)
}

// SaveMarkOf is store's SaveMark, or, for a store that marks no saves, its
// checkpoint (read alone: every document skipped), which most saves move.
func SaveMarkOf(ctx context.Context, store ReadModelStore, projector string) (string, error) {
	if m, ok := store.(SaveMarker); ok {
		return m.SaveMark(ctx, projector)
	}
	if l, ok := store.(ReadModelLoader); ok {
		checkpoint, _, err := l.LoadReadModelsExcept(ctx, projector, []string{""})
		return checkpoint, err
	}
	checkpoint, _, err := store.LoadReadModels(ctx, projector)
	return checkpoint, err
}

// KeyRange is the keys from From (inclusive) to To (exclusive; "" for no
// end).
type KeyRange struct{ From, To string }

// RangesExcept are the ranges of keys that begin with none of skip, in
// order: every key outside skip's prefixes lies in one of them.
func RangesExcept(skip []string) []KeyRange {
	var cut []KeyRange // the skipped ranges, merged, in order
	for _, p := range skip {
		cut = append(cut, KeyRange{From: p, To: RangeEnd(p)})
	}
	slices.SortFunc(cut, func(a, b KeyRange) int { return strings.Compare(a.From, b.From) })
	var out []KeyRange
	from := ""
	for _, c := range cut {
		if c.From > from {
			out = append(out, KeyRange{From: from, To: c.From})
		}
		if c.To == "" {
			return out
		}
		from = max(from, c.To)
	}
	return append(out, KeyRange{From: from})
}
