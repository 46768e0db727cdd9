package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/es/estest"
	"github.com/foldboard/foldboard/es/sqlite"
)

func TestSettings(t *testing.T) {
	estest.RunSettings(t, func(t *testing.T) es.Settings {
		s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "settings.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
