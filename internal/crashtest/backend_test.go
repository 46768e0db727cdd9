package crashtest

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	_ "modernc.org/sqlite" // the "sqlite" driver, for PRAGMA integrity_check

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/es/sqlite"
)

// backend is a store the binary runs on, and the same store opened by the
// test for its checks. Every test runs on each of them.
type backend struct {
	// args and env make the binary use the store.
	args []string
	env  []string
	// open opens the store in the test process.
	open func(t *testing.T) opened
	// afterKill checks the store's own files after a kill -9; nil when the
	// store has none of its own to check.
	afterKill func(t *testing.T)
}

// opened is a store opened by the test.
type opened struct {
	store es.Store
	rm    es.ReadModelStore
	feed  es.Feed
	close func() error
}

// backends are the stores to test, by name. DynamoDB joins them once main
// can serve it (-store dynamodb).
var backends = []struct {
	name string
	make func(t *testing.T) backend
}{
	{"sqlite", sqliteBackend},
}

func sqliteBackend(t *testing.T) backend {
	path := filepath.Join(t.TempDir(), "foldboard.db")
	return backend{
		args: []string{"-db", path},
		open: func(t *testing.T) opened {
			t.Helper()
			s, err := sqlite.Open(context.Background(), path)
			if err != nil {
				t.Fatalf("opening %s: %v", path, err)
			}
			return opened{store: s, rm: s, feed: s.Feed(), close: s.Close}
		},
		afterKill: func(t *testing.T) { checkSQLiteFile(t, path) },
	}
}

// checkSQLiteFile opens the file as the driver does after a crash (replaying
// its write-ahead log) and asks SQLite to check every page, index and
// foreign key.
func checkSQLiteFile(t *testing.T, path string) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var res string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&res); err != nil {
		t.Fatalf("PRAGMA integrity_check: %v", err)
	}
	if res != "ok" {
		t.Fatalf("PRAGMA integrity_check after kill -9: %s", res)
	}
	rows, err := db.Query(`PRAGMA foreign_key_check`)
	if err != nil {
		t.Fatalf("PRAGMA foreign_key_check: %v", err)
	}
	defer rows.Close()
	if rows.Next() {
		t.Fatalf("PRAGMA foreign_key_check after kill -9 found a row that refers to nothing")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}
