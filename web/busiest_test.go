package web_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/internal/apptest"
)

// burst appends n events of dataBytes each to one cart, 99 to an append (a
// DynamoDB transaction's share), all timed at the same instant, now: a
// stream taking a burst of commands within one second.
func burst(t *testing.T, s es.Store, id string, n, dataBytes int) {
	t.Helper()
	ref := es.StreamRef{Type: "cart", ID: id}
	data := json.RawMessage(fmt.Sprintf(`{"sku":"s1","qty":1,"price":"2.50","note":%q}`, strings.Repeat("x", dataBytes-50)))
	at := time.Now()
	for v := int64(0); v < int64(n); {
		req := es.AppendRequest{Stream: ref, Expected: v}
		for ; v < int64(n) && len(req.Events) < 99; v++ {
			req.Events = append(req.Events, es.Envelope{
				ID: es.NewULID(at), Stream: ref, Version: v + 1, Type: "ItemAdded", SchemaVersion: 1, Time: at, Actor: "burst", Data: data,
			})
		}
		req.State = es.StateRecord{Version: v, Schema: 1, Data: json.RawMessage(`{}`)}
		if _, err := s.Append(t.Context(), req); err != nil {
			t.Fatal(err)
		}
	}
}

// waitForDashboard reads the dashboard until it holds want.
func waitForDashboard(t *testing.T, c *client, want string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		page := c.get("/").body
		if strings.Contains(page, want) {
			return page
		}
		if time.Now().After(deadline) {
			t.Fatalf("the dashboard lacks %q after 10 s:\n%s", want, page)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The dashboard lists the busiest streams of the last seconds; on DynamoDB,
// where one stream's events share a partition key and so a limit on writes,
// it warns of a stream past half of it.
func TestTheDashboardListsTheBusiestStreamsAndWarnsOfAHotOne(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		app := apptest.Start(t, apptest.Options{})
		c := newClient(t, app)
		addItem(t, c, "quiet", "tea", 1, "2.50")
		burst(t, app.Store, "busy", 300, 200)
		page := waitForDashboard(t, c, `id="total-events" data-all="301"`) // every event applied
		busiest := page[strings.Index(page, `id="busiest"`):]
		if busy, quiet := strings.Index(busiest, `<tr data-stream="cart/busy"`), strings.Index(busiest, `<tr data-stream="cart/quiet"`); busy < 0 || quiet < busy {
			t.Errorf("busiest streams: want cart/busy, then cart/quiet:\n%s", busiest)
		}
		if strings.Contains(page, "hot-stream") || strings.Contains(busiest, `class="hot"`) || metric(t, c, "foldboard_busiest_stream_limit_share") != 0 {
			t.Errorf("a hot-stream warning on SQLite, whose streams have no write limit of their own")
		}
		if rate := metric(t, c, "foldboard_busiest_stream_events_per_second"); rate < 20 {
			t.Errorf("foldboard_busiest_stream_events_per_second %v, want cart/busy's 300 events in 10 s", rate)
		}
	})
	t.Run("dynamodb", func(t *testing.T) {
		app := apptest.Start(t, apptest.Options{Store: "dynamodb"})
		c := newClient(t, app)
		// Events of ~3.6 KB are 8 write units each: 125 in a second fill a
		// partition key's 1,000; 100 in one second are 80% of it.
		burst(t, app.Store, "warm", 5, 3600)
		burst(t, app.Store, "hot", 100, 3600)
		waitForDashboard(t, c, `id="total-events" data-all="105"`) // every event applied
		page := waitForDashboard(t, c, `class="problem hot-stream" role="alert" data-stream="cart/hot"`)
		if strings.Contains(page, `hot-stream" role="alert" data-stream="cart/warm"`) {
			t.Errorf("a warning for cart/warm, 5 events")
		}
		for _, want := range []string{"took 800 write units, 80% of the 1000 a second", `<tr data-stream="cart/hot" class="hot">`} {
			if !strings.Contains(page, want) {
				t.Errorf("the dashboard lacks %q:\n%s", want, page)
			}
		}
		// The metric an alert would watch says the same.
		share := metric(t, c, "foldboard_busiest_stream_limit_share")
		if share != 0.8 {
			t.Errorf("foldboard_busiest_stream_limit_share %v, want cart/hot's 0.8", share)
		}
		// Ten seconds later the burst is over, and so is the warning.
		if testing.Short() {
			return
		}
		deadline := time.Now().Add(15 * time.Second)
		for strings.Contains(c.get("/").body, "hot-stream") {
			if time.Now().After(deadline) {
				t.Fatal("the hot-stream warning outlived the burst by 15 s")
			}
			time.Sleep(500 * time.Millisecond)
		}
	})
}
