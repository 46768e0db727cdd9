package web_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/internal/apptest"
	"github.com/foldboard/foldboard/web"
)

// misdeliveringFeed is the store's feed misbehaving for two streams, as a
// real feed may: every event of twice comes a second time, alone, right
// after its batch (at-least-once delivery), and the first event of late
// comes after its second (a shard read out of order). Each Follow misbehaves
// on its own (the projector's and the reactors').
type misdeliveringFeed struct {
	es.Feed
	es.CheckpointOrder
	twice, late es.StreamRef
}

func (f *misdeliveringFeed) Follow(ctx context.Context, from string, apply func(context.Context, es.Batch) error) error {
	var held []es.Envelope // late's first event, until its second comes
	return f.Feed.Follow(ctx, from, func(ctx context.Context, b es.Batch) error {
		var out, again []es.Envelope
		for _, e := range b.Events {
			switch {
			case e.Stream == f.late && e.Version == 1:
				held = append(held, e)
				continue
			case e.Stream == f.twice:
				again = append(again, e)
			}
			out = append(out, e)
			if e.Stream == f.late && e.Version == 2 {
				out, held = append(out, held...), nil
			}
		}
		if err := apply(ctx, es.Batch{Events: out, Checkpoint: b.Checkpoint}); err != nil {
			return err
		}
		if len(again) == 0 {
			return nil
		}
		return apply(ctx, es.Batch{Events: again, Checkpoint: b.Checkpoint})
	})
}

// The board counts what the exactly-once check did with a feed that
// delivers a stream's event twice and another's events out of order: one
// duplicate dropped, one event held out of order (its stream parked), in
// the JSON and on the page, in every read model's row.
func TestTheBoardCountsDuplicatesDroppedAndEventsHeldOutOfOrder(t *testing.T) {
	for _, store := range apptest.Stores {
		t.Run(store, func(t *testing.T) {
			twice, late := es.StreamRef{Type: "match", ID: "twice-1"}, es.StreamRef{Type: "match", ID: "late-1"}
			app := apptest.Start(t, apptest.Options{Store: store, Configure: func(d *web.Deps) {
				d.Feed = &misdeliveringFeed{Feed: d.Feed, CheckpointOrder: d.Feed.(es.CheckpointOrder), twice: twice, late: late}
			}})
			c := newClient(t, app)
			// A first event, delivered well: the counts before the faults
			// (DynamoDB's first start reads the table, then the Stream).
			startMatch(t, c, "m-1")
			waitFor(t, func() bool { return board(t, c)["matches"].Applied >= 1 })
			before := board(t, c)["matches"]
			dropped0, held0 := *before.DuplicatesDropped, *before.HeldOutOfOrder

			startMatch(t, c, twice.ID)
			startMatch(t, c, late.ID)
			wantStatus(t, c.postJSON("/matches/late-1/innings", `{"innings":1,"runs":10,"wickets":1,"expectedVersion":1}`), 200, "")
			startMatch(t, c, "m-2") // after the faults: the board has seen them once it applied this
			waitFor(t, func() bool {
				row := board(t, c)["matches"]
				return row.Applied >= before.Applied+2 && len(row.Parked) == 1
			})
			rows := board(t, c)
			for name, row := range rows {
				if got := *row.DuplicatesDropped - dropped0; got != 1 {
					t.Errorf("%s: %d duplicates dropped, want 1 (match/twice-1's start, delivered again)", name, got)
				}
				if got := *row.HeldOutOfOrder - held0; got != 1 {
					t.Errorf("%s: %d held out of order, want 1 (match/late-1's innings, before its start)", name, got)
				}
			}
			if p := rows["matches"].Parked; len(p) != 1 || p[0].Stream != late.String() || !strings.Contains(p[0].Error, "arrived after") {
				t.Errorf("matches' parked streams %+v, want match/late-1 parked for its gap", p)
			}

			page := c.get("/projections")
			wantStatus(t, page, http.StatusOK, "")
			doc := parse(t, page.body)
			for name, row := range rows {
				trs := elements(doc, func(n *html.Node) bool {
					return n.Data == "tr" && attrVal(n, "data-model") == name && attrVal(n, "class") == ""
				})
				if len(trs) != 1 {
					t.Errorf("the page has %d rows for %s", len(trs), name)
					continue
				}
				cell := func(class string) string {
					cs := elements(trs[0], byAttr("class", class))
					if len(cs) != 1 {
						return "?"
					}
					return strings.TrimSpace(textOf(cs[0]))
				}
				if got, want := cell("qty dropped"), strconv.FormatInt(*row.DuplicatesDropped, 10); got != want {
					t.Errorf("the page's row for %s shows %s duplicates dropped, the JSON %s", name, got, want)
				}
				if got, want := cell("qty out-of-order"), strconv.FormatInt(*row.HeldOutOfOrder, 10); got != want {
					t.Errorf("the page's row for %s shows %s out of order, the JSON %s", name, got, want)
				}
			}
		})
	}
}
