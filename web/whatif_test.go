package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/handlers"
	"github.com/foldboard/foldboard/internal/apptest"
)

// storeImage is everything a store holds that a try could change: the
// whole log and the head of each stream.
func storeImage(t *testing.T, store es.Store, streams []es.StreamRef) string {
	t.Helper()
	ctx := context.Background()
	var events []es.Envelope
	for after := ""; ; {
		page, err := store.ReadLog(ctx, es.LogQuery{After: after, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		events = append(events, page.Events...)
		if page.Next == "" || len(page.Events) == 0 {
			break
		}
		after = page.Next
	}
	heads := map[string]es.StateRecord{}
	for _, ref := range streams {
		h, err := store.Head(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		heads[ref.String()] = h
	}
	b, err := json.Marshal(map[string]any{"log": events, "heads": heads})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func (c *client) try(ref, version string, fields map[string]any) response {
	c.t.Helper()
	body, _ := json.Marshal(fields)
	path := "/streams/" + ref + "/try"
	if version != "" {
		path += "?version=" + version
	}
	// As an admin, who sees and may do everything: a try answers as the
	// command would, whoever made the stream.
	return c.do("POST", path, "application/json", string(body), map[string]string{"Accept": "application/json", "X-Actor": "admin"})
}

func TestWhatIfAnswersAsTheCommandWouldAtThatVersion(t *testing.T) {
	c := newClient(t, apptest.Start(t, apptest.Options{}))
	startMatch(t, c, "m-1")
	wantStatus(t, c.postJSON("/matches/m-1/innings", `{"innings":1,"runs":250,"wickets":10}`), http.StatusOK, "")

	// At version 1 the first innings is still to come.
	r := c.try("match/m-1", "1", map[string]any{"command": "CompleteInnings", "innings": 1, "runs": 55, "wickets": 6})
	wantStatus(t, r, http.StatusOK, "")
	var got struct {
		Version int64         `json:"version"`
		Events  []es.Envelope `json:"events"`
		State   struct {
			Innings []struct{ Runs int } `json:"innings"`
		} `json:"state"`
	}
	if err := json.Unmarshal([]byte(r.body), &got); err != nil {
		t.Fatal(err)
	}
	if got.Version != 2 || len(got.Events) != 1 || got.Events[0].Type != "InningsCompleted" || got.Events[0].Version != 2 || got.Events[0].Actor != "admin" {
		t.Fatalf("try at 1: %s", r.body)
	}
	if len(got.State.Innings) != 1 || got.State.Innings[0].Runs != 55 {
		t.Errorf("the state after: %s", r.body)
	}
	// At the latest, the same command is refused, as it would be.
	wantStatus(t, c.try("match/m-1", "", map[string]any{"command": "CompleteInnings", "innings": 1, "runs": 55, "wickets": 6}), http.StatusConflict, "InningsOutOfOrder")
	// Read as the route reads it: a bad number, an unknown field.
	wantStatus(t, c.try("match/m-1", "1", map[string]any{"command": "CompleteInnings", "innings": 1, "runs": "lots", "wickets": 6}), http.StatusBadRequest, "BadNumber")
	wantStatus(t, c.try("match/m-1", "1", map[string]any{"command": "EndMatch", "result": "x", "colour": "red"}), http.StatusBadRequest, "UnknownField")
	wantStatus(t, c.try("match/m-1", "1", map[string]any{"command": "EndMatch", "result": "x", "expectedVersion": 2}), http.StatusConflict, "VersionConflict")
	wantStatus(t, c.try("match/m-1", "1", map[string]any{"command": "Explode"}), http.StatusBadRequest, "UnknownCommand")
	wantStatus(t, c.try("match/m-1", "99", map[string]any{"command": "EndMatch", "result": "x"}), http.StatusNotFound, "NoSuchVersion")
	wantStatus(t, c.try("match/m-1", "abc", map[string]any{"command": "EndMatch", "result": "x"}), http.StatusBadRequest, "BadQuery")
	wantStatus(t, c.try("widget/w-1", "", map[string]any{"command": "EndMatch"}), http.StatusNotFound, "UnknownStreamType")
	// The route's own placeholders are fields of the try.
	wantStatus(t, c.postJSON("/carts/c-1/items", `{"sku":"tea","qty":1,"price":"2.00"}`), http.StatusCreated, "")
	r = c.try("cart/c-1", "1", map[string]any{"command": "RemoveItem", "sku": "tea"})
	wantStatus(t, r, http.StatusOK, "")
	if !strings.Contains(r.body, `"type":"ItemRemoved"`) {
		t.Errorf("remove: %s", r.body)
	}
	wantStatus(t, c.try("cart/c-1", "1", map[string]any{"command": "RemoveItem", "sku": "cup"}), http.StatusConflict, "")
}

// Every command of every module, tried at every version of its example
// life, on both stores: the log and the heads are as they were.
func TestWhatIfAppendsNothingOnAnyPath(t *testing.T) {
	for _, store := range apptest.Stores {
		t.Run(store, func(t *testing.T) {
			app := apptest.Start(t, apptest.Options{Store: store})
			c := newClient(t, app)
			var streams []es.StreamRef
			type try struct {
				ref    string
				fields map[string]any
			}
			var tries []try
			for _, m := range handlers.Modules() {
				id := "try-" + m.Name
				playExamples(t, c, m, id)
				ref := es.StreamRef{Type: m.StreamType(), ID: id}
				streams = append(streams, ref, es.StreamRef{Type: m.StreamType(), ID: "never-" + m.Name})
				for _, ex := range m.Examples {
					name := exampleCommand(t, c, ref, ex)
					fields := ex.FieldsFor(id)
					fields["command"] = name
					for k, v := range ex.Params {
						fields[k] = v
					}
					tries = append(tries, try{ref.String(), fields})
					tries = append(tries, try{es.StreamRef{Type: m.StreamType(), ID: "never-" + m.Name}.String(), fields})
				}
			}
			before := storeImage(t, app.Store, streams)
			statuses := map[int]int{}
			for _, tr := range tries {
				for _, v := range []int{0, 1, 3, 5} {
					r := c.try(tr.ref, fmt.Sprint(v), tr.fields)
					statuses[r.status]++
					form := url.Values{}
					for k, val := range tr.fields {
						form.Set(k, strings.Trim(fmt.Sprint(val), `"`))
					}
					c.do("POST", "/streams/"+tr.ref+"/try?version="+fmt.Sprint(v), "application/x-www-form-urlencoded", form.Encode(), nil)
				}
			}
			if statuses[http.StatusOK] == 0 || statuses[http.StatusConflict]+statuses[http.StatusUnprocessableEntity]+statuses[http.StatusNotFound] == 0 {
				t.Fatalf("the tries did not both succeed and fail: %v", statuses)
			}
			if after := storeImage(t, app.Store, streams); after != before {
				t.Fatalf("a try changed the store:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

// exampleCommand is the command name of an example's route, found as a
// client would: the try's error names the commands a stream type takes.
func exampleCommand(t *testing.T, c *client, ref es.StreamRef, ex handlers.Example) string {
	t.Helper()
	r := c.try(ref.String(), "", map[string]any{"command": "?"})
	msg := r.json(t)["error"].(map[string]any)["message"].(string)
	// "match streams take CompleteInnings, EndMatch, StartMatch; …"
	list := msg[strings.Index(msg, "take ")+5 : strings.Index(msg, ";")]
	names := strings.Split(list, ", ")
	for _, name := range names {
		fields := ex.FieldsFor(ref.ID)
		fields["command"] = name
		for k, v := range ex.Params {
			fields[k] = v
		}
		r := c.try(ref.String(), "0", fields)
		if code := errorCodeOf(r); code != "UnknownField" && code != "MissingField" && code != "BadNumber" {
			return name
		}
	}
	t.Fatalf("no command of %v takes the fields of %s", names, ex.Path)
	return ""
}

func errorCodeOf(r response) string {
	var m map[string]map[string]any
	_ = json.Unmarshal([]byte(r.body), &m)
	code, _ := m["error"]["code"].(string)
	return code
}

func TestWhatIfOnTheTimelineShowsTheEventsTheStateAndTheDiff(t *testing.T) {
	c := newClient(t, apptest.Start(t, apptest.Options{}))
	startMatch(t, c, "m-1")
	page := c.get("/streams/match/m-1/timeline?v=1")
	for _, cmd := range []string{"CompleteInnings", "EndMatch"} {
		if !strings.Contains(page.body, `data-command="`+cmd+`"`) {
			t.Errorf("the timeline offers no %s to try", cmd)
		}
	}
	if !strings.Contains(page.body, `action="/streams/match/m-1/try?version=1"`) {
		t.Errorf("the forms do not try at the version shown")
	}
	r := c.do("POST", "/streams/match/m-1/try?version=1", "application/x-www-form-urlencoded",
		url.Values{"command": {"CompleteInnings"}, "innings": {"1"}, "runs": {"77"}, "wickets": {"3"}}.Encode(), nil)
	wantStatus(t, r, http.StatusOK, "")
	doc := parse(t, r.body)
	outcome := elements(doc, byAttr("id", "try-outcome"))
	if len(outcome) != 1 {
		t.Fatalf("no outcome: %s", r.body)
	}
	text := textOf(outcome[0])
	for _, want := range []string{"CompleteInnings would make 1 event, to version 2", "InningsCompleted", "homeRuns", "77"} {
		if !strings.Contains(text, want) {
			t.Errorf("the outcome lacks %q: %s", want, text)
		}
	}
	// A refusal is shown in words, by its code.
	r = c.do("POST", "/streams/match/m-1/try?version=1", "application/x-www-form-urlencoded",
		url.Values{"command": {"CompleteInnings"}, "innings": {"3"}, "runs": {"77"}, "wickets": {"3"}}.Encode(), nil)
	wantStatus(t, r, http.StatusConflict, "")
	if p := elements(parse(t, r.body), byAttr("data-code", "InningsOutOfOrder")); len(p) != 1 {
		t.Errorf("no refusal shown: %s", r.body)
	}
	// The address after a try opens the timeline.
	if r := c.get("/streams/match/m-1/try?version=1"); r.status != http.StatusSeeOther || r.header.Get("Location") != "/streams/match/m-1/timeline?v=1" {
		t.Errorf("GET try: %d %s", r.status, r.header.Get("Location"))
	}
}
