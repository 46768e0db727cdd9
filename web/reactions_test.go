package web_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/foldboard/foldboard/domain/cart"
	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/handlers"
	"github.com/foldboard/foldboard/internal/apptest"
	"github.com/foldboard/foldboard/internal/seed"
	"github.com/foldboard/foldboard/web"
)

// streamEvents reads a stream's events as GET /streams/{type}/{id}/events
// answers them.
func streamEvents(t *testing.T, c *client, stream string) []es.Envelope {
	t.Helper()
	r := c.do("GET", "/streams/"+stream+"/events", "", "", map[string]string{"Accept": "application/json", "X-Actor": "admin"}) // an admin sees every stream
	wantStatus(t, r, http.StatusOK, "")
	var a struct {
		Events []es.Envelope `json:"events"`
	}
	if err := json.Unmarshal([]byte(r.body), &a); err != nil {
		t.Fatal(err)
	}
	return a.Events
}

// waitEvents waits until stream holds at least n events.
func waitEvents(t *testing.T, c *client, stream string, n int) []es.Envelope {
	t.Helper()
	var envs []es.Envelope
	waitFor(t, func() bool { envs = streamEvents(t, c, stream); return len(envs) >= n })
	return envs
}

// endMatch starts m-1, scores an innings and ends it; it returns the
// MatchEnded.
func endMatch(t *testing.T, c *client, id string) es.Envelope {
	t.Helper()
	startMatch(t, c, id)
	wantStatus(t, c.postJSON("/matches/"+id+"/innings", `{"innings":1,"runs":250,"wickets":10}`), http.StatusOK, "")
	r := c.do("POST", "/matches/"+id+"/end", "application/json", `{"result":"England won"}`,
		map[string]string{"Accept": "application/json", "X-Correlation-ID": "end-" + id})
	wantStatus(t, r, http.StatusOK, "")
	envs := streamEvents(t, c, "match/"+id)
	return envs[len(envs)-1]
}

type reactionJSON struct {
	Name     string              `json:"name"`
	Position string              `json:"position"`
	Outcomes es.ReactionOutcomes `json:"outcomes"`
}

func reactionsOf(t *testing.T, c *client) map[string]reactionJSON {
	t.Helper()
	r := c.do("GET", "/projections", "", "", map[string]string{"Accept": "application/json"})
	wantStatus(t, r, http.StatusOK, "")
	var a struct {
		ReadModels []map[string]any `json:"readModels"`
		Reactions  []reactionJSON   `json:"reactions"`
	}
	if err := json.Unmarshal([]byte(r.body), &a); err != nil || len(a.ReadModels) == 0 {
		t.Fatalf("GET /projections: %v %s", err, r.body)
	}
	out := map[string]reactionJSON{}
	for _, x := range a.Reactions {
		out[x.Name] = x
	}
	return out
}

func TestAnEndedMatchIsReportedAndTheChainOfCausesWalksBothWays(t *testing.T) {
	app := apptest.Start(t, apptest.Options{})
	c := newClient(t, app)
	end := endMatch(t, c, "m-1")

	report := waitEvents(t, c, "post/report-m-1", 2)
	for _, e := range report {
		if e.CausationID != end.ID || e.CorrelationID != "end-m-1" || e.Actor != "system/match-report" {
			t.Errorf("%s caused by %q correlation %q actor %q", e.Type, e.CausationID, e.CorrelationID, e.Actor)
		}
	}
	page := c.get("/posts/report-m-1")
	wantStatus(t, page, http.StatusOK, "")
	for _, want := range []string{"England v Australia: England won", "Innings 1: England 250/10"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("the report's page lacks %q", want)
		}
	}
	waitApplied(t, app, "post/report-m-1", 2)

	// From the report back to the match's end…
	tl := c.get("/streams/post/report-m-1/timeline?v=1")
	wantStatus(t, tl, http.StatusOK, "")
	if !strings.Contains(tl.body, `href="/streams/match/m-1/timeline?v=3" data-stream="match/m-1" data-version="3"`) {
		t.Errorf("the report's timeline does not link its cause, the match's end:\n%s", section(tl.body, "tl-chain"))
	}
	// …and from the end forth to both events of the report.
	tl = c.get("/streams/match/m-1/timeline?v=3")
	for v := range []int{1, 2} {
		want := `href="/streams/post/report-m-1/timeline?v=` + string(rune('1'+v)) + `"`
		if !strings.Contains(section(tl.body, "tl-effects"), want) {
			t.Errorf("the match's end does not link what it caused (%s):\n%s", want, section(tl.body, "tl-chain"))
		}
	}
	if !strings.Contains(tl.body, `href="/events?correlation=end-m-1"`) {
		t.Error("the match's end does not link its correlation")
	}
	// A person's command is a cause too, though not a linked event.
	if tl := c.get("/streams/match/m-1/timeline?v=2"); !strings.Contains(section(tl.body, "tl-cause"), "command") {
		t.Errorf("an innings does not say a command caused it:\n%s", section(tl.body, "tl-chain"))
	}

	// The browser follows the correlation across both streams.
	corr := c.get("/events?correlation=end-m-1")
	wantStatus(t, corr, http.StatusOK, "")
	list := section(corr.body, "correlation")
	for _, want := range []string{"match/m-1 v3", "post/report-m-1 v1", "post/report-m-1 v2"} {
		if !strings.Contains(list, want) {
			t.Errorf("the correlation's events lack %s:\n%s", want, list)
		}
	}
	if i, j := strings.Index(list, "match/m-1 v3"), strings.Index(list, "post/report-m-1 v1"); i > j {
		t.Error("the correlation lists an effect before its cause")
	}
	wantStatus(t, c.get("/events?correlation=a%20b"), http.StatusBadRequest, "")

	// The dashboard and /projections count the two commands.
	if got := reactionsOf(t, c)["match-report"].Outcomes; got != (es.ReactionOutcomes{OK: 2}) {
		t.Errorf("match-report's outcomes %+v, want 2 ok", got)
	}
	dash := section(c.get("/").body, "dashboard-reactions")
	if !strings.Contains(dash, `<tr data-reaction="match-report">`) || !strings.Contains(dash, `<td class="qty ok">2</td>`) {
		t.Errorf("the dashboard does not list match-report with its 2 commands:\n%s", dash)
	}
}

// reactorPast waits until the reaction's saved position is at or past pos
// (SQLite's positions are the log's sequence numbers), and returns its row.
func reactorPast(t *testing.T, c *client, name, pos string) reactionJSON {
	t.Helper()
	want, err := strconv.ParseInt(pos, 10, 64)
	if err != nil {
		t.Fatalf("position %q: %v", pos, err)
	}
	var row reactionJSON
	waitFor(t, func() bool {
		row = reactionsOf(t, c)[name]
		got, err := strconv.ParseInt(row.Position, 10, 64)
		return err == nil && got >= want
	})
	return row
}

// The reactor's position is its last save: it moves on past what it only
// reads (the report's own events) as it likes, so it is not compared; what a
// rerun would change is: the commands issued, the report's events, the
// outcomes, and a position sent back.
func TestARebuildOfTheReadModelsDoesNotRerunReactions(t *testing.T) {
	app := apptest.Start(t, apptest.Options{})
	c := newClient(t, app)
	end := endMatch(t, c, "m-1")
	waitEvents(t, c, "post/report-m-1", 2)
	waitApplied(t, app, "post/report-m-1", 2)
	// Saved past the match's end: its commands ran and are counted.
	log, err := app.Store.ReadStream(context.Background(), mustRef(t, "match/m-1"), es.ReadOptions{From: 3})
	if err != nil || len(log) != 1 || log[0].ID != end.ID {
		t.Fatalf("reading the match's end from the store: %v %+v", err, log)
	}
	before := reactorPast(t, c, "match-report", log[0].Position)
	caused := strings.Count(section(c.get("/events?correlation=end-m-1").body, "correlation"), "post/report-m-1 v")

	r := c.do("POST", "/rebuild", "", "", map[string]string{"Accept": "application/json", "X-Actor": "admin"})
	wantStatus(t, r, http.StatusAccepted, "")
	name, _ := r.json(t)["rebuild"].(map[string]any)["projector"].(string)
	waitFor(t, func() bool { return app.Server.Projector().Name() == name })
	waitApplied(t, app, "post/report-m-1", 2)
	time.Sleep(300 * time.Millisecond) // a reactor that reran would be at it by now

	if got := streamEvents(t, c, "post/report-m-1"); len(got) != 2 {
		t.Fatalf("after the rebuild the report holds %d events, want 2", len(got))
	}
	after := reactorPast(t, c, "match-report", before.Position)
	if after.Outcomes != before.Outcomes || after.Outcomes != (es.ReactionOutcomes{OK: 2}) {
		t.Errorf("the reaction's outcomes moved with the rebuild: %+v, then %+v", before.Outcomes, after.Outcomes)
	}
	if got := strings.Count(section(c.get("/events?correlation=end-m-1").body, "correlation"), "post/report-m-1 v"); got != caused || got != 2 {
		t.Errorf("the match's end caused %d report events before the rebuild, %d after; want 2", caused, got)
	}
	// The rebuilt read models know the chain again, from the log.
	tl := c.get("/streams/match/m-1/timeline?v=3")
	if !strings.Contains(section(tl.body, "tl-effects"), `report-m-1/timeline?v=1`) {
		t.Errorf("the rebuilt read models lost what %s caused", end.ID)
	}
}

func TestAQuietCartIsRemindedOncePerQuietSpell(t *testing.T) {
	app := apptest.Start(t, apptest.Options{Configure: func(d *web.Deps) { d.ReminderAfter = 300 * time.Millisecond }})
	c := newClient(t, app)
	add := func(sku string) {
		t.Helper()
		if r := c.postJSON("/carts/c-1/items", `{"sku":"`+sku+`","qty":1,"price":"10.00"}`); r.status/100 != 2 {
			t.Fatalf("adding %s: %d %s", sku, r.status, r.body)
		}
	}
	add("tea")
	envs := waitEvents(t, c, "cart/c-1", 2)
	if envs[1].Type != "ReminderSent" || envs[1].Actor != "system/cart-reminder" || envs[1].CausationID != envs[0].ID || string(envs[1].Data) != "{}" {
		t.Fatalf("after a quiet spell: %s by %q caused by %q data %s; want ReminderSent {} by system/cart-reminder caused by the item", envs[1].Type, envs[1].Actor, envs[1].CausationID, envs[1].Data)
	}
	time.Sleep(time.Second) // quiet for three more spells' time: still one reminder
	if got := streamEvents(t, c, "cart/c-1"); len(got) != 2 {
		t.Fatalf("a cart quiet on got %d events, want its one reminder", len(got))
	}
	add("cup") // a new spell
	if envs := waitEvents(t, c, "cart/c-1", 4); envs[3].Type != "ReminderSent" || envs[3].CausationID != envs[2].ID {
		t.Fatalf("after the second spell: %s caused by %q", envs[3].Type, envs[3].CausationID)
	}
	wantStatus(t, c.postJSON("/carts/c-1/checkout", `{}`), http.StatusOK, "")
	time.Sleep(time.Second)
	if got := streamEvents(t, c, "cart/c-1"); len(got) != 5 {
		t.Fatalf("a checked-out cart got %d events, want no reminder after its checkout", len(got))
	}
	if got := reactionsOf(t, c)["cart-reminder"].Outcomes; got.OK != 2 || got.Parked != 0 {
		t.Errorf("cart-reminder's outcomes %+v, want 2 ok, none parked", got)
	}
}

// section is the element with the id, roughly: from its start to the end of
// the page's next 2,000 characters (enough for these checks).
func section(body, id string) string {
	i := strings.Index(body, `id="`+id+`"`)
	if i < 0 {
		return ""
	}
	return body[i:min(len(body), i+2000)]
}

func TestACheckoutEarnsItsOwnerCashBackOnce(t *testing.T) {
	app := apptest.Start(t, apptest.Options{})
	c := newClient(t, app)
	as := func(actor, path, body string) response {
		t.Helper()
		return c.do("POST", path, "application/json", body, map[string]string{"Accept": "application/json", "X-Actor": actor})
	}
	if r := as("ana", "/accounts", `{"accountId":"ana","initialDeposit":"10.00"}`); r.status != http.StatusCreated {
		t.Fatalf("opening ana's account: %d %s", r.status, r.body)
	}
	if r := as("ana", "/carts/c-1/items", `{"sku":"tea","qty":3,"price":"33.33"}`); r.status/100 != 2 {
		t.Fatalf("adding: %d %s", r.status, r.body)
	}
	wantStatus(t, as("ana", "/carts/c-1/checkout", `{}`), http.StatusOK, "")
	checkout := streamEvents(t, c, "cart/c-1")[1]

	envs := waitEvents(t, c, "account/ana", 2)
	dep := envs[1]
	if dep.Type != "MoneyDeposited" || !strings.Contains(string(dep.Data), `"amount":"0.99"`) || dep.Actor != "system/loyalty" || dep.CausationID != checkout.ID {
		t.Fatalf("cash back %s %s by %q caused by %q; want MoneyDeposited 0.99 (1%% of 99.99, rounded down) by system/loyalty caused by the checkout", dep.Type, dep.Data, dep.Actor, dep.CausationID)
	}
	// Someone with no account gets nothing, and the refusal is counted.
	if r := as("bo", "/carts/c-2/items", `{"sku":"tea","qty":1,"price":"500.00"}`); r.status/100 != 2 {
		t.Fatalf("adding: %d %s", r.status, r.body)
	}
	wantStatus(t, as("bo", "/carts/c-2/checkout", `{}`), http.StatusOK, "")
	waitFor(t, func() bool { return reactionsOf(t, c)["loyalty"].Outcomes.Refused == 1 })
	time.Sleep(300 * time.Millisecond)
	if got := streamEvents(t, c, "account/ana"); len(got) != 2 {
		t.Fatalf("ana's account holds %d events, want its opening and one cash back", len(got))
	}
	if got := reactionsOf(t, c)["loyalty"].Outcomes; got != (es.ReactionOutcomes{OK: 1, Refused: 1}) {
		t.Errorf("loyalty's outcomes %+v, want 1 ok (ana), 1 refused (bo has no account)", got)
	}
}

// The demo's people have their accounts where loyalty pays: every seeded
// checkout of a dollar or more earns its cash back, none is refused.
func TestSeededCheckoutsEarnCashBackInTheirOwnersAccounts(t *testing.T) {
	app := apptest.Start(t, apptest.Options{})
	c := newClient(t, app)
	plan := seed.Plan(time.Now().UTC())
	if _, err := seed.Run(context.Background(), app.Store, plan); err != nil {
		t.Fatal(err)
	}
	checkouts := 0
	for _, s := range plan {
		if _, ok := s.Command.(cart.CheckOut); ok {
			checkouts++
		}
	}
	var o es.ReactionOutcomes
	waitFor(t, func() bool {
		o = reactionsOf(t, c)["loyalty"].Outcomes
		return o.OK+o.Refused+o.Parked >= int64(checkouts)
	})
	if o.Refused != 0 || o.Parked != 0 || o.OK != int64(checkouts) {
		t.Fatalf("loyalty's outcomes %+v for %d seeded checkouts: want each paid", o, checkouts)
	}
	paid := 0
	for _, who := range handlers.DemoPeople() {
		for _, e := range streamEvents(t, c, "account/"+who) {
			if e.Actor == "system/loyalty" && e.Type == "MoneyDeposited" {
				paid++
			}
		}
	}
	if paid != checkouts {
		t.Errorf("the demo people's accounts hold %d cash-back deposits, want %d", paid, checkouts)
	}
}

// feedsOpen counts the Follows of a feed open at once (and passes its
// checkpoint order on, as the store's feed has one).
type feedsOpen struct {
	es.Feed
	es.CheckpointOrder
	mu         sync.Mutex
	open, most int
}

func (f *feedsOpen) Follow(ctx context.Context, from string, apply func(context.Context, es.Batch) error) error {
	f.mu.Lock()
	f.open++
	f.most = max(f.most, f.open)
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.open--
		f.mu.Unlock()
	}()
	return f.Feed.Follow(ctx, from, apply)
}

func (f *feedsOpen) counts() (open, most int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.open, f.most
}

// The server follows the store's feed twice, whatever the number of
// reactions: once for the projector, once for every reactor together (on
// DynamoDB, the Stream's two readers AWS advises at most; each reactor on
// its own made four).
func TestTheServerFollowsTheFeedOnceForTheProjectorAndOnceForTheReactions(t *testing.T) {
	for _, store := range apptest.Stores {
		t.Run(store, func(t *testing.T) {
			var feed *feedsOpen
			app := apptest.Start(t, apptest.Options{Store: store, Configure: func(d *web.Deps) {
				feed = &feedsOpen{Feed: d.Feed, CheckpointOrder: d.Feed.(es.CheckpointOrder)}
				d.Feed = feed
			}})
			c := newClient(t, app)
			if n := len(app.Server.Reactors().List()); n != 3 {
				t.Fatalf("%d reactions, want 3", n)
			}
			endMatch(t, c, "m-1")
			waitEvents(t, c, "post/report-m-1", 2)
			waitFor(t, func() bool { return reactionsOf(t, c)["match-report"].Outcomes.OK == 2 }) // created, published
			// Each saves its own position as it passes the events.
			waitFor(t, func() bool {
				for _, r := range reactionsOf(t, c) {
					if r.Position == "" {
						return false
					}
				}
				return true
			})
			if open, most := feed.counts(); open != 2 || most != 2 {
				t.Errorf("%d Follows of the feed open (at most %d at once), want 2: the projector's and the reactors'", open, most)
			}
		})
	}
}
