package web_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/foldboard/foldboard/domain/cart"
	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/handlers"
	"github.com/foldboard/foldboard/internal/apptest"
	"github.com/foldboard/foldboard/projections"
)

type slideRow struct {
	Name   string          `json:"name"`
	Key    string          `json:"key"`
	Before json.RawMessage `json:"before"`
	After  json.RawMessage `json:"after"`
}

func slide(t *testing.T, c *client, ref es.StreamRef, v int64) []slideRow {
	t.Helper()
	r := c.do("GET", fmt.Sprintf("/streams/%s/timeline?v=%d", ref, v), "", "", map[string]string{"Accept": "application/json", "X-Actor": "admin"}) // an admin sees every stream
	wantStatus(t, r, http.StatusOK, "")
	var body struct {
		Version    int64      `json:"version"`
		ReadModels []slideRow `json:"readModels"`
	}
	if err := json.Unmarshal([]byte(r.body), &body); err != nil || body.Version != v {
		t.Fatalf("timeline JSON at %d: %v %s", v, err, r.body)
	}
	return body.ReadModels
}

func streamHistory(t *testing.T, c *client, ref es.StreamRef) []es.Envelope {
	t.Helper()
	r := c.do("GET", "/streams/"+ref.String()+"/events", "", "", map[string]string{"X-Actor": "admin"})
	var body struct{ Events []es.Envelope }
	if err := json.Unmarshal([]byte(r.body), &body); err != nil {
		t.Fatal(err)
	}
	return body.Events
}

func logEvents(t *testing.T, c *client) []es.Envelope {
	t.Helper()
	var out []es.Envelope
	for after := ""; ; {
		r := c.do("GET", "/events?limit=1000&after="+after, "", "", map[string]string{"Accept": "application/json", "X-Actor": "admin"})
		var page struct {
			Events []es.Envelope
			Next   string
		}
		if err := json.Unmarshal([]byte(r.body), &page); err != nil {
			t.Fatal(err)
		}
		out = append(out, page.Events...)
		if page.Next == "" || len(page.Events) == 0 {
			return out
		}
		after = page.Next
	}
}

func sameJSONText(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}

// On the slider, on both stores, every row a stream's event shows is one
// the test can check against an independent replay, at every version of
// every module's example life: the stream's own row is the view of a fold
// of its events to that version (the row before, to the version before);
// the day's sales are the sum of the log's checkouts up to the event; the
// list entries it enters and leaves, summed over its life, are the
// entries the running instance serves, as its own row at the last version
// is the document it serves. No other row shows: the documents that
// gather other streams too (a list's counts, a chain) would be this
// stream's share replayed as the whole.
func TestTheSlidersReadModelRowsAreAsTheyWereAfterEachEvent(t *testing.T) {
	for _, store := range apptest.Stores {
		t.Run(store, func(t *testing.T) {
			app := apptest.Start(t, apptest.Options{Store: store})
			c := newClient(t, app)
			for _, m := range handlers.Modules() {
				// Two streams of each, so that rows gathering many streams gather.
				playExamples(t, c, m, "slide-a-"+m.Name)
				playExamples(t, c, m, "slide-b-"+m.Name)
			}
			log := logEvents(t, c)
			for _, m := range handlers.Modules() {
				ref := es.StreamRef{Type: m.StreamType(), ID: "slide-b-" + m.Name}
				events := streamHistory(t, c, ref)
				if len(events) < 2 {
					t.Fatalf("%s: %d events, want a life", ref, len(events))
				}
				waitApplied(t, app, ref.String(), int64(len(events)))
				listPrefix := "lists/" + ref.Type + "/"
				entries := map[string]bool{} // the list entries the rows leave it in
				var last *slideRow
				for v := int64(1); v <= int64(len(events)); v++ {
					rows := slide(t, c, ref, v)
					own := findRow(rows, ref.String())
					if own == nil {
						t.Errorf("%s v%d: no row of its own stream in %s", ref, v, js(rows))
						continue
					}
					last = own
					checkStreamRow(t, m, ref, events, v, own.After)
					if v == 1 {
						if string(own.Before) != "null" {
							t.Errorf("%s v1: a row before the first event: %s", ref, own.Before)
						}
					} else {
						checkStreamRow(t, m, ref, events, v-1, own.Before)
					}
					for _, row := range rows {
						switch {
						case row.Key == ref.String():
						case row.Name == projections.TopicSales:
							if events[v-1].Type != (cart.CheckedOut{}).EventType() {
								t.Errorf("%s v%d (%s): a sales row %s", ref, v, events[v-1].Type, js(row))
							}
						case strings.HasPrefix(row.Key, listPrefix) && strings.HasSuffix(row.Key, "/"+ref.ID):
							switch in := string(row.After) != "null"; {
							case in == (string(row.Before) != "null"):
								t.Errorf("%s v%d: the list entry %s neither entered nor left: %s", ref, v, row.Key, js(row))
							case in:
								entries[row.Key] = true
							default:
								delete(entries, row.Key)
							}
						default:
							t.Errorf("%s v%d: a row no replay of the stream can tell: %s", ref, v, js(row))
						}
					}
					if events[v-1].Type == (cart.CheckedOut{}).EventType() {
						checkSalesRow(t, rows, log, events[v-1])
					}
				}
				// What the rows summed to is what the instance serves.
				served := servedDocs(t, c, ref.String())
				if last == nil || !sameJSONText(t, last.After, served[ref.String()]) {
					t.Errorf("%s: the row at the last version is %v, the instance serves %s", ref, last, served[ref.String()])
				}
				var want []string
				for key := range servedDocs(t, c, listPrefix) {
					if strings.HasSuffix(key, "/"+ref.ID) {
						want = append(want, key)
					}
				}
				if got := slices.Sorted(maps.Keys(entries)); len(want) == 0 || !slices.Equal(got, slices.Sorted(slices.Values(want))) {
					t.Errorf("%s: the rows leave it in the lists %v, the instance serves %v", ref, got, want)
				}
			}
		})
	}
}

// servedDocs is every document the instance serves under prefix, through
// GET /projections/docs, page after page.
func servedDocs(t *testing.T, c *client, prefix string) map[string]json.RawMessage {
	t.Helper()
	out := map[string]json.RawMessage{}
	q := url.Values{"prefix": {prefix}}
	for {
		r := c.do("GET", "/projections/docs?"+q.Encode(), "", "", map[string]string{"X-Actor": "admin"})
		wantStatus(t, r, http.StatusOK, "")
		var p docsPage
		if err := json.Unmarshal([]byte(r.body), &p); err != nil {
			t.Fatalf("not a page of documents: %v in %s", err, r.body)
		}
		for _, d := range p.Docs {
			out[d.Key] = d.Doc
		}
		if p.Next == "" {
			return out
		}
		q.Set("before", p.Next)
	}
}

func findRow(rows []slideRow, key string) *slideRow {
	for i := range rows {
		if rows[i].Key == key {
			return &rows[i]
		}
	}
	return nil
}

// checkStreamRow wants doc to be the view of the stream's fold to v.
func checkStreamRow(t *testing.T, m handlers.Module, ref es.StreamRef, events []es.Envelope, v int64, doc json.RawMessage) {
	t.Helper()
	state, err := m.Kind.Fold(events[:v])
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(state)
	var view struct {
		Version int64           `json:"version"`
		State   json.RawMessage `json:"state"`
	}
	if err := json.Unmarshal(doc, &view); err != nil {
		t.Fatalf("%s v%d: row %s", ref, v, doc)
	}
	if view.Version != v || !sameJSONText(t, view.State, want) {
		t.Errorf("%s v%d: the row is %s, the fold %s", ref, v, doc, want)
	}
}

// checkSalesRow wants the day's row to sum the log's checkouts of that day
// up to the event, and the row before to lack it.
func checkSalesRow(t *testing.T, rows []slideRow, log []es.Envelope, event es.Envelope) {
	t.Helper()
	var row *slideRow
	for i := range rows {
		if rows[i].Name == "sales" {
			row = &rows[i]
		}
	}
	if row == nil {
		t.Errorf("%s v%d: a checkout with no sales row", event.Stream, event.Version)
		return
	}
	day := event.Time.UTC().Format("2006-01-02")
	var total, last cart.Money
	count := 0
	for _, e := range log {
		if e.Type == (cart.CheckedOut{}).EventType() && e.Time.UTC().Format("2006-01-02") == day {
			var data struct{ Total cart.Money }
			if err := json.Unmarshal(e.Data, &data); err != nil {
				t.Fatal(err)
			}
			total += data.Total
			count++
			last = data.Total
		}
		if e.ID == event.ID {
			break
		}
	}
	var after, before struct {
		Total cart.Money
		Count int
	}
	if err := json.Unmarshal(row.After, &after); err != nil || after.Total != total || after.Count != count {
		t.Errorf("%s v%d: the day's row is %s, the log sums %s from %d", event.Stream, event.Version, row.After, total, count)
	}
	if count > 1 {
		if err := json.Unmarshal(row.Before, &before); err != nil || before.Total != total-last || before.Count != count-1 {
			t.Errorf("%s v%d: the day's row before is %s, want %s", event.Stream, event.Version, row.Before, total-last)
		}
	}
	if !strings.Contains(row.Key, day) {
		t.Errorf("the sales row %q is not of the day %s", row.Key, day)
	}
}

func TestTheTimelineShowsTheReadModelsRowsWithTheirDiff(t *testing.T) {
	c := newClient(t, apptest.Start(t, apptest.Options{}))
	startMatch(t, c, "m-1")
	wantStatus(t, c.postJSON("/matches/m-1/innings", `{"innings":1,"runs":250,"wickets":10}`), http.StatusOK, "")
	r := c.get("/streams/match/m-1/timeline?v=2")
	doc := parse(t, r.body)
	rows := elements(doc, byAttr("data-key", "match/m-1"))
	if len(rows) != 1 {
		t.Fatalf("no row of the matches read model: %s", r.body)
	}
	text := textOf(rows[0])
	for _, want := range []string{"matches", "state.homeRuns", "250", "version"} {
		if !strings.Contains(text, want) {
			t.Errorf("the row lacks %q: %s", want, text)
		}
	}
	if v0 := c.get("/streams/match/m-1/timeline?v=0"); strings.Contains(v0.body, `id="tl-read-models"`) {
		t.Errorf("version 0 shows read models")
	}
}
