// Package dynamotest gives tests a real DynamoDB to talk to: the one that
// AWS_ENDPOINT_URL_DYNAMODB names, or a DynamoDB Local that it starts itself,
// once per test binary, and stops when the tests are done.
//
// A package whose tests use it calls Main from its TestMain:
//
//	func TestMain(m *testing.M) { dynamotest.Main(m) }
//
// and each test takes the endpoint, or a client for it, and its own table names:
//
//	db := dynamotest.Client(t)
//	table := dynamotest.TablePrefix(t) + "events"
//
// A test that needs to stop and start DynamoDB under the code it tests starts a
// server of its own with NewServer.
//
// DynamoDB Local is looked for in $DYNAMODB_LOCAL_DIR, or else
// ~/.cache/foldboard/dynamodb-local, where scripts/deps.sh (make deps) puts it.
// When it or Java is missing, the tests that need it skip, unless CI is set
// (CI=true), where they fail: CI installs it first, so missing means broken.
package dynamotest

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/foldboard/foldboard/internal/testsupport"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodbstreams"
)

// EndpointEnv names an already running DynamoDB to use instead of starting one.
const EndpointEnv = "AWS_ENDPOINT_URL_DYNAMODB"

// Region is the region of the clients this package makes. The DynamoDB Local
// started here runs with -sharedDb, so clients in other regions or with other
// keys, such as the application's own, see the same tables. One started
// elsewhere without -sharedDb (Docker's amazon/dynamodb-local, by default)
// keeps a database per access key and region.
const Region = "us-east-1"

var (
	underMain atomic.Bool

	shared struct {
		once     sync.Once
		server   *Server // nil when EndpointEnv is used or the start failed
		endpoint string
		err      error
	}
)

// Main runs the tests and then stops the shared DynamoDB Local, if one was
// started, and exits. Call it from TestMain.
func Main(m *testing.M) {
	os.Exit(Run(m))
}

// Run is Main for a TestMain that has more to set up and tear down: it runs the
// tests, stops the shared DynamoDB Local and returns the exit code.
func Run(m *testing.M) int {
	underMain.Store(true)
	defer underMain.Store(false)
	defer stopShared()
	return m.Run()
}

func stopShared() {
	if shared.server != nil {
		if err := shared.server.stop(); err != nil {
			fmt.Fprintf(os.Stderr, "dynamotest: stopping DynamoDB Local: %v\n", err)
		}
	}
}

// Endpoint returns the address of the DynamoDB the test binary shares, such as
// http://127.0.0.1:41234: AWS_ENDPOINT_URL_DYNAMODB when set, or else a
// DynamoDB Local started on the first call, in memory, on a free port.
func Endpoint(t testing.TB) string {
	t.Helper()
	if !underMain.Load() {
		t.Fatal("dynamotest: the shared DynamoDB Local is stopped by dynamotest.Main; " +
			"add `func TestMain(m *testing.M) { dynamotest.Main(m) }` to this package's tests")
	}
	shared.once.Do(func() {
		if ep := os.Getenv(EndpointEnv); ep != "" {
			shared.endpoint = ep
			return
		}
		s, err := startServer("")
		if err != nil {
			shared.err = err
			return
		}
		shared.server, shared.endpoint = s, s.Endpoint()
	})
	if shared.err != nil {
		skipOrFail(t, shared.err)
	}
	return shared.endpoint
}

// Fresh restarts the shared DynamoDB Local, so that the test meets an empty
// one in a fresh JVM, and returns its endpoint; tables made before are gone.
// For benchmarks: DynamoDB Local slows with what has been written to it (its
// GetRecords by about a millisecond per 1,000 records, across tables), so a
// benchmark late in a run would otherwise measure the run's history. With
// AWS_ENDPOINT_URL_DYNAMODB set, nothing is restarted.
func Fresh(t testing.TB) string {
	t.Helper()
	endpoint := Endpoint(t)
	if shared.server != nil {
		shared.server.Restart(t)
	}
	return endpoint
}

// Client returns a client for the shared DynamoDB (see Endpoint).
func Client(t testing.TB) *dynamodb.Client {
	t.Helper()
	return NewClient(Endpoint(t))
}

// NewClient returns a client for the DynamoDB at endpoint with static
// credentials. It reads no environment or shared AWS configuration, so a
// developer's ~/.aws cannot change what a test does.
func NewClient(endpoint string) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:       Region,
		Credentials:  credentials.NewStaticCredentialsProvider("dynamotest", "dynamotest", ""),
		BaseEndpoint: aws.String(endpoint),
		// DynamoDB Local's CRC32 header does not always match the body it sends
		// (seen after failed conditional writes); the SDK then logs noise.
		DisableValidateResponseChecksum: true,
	})
}

// NewStreamsClient returns a DynamoDB Streams client for endpoint (DynamoDB
// Local serves Streams on its one endpoint), with the same region and static
// credentials as NewClient.
func NewStreamsClient(endpoint string) *dynamodbstreams.Client {
	return dynamodbstreams.New(dynamodbstreams.Options{
		Region:       Region,
		Credentials:  credentials.NewStaticCredentialsProvider("dynamotest", "dynamotest", ""),
		BaseEndpoint: aws.String(endpoint),
	})
}

var unsafeTableChars = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// TablePrefix returns a table-name prefix of the test's own, such as
// "TestAppend_conflict-3f9a1c2e.", so that tests sharing a DynamoDB, and runs
// sharing a long-lived one, never see each other's tables.
func TablePrefix(t testing.TB) string {
	t.Helper()
	name := unsafeTableChars.ReplaceAllString(t.Name(), "_")
	// Table names are at most 255 characters; leave room for the base name.
	if len(name) > 100 {
		name = name[:100]
	}
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("dynamotest: %v", err)
	}
	return name + "-" + hex.EncodeToString(b[:]) + "."
}

// errNotInstalled marks a start that failed because DynamoDB Local or Java is
// missing, as opposed to one that failed for a reason worth a red test.
var errNotInstalled = testsupport.ErrNotInstalled

func skipOrFail(t testing.TB, err error) {
	t.Helper()
	testsupport.SkipOrFail(t, "dynamotest", err)
}

// InCI reports whether the CI environment variable is set to a true value
// (CI=true, as CI services set it), where missing test dependencies are failures.
func InCI() bool { return testsupport.InCI() }
