package recoverytest

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/es/dynamo"
	"github.com/foldboard/foldboard/es/sqlite"
	"github.com/foldboard/foldboard/internal/dynamotest"
)

// fixture is a store under test.
type fixture struct {
	store es.Store
	rm    es.ReadModelStore
	feed  es.Feed
	// outage, when set, takes the store away for d and brings it back: its
	// feed and the saves of read models fail meanwhile.
	outage func(t *testing.T, d time.Duration)
	// ordered says the feed brings the log in one global order, the same on
	// every replay (SQLite's); DynamoDB Streams orders each stream only, so
	// read models that depend on the order across streams may differ there.
	ordered bool
	// load scales the number of commands, in percent: DynamoDB Local takes
	// them more slowly.
	load int
}

// stores are the stores every test here runs on.
var stores = []struct {
	name string
	open func(t *testing.T) fixture
}{
	{"sqlite", openSQLite},
	{"dynamodb", openDynamo},
}

func openSQLite(t *testing.T) fixture {
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "recovery.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return fixture{store: s, rm: s, feed: s.Feed(), ordered: true, load: 100}
}

// openDynamo opens a store on a DynamoDB Local of the test's own, with its data
// on disk, so that it can be stopped and started again under the projector.
func openDynamo(t *testing.T) fixture {
	srv := dynamotest.NewServer(t)
	streams := dynamotest.NewStreamsClient(srv.Endpoint())
	s, err := dynamo.Open(context.Background(), dynamo.Config{
		Client: srv.Client(), Streams: streams, TablePrefix: dynamotest.TablePrefix(t),
		CreateTables: true, Logger: discard(), GapTimeout: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	return fixture{
		store: s, rm: s, feed: s.Feed(), load: 50,
		outage: func(t *testing.T, d time.Duration) {
			srv.Stop(t)
			time.Sleep(d)
			srv.Start(t)
		},
	}
}

func discard() *slog.Logger {
	if os.Getenv("RECOVERY_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}
