package es_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/foldboard/foldboard/es"
)

func TestParseStreamRef(t *testing.T) {
	long := strings.Repeat("a", 64)
	for _, tc := range []struct {
		in   string
		want es.StreamRef
		ok   bool
	}{
		{"match/m-1", es.StreamRef{Type: "match", ID: "m-1"}, true},
		{"cart/C_2.x", es.StreamRef{Type: "cart", ID: "C_2.x"}, true},
		{"post/" + long, es.StreamRef{Type: "post", ID: long}, true},
		{"post/" + long + "a", es.StreamRef{}, false},
		{"match", es.StreamRef{}, false},
		{"/m-1", es.StreamRef{}, false},
		{"match/", es.StreamRef{}, false},
		{"match/m 1", es.StreamRef{}, false},
		{"match/m/1", es.StreamRef{}, false},
		{"mätch/m-1", es.StreamRef{}, false},
		{"", es.StreamRef{}, false},
	} {
		got, err := es.ParseStreamRef(tc.in)
		if (err == nil) != tc.ok || (tc.ok && got != tc.want) {
			t.Errorf("ParseStreamRef(%q) = %+v, %v; want %+v, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
		if tc.ok && got.String() != tc.in {
			t.Errorf("ParseStreamRef(%q).String() = %q", tc.in, got.String())
		}
	}
}

func TestValidID(t *testing.T) {
	for id, want := range map[string]bool{
		"a": true, "A-z_0.9": true, strings.Repeat("x", 64): true,
		"": false, strings.Repeat("x", 65): false, "a b": false, "a/b": false, "a#b": false,
		"é": false, "a\n": false, "01HZX3J5": true,
	} {
		if got := es.ValidID(id); got != want {
			t.Errorf("ValidID(%q) = %v, want %v", id, got, want)
		}
	}
}

func TestEnvelopeJSONRoundTrip(t *testing.T) {
	at := time.Date(2026, 3, 14, 15, 9, 26, 535_000_000, time.FixedZone("NZDT", 13*3600))
	env := es.Envelope{
		ID: es.NewULID(at), Stream: es.StreamRef{Type: "match", ID: "m-1"}, Version: 7, Type: "BallBowled",
		SchemaVersion: 2, Time: at, Actor: "ana", CorrelationID: "corr", CausationID: "cause", CommandID: "c-1",
		Data: json.RawMessage(`{"runs":4}`), Position: "42",
	}
	b, err := json.Marshal(env)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"stream":"match/m-1"`) || !strings.Contains(string(b), `"time":"2026-03-14T02:09:26.535Z"`) {
		t.Errorf("JSON %s: want the stream as type/id and the time in UTC", b)
	}
	if strings.Contains(string(b), "42") {
		t.Errorf("JSON %s carries the store's position", b)
	}
	var back es.Envelope
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	want := env
	want.Position = ""
	if !back.Time.Equal(want.Time) {
		t.Errorf("time %v, want %v", back.Time, want.Time)
	}
	back.Time, want.Time = time.Time{}, time.Time{}
	if !reflect.DeepEqual(back, want) {
		t.Errorf("round trip = %+v, want %+v", back, want)
	}

	empty, _ := json.Marshal(es.Envelope{Stream: es.StreamRef{Type: "a", ID: "b"}})
	if !strings.Contains(string(empty), `"data":{}`) {
		t.Errorf("an envelope without data marshals as %s, want data {}", empty)
	}
	if err := json.Unmarshal([]byte(`{"stream":"no-slash"}`), &back); err == nil {
		t.Error("unmarshalling a bad stream name succeeded")
	}
}

func TestErrorsMatchTheirSentinels(t *testing.T) {
	conflict := fmt.Errorf("handling: %w", &es.ConflictError{Stream: es.StreamRef{Type: "a", ID: "b"}, Expected: 1, Actual: -1})
	if !errors.Is(conflict, es.ErrConflict) || errors.Is(conflict, es.ErrDuplicateCommand) {
		t.Errorf("%v: want it to match ErrConflict only", conflict)
	}
	if !strings.Contains(conflict.Error(), "moved on") {
		t.Errorf("a conflict with an unknown actual version says %q", conflict)
	}
	dup := fmt.Errorf("handling: %w", &es.DuplicateCommandError{CommandID: "c"})
	if !errors.Is(dup, es.ErrDuplicateCommand) || errors.Is(dup, es.ErrConflict) {
		t.Errorf("%v: want it to match ErrDuplicateCommand only", dup)
	}
	missing := es.Errorf(es.Missing, "NoMatch", "match %s not found", "m-1")
	if !errors.Is(missing, es.ErrNotFound) || errors.Is(es.Errorf(es.Refused, "X", ""), es.ErrNotFound) {
		t.Error("only a Missing domain error should match ErrNotFound")
	}
	if !errors.Is(fmt.Errorf("w: %w", missing), &es.Error{Code: "NoMatch"}) || errors.Is(missing, &es.Error{Code: "Other"}) {
		t.Error("domain errors should match by code")
	}
	if missing.Error() != "NoMatch: match m-1 not found" {
		t.Errorf("Error() = %q", missing.Error())
	}
	for k, want := range map[es.Kind]string{es.Invalid: "invalid", es.Refused: "refused", es.Forbidden: "forbidden", es.Missing: "missing", 9: "Kind(9)"} {
		if k.String() != want {
			t.Errorf("Kind(%d).String() = %q, want %q", int(k), k.String(), want)
		}
	}
}

func TestFoldEvolvesInOrder(t *testing.T) {
	got := es.Fold(evolveTally, tally{}, []es.Event{added{N: 1}, added{N: 2}, cleared{}, added{N: 3}, closed{}})
	if want := (tally{Total: 3, Items: []int{3}, Closed: true}); !reflect.DeepEqual(got, want) {
		t.Errorf("Fold = %+v, want %+v", got, want)
	}
}

func TestNewULIDIsMonotonic(t *testing.T) {
	at := time.Now()
	prev := ""
	for range 1000 {
		id := es.NewULID(at)
		if len(id) != 26 || id <= prev {
			t.Fatalf("ULID %q after %q: want 26 characters, increasing within a millisecond", id, prev)
		}
		prev = id
	}
}
