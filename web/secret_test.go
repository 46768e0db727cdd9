package web

import (
	"bytes"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/es/dynamo"
	"github.com/foldboard/foldboard/es/sqlite"
	"github.com/foldboard/foldboard/internal/dynamotest"
)

func TestInstancesStartedTogetherAgreeOnTheCookieSecret(t *testing.T) {
	stores := map[string]func(t *testing.T) es.Settings{
		"sqlite": func(t *testing.T) es.Settings {
			s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "secret.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
		"dynamodb": func(t *testing.T) es.Settings {
			endpoint := dynamotest.Endpoint(t)
			s, err := dynamo.Open(t.Context(), dynamo.Config{
				Client: dynamotest.NewClient(endpoint), Streams: dynamotest.NewStreamsClient(endpoint),
				TablePrefix: dynamotest.TablePrefix(t), CreateTables: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			})
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
	}
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			settings := open(t)
			keys := make([][]byte, 6)
			var wg sync.WaitGroup
			for i := range keys {
				wg.Go(func() {
					key, err := cookieSecret(t.Context(), settings)
					if err != nil {
						t.Errorf("instance %d: %v", i, err)
					}
					keys[i] = key
				})
			}
			wg.Wait()
			for i, k := range keys {
				if len(k) < 32 || !bytes.Equal(k, keys[0]) {
					t.Fatalf("instance %d signs with another key (%d bytes) than instance 0", i, len(k))
				}
			}
			again, err := cookieSecret(t.Context(), settings)
			if err != nil || !bytes.Equal(again, keys[0]) {
				t.Fatalf("a restart signs with another key: %v", err)
			}
		})
	}
}
