package redistest

import (
	"bufio"
	"errors"
	"net"
	"net/url"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestMain(m *testing.M) { Main(m) }

// do sends one command in Redis's inline form and returns the reply's first
// line.
func do(t *testing.T, addr, command string) string {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatalf("dialling %s: %v", addr, err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := conn.Write([]byte(command + "\r\n")); err != nil {
		t.Fatalf("%s: %v", command, err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		t.Fatalf("%s: reading the reply: %v", command, err)
	}
	return strings.TrimRight(line, "\r\n")
}

func addrOf(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "redis" || u.Host == "" {
		t.Fatalf("URL %q: not a redis:// URL (%v)", raw, err)
	}
	return u.Host
}

func TestURLNamesTheSharedServer(t *testing.T) {
	addr := addrOf(t, URL(t))
	key := Prefix(t) + "k"
	if got := do(t, addr, "SET "+key+" v"); got != "+OK" {
		t.Fatalf("SET = %q, want +OK", got)
	}
	if got := do(t, addrOf(t, URL(t)), "EXISTS "+key); got != ":1" {
		t.Fatalf("EXISTS on a second call's URL = %q, want :1 (the same server)", got)
	}
}

func TestStopAndStartKeepThePortAndEmptyTheServer(t *testing.T) {
	s := NewServer(t)
	addr := s.Addr()
	if got := do(t, addr, "SET k v"); got != "+OK" {
		t.Fatalf("SET = %q, want +OK", got)
	}
	pid := s.pid()
	s.Stop(t)
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("after Stop, signalling pid %d: %v; want ESRCH (no such process)", pid, err)
	}
	if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		conn.Close()
		t.Fatal("a connection to the stopped server succeeded")
	}
	s.Start(t)
	if s.Addr() != addr {
		t.Fatalf("address after Start = %s, want %s", s.Addr(), addr)
	}
	if got := do(t, addr, "EXISTS k"); got != ":0" {
		t.Fatalf("EXISTS k after a restart = %q, want :0 (nothing persisted)", got)
	}
}

func TestStartTwiceIsRefused(t *testing.T) {
	s := NewServer(t)
	if err := s.start(); err == nil {
		t.Fatal("start of a running server succeeded")
	}
	s.Stop(t)
	s.Stop(t) // stopping a stopped server is harmless
}

func TestStartOnATakenPortFailsFast(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	bin, err := locate()
	if err != nil {
		skipOrFail(t, err)
	}
	s := &Server{bin: bin, port: l.Addr().(*net.TCPAddr).Port}
	// errAddrInUse comes only from redis-server's exit with its report of
	// the port, never from running out of the start timeout: fast by
	// construction, with no wall-clock bound to assert.
	begin := time.Now()
	if err := s.start(); !errors.Is(err, errAddrInUse) {
		t.Fatalf("start on a taken port: %v; want errAddrInUse", err)
	}
	t.Logf("start on a taken port failed in %v", time.Since(begin))
}

func TestPrefixIsDistinctAndPlain(t *testing.T) {
	plain := regexp.MustCompile(`^[A-Za-z0-9_.-]{3,120}$`)
	for _, name := range []string{"plain", "with spaces/and{braces}", strings.Repeat("x", 300)} {
		t.Run(name, func(t *testing.T) {
			a, b := Prefix(t), Prefix(t)
			if !plain.MatchString(a) {
				t.Errorf("Prefix = %q: want only A-Z a-z 0-9 _ . -", a)
			}
			if a == b {
				t.Errorf("two calls both gave %q", a)
			}
		})
	}
}

func TestMissingInstallIsNotInstalled(t *testing.T) {
	t.Setenv(BinaryEnv, t.TempDir()+"/no-redis-server")
	_, err := locate()
	if !errors.Is(err, errNotInstalled) {
		t.Fatalf("locate of a missing binary: %v; want errNotInstalled", err)
	}
	t.Setenv(BinaryEnv, "")
	t.Setenv("PATH", t.TempDir())
	if _, err := locate(); !errors.Is(err, errNotInstalled) || !strings.Contains(err.Error(), "make deps") {
		t.Fatalf("locate with redis-server off the PATH: %v; want errNotInstalled saying how to install it", err)
	}
}
