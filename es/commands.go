package es

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// The window of idempotency: a stream's head keeps the command ids of its
// last RecentCommands commands that named one, and none older than
// RecentCommandsFor (by the time of their first event). A command id sent
// again within the window answers its first result (or IdempotencyKeyReused);
// after it, the id is new again. The ids ride on the head, which every
// append writes anyway: no record of their own per command.
const (
	RecentCommands    = 8
	RecentCommandsFor = 24 * time.Hour
)

// CommandRecord is one recent command id as a stream's head keeps it: the
// request's fingerprint, and the versions it appended, from which its first
// result is read again.
type CommandRecord struct {
	ID          string
	Fingerprint string
	From, To    int64
	// At is its first event's time, to the second.
	At time.Time
}

// ErrCommandReused is matched by every *CommandReusedError.
var ErrCommandReused = errors.New("command id reused for another request")

// CommandReusedError says an append's command id is among its stream's
// recent ones with another request's fingerprint: another route, stream,
// fields or actor. Nothing was appended.
type CommandReusedError struct {
	Stream    StreamRef
	CommandID string
}

func (e *CommandReusedError) Error() string {
	return fmt.Sprintf("stream %s: command id %s was used for another request", e.Stream, e.CommandID)
}

// Is lets errors.Is(err, ErrCommandReused) match.
func (e *CommandReusedError) Is(target error) bool { return target == ErrCommandReused }

// errKeyReused is what a handler answers for a reused command id: a 422
// with the contract's code.
func errKeyReused(stream StreamRef, id string) *Error {
	return Errorf(Invalid, "IdempotencyKeyReused", "commandId %s was used before on %s for another request; send a new one", id, stream)
}

// RequestFingerprint identifies the request a command id was sent with: the
// actor, the request's name (the HTTP route, or the command's name), the
// stream and the command's fields (their JSON), hashed. The same id with
// another fingerprint is another request.
func RequestFingerprint(actor, request string, stream StreamRef, fields []byte) string {
	h := sha256.New()
	for _, part := range [][]byte{[]byte(actor), []byte(request), []byte(stream.Type), []byte(stream.ID), fields} {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(part)))
		h.Write(n[:])
		h.Write(part)
	}
	// 72 bits: enough to tell two requests with one key apart, short
	// enough to keep eight in a head item.
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:9])
}

// FindCommand returns the record of command id among recent.
func FindCommand(recent []CommandRecord, id string) (CommandRecord, bool) {
	for _, c := range recent {
		if c.ID == id {
			return c, true
		}
	}
	return CommandRecord{}, false
}

// RepeatOf says what an append of req is, at time now, to a stream whose
// head holds recent: nil when its command id is new (or it has none, or was
// first sent more than RecentCommandsFor before now); a *CommandReusedError
// when the id is there with another fingerprint; else the record of the
// first command, whose events the store reads to answer with a
// *DuplicateCommandError. The window holds when the id is read, not only
// when the head is next written: an id a day old is new even on a stream
// written nothing since. A zero now checks no time.
func RepeatOf(recent []CommandRecord, req AppendRequest, now time.Time) (*CommandRecord, error) {
	if req.CommandID == "" {
		return nil, nil
	}
	c, ok := FindCommand(recent, req.CommandID)
	if !ok || expired(c, now) {
		return nil, nil
	}
	if c.Fingerprint != req.Fingerprint {
		return nil, &CommandReusedError{Stream: req.Stream, CommandID: req.CommandID}
	}
	return &c, nil
}

// expired says c is out of the window at now (to the second, as NextCommands
// drops it).
func expired(c CommandRecord, now time.Time) bool {
	return !now.IsZero() && !c.At.IsZero() && c.At.Add(RecentCommandsFor).Before(now.Truncate(time.Second))
}

// AppendTime is the time an append happens at, as a store without a clock
// of its own knows it: its first event's.
func AppendTime(req AppendRequest) time.Time {
	if len(req.Events) > 0 {
		return req.Events[0].Time
	}
	return time.Time{}
}

// NextCommands is the list a head keeps after req is appended to a head
// holding recent: req's command (if it names one) added newest last, those
// beyond RecentCommands and older than RecentCommandsFor dropped. The time is
// the first event's, so a store needs no clock of its own.
func NextCommands(recent []CommandRecord, req AppendRequest) []CommandRecord {
	at := AppendTime(req).Truncate(time.Second)
	next := make([]CommandRecord, 0, min(len(recent)+1, RecentCommands))
	keep := recent
	if req.CommandID != "" && len(keep) >= RecentCommands {
		keep = keep[len(keep)-RecentCommands+1:]
	} else if len(keep) > RecentCommands {
		keep = keep[len(keep)-RecentCommands:]
	}
	for _, c := range keep {
		if expired(c, at) {
			continue
		}
		next = append(next, c)
	}
	if req.CommandID != "" {
		next = append(next, CommandRecord{
			ID: req.CommandID, Fingerprint: req.Fingerprint,
			From: req.Expected + 1, To: req.Expected + int64(len(req.Events)), At: at,
		})
	}
	if len(next) == 0 {
		return nil
	}
	return next
}

// EncodeCommands is recent as stores keep it beside the head: a JSON array
// of [id, fingerprint, from, to, unix seconds], oldest first; "" for none.
func EncodeCommands(recent []CommandRecord) string {
	if len(recent) == 0 {
		return ""
	}
	var b bytes.Buffer
	b.WriteByte('[')
	for i, c := range recent {
		if i > 0 {
			b.WriteByte(',')
		}
		row := []any{c.ID, c.Fingerprint, c.From, c.To, c.At.Unix()}
		if c.At.IsZero() {
			row[4] = 0
		}
		enc, _ := json.Marshal(row) // strings and numbers: cannot fail
		b.Write(enc)
	}
	b.WriteByte(']')
	return b.String()
}

// DecodeCommands reads what EncodeCommands wrote.
func DecodeCommands(s string) ([]CommandRecord, error) {
	if s == "" {
		return nil, nil
	}
	var rows [][]json.RawMessage
	if err := json.Unmarshal([]byte(s), &rows); err != nil {
		return nil, fmt.Errorf("recent commands: %w", err)
	}
	out := make([]CommandRecord, 0, len(rows))
	for i, row := range rows {
		var c CommandRecord
		var at int64
		if len(row) != 5 {
			return nil, fmt.Errorf("recent command %d: %d fields, want 5", i, len(row))
		}
		for j, to := range []any{&c.ID, &c.Fingerprint, &c.From, &c.To, &at} {
			if err := json.Unmarshal(row[j], to); err != nil {
				return nil, fmt.Errorf("recent command %d field %d: %w", i, j, err)
			}
		}
		if at != 0 {
			c.At = time.Unix(at, 0).UTC()
		}
		out = append(out, c)
	}
	return out, nil
}
