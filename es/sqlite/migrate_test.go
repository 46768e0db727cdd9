package sqlite_test

import (
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/foldboard/foldboard/es"
)

// A file of schema version 1 (heads without their recent command ids, and a
// table of command records) opens: its heads read as before, and its
// streams take appends with command ids, kept in the head from then on.
func TestAVersionOneFileOpensAndKeepsCommandIDsInItsHeads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v1.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`CREATE TABLE heads (stream_type TEXT NOT NULL, stream_id TEXT NOT NULL, version INTEGER NOT NULL,
			state_schema INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (stream_type, stream_id)) STRICT, WITHOUT ROWID`,
		`CREATE TABLE commands (stream_type TEXT NOT NULL, stream_id TEXT NOT NULL, command_id TEXT NOT NULL,
			first_version INTEGER NOT NULL, last_version INTEGER NOT NULL, PRIMARY KEY (stream_type, stream_id, command_id)) STRICT, WITHOUT ROWID`,
		`INSERT INTO heads VALUES ('cart', 'c-old', 2, 1, '{"n":2}')`,
		`PRAGMA user_version = 1`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	db.Close()

	s := openAt(t, path)
	stream := es.StreamRef{Type: "cart", ID: "c-old"}
	if head, err := s.Head(t.Context(), stream); err != nil || head.Version != 2 || string(head.Data) != `{"n":2}` || len(head.Commands) != 0 {
		t.Fatalf("a version 1 head: %+v, %v", head, err)
	}
	now := time.Now().UTC()
	req := es.AppendRequest{
		Stream: stream, Expected: 2, CommandID: "k", Fingerprint: "f",
		Events: []es.Envelope{{ID: es.NewULID(now), Stream: stream, Version: 3, Type: "Ticked", Time: now, Actor: "ana", CommandID: "k", Data: []byte(`{}`)}},
		State:  es.StateRecord{Version: 3, Schema: 1, Data: []byte(`{"n":3}`)},
	}
	if _, err := s.Append(t.Context(), req); err != nil {
		t.Fatalf("append with a command id to the migrated file: %v", err)
	}
	if _, err := s.Append(t.Context(), req); !errors.Is(err, es.ErrDuplicateCommand) {
		t.Fatalf("the same append again: %v, want ErrDuplicateCommand", err)
	}
	if head, err := s.Head(t.Context(), stream); err != nil || len(head.Commands) != 1 || head.Commands[0].ID != "k" {
		t.Fatalf("the head after: %+v, %v; want command k in it", head, err)
	}
}
