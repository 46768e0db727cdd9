package redistest

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/foldboard/foldboard/internal/testsupport"
)

const (
	// Seen here: a few milliseconds; a busy CI machine may take longer.
	startTimeout = 20 * time.Second
	stopTimeout  = 10 * time.Second
)

// Server is a redis-server process that this package started.
type Server struct {
	bin  string
	port int

	mu   sync.Mutex
	proc *testsupport.Process // nil while stopped
}

// NewServer starts a redis-server of the test's own on a free loopback port.
// t.Cleanup stops it. Use it for tests of what happens when Redis goes away
// and comes back; others should share one server through URL.
func NewServer(t testing.TB) *Server {
	t.Helper()
	s, err := startServer()
	if err != nil {
		skipOrFail(t, err)
	}
	t.Cleanup(func() {
		if err := s.stop(); err != nil {
			t.Errorf("redistest: %v", err)
		}
	})
	return s
}

// Addr is the server's host:port. It stays the same across Stop and Start.
func (s *Server) Addr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
}

// URL is the server's address as go-redis's ParseURL reads it,
// redis://127.0.0.1:PORT/0. It stays the same across Stop and Start.
func (s *Server) URL() string {
	return "redis://" + s.Addr() + "/0"
}

// Stop kills the server, as a crash would, and waits until it has gone.
// Everything it held is lost; connections are cut.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	if err := s.stop(); err != nil {
		t.Fatalf("redistest: %v", err)
	}
}

// Start starts a stopped server again, empty, on the same port and waits
// until it answers.
func (s *Server) Start(t testing.TB) {
	t.Helper()
	if err := s.start(); err != nil {
		t.Fatalf("redistest: %v", err)
	}
}

// Restart is Stop followed by Start.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop(t)
	s.Start(t)
}

// startServer starts redis-server on a free loopback port.
func startServer() (*Server, error) {
	bin, err := locate()
	if err != nil {
		return nil, err
	}
	// Between finding a free port and redis-server binding it, another
	// process may take it; that shows as an early exit, and a new port helps.
	for attempt := 1; ; attempt++ {
		port, err := testsupport.FreePort("127.0.0.1")
		if err != nil {
			return nil, err
		}
		s := &Server{bin: bin, port: port}
		err = s.start()
		if err == nil {
			return s, nil
		}
		if !errors.Is(err, errAddrInUse) || attempt == 3 {
			return nil, err
		}
	}
}

// locate finds redis-server, or says how to install it.
func locate() (string, error) {
	if bin := os.Getenv(BinaryEnv); bin != "" {
		if _, err := os.Stat(bin); err != nil {
			return "", fmt.Errorf("redis-server %w at %s=%s", errNotInstalled, BinaryEnv, bin)
		}
		return bin, nil
	}
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return "", fmt.Errorf("redis-server %w: run `make deps` (scripts/deps.sh redis, "+
			"which runs apt-get install redis-server), set %s to the binary, or %s to a running Redis",
			errNotInstalled, BinaryEnv, URLEnv)
	}
	return bin, nil
}

var errAddrInUse = errors.New("address already in use")

func (s *Server) args() []string {
	return []string{
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		// Nothing kept: a restart is an empty Redis.
		"--save", "",
		"--appendonly", "no",
		"--daemonize", "no",
		"--logfile", "",
	}
}

func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		return fmt.Errorf("redis-server on port %d is already running", s.port)
	}
	cmd := exec.Command(s.bin, s.args()...)
	// It writes nothing (no persistence), but needs a directory to run in.
	cmd.Dir = os.TempDir()
	p, err := testsupport.StartProcess(cmd)
	if err != nil {
		return fmt.Errorf("starting redis-server: %w", err)
	}
	if err := waitUntilReady(p, s.Addr(), time.Now().Add(startTimeout)); err != nil {
		p.Kill(stopTimeout)
		return fmt.Errorf("starting redis-server on port %d: %w\n%s", s.port, err, p.Out)
	}
	s.proc = p
	return nil
}

// waitUntilReady waits until the server answers PING at addr, or the process
// exits, or the deadline passes.
func waitUntilReady(p *testsupport.Process, addr string, deadline time.Time) error {
	for {
		select {
		case <-p.Done():
			if strings.Contains(p.Out.String(), "Address already in use") {
				return errAddrInUse
			}
			return fmt.Errorf("it exited early (%v)", p.Err())
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("it did not answer within %v", startTimeout)
		}
		if pongs(addr) {
			return nil
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// pongs reports whether a Redis at addr answers PING (and not, say, with
// -LOADING).
func pongs(addr string) bool {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	return err == nil && line == "+PONG\r\n"
}

func (s *Server) stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return nil
	}
	p := s.proc
	s.proc = nil
	if !p.Kill(stopTimeout) {
		return fmt.Errorf("redis-server (pid %d) did not exit within %v of SIGKILL", p.Pid(), stopTimeout)
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
