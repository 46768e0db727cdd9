package reactions_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/es/sqlite"
)

// row is one line of a reaction's table: given the events of a stream, when
// the last of them is delivered, then the commands the reaction issues.
type row[E es.Event] struct {
	name   string
	stream es.StreamRef
	given  []E
	actor  string // of the given events; "ana" when empty
	then   []es.IssuedCommand
}

// runTable runs each row against a real store holding the given events:
// the reaction reads the state of the event's stream from it, as it does
// when the reactor runs it.
func runTable[E es.Event](t *testing.T, r es.Reaction, events *es.Registry[E], rows []row[E]) {
	t.Helper()
	store := openStore(t)
	for _, rw := range rows {
		t.Run(rw.name, func(t *testing.T) {
			envs := appendGiven(t, store, rw.stream, events, rw.actor, rw.given)
			got, err := r.Commands(t.Context(), store, envs[len(envs)-1])
			if err != nil {
				t.Fatalf("Commands: %v", err)
			}
			if !reflect.DeepEqual(got, rw.then) {
				t.Errorf("commands:\n got %s\nwant %s", show(got), show(rw.then))
			}
			// Pure: the same event gives the same commands, whatever
			// comes after it.
			again, err := r.Commands(t.Context(), store, envs[len(envs)-1])
			if err != nil || !reflect.DeepEqual(again, got) {
				t.Errorf("the same event again gave %s, %v", show(again), err)
			}
		})
	}
}

// givenAt is the time of a table's first given event; each next one comes
// a minute later.
var givenAt = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func appendGiven[E es.Event](t *testing.T, store es.Store, stream es.StreamRef, events *es.Registry[E], actor string, given []E) []es.Envelope {
	t.Helper()
	if actor == "" {
		actor = "ana"
	}
	at := givenAt
	req := es.AppendRequest{Stream: stream, Expected: 0}
	for i, e := range given {
		name, schema, data, err := events.Encode(e)
		if err != nil {
			t.Fatal(err)
		}
		req.Events = append(req.Events, es.Envelope{
			ID: fmt.Sprintf("%s-%s-%d", stream.Type, stream.ID, i+1), Stream: stream, Version: int64(i + 1),
			Type: name, SchemaVersion: schema, Time: at.Add(time.Duration(i) * time.Minute), Actor: actor,
			CorrelationID: "corr-" + stream.ID, Data: data,
		})
	}
	req.State = es.StateRecord{Version: int64(len(given)), Schema: -1, Data: json.RawMessage("{}")}
	res, err := store.Append(t.Context(), req)
	if err != nil {
		t.Fatalf("appending the given events of %s: %v", stream, err)
	}
	return res.Events
}

func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "reactions.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%#v", v)
	}
	return string(b)
}
