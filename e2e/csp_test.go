package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/playwright-community/playwright-go"

	"github.com/foldboard/foldboard/handlers"
	"github.com/foldboard/foldboard/internal/apptest"
	"github.com/foldboard/foldboard/internal/seed"
	"github.com/foldboard/foldboard/views"
)

// cspRecorder is injected before any page script (through the browser's
// devtools, which the page's policy does not govern): it keeps every
// Content-Security-Policy violation the page reports.
const cspRecorder = `window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " blocked " + (e.blockedURI || "inline") +
    " at " + (e.sourceFile || location.pathname) + ":" + e.lineNumber);
});`

// TestMainPagesRaiseNoContentSecurityPolicyViolation opens every main page,
// full of demo data, in a real browser, lets its scripts run (the live
// connection, the timeline's controls) and uses its forms, and checks that
// the browser reported no violation of the pages' Content-Security-Policy:
// the policy forbids inline script and style, and the pages need neither.
func TestMainPagesRaiseNoContentSecurityPolicyViolation(t *testing.T) {
	app := apptest.Start(t, apptest.Options{})
	if _, err := seed.Run(context.Background(), app.Store, seed.Plan(time.Now().UTC())); err != nil {
		t.Fatal(err)
	}
	ctx := newContext(t, app)
	must(t, ctx.AddInitScript(playwright.Script{Content: playwright.String(cspRecorder)}))
	page := newPage(t, ctx)
	var mu sync.Mutex
	var console []string
	page.OnConsole(func(m playwright.ConsoleMessage) {
		if strings.Contains(m.Text(), "Content Security Policy") {
			mu.Lock()
			console = append(console, m.Text())
			mu.Unlock()
		}
	})

	paths := []string{
		"/", "/matches", "/matches/seed-match-5", "/carts", "/sales", "/posts", "/events",
		"/streams/match/seed-match-5/timeline", "/streams/match/seed-match-5/timeline?v=2", "/nowhere",
	}
	// A cart and a post of the demo data, whatever their ids.
	for _, list := range []struct{ page, link string }{{"/carts", "a[href^='/carts/']"}, {"/posts", "a[href^='/posts/']"}} {
		if _, err := page.Goto(app.URL + list.page); err != nil {
			t.Fatal(err)
		}
		href, err := page.Locator(list.link).First().GetAttribute("href")
		if err != nil {
			t.Fatalf("no link to a page from %s: %v", list.page, err)
		}
		paths = append(paths, href)
	}
	// Every module's sections, and the page and timeline of its first
	// stream in the demo data.
	seen := map[string]bool{}
	for _, step := range seed.Plan(time.Now().UTC()) {
		for _, m := range handlers.Modules() {
			if m.StreamType() != step.Stream.Type || seen[m.StreamType()] {
				continue
			}
			seen[m.StreamType()] = true
			for _, s := range m.Sections {
				paths = append(paths, s.Path)
			}
			paths = append(paths, views.Path(m.Page, step.Stream.ID), "/streams/"+step.Stream.String()+"/timeline")
		}
	}
	for _, m := range handlers.Modules() {
		if !seen[m.StreamType()] {
			t.Errorf("the demo data has no %s stream", m.StreamType())
		}
	}
	for _, path := range paths {
		if _, err := page.Goto(app.URL + path); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		// A live page's script connects: connect-src allows the WebSocket.
		if n, _ := page.Locator("#live-status").Count(); n > 0 {
			must(t, expect.Locator(page.Locator("#live-status")).ToHaveText("live"))
		}
		checkNoViolation(t, page, path)
	}

	// Scripts at work: the timeline's controls, a live change pushed in, a
	// form sent (form-action).
	if _, err := page.Goto(app.URL + "/streams/match/seed-match-5/timeline?v=1"); err != nil {
		t.Fatal(err)
	}
	must(t, page.Locator("#tl-play").Click())
	must(t, expect.Locator(page.Locator("#tl-play")).ToHaveAttribute("aria-pressed", "true"))
	checkNoViolation(t, page, "the timeline's controls")
	if _, err := page.Goto(app.URL + "/matches"); err != nil {
		t.Fatal(err)
	}
	must(t, expect.Locator(page.Locator("#live-status")).ToHaveText("live"))
	startMatchInBrowser(t, page, app.URL, "Kent", "Surrey")
	checkNoViolation(t, page, "starting a match")
	mu.Lock()
	if len(console) > 0 {
		t.Errorf("the browser's console reported policy violations:\n%s", strings.Join(console, "\n"))
	}
	mu.Unlock()

	// The recorder does see a violation: an inline handler is refused.
	_, err := page.Evaluate(`() => { const d = document.createElement("div");
		d.innerHTML = '<img src="/nowhere.png" onerror="document.title = 1">'; document.body.append(d); }`)
	must(t, err)
	must(t, expect.Locator(page.Locator("img[src='/nowhere.png']")).ToHaveCount(1))
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, err := page.Evaluate("() => window.__cspViolations.length")
		must(t, err)
		if n, _ := got.(int); n > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("an inline event handler raised no violation: the recorder sees nothing")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func checkNoViolation(t *testing.T, page playwright.Page, where string) {
	t.Helper()
	got, err := page.Evaluate("() => window.__cspViolations || null")
	if err != nil {
		t.Fatalf("%s: %v", where, err)
	}
	list, ok := got.([]any)
	if !ok {
		t.Fatalf("%s: the violation recorder did not run (%v)", where, got)
	}
	for _, v := range list {
		t.Errorf("%s: %s", where, fmt.Sprint(v))
	}
}
