package handlers

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/foldboard/foldboard/views"
)

// commandAddresses records the routes a module mounts, so that every
// command address (a POST) without a page of its own also answers GET:
// after a form's error the browser's address bar holds the command's
// address, and Enter, a reload or a bookmark there must open a page, not
// 405.
type commandAddresses struct {
	chi.Router
	posts    []string
	handlers map[string]http.HandlerFunc
	gets     map[string]bool
}

func (c *commandAddresses) Get(pattern string, h http.HandlerFunc) {
	c.gets[pattern] = true
	c.Router.Get(pattern, h)
}

func (c *commandAddresses) Post(pattern string, h http.HandlerFunc) {
	c.posts = append(c.posts, pattern)
	if c.handlers == nil {
		c.handlers = map[string]http.HandlerFunc{}
	}
	c.handlers[pattern] = h
	c.Router.Post(pattern, h)
}

// openWithGet answers GET at each command address with a redirect to the
// page of the stream it names (the module's page for {id}), or to the
// module's first section.
func (c *commandAddresses) openWithGet(m Module) {
	for _, pattern := range c.posts {
		if c.gets[pattern] {
			continue
		}
		c.Router.Get(pattern, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, commandPage(m, chi.URLParam(r, "id")), http.StatusSeeOther)
		})
	}
}

// commandPage is the page a command on stream id came from.
func commandPage(m Module, id string) string {
	if id != "" && validStreamID(id) == nil && m.Page != "" {
		return views.Path(m.Page, id)
	}
	if len(m.Sections) > 0 {
		return m.Sections[0].Path
	}
	return "/"
}
