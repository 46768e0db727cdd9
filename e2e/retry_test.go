package e2e

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/playwright-community/playwright-go"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/internal/apptest"
)

// An admin on the projections board sees a parked stream with its error and
// a Retry button; pressing it re-applies the stream and, the event failing
// again, the board still shows it parked, with the same error, and nothing
// was appended.
func TestAnAdminRetriesAParkedStreamFromTheBoard(t *testing.T) {
	app := apptest.Start(t, apptest.Options{Admins: []string{"tester"}})
	playedMatch(t, app.URL, "pk-1", 100)
	ref := es.StreamRef{Type: "match", ID: "pk-1"}
	ctx := context.Background()
	head, err := app.Store.Head(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	v := head.Version + 1
	if _, err := app.Store.Append(ctx, es.AppendRequest{Stream: ref, Expected: head.Version,
		Events: []es.Envelope{{ID: es.NewULID(now), Stream: ref, Version: v, Type: "BogusHappened", SchemaVersion: 1, Time: now,
			Actor: "intruder", CorrelationID: "poison", CausationID: "poison", Data: json.RawMessage(`{}`)}},
		State: es.StateRecord{Version: v, Schema: head.Schema, Data: head.Data}}); err != nil {
		t.Fatal(err)
	}
	page := newPage(t, newContext(t, app))
	if _, err := page.Goto(app.URL + "/projections"); err != nil {
		t.Fatal(err)
	}
	row := page.Locator("tr.parked[data-model='matches'][data-stream='match/pk-1']")
	must(t, expect.Locator(row).ToContainText(`unknown event type "BogusHappened"`))
	retry := row.GetByRole("button", playwright.LocatorGetByRoleOptions{Name: "Retry match/pk-1"})
	must(t, expect.Locator(retry).ToBeVisible())
	must(t, retry.Click())
	must(t, page.WaitForURL(app.URL+"/projections"))
	must(t, expect.Locator(row).ToContainText(`unknown event type "BogusHappened"`))
	if after, _ := app.Store.Head(ctx, ref); after.Version != v {
		t.Errorf("the retry appended: version %d, want %d", after.Version, v)
	}
	if info, _, _ := app.Server.Projector().Catalogue().Stream(t.Context(), ref); info.ParkedVersion != v {
		t.Errorf("after the retry: %+v; want parked at %d", info, v)
	}
}
