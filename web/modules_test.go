package web_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/foldboard/foldboard/handlers"
	"github.com/foldboard/foldboard/views"
)

// exampleID is the stream a test gives a module's example life.
func exampleID(m handlers.Module, suffix string) string { return m.Name + "-" + suffix }

// runExamples runs every module's example life (handlers.Module.Examples)
// as JSON commands by actor, on a stream of each whose id ends in suffix,
// and returns the pages they fill: each module's sections, the stream's
// page and its timeline.
func runExamples(t *testing.T, c *client, actor, suffix string) []string {
	t.Helper()
	var pages []string
	for _, m := range handlers.Modules() {
		id := exampleID(m, suffix)
		for _, ex := range m.Examples {
			body, err := json.Marshal(ex.FieldsFor(id))
			if err != nil {
				t.Fatal(err)
			}
			who := actor
			if ex.Actor != "" {
				who = ex.Actor
			}
			r := c.do("POST", ex.Target(id, ""), "application/json", string(body), map[string]string{"Accept": "application/json", "X-Actor": who})
			if r.status != http.StatusOK && r.status != http.StatusCreated {
				t.Fatalf("%s example %s: %d %s", m.Name, ex.Path, r.status, r.body)
			}
		}
		for _, s := range m.Sections {
			pages = append(pages, s.Path)
		}
		pages = append(pages, views.Path(m.Page, id), "/streams/"+m.StreamType()+"/"+url.PathEscape(id)+"/timeline")
	}
	return pages
}

// exampleForm is an example's fields as a form, for stream id, with text
// put in its text fields.
func exampleForm(ex handlers.Example, id string, text func(field string) string) url.Values {
	form := url.Values{}
	for k, v := range ex.FieldsFor(id) {
		if s, ok := v.(string); ok {
			form.Set(k, s)
		} else {
			b, _ := json.Marshal(v)
			form.Set(k, strings.Trim(string(b), `"`))
		}
	}
	for _, f := range ex.Text {
		form.Set(f, text(f))
	}
	return form
}
