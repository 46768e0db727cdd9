// Package e2e drives foldboard in a real headless Chromium through
// playwright-go. This file is the harness: one driver and one browser for the
// test binary, started by TestMain; one BrowserContext per test (newContext),
// pages in it (newPage), and a screenshot in e2e/artifacts/ of every page of a
// failed test. Wait on what the user sees with expect (web-first assertions),
// never with time.Sleep.
//
// Needs Chromium (/usr/bin/chromium, or $CHROMIUM) and the Playwright driver
// playwright-go expects; `make deps` installs both. When they are missing the
// tests skip, unless CI=true, where they fail.
package e2e

import (
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/foldboard/foldboard/internal/apptest"
	"github.com/foldboard/foldboard/internal/dynamotest"
	"github.com/playwright-community/playwright-go"
)

// harness is what TestMain started, or why it could not.
var harness struct {
	pw      *playwright.Playwright
	browser playwright.Browser
	err     error
}

// expect makes web-first assertions, which retry until they hold or time out:
// expect.Locator(page.GetByRole("status")).ToHaveText("Saved").
var expect = playwright.NewPlaywrightAssertions()

const artifactsDir = "artifacts"

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	flag.Parse() // for testing.Verbose
	begin := time.Now()
	harness.err = startBrowser()
	if harness.err == nil && testing.Verbose() {
		fmt.Printf("e2e: driver and browser started in %v\n", time.Since(begin).Round(time.Millisecond))
	}
	defer stopBrowser()
	// Through dynamotest, so that tests of a DynamoDB-backed server share one
	// DynamoDB Local that is stopped at the end; it costs nothing unless used.
	return dynamotest.Run(m)
}

// errNotInstalled marks a missing browser or driver, which skips the tests
// locally, as opposed to one that is there but broken, which fails them.
var errNotInstalled = errors.New("not installed")

func startBrowser() error {
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		return fmt.Errorf("Chromium %w at %s (set CHROMIUM to another): run `make deps`", errNotInstalled, chromium)
	}
	if dir, err := driverDir(); err != nil {
		return err
	} else if _, err := os.Stat(filepath.Join(dir, "package", "cli.js")); err != nil {
		return fmt.Errorf("the Playwright driver %w in %s: run `make deps`", errNotInstalled, dir)
	}
	pw, err := playwright.Run(&playwright.RunOptions{SkipInstallBrowsers: true})
	if err != nil {
		return fmt.Errorf("starting the Playwright driver: %w", err)
	}
	browser, err := pw.Chromium.Launch(playwright.BrowserTypeLaunchOptions{
		ExecutablePath: playwright.String(chromium),
		Headless:       playwright.Bool(true),
		// Playwright then passes --no-sandbox, which Chromium needs as root.
		ChromiumSandbox: playwright.Bool(false),
		// Resolve nothing but loopback: the machines have no outside network,
		// and a test must not depend on it. No --disable-features of our own:
		// it would replace Playwright's list.
		Args: []string{"--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"},
	})
	if err != nil {
		_ = pw.Stop()
		return fmt.Errorf("launching Chromium %s: %w", chromium, err)
	}
	harness.pw, harness.browser = pw, browser
	return nil
}

// driverDir is where playwright-go looks for its driver.
func driverDir() (string, error) {
	if dir := os.Getenv("PLAYWRIGHT_DRIVER_PATH"); dir != "" {
		return dir, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("finding the Playwright driver: %w", err)
	}
	d, err := playwright.NewDriver(&playwright.RunOptions{})
	if err != nil {
		return "", fmt.Errorf("finding the Playwright driver: %w", err)
	}
	return filepath.Join(home, ".cache", "ms-playwright-go", d.Version), nil
}

func stopBrowser() {
	if harness.browser != nil {
		if err := harness.browser.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: closing Chromium: %v\n", err)
		}
	}
	if harness.pw != nil {
		if err := harness.pw.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: stopping the Playwright driver: %v\n", err)
		}
	}
}

// newContext returns a fresh browser context signed in as "tester" on app's
// server, a person with their own cookies and storage, closed when the test
// ends: the session cookie goes with every request, the WebSocket's too.
// It skips the test when the browser is not installed, and fails it in CI or
// when the browser is broken.
func newContext(t *testing.T, app *apptest.App) playwright.BrowserContext {
	t.Helper()
	return newContextWith(t, app, playwright.BrowserNewContextOptions{})
}

// anonymousContext is a fresh browser context of no one signed in.
func anonymousContext(t *testing.T) playwright.BrowserContext {
	t.Helper()
	return newContextWith(t, nil, playwright.BrowserNewContextOptions{})
}

// newContextWith is newContext with options (no JavaScript, a viewport);
// signed in as "tester" on app's server, or no one for a nil app.
func newContextWith(t *testing.T, app *apptest.App, opts playwright.BrowserNewContextOptions) playwright.BrowserContext {
	t.Helper()
	if err := harness.err; err != nil {
		if errors.Is(err, errNotInstalled) && !dynamotest.InCI() {
			t.Skipf("e2e: %v", err)
		}
		t.Fatalf("e2e: %v", err)
	}
	ctx, err := harness.browser.NewContext(opts)
	if err != nil {
		t.Fatalf("e2e: new browser context: %v", err)
	}
	t.Cleanup(func() {
		if err := ctx.Close(); err != nil {
			t.Errorf("e2e: closing browser context: %v", err)
		}
	})
	if app != nil {
		url := app.URL
		must(t, ctx.AddCookies([]playwright.OptionalCookie{{Name: sessionCookie, Value: testerSession(t, app), URL: &url}}))
	}
	return ctx
}

const sessionCookie = "foldboard_session"

// testerSession signs "tester" up on app's server (in through the sign-in
// route when an earlier context of the test did) and answers the session
// cookie's value.
func testerSession(t *testing.T, app *apptest.App) string {
	t.Helper()
	body := `{"name":"tester","password":"the tester's password"}`
	for _, route := range []string{"/signup", "/signin"} {
		req, err := http.NewRequest("POST", app.URL+route, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		for _, c := range resp.Cookies() {
			if c.Name == sessionCookie && c.Value != "" && resp.StatusCode < 300 {
				return c.Value
			}
		}
		if resp.StatusCode != http.StatusConflict {
			t.Fatalf("e2e: %s as tester: %s", route, resp.Status)
		}
	}
	t.Fatal("e2e: tester could not sign in")
	return ""
}

// newPage opens a page in ctx, closed when the test ends. If the test has
// failed by then, the page is first saved to e2e/artifacts/. The page's
// uncaught script errors and console errors go to the test's log.
func newPage(t *testing.T, ctx playwright.BrowserContext) playwright.Page {
	t.Helper()
	page, err := ctx.NewPage()
	if err != nil {
		t.Fatalf("e2e: new page: %v", err)
	}
	log := &testLog{t: t}
	page.OnPageError(func(err error) { log.printf("page error: %v", err) })
	page.OnConsole(func(m playwright.ConsoleMessage) {
		if m.Type() == "error" {
			log.printf("console error: %s", m.Text())
		}
	})
	t.Cleanup(func() {
		log.close()
		if t.Failed() {
			screenshot(t, page, "failed")
		}
		if err := page.Close(); err != nil {
			t.Errorf("e2e: closing page: %v", err)
		}
	})
	return page
}

var unsafeFileChars = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// screenshot saves the whole page to e2e/artifacts/<test>-<label>-<n>.png and
// logs where.
func screenshot(t *testing.T, page playwright.Page, label string) {
	t.Helper()
	if err := os.MkdirAll(artifactsDir, 0o755); err != nil {
		t.Logf("e2e: screenshot: %v", err)
		return
	}
	base := unsafeFileChars.ReplaceAllString(t.Name()+"-"+label, "_")
	path := filepath.Join(artifactsDir, base+".png")
	for n := 2; fileExists(path); n++ {
		path = filepath.Join(artifactsDir, base+"-"+strconv.Itoa(n)+".png")
	}
	if _, err := page.Screenshot(playwright.PageScreenshotOptions{
		Path:     playwright.String(path),
		FullPage: playwright.Bool(true),
	}); err != nil {
		t.Logf("e2e: screenshot of %s: %v", page.URL(), err)
		return
	}
	abs, _ := filepath.Abs(path)
	t.Logf("e2e: screenshot of %s saved to %s", page.URL(), abs)
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// testLog logs to t from the driver's goroutines until close, after which
// logging would panic (the test has ended), so it is dropped.
type testLog struct {
	mu     sync.Mutex
	t      *testing.T
	closed bool
}

func (l *testLog) printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.closed {
		l.t.Logf("e2e: "+format, args...)
	}
}

func (l *testLog) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
}

// TestBrowserLoadsALocalPage proves the harness: a page served on loopback
// loads, a click runs its script, and the assertion waits for the result.
func TestBrowserLoadsALocalPage(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html>
<title>harness</title>
<button>Score</button>
<p role="status">Runs: 0</p>
<script>
  let runs = 0;
  document.querySelector("button").addEventListener("click", () => {
    // Later, as a server round trip would be: the assertion must wait.
    setTimeout(() => {
      document.querySelector("[role=status]").textContent = "Runs: " + ++runs;
    }, 150);
  });
</script>`)
	}))
	t.Cleanup(srv.Close)

	page := newPage(t, anonymousContext(t))
	if _, err := page.Goto(srv.URL); err != nil {
		t.Fatalf("goto %s: %v", srv.URL, err)
	}
	if err := expect.Page(page).ToHaveTitle("harness"); err != nil {
		t.Fatal(err)
	}
	status := page.GetByRole("status")
	if err := expect.Locator(status).ToHaveText("Runs: 0"); err != nil {
		t.Fatal(err)
	}
	if err := page.GetByRole("button", playwright.PageGetByRoleOptions{Name: "Score"}).Click(); err != nil {
		t.Fatalf("click Score: %v", err)
	}
	if err := expect.Locator(status).ToHaveText("Runs: 1"); err != nil {
		t.Fatal(err)
	}
}
