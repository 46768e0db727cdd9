package testsupport

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"testing"
	"time"
)

// Process is a server a test package started: in a process group of its own,
// its output's last bytes kept for a failure's message.
type Process struct {
	Out *TailBuffer

	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited and been reaped
	err  error         // how it exited; read only after done is closed
}

// StartProcess starts cmd, its output going to p.Out. On Linux it dies with
// the test binary, however that ends.
func StartProcess(cmd *exec.Cmd) (*Process, error) {
	p := &Process{Out: &TailBuffer{Max: 16 << 10}, cmd: cmd, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.Out, p.Out
	cmd.SysProcAttr = sysProcAttr()
	cmd.WaitDelay = time.Second
	started := make(chan error, 1)
	go func() {
		// On Linux the child is killed when the thread that started it ends
		// (Pdeathsig); this goroutine holds that thread for exactly the life
		// of the process, so a test binary that dies leaves no server behind.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		p.err = cmd.Wait()
		close(p.done)
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return p, nil
}

// Done is closed when the process has exited and been reaped.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err is how the process exited; call it only after Done is closed.
func (p *Process) Err() error { return p.err }

// Pid is the process's id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Kill kills the process's whole group, as a crash would, and reports
// whether it has exited within timeout.
func (p *Process) Kill(timeout time.Duration) bool {
	killGroup(p.cmd.Process)
	select {
	case <-p.done:
		return true
	case <-time.After(timeout):
		return false
	}
}

// FreePort returns a TCP port free on host ("127.0.0.1", or "" for all
// addresses) a moment ago; another process may take it before the caller.
func FreePort(host string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// ErrNotInstalled marks a start that failed because a dependency is missing,
// as opposed to one that failed for a reason worth a red test.
var ErrNotInstalled = errors.New("not installed")

// SkipOrFail skips the test when err is ErrNotInstalled outside CI, and fails
// it otherwise: CI installs the dependencies first, so missing means broken.
// pkg prefixes the message.
func SkipOrFail(t testing.TB, pkg string, err error) {
	t.Helper()
	if errors.Is(err, ErrNotInstalled) && !InCI() {
		t.Skipf("%s: %v", pkg, err)
	}
	t.Fatalf("%s: %v", pkg, err)
}

// InCI reports whether the CI environment variable is set to a true value
// (CI=true, as CI services set it), where missing test dependencies are
// failures.
func InCI() bool {
	ci, _ := strconv.ParseBool(os.Getenv("CI"))
	return ci
}
