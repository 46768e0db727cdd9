package web_test

import (
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/foldboard/foldboard/internal/apptest"
)

// TestEveryRouteHasItsCostInReliability: RELIABILITY.md states the work of
// every route against the log, the streams and the clients (issue 18). A
// route added without a row there fails here: every pattern the router
// serves is named in the first column of the table "What every route
// costs", in backticks (`GET /me`, or the pattern alone); the modules'
// command routes by the row "every command", and the GET of their
// addresses by "a command's address".
func TestEveryRouteHasItsCostInReliability(t *testing.T) {
	doc, err := os.ReadFile("../RELIABILITY.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(doc), "## What every route costs")
	if !ok {
		t.Fatal(`RELIABILITY.md has no section "What every route costs"`)
	}
	table, _, _ = strings.Cut(table, "\n## ")
	named := map[string]bool{}
	var firsts []string
	for _, line := range strings.Split(table, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 3 || !strings.HasPrefix(line, "|") {
			continue
		}
		firsts = append(firsts, cells[1])
		for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(cells[1], -1) {
			token := m[1]
			if method, path, ok := strings.Cut(token, " "); ok && strings.ToUpper(method) == method {
				token = path
			}
			named[token] = true
		}
	}
	rowStarting := func(text string) bool {
		return slices.ContainsFunc(firsts, func(c string) bool { return strings.HasPrefix(strings.TrimSpace(c), text) })
	}
	if !rowStarting("every command") || !rowStarting("a command's address") {
		t.Errorf(`the table has no row "every command" or "a command's address": %q`, firsts)
	}

	app := apptest.Start(t, apptest.Options{})
	commands := app.Server.CommandRoutes()
	var missing []string
	err = chi.Walk(app.Server.Routes(), func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		if slices.Contains(commands, route) || named[route] {
			return nil
		}
		if !slices.Contains(missing, route) {
			missing = append(missing, route)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(commands) == 0 {
		t.Fatal("the server has no command routes")
	}
	if len(missing) > 0 {
		t.Errorf("RELIABILITY.md's table of costs names no row for %q", missing)
	}
}
