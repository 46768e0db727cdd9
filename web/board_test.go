package web_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/net/html"

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

type streamShards struct {
	RetentionSeconds int64 `json:"retentionSeconds"`
	Shards           []struct {
		ID          string `json:"id"`
		State       string `json:"state"`
		AgeSeconds  *int64 `json:"ageSeconds"`
		Position    string `json:"position"`
		PositionAt  string `json:"positionAt"`
		LeftSeconds *int64 `json:"leftSeconds"`
		Countdown   string `json:"countdown"`
	} `json:"shards"`
	Bootstrap *struct {
		Why      string `json:"why"`
		UnderWay bool   `json:"underWay"`
	} `json:"bootstrap"`
	Error string `json:"error"`
}

// On DynamoDB the board shows each shard of the real Stream (DynamoDB
// Local keeps one): its age, the read models' checkpoint's sequence number
// in it, a day's countdown less the moments since that record was made,
// and the first start's bootstrap from the events table. SQLite's feed has
// no shards, and its board none.
func TestTheBoardShowsTheStreamsShardsOnDynamoDB(t *testing.T) {
	for _, store := range apptest.Stores {
		t.Run(store, func(t *testing.T) {
			app := apptest.Start(t, apptest.Options{Store: store})
			c := newClient(t, app)
			startMatch(t, c, "m-1")
			answer := func() (string, *streamShards) {
				r := c.do("GET", "/projections", "", "", map[string]string{"Accept": "application/json"})
				wantStatus(t, r, http.StatusOK, "")
				var a struct {
					ReadModels []boardRow    `json:"readModels"`
					Stream     *streamShards `json:"stream"`
				}
				if err := json.Unmarshal([]byte(r.body), &a); err != nil {
					t.Fatal(err)
				}
				return a.ReadModels[0].Position, a.Stream
			}
			if store == "sqlite" {
				if _, s := answer(); s != nil {
					t.Errorf("SQLite's board shows shards: %+v", s)
				}
				if doc := parse(t, c.get("/projections").body); len(elements(doc, byAttr("id", "stream-shards"))) != 0 {
					t.Errorf("SQLite's board page shows shards")
				}
				return
			}
			// The checkpoint, once it holds the match's event and the feed
			// has found nothing after it (caught up: an idle table).
			var cp struct {
				Shards map[string]string `json:"shards"`
			}
			var s *streamShards
			waitFor(t, func() bool {
				var pos string
				pos, s = answer()
				cp.Shards = nil
				return json.Unmarshal([]byte(pos), &cp) == nil && len(cp.Shards) == 1 && s != nil && len(s.Shards) == 1 && s.Shards[0].Position != "" && s.Shards[0].Countdown == "caughtUp"
			})
			sh := s.Shards[0]
			if s.RetentionSeconds != 86400 || s.Error != "" || !strings.HasPrefix(sh.ID, "shardId-") || sh.State != "open" || sh.Position != cp.Shards[sh.ID] {
				t.Fatalf("stream %+v, shard %+v; the checkpoint's shards %v", s, sh, cp.Shards)
			}
			// DynamoDB Local rounds a record's time down to the minute.
			if sh.AgeSeconds == nil || *sh.AgeSeconds < 0 || *sh.AgeSeconds > 600 || sh.LeftSeconds == nil ||
				*sh.LeftSeconds > 86400 || *sh.LeftSeconds < 86400-180 || sh.Countdown != "caughtUp" || sh.PositionAt == "" {
				t.Errorf("shard %+v: want a young shard, a day's retention less the record's age, caught up", sh)
			}
			if s.Bootstrap == nil || s.Bootstrap.Why != "first start" || s.Bootstrap.UnderWay {
				t.Errorf("bootstrap %+v, want the first start's, done", s.Bootstrap)
			}
			doc := parse(t, c.get("/projections").body)
			rows := elements(doc, byAttr("data-shard", sh.ID))
			if len(rows) != 1 || attrVal(rows[0], "data-countdown") != "caughtUp" || !strings.Contains(textOf(rows[0]), sh.Position) || !strings.Contains(textOf(rows[0]), "caught up") {
				t.Errorf("the board's row for the shard: %d rows, %q", len(rows), func() string {
					if len(rows) == 0 {
						return ""
					}
					return textOf(rows[0])
				}())
			}
			if bs := elements(doc, byAttr("class", "bootstrap")); len(bs) != 1 || !strings.Contains(textOf(bs[0]), "first start") {
				t.Errorf("the board does not tell of the first start's bootstrap")
			}
		})
	}
}

func attrVal(n *html.Node, key string) string { v, _ := attrOf(n, key); return v }
