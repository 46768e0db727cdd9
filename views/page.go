// Package views holds foldboard's templ components: the pages, and the
// fragments the live-update hub pushes, rendered by the same components. They
// take plain values (read-model views, form state), never a store or a request.
package views

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/a-h/templ"
)

// Page is what every page's layout needs.
type Page struct {
	Title string
	// Section is the navigation entry to mark as current ("matches", …).
	Section string
	// Actor is who is signed in ("anonymous": no one); Admin, whether they
	// are an admin.
	Actor string
	Admin bool
	// Path is the page's own path, for signing in and out to return to.
	Path string
	// Topics are the live topics the page subscribes to.
	Topics []string
	// Who is the header's sign-in form: its problem after a name it
	// refused, and the name as typed.
	Who Form
	// Nav are the navigation's entries, in order: the dashboard, each
	// module's sections, the events.
	Nav []Section
}

// Section is one entry of the navigation, and its card on the dashboard.
type Section struct {
	// ID marks the entry as current (Page.Section): "matches".
	ID    string
	Path  string
	Label string
	// Card and Blurb are its card on the dashboard; no card when Card is
	// empty.
	Card, Blurb string
}

// Form is a command form's state: the values to show, and the problem of the
// last attempt when it failed.
type Form struct {
	// Name tells which form of the page the values and problem belong to.
	Name   string
	Values map[string]string
	Code   string
	Error  string
	// Field is the field the problem is about ("" for the form as a whole).
	Field     string
	CommandID string
}

// ProblemID is the id of the form's problem message, which its field names
// in aria-describedby.
func (f Form) ProblemID() string { return f.Name + "-problem" }

// Attrs are the attributes of the input for field: marked invalid and
// described by the problem when the problem is about it.
func (f Form) Attrs(field string) templ.Attributes {
	if f.Error == "" || f.Field != field {
		return nil
	}
	return templ.Attributes{"aria-invalid": "true", "aria-describedby": f.ProblemID()}
}

// Value returns the submitted value of a field, or def.
func (f Form) Value(field, def string) string {
	if v, ok := f.Values[field]; ok {
		return v
	}
	return def
}

// For returns f when it belongs to the named form, else an empty form with the
// same command id.
func (f Form) For(name string) Form {
	if f.Name == name {
		return f
	}
	return Form{Name: name, CommandID: f.CommandID}
}

func topicsAttr(topics []string) string { return strings.Join(topics, " ") }

// utcTime writes a time as a UTC date and time to the second ("" for none).
func utcTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// shortTime is a time as a table's narrow column shows it: "12-02 16:24:05".
func shortTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("01-02 15:04:05")
}

func isoTime(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func itoa[T ~int | ~int64](n T) string { return fmt.Sprint(n) }

// The sections every foldboard has, around the modules' own.
var (
	DashboardSection = Section{ID: "dashboard", Path: RouteDashboard, Label: "Dashboard"}
	EventsSection    = Section{ID: "events", Path: RouteEvents, Label: "Events", Card: "Event log", Blurb: "Every event, newest first"}
)

// pageTitle says where a page is: its own title, then its section's when
// that says more ("England v India · Matches · foldboard").
func pageTitle(p Page) string {
	for _, s := range p.Nav {
		if s.ID == p.Section && s.Label != p.Title && !strings.HasPrefix(p.Title, s.Label) {
			return p.Title + " · " + s.Label + " · foldboard"
		}
	}
	return p.Title + " · foldboard"
}

// signedIn reports whether the page's reader is signed in.
func signedIn(p Page) bool { return p.Actor != "" && p.Actor != "anonymous" }

func signInLink(path string) string { return "/signin?back=" + url.QueryEscape(signInBack(path)) }

// signInBack is where signing in returns to: the page it came from, never
// the sign-in page itself.
func signInBack(path string) string {
	if path == "" || path == "/signin" || path == "/me" {
		return "/"
	}
	return path
}

// SignedIn reports whether someone is signed in to see the page.
func (p Page) SignedIn() bool { return p.Actor != "" && p.Actor != "anonymous" }

// MayChange reports whether the page's actor may issue commands on a
// stream of owner ("" for one of no owner, which anyone signed in may
// change): the owner and the admins.
func (p Page) MayChange(owner string) bool {
	return p.SignedIn() && (p.Admin || owner == "" || owner == p.Actor)
}
