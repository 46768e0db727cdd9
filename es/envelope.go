package es

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// StreamRef names one stream: its type ("match", "cart", "post") and its id.
type StreamRef struct {
	Type string
	ID   string
}

// String is the stream's name as the HTTP interface writes it: "match/m-1".
func (s StreamRef) String() string { return s.Type + "/" + s.ID }

// ParseStreamRef reads "type/id" and validates both parts.
func ParseStreamRef(s string) (StreamRef, error) {
	typ, id, ok := strings.Cut(s, "/")
	if !ok {
		return StreamRef{}, fmt.Errorf("stream %q: want type/id", s)
	}
	ref := StreamRef{Type: typ, ID: id}
	return ref, ref.Validate()
}

// Validate checks both parts against the id alphabet, so that a stream name is
// safe to use in a key or a query.
func (s StreamRef) Validate() error {
	if !ValidID(s.Type) {
		return fmt.Errorf("stream type %q: want 1-64 characters of A-Z a-z 0-9 - _ ., not only dots", s.Type)
	}
	if !ValidID(s.ID) {
		return fmt.Errorf("stream id %q: want 1-64 characters of A-Z a-z 0-9 - _ ., not only dots", s.ID)
	}
	return nil
}

// ValidID reports whether s is 1-64 characters of A-Z a-z 0-9 - _ . — the
// alphabet of stream ids and command ids — and not only dots ("." and ".."
// name no page: a browser folds them out of a path).
func ValidID(s string) bool {
	if len(s) == 0 || len(s) > 64 || strings.Trim(s, ".") == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
		default:
			return false
		}
	}
	return true
}

// Envelope is one stored event: its identity, its place in its stream, who caused
// it, and its payload. Every store keeps every field.
type Envelope struct {
	ID            string // ULID, sortable by creation time
	Stream        StreamRef
	Version       int64 // 1, 2, 3 … within the stream, no gaps
	Type          string
	SchemaVersion int
	Time          time.Time
	Actor         string
	CorrelationID string
	CausationID   string
	CommandID     string
	Data          json.RawMessage
	// Position is the store's own place for the event in its global log, where
	// the store has one (SQLite's row number); empty where it has none.
	Position string
}

type envelopeJSON struct {
	ID            string          `json:"id"`
	Stream        string          `json:"stream"`
	Version       int64           `json:"version"`
	Type          string          `json:"type"`
	SchemaVersion int             `json:"schemaVersion"`
	Time          time.Time       `json:"time"`
	Actor         string          `json:"actor"`
	CorrelationID string          `json:"correlationId,omitempty"`
	CausationID   string          `json:"causationId,omitempty"`
	CommandID     string          `json:"commandId,omitempty"`
	Data          json.RawMessage `json:"data"`
}

// MarshalJSON writes the envelope in the shape of docs/contract.md.
func (e Envelope) MarshalJSON() ([]byte, error) {
	data := e.Data
	if len(data) == 0 {
		data = json.RawMessage("{}")
	}
	return json.Marshal(envelopeJSON{
		ID: e.ID, Stream: e.Stream.String(), Version: e.Version, Type: e.Type,
		SchemaVersion: e.SchemaVersion, Time: e.Time.UTC(), Actor: e.Actor,
		CorrelationID: e.CorrelationID, CausationID: e.CausationID, CommandID: e.CommandID,
		Data: data,
	})
}

// UnmarshalJSON reads the shape MarshalJSON writes.
func (e *Envelope) UnmarshalJSON(b []byte) error {
	var j envelopeJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	ref, err := ParseStreamRef(j.Stream)
	if err != nil {
		return err
	}
	*e = Envelope{
		ID: j.ID, Stream: ref, Version: j.Version, Type: j.Type, SchemaVersion: j.SchemaVersion,
		Time: j.Time, Actor: j.Actor, CorrelationID: j.CorrelationID, CausationID: j.CausationID,
		CommandID: j.CommandID, Data: j.Data,
	}
	return nil
}
