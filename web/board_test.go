package web_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/handlers"
	"github.com/foldboard/foldboard/internal/apptest"
)

type boardRow struct {
	Name              string   `json:"name"`
	Reads             []string `json:"reads"`
	Position          string   `json:"position"`
	Behind            *int64   `json:"behind"`
	Applied           int64    `json:"applied"`
	DuplicatesDropped *int64   `json:"duplicatesDropped"`
	HeldOutOfOrder    *int64   `json:"heldOutOfOrder"`
	Parked            []struct {
		Stream, Error string
	} `json:"parked"`
	LastApply, LastSave string
}

func board(t *testing.T, c *client) map[string]boardRow {
	t.Helper()
	r := c.do("GET", "/projections", "", "", map[string]string{"Accept": "application/json"})
	wantStatus(t, r, http.StatusOK, "")
	var a struct {
		ReadModels []boardRow `json:"readModels"`
	}
	if err := json.Unmarshal([]byte(r.body), &a); err != nil {
		t.Fatal(err)
	}
	out := map[string]boardRow{}
	for _, row := range a.ReadModels {
		out[row.Name] = row
	}
	return out
}

// The board has a row for every read model of every module (and those
// every read side keeps), each with what it reads, its position, its
// counts and times, and the parked streams of the types it reads.
func TestTheProjectionsBoardHasARowPerReadModelWithItsParkedStreams(t *testing.T) {
	app := apptest.Start(t, apptest.Options{})
	c := newClient(t, app)
	startMatch(t, c, "m-1")
	startMatch(t, c, "p-1")
	appendRaw(t, app.Store, es.StreamRef{Type: "match", ID: "p-1"}, "BogusHappened", `{}`)
	waitFor(t, func() bool { return len(board(t, c)["matches"].Parked) == 1 })
	rows := board(t, c)
	for _, m := range handlers.Modules() {
		for _, rm := range m.ReadModels {
			row, ok := rows[rm.Name]
			if !ok {
				t.Errorf("no row for %s", rm.Name)
				continue
			}
			if len(row.Reads) != 1 || row.Reads[0] != m.StreamType() || row.Position == "" || row.Applied < 2 ||
				row.DuplicatesDropped == nil || row.HeldOutOfOrder == nil || row.Behind == nil || row.LastApply == "" || row.LastSave == "" {
				t.Errorf("row %s: %+v", rm.Name, row)
			}
			parked := len(row.Parked) == 1 && row.Parked[0].Stream == "match/p-1" && strings.Contains(row.Parked[0].Error, "BogusHappened")
			if parked != (m.StreamType() == "match") {
				t.Errorf("row %s shows parked %+v", rm.Name, row.Parked)
			}
		}
	}
	page := c.get("/projections")
	wantStatus(t, page, http.StatusOK, "")
	doc := parse(t, page.body)
	if n := len(elements(doc, byAttr("data-model", "matches"))); n != 2 {
		t.Errorf("the board shows %d rows for matches, want the row and its parked stream", n)
	}
	if len(elements(doc, byAttr("data-refresh-every", "2000"))) != 1 {
		t.Errorf("the board does not refresh itself")
	}
	frag := c.get("/projections?fragment=1")
	if !strings.HasPrefix(frag.body, `<div id="projections-board"`) {
		t.Errorf("the fragment: %.100s", frag.body)
	}
}
