package crashtest

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	_ "modernc.org/sqlite" // the "sqlite" driver, for PRAGMA integrity_check

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/es/dynamo"
	"github.com/foldboard/foldboard/es/sqlite"
	"github.com/foldboard/foldboard/internal/dynamotest"
)

// backend is a store the binary runs on, and the same store opened by the
// test for its checks. Every test runs on each of them.
type backend struct {
	// args and env make the binary use the store.
	args []string
	env  []string
	// open opens the store in the test process.
	open func(t testing.TB) opened
	// afterKill checks the store's own files after a kill -9; nil when the
	// store has none of its own to check.
	afterKill func(t *testing.T)
	// repairEvent rewrites an event's type and data in place in the store's
	// own table, as an operator puts right what a faulty writer wrote; nil
	// where the test has no way to (SQLite's file is the binary's).
	repairEvent func(t testing.TB, ref es.StreamRef, version int64, typ, data string)
	// ordered says the feed brings the log in one global order, the same on
	// every replay (SQLite's); DynamoDB Streams orders each stream only, so
	// the read models that follow the order across streams (the event
	// index, the recent rate) are compared as sets there.
	ordered bool
}

// opened is a store opened by the test.
type opened struct {
	store    es.Store
	rm       es.ReadModelStore
	feed     es.Feed
	settings es.Settings
	close    func() error
}

// backends are the stores to test, by name.
var backends = []struct {
	name string
	make func(t testing.TB) backend
}{
	{"sqlite", sqliteBackend},
	{"dynamodb", dynamoBackend},
}

func sqliteBackend(t testing.TB) backend {
	path := filepath.Join(t.TempDir(), "foldboard.db")
	return backend{
		args: []string{"-db", path},
		open: func(t testing.TB) opened {
			t.Helper()
			s, err := sqlite.Open(context.Background(), path)
			if err != nil {
				t.Fatalf("opening %s: %v", path, err)
			}
			return opened{store: s, rm: s, feed: s.Feed(), settings: s, close: s.Close}
		},
		afterKill: func(t *testing.T) { checkSQLiteFile(t, path) },
		ordered:   true,
	}
}

// dynamoBackend runs the binary on tables of the test's own in the test
// binary's DynamoDB Local (or AWS_ENDPOINT_URL_DYNAMODB's), with static
// credentials and no shared AWS configuration. Killing the binary leaves
// DynamoDB running: what is tested is foldboard's part.
func dynamoBackend(t testing.TB) backend {
	endpoint, prefix := dynamotest.Endpoint(t), dynamotest.TablePrefix(t)
	return backend{
		args: []string{"-store", "dynamodb", "-table-prefix", prefix, "-create-tables"},
		env: []string{
			"AWS_ENDPOINT_URL_DYNAMODB=" + endpoint, "AWS_ENDPOINT_URL_DYNAMODB_STREAMS=" + endpoint,
			"AWS_REGION=" + dynamotest.Region, "AWS_ACCESS_KEY_ID=crashtest", "AWS_SECRET_ACCESS_KEY=crashtest",
			"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true",
		},
		open: func(t testing.TB) opened {
			t.Helper()
			streams := dynamotest.NewStreamsClient(endpoint)
			s, err := dynamo.Open(context.Background(), dynamo.Config{
				Client: dynamotest.NewClient(endpoint), Streams: streams, TablePrefix: prefix,
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			})
			if err != nil {
				t.Fatalf("opening the tables %s*: %v", prefix, err)
			}
			return opened{store: s, rm: s, feed: s.Feed(), settings: s, close: func() error { return nil }}
		},
		repairEvent: func(t testing.TB, ref es.StreamRef, version int64, typ, data string) {
			t.Helper()
			// The events table's item (es/dynamo/items.go: pk type#id, sk
			// the version zero-padded to 10 digits).
			_, err := dynamotest.NewClient(endpoint).UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
				TableName: aws.String(prefix + "events"),
				Key: map[string]ddbtypes.AttributeValue{
					"pk": &ddbtypes.AttributeValueMemberS{Value: ref.Type + "#" + ref.ID},
					"sk": &ddbtypes.AttributeValueMemberS{Value: fmt.Sprintf("%010d", version)},
				},
				UpdateExpression:         aws.String("SET eventType = :t, #d = :d"),
				ConditionExpression:      aws.String("attribute_exists(pk)"),
				ExpressionAttributeNames: map[string]string{"#d": "data"},
				ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{
					":t": &ddbtypes.AttributeValueMemberS{Value: typ}, ":d": &ddbtypes.AttributeValueMemberS{Value: data},
				},
			})
			if err != nil {
				t.Fatalf("repairing %s v%d in %sevents: %v", ref, version, prefix, err)
			}
		},
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
