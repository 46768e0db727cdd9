package dynamotest

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/foldboard/foldboard/internal/testsupport"
)

// DirEnv names the directory holding DynamoDBLocal.jar and DynamoDBLocal_lib.
const DirEnv = "DYNAMODB_LOCAL_DIR"

const (
	// Seen here: about 2 s; a busy CI machine running several test binaries
	// at once, each starting a JVM, can take much longer.
	startTimeout = 60 * time.Second
	stopTimeout  = 10 * time.Second
)

// Server is a DynamoDB Local process that this package started.
type Server struct {
	dir    string // where DynamoDBLocal.jar is
	java   string
	dbPath string // empty for -inMemory
	port   int

	mu   sync.Mutex
	proc *testsupport.Process // nil while stopped
}

// NewServer starts a DynamoDB Local of the test's own on a free port, keeping
// its data in a t.TempDir() so that it survives Stop and Start. t.Cleanup stops
// it. Use it for tests of what happens when DynamoDB goes away and comes back;
// others should share one server through Endpoint or Client.
func NewServer(t testing.TB) *Server {
	t.Helper()
	s, err := startServer(t.TempDir())
	if err != nil {
		skipOrFail(t, err)
	}
	t.Cleanup(func() {
		if err := s.stop(); err != nil {
			t.Errorf("dynamotest: %v", err)
		}
	})
	return s
}

// Endpoint returns the server's address, http://127.0.0.1:PORT. It stays the
// same across Stop and Start.
func (s *Server) Endpoint() string {
	return "http://127.0.0.1:" + strconv.Itoa(s.port)
}

// Client returns a client for this server. It may be kept across Stop and
// Start: its calls fail while the server is stopped and work again after.
func (s *Server) Client() *dynamodb.Client {
	return NewClient(s.Endpoint())
}

// Stop kills the server, as a crash would, and waits until it has gone. Data
// written before survives (it is on disk); connections are cut.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	if err := s.stop(); err != nil {
		t.Fatalf("dynamotest: %v", err)
	}
}

// Start starts a stopped server again on the same port and waits until it
// answers.
func (s *Server) Start(t testing.TB) {
	t.Helper()
	if err := s.start(); err != nil {
		t.Fatalf("dynamotest: %v", err)
	}
}

// Restart is Stop followed by Start.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop(t)
	s.Start(t)
}

// startServer starts DynamoDB Local on a free port, in memory when dbPath is
// empty, or else keeping its data in dbPath.
func startServer(dbPath string) (*Server, error) {
	dir, java, err := locate()
	if err != nil {
		return nil, err
	}
	// Between finding a free port and DynamoDB Local binding it, another
	// process may take it; that shows as an early exit, and a new port helps.
	for attempt := 1; ; attempt++ {
		// DynamoDB Local has no flag to bind one address: it listens on all of
		// them, so the port must be free on all of them.
		port, err := testsupport.FreePort("")
		if err != nil {
			return nil, err
		}
		s := &Server{dir: dir, java: java, dbPath: dbPath, port: port}
		err = s.start()
		if err == nil {
			return s, nil
		}
		if !errors.Is(err, errAddrInUse) || attempt == 3 {
			return nil, err
		}
	}
}

// locate finds DynamoDB Local and Java, or says how to install them.
func locate() (dir, java string, err error) {
	dir = os.Getenv(DirEnv)
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", "", fmt.Errorf("finding DynamoDB Local: %w", err)
		}
		dir = filepath.Join(home, ".cache", "foldboard", "dynamodb-local")
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return "", "", fmt.Errorf("finding DynamoDB Local: %w", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "DynamoDBLocal.jar")); err != nil {
		return "", "", fmt.Errorf("DynamoDB Local %w in %s (%s): run `make deps` "+
			"(scripts/deps.sh dynamodb), or set %s to a running DynamoDB",
			errNotInstalled, dir, DirEnv, EndpointEnv)
	}
	java, err = exec.LookPath("java")
	if err != nil {
		return "", "", fmt.Errorf("Java (for DynamoDB Local) %w: run `make deps` "+
			"(scripts/deps.sh java), or set %s to a running DynamoDB", errNotInstalled, EndpointEnv)
	}
	return dir, java, nil
}

var errAddrInUse = errors.New("address already in use")

func (s *Server) args() []string {
	args := []string{
		"-Djava.library.path=" + filepath.Join(s.dir, "DynamoDBLocal_lib"),
		"-jar", filepath.Join(s.dir, "DynamoDBLocal.jar"),
		"-port", strconv.Itoa(s.port),
		"-disableTelemetry",
		// One database whatever the credentials and region, so the code under
		// test and the test's own client see the same tables.
		"-sharedDb",
	}
	if s.dbPath == "" {
		return append(args, "-inMemory")
	}
	return append(args, "-dbPath", s.dbPath)
}

func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		return fmt.Errorf("DynamoDB Local on port %d is already running", s.port)
	}
	begin := time.Now()
	cmd := exec.Command(s.java, s.args()...)
	cmd.Dir = s.dir
	p, err := testsupport.StartProcess(cmd)
	if err != nil {
		return fmt.Errorf("starting DynamoDB Local: %w", err)
	}
	if err := waitUntilReady(p, s.port, begin.Add(startTimeout)); err != nil {
		p.Kill(stopTimeout)
		return fmt.Errorf("starting DynamoDB Local on port %d: %w\n%s", s.port, err, p.Out)
	}
	s.proc = p
	return nil
}

// waitUntilReady waits until the port takes connections and DynamoDB answers a
// request on it, or the process exits, or the deadline passes.
func waitUntilReady(p *testsupport.Process, port int, deadline time.Time) error {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	client := &http.Client{
		Timeout:   2 * time.Second,
		Transport: &http.Transport{DisableKeepAlives: true},
	}
	for {
		select {
		case <-p.Done():
			return fmt.Errorf("it exited early (%v)", p.Err())
		default:
		}
		// When it cannot bind its port, DynamoDB Local prints the exception
		// from its main thread but does not exit: its other threads live on.
		if out := p.Out.String(); strings.Contains(out, `Exception in thread "main"`) {
			if strings.Contains(out, "Address already in use") {
				return errAddrInUse
			}
			return errors.New("it failed")
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("it did not answer within %v", startTimeout)
		}
		if answers(client, addr) {
			return nil
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// answers reports whether DynamoDB's API answers at addr. An unsigned
// ListTables is refused (MissingAuthenticationToken), but the refusal comes
// from DynamoDB itself, with its request id, which is all that is asked here.
func answers(client *http.Client, addr string) bool {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	conn.Close()
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/", strings.NewReader("{}"))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810.ListTables")
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.Header.Get("X-Amzn-Requestid") != ""
}

func (s *Server) stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return nil
	}
	p := s.proc
	s.proc = nil
	// SIGKILL, not SIGTERM: DynamoDB Local takes about 2 s to shut down
	// politely, and what it has acknowledged is already on disk.
	if !p.Kill(stopTimeout) {
		return fmt.Errorf("DynamoDB Local (pid %d) did not exit within %v of SIGKILL", p.Pid(), stopTimeout)
	}
	return nil
}

// pid returns the running process's id, or 0 when stopped.
func (s *Server) pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return 0
	}
	return s.proc.Pid()
}
