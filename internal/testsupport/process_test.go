package testsupport

import (
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestSkipOrFailSkipsLocallyAndFailsInCI(t *testing.T) {
	err := fmt.Errorf("redis-server %w", ErrNotInstalled)
	for _, ci := range []string{"", "true"} {
		t.Setenv("CI", ci)
		ft := &fakeTB{TB: t}
		func() {
			defer func() { _ = recover() }() // Skipf and Fatalf end the goroutine; fakeTB panics instead
			SkipOrFail(ft, "pkg", err)
		}()
		if want := ci == ""; ft.skipped != want {
			t.Errorf("CI=%q: skipped = %v, want %v", ci, ft.skipped, want)
		}
		if want := ci == "true"; ft.failed != want {
			t.Errorf("CI=%q: failed = %v, want %v", ci, ft.failed, want)
		}
	}
}

func TestSkipOrFailFailsOtherErrorsLocally(t *testing.T) {
	t.Setenv("CI", "")
	ft := &fakeTB{TB: t}
	func() {
		defer func() { _ = recover() }()
		SkipOrFail(ft, "pkg", errors.New("it exited early"))
	}()
	if ft.skipped || !ft.failed {
		t.Errorf("skipped = %v, failed = %v; want a failure", ft.skipped, ft.failed)
	}
}

func TestKillEndsTheProcessAndItsOutputIsKept(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatalf("no sh to run: %v", err)
	}
	p, err := StartProcess(exec.Command(sh, "-c", "echo started; sleep 60 & wait"))
	if err != nil {
		t.Fatal(err)
	}
	for !strings.Contains(p.Out.String(), "started") {
		select {
		case <-p.Done():
			t.Fatalf("exited early (%v): %q", p.Err(), p.Out)
		case <-time.After(5 * time.Millisecond):
		}
	}
	if !p.Kill(10 * time.Second) {
		t.Fatalf("pid %d did not exit after Kill", p.Pid())
	}
	if p.Err() == nil {
		t.Error("Err is nil after SIGKILL; want how it was killed")
	}
}

func TestFreePortCanBeListenedOn(t *testing.T) {
	port, err := FreePort("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		t.Fatalf("listening on the free port %d: %v", port, err)
	}
	l.Close()
}

type fakeTB struct {
	testing.TB
	skipped, failed bool
}

func (f *fakeTB) Helper()                        {}
func (f *fakeTB) Skipf(string, ...any)           { f.skipped = true; panic("skip") }
func (f *fakeTB) Fatalf(string, ...any)          { f.failed = true; panic("fatal") }
func (f *fakeTB) Logf(format string, a ...any)   { f.TB.Logf(format, a...) }
func (f *fakeTB) Errorf(format string, a ...any) { f.TB.Errorf(format, a...) }
