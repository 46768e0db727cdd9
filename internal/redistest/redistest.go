// Package redistest gives tests a real Redis to talk to: the one that
// REDISTEST_URL names, or a redis-server that it starts itself on a free
// loopback port, once per test binary, and stops when the tests are done.
//
// A package whose tests use it calls Main from its TestMain:
//
//	func TestMain(m *testing.M) { redistest.Main(m) }
//
// and each test takes the URL and a key prefix of its own, so that tests
// sharing one Redis never see each other's keys:
//
//	url, prefix := redistest.URL(t), redistest.Prefix(t)
//
// A test that needs to stop Redis under the code it tests, and start it again
// on the same port, starts a server of its own with NewServer.
//
// redis-server is looked for in $REDIS_SERVER, or else on the PATH, where
// scripts/deps.sh (make deps) puts it (Debian's redis-server package). The
// servers started here keep nothing on disk (no --save rules, --appendonly no): one
// stopped and started again is empty, as a restarted cache node is. When
// redis-server is missing, the tests that need it skip, unless CI is set
// (CI=true), where they fail: CI installs it first, so missing means broken.
package redistest

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
)

// URLEnv names an already running Redis to use instead of starting one, as
// a redis:// URL.
const URLEnv = "REDISTEST_URL"

// BinaryEnv names the redis-server binary to run instead of the PATH's.
const BinaryEnv = "REDIS_SERVER"

var (
	underMain atomic.Bool

	shared struct {
		once   sync.Once
		server *Server // nil when URLEnv is used or the start failed
		url    string
		err    error
	}
)

// Main runs the tests and then stops the shared redis-server, if one was
// started, and exits. Call it from TestMain.
func Main(m *testing.M) {
	os.Exit(Run(m))
}

// Run is Main for a TestMain that has more to set up and tear down: it runs
// the tests, stops the shared redis-server and returns the exit code.
func Run(m *testing.M) int {
	underMain.Store(true)
	defer underMain.Store(false)
	defer stopShared()
	return m.Run()
}

func stopShared() {
	if shared.server != nil {
		if err := shared.server.stop(); err != nil {
			fmt.Fprintf(os.Stderr, "redistest: stopping redis-server: %v\n", err)
		}
	}
}

// URL returns the address of the Redis the test binary shares, such as
// redis://127.0.0.1:41234/0: REDISTEST_URL when set, or else a redis-server
// started on the first call on a free loopback port.
func URL(t testing.TB) string {
	t.Helper()
	if !underMain.Load() {
		t.Fatal("redistest: the shared redis-server is stopped by redistest.Main; " +
			"add `func TestMain(m *testing.M) { redistest.Main(m) }` to this package's tests")
	}
	shared.once.Do(func() {
		if u := os.Getenv(URLEnv); u != "" {
			shared.url = u
			return
		}
		s, err := startServer()
		if err != nil {
			shared.err = err
			return
		}
		shared.server, shared.url = s, s.URL()
	})
	if shared.err != nil {
		skipOrFail(t, shared.err)
	}
	return shared.url
}

var unsafeKeyChars = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// Prefix returns a key prefix of the test's own, such as
// "TestFollow_resumes-3f9a1c2e.", so that tests sharing a Redis, and runs
// sharing a long-lived one, never see each other's keys.
func Prefix(t testing.TB) string {
	t.Helper()
	name := unsafeKeyChars.ReplaceAllString(t.Name(), "_")
	if len(name) > 100 {
		name = name[:100]
	}
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("redistest: %v", err)
	}
	return name + "-" + hex.EncodeToString(b[:]) + "."
}

// errNotInstalled marks a start that failed because redis-server is missing,
// as opposed to one that failed for a reason worth a red test.
var errNotInstalled = testsupport.ErrNotInstalled

func skipOrFail(t testing.TB, err error) {
	t.Helper()
	testsupport.SkipOrFail(t, "redistest", err)
}

// InCI reports whether the CI environment variable is set to a true value
// (CI=true, as CI services set it), where missing test dependencies are
// failures.
func InCI() bool { return testsupport.InCI() }
