package e2e

import (
	"regexp"
	"testing"

	"github.com/foldboard/foldboard/internal/apptest"
)

// On DynamoDB the projections board shows the Stream's shard (DynamoDB
// Local keeps one): young, the read models' checkpoint at a sequence
// number in it, caught up (nothing unread), the first start's bootstrap
// from the events table; another person's command moves the position
// there as the board refreshes.
func TestTheBoardShowsTheStreamsShardAndItsCountdownOnDynamoDB(t *testing.T) {
	app := apptest.Start(t, apptest.Options{Store: "dynamodb"})
	playedMatch(t, app.URL, "sh-1", 100)
	page := newPage(t, newContext(t, app))
	if _, err := page.Goto(app.URL + "/projections"); err != nil {
		t.Fatal(err)
	}
	row := page.Locator("#stream-shards tr[data-shard^='shardId-']")
	must(t, expect.Locator(row).ToHaveCount(1))
	// The feed has read the shard to its newest record: nothing there is
	// unread, nothing at risk (no countdown to amber on an idle table).
	must(t, expect.Locator(row).ToHaveAttribute("data-countdown", "caughtUp"))
	must(t, expect.Locator(row.Locator("td.state")).ToHaveText("open"))
	must(t, expect.Locator(row.Locator("td.countdown")).ToHaveText("caught up: nothing unread"))
	must(t, expect.Locator(page.Locator("#stream-shards .bootstrap")).ToContainText("first start"))
	position := row.Locator("td.position code")
	must(t, expect.Locator(position).ToHaveText(digits))
	before, err := position.TextContent()
	if err != nil {
		t.Fatal(err)
	}
	postJSON(t, app.URL+"/matches/sh-1/innings", `{"innings":2,"runs":50,"wickets":3}`)
	must(t, expect.Locator(position).Not().ToHaveText(before))
	must(t, expect.Locator(position).ToHaveText(digits))
	must(t, expect.Locator(row).ToHaveAttribute("data-countdown", "caughtUp"))
}

// digits is a sequence number as the board shows it.
var digits = regexp.MustCompile(`^[0-9]+$`)
