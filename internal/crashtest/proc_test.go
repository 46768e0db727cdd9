package crashtest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/foldboard/foldboard/internal/dynamotest"
	"github.com/foldboard/foldboard/internal/testsupport"
)

// The binary is built once per test binary, into a directory TestMain removes.
var build struct {
	once sync.Once
	dir  string
	path string
	err  error
	took time.Duration
}

func TestMain(m *testing.M) {
	code := dynamotest.Run(m)
	if build.dir != "" {
		os.RemoveAll(build.dir)
	}
	os.Exit(code)
}

// binary returns the path of foldboard built from this checkout.
func binary(t testing.TB) string {
	t.Helper()
	build.once.Do(func() {
		build.dir, build.err = os.MkdirTemp("", "foldboard-crashtest-")
		if build.err != nil {
			return
		}
		build.path = filepath.Join(build.dir, "foldboard")
		goTool, err := exec.LookPath("go")
		if err != nil {
			build.err = fmt.Errorf("building foldboard needs the go command on PATH: %w", err)
			return
		}
		args := []string{"build", "-o", build.path}
		if raceEnabled {
			args = append(args, "-race")
		}
		args = append(args, "github.com/foldboard/foldboard")
		begin := time.Now()
		cmd := exec.Command(goTool, args...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			build.err = fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out.String())
		}
		build.took = time.Since(begin)
		t.Logf("foldboard built in %v (race: %v)", build.took.Round(time.Millisecond), raceEnabled)
	})
	if build.err != nil {
		t.Fatalf("building foldboard: %v", build.err)
	}
	return build.path
}

// proc is one run of the binary.
type proc struct {
	cmd    *exec.Cmd
	url    string
	begin  time.Time
	exited chan struct{} // closed once the process has exited and been reaped
	state  *os.ProcessState
	log    *testsupport.TailBuffer // its stderr, the last part of it
}

// startProc runs the binary with args on a free loopback port and returns
// once it has printed its address. A process still running when the test
// ends is killed.
func startProc(t testing.TB, args, env []string) *proc {
	t.Helper()
	p := &proc{exited: make(chan struct{}), log: &testsupport.TailBuffer{Max: 256 << 10}, begin: time.Now()}
	p.cmd = exec.Command(binary(t), args...)
	p.cmd.Env = append(os.Environ(), append([]string{"FOLDBOARD_ADDR=127.0.0.1:0", "FOLDBOARD_SECRET=crashtest-secret", "FOLDBOARD_RATE_LIMIT=0",
		// The load names its clients in X-Actor, as a sign-in proxy would.
		"FOLDBOARD_ACTOR_HEADER=X-Actor", "FOLDBOARD_TRUSTED_PROXIES=127.0.0.0/8",
		// The checks read every stream, private ones too, as an admin.
		"FOLDBOARD_ADMINS=" + verifier}, env...)...)
	p.cmd.Stderr = p.log
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting foldboard: %v", err)
	}
	go func() {
		p.cmd.Wait()
		p.state = p.cmd.ProcessState
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Log(keepLog(t, args, p.log.String()))
		}
	})
	lines := make(chan string, 1)
	go func() {
		r := bufio.NewReader(stdout)
		line, _ := r.ReadString('\n')
		lines <- line
		io.Copy(io.Discard, r)
	}()
	select {
	case line := <-lines:
		i := strings.LastIndex(line, "http://")
		if i < 0 {
			<-p.exited
			t.Fatalf("foldboard printed no address: %q (%v)\n%s", line, p.state, p.log)
		}
		p.url = strings.TrimSpace(line[i:])
	case <-time.After(60 * time.Second):
		t.Fatalf("foldboard printed no address within 60 s\n%s", p.log)
	}
	return p
}

// waitHealthy waits until /healthz answers 200, and says how long after the
// start that was.
func (p *proc) waitHealthy(t testing.TB) time.Duration {
	t.Helper()
	c := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := c.Get(p.url + "/healthz")
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return time.Since(p.begin)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz did not answer 200 within 30 s: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// kill9 kills the process as a crash would and waits until it has gone.
func (p *proc) kill9(t testing.TB) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill -9: %v", err)
	}
	<-p.exited
}

// terminate sends SIGTERM and waits for the exit, at most limit; it returns
// the exit code and how long the exit took.
func (p *proc) terminate(t testing.TB, limit time.Duration) (int, time.Duration) {
	t.Helper()
	begin := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	select {
	case <-p.exited:
	case <-time.After(limit):
		t.Fatalf("foldboard did not exit within %v of SIGTERM", limit)
	}
	return p.state.ExitCode(), time.Since(begin)
}

// isRefusal reports whether a request's error means the server never took
// the request: nothing listens any more.
func isRefusal(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED)
}

// keepLog writes a failed test's process log to a file that outlives the
// test and returns a few lines for the test's output: the path and the log's
// last lines. The whole log in the output (up to 256 KB a process, three
// processes a cluster) would push the failure's own message out of what a CI
// page shows of the end.
func keepLog(t testing.TB, args []string, log string) string {
	const lastLines = 12
	lines := strings.Split(strings.TrimRight(log, "\n"), "\n")
	tail := strings.Join(lines[max(0, len(lines)-lastLines):], "\n")
	name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
	f, err := os.CreateTemp("", "foldboard-crashtest-"+name+"-*.log")
	if err != nil {
		return fmt.Sprintf("foldboard %v: its log could not be kept (%v); its end:\n%s", args, err, tail)
	}
	defer f.Close()
	if _, err := f.WriteString(log); err != nil {
		return fmt.Sprintf("foldboard %v: its log could not be kept (%v); its end:\n%s", args, err, tail)
	}
	return fmt.Sprintf("foldboard %v: its log (the end of it, 256 KB at most) is in %s; its last lines:\n%s", args, f.Name(), tail)
}
