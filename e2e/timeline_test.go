package e2e

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/playwright-community/playwright-go"

	"github.com/foldboard/foldboard/internal/apptest"
)

// postJSON issues a command as a program would, for setting the scene.
func postJSON(t *testing.T, url, body string) {
	t.Helper()
	req, err := http.NewRequest("POST", url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Actor", "tester") // apptest trusts X-Actor from loopback
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode >= 300 {
		t.Fatalf("POST %s: %d", url, res.StatusCode)
	}
}

// playedMatch starts match id and completes the given innings' runs.
func playedMatch(t *testing.T, base, id string, runs ...int) {
	t.Helper()
	postJSON(t, base+"/matches", `{"matchId":"`+id+`","venue":"Lord's","homeTeam":"England","awayTeam":"Australia"}`)
	for i, r := range runs {
		postJSON(t, base+"/matches/"+id+"/innings", fmt.Sprintf(`{"innings":%d,"runs":%d,"wickets":10}`, i+1, r))
	}
}

func TestTimelineStepsBackToTheFirstInningsWithTheControls(t *testing.T) {
	app := apptest.Start(t, apptest.Options{})
	playedMatch(t, app.URL, "m-1", 325, 416, 210)
	page := newPage(t, newContext(t, app))
	if _, err := page.Goto(app.URL + "/streams/match/m-1/timeline"); err != nil {
		t.Fatal(err)
	}
	must(t, expect.Locator(page.Locator("#tl-at")).ToHaveText("4"))
	must(t, expect.Locator(page.Locator("#timeline-body #scoreboard tr[data-innings='3'] .runs")).ToHaveText("210"))

	// Back with the button, twice: the state after the first innings.
	prev := page.GetByRole("link", playwright.PageGetByRoleOptions{Name: "Previous"})
	must(t, prev.Click())
	must(t, expect.Locator(page.Locator("#tl-at")).ToHaveText("3"))
	must(t, prev.Click())
	must(t, expect.Locator(page.Locator("#tl-at")).ToHaveText("2"))
	body := page.Locator("#timeline-body")
	must(t, expect.Locator(body.Locator("#scoreboard tr[data-innings='1'] .runs")).ToHaveText("325"))
	must(t, expect.Locator(body.Locator("#scoreboard tr[data-innings='2']")).ToHaveCount(0))
	must(t, expect.Locator(body.Locator("#tl-event .event-type")).ToHaveText("InningsCompleted"))
	must(t, expect.Locator(body.Locator("#tl-event table.diff")).ToContainText("homeRuns"))
	must(t, expect.Page(page).ToHaveURL(app.URL+"/streams/match/m-1/timeline?v=2"))

	// The keyboard: Home is before the first event, End the latest.
	must(t, page.Locator("main > h1").Click())
	must(t, page.Keyboard().Press("Home"))
	must(t, expect.Locator(page.Locator("#tl-at")).ToHaveText("0"))
	must(t, expect.Locator(body).ToContainText("Before the first event"))
	must(t, page.Keyboard().Press("ArrowRight"))
	must(t, expect.Locator(page.Locator("#tl-event .event-type")).ToHaveText("MatchStarted"))

	// The slider lands on any version.
	must(t, page.Locator("#tl-slider").Fill("3"))
	must(t, expect.Locator(page.Locator("#timeline-body #scoreboard tr[data-innings='2'] .runs")).ToHaveText("416"))

	// The back button goes back through the steps.
	if _, err := page.GoBack(); err != nil {
		t.Fatal(err)
	}
	must(t, expect.Locator(page.Locator("#tl-at")).ToHaveText("0"))
}

func TestTimelineDeepLinkLandsOnThatVersion(t *testing.T) {
	app := apptest.Start(t, apptest.Options{})
	playedMatch(t, app.URL, "m-1", 100, 200)
	page := newPage(t, newContext(t, app))
	if _, err := page.Goto(app.URL + "/streams/match/m-1/timeline?v=2"); err != nil {
		t.Fatal(err)
	}
	must(t, expect.Locator(page.Locator("#tl-at")).ToHaveText("2"))
	must(t, expect.Locator(page.Locator("#tl-slider")).ToHaveValue("2"))
	must(t, expect.Locator(page.Locator("#timeline-body #scoreboard tr[data-innings='1'] .runs")).ToHaveText("100"))
	must(t, expect.Locator(page.Locator("#timeline-body #scoreboard tr[data-innings='2']")).ToHaveCount(0))
	must(t, expect.Locator(page.Locator("ol.events li.current")).ToContainText("InningsCompleted"))
}

func TestTimelineFollowsALiveStreamAndThePastStaysPut(t *testing.T) {
	app := apptest.Start(t, apptest.Options{})
	playedMatch(t, app.URL, "m-1", 100)
	ctx := newContext(t, app)
	following, looking := newPage(t, ctx), newPage(t, ctx)
	for _, p := range []playwright.Page{following, looking} {
		if _, err := p.Goto(app.URL + "/streams/match/m-1/timeline"); err != nil {
			t.Fatal(err)
		}
		must(t, expect.Locator(p.Locator("#live-status")).ToHaveText("live"))
	}
	must(t, looking.GetByRole("link", playwright.PageGetByRoleOptions{Name: "Previous"}).Click())
	must(t, expect.Locator(looking.Locator("#tl-at")).ToHaveText("1"))

	// Another page appends: the follower moves with the stream, the other
	// stays where it was, its slider grown.
	postJSON(t, app.URL+"/matches/m-1/innings", `{"innings":2,"runs":222,"wickets":3}`)
	must(t, expect.Locator(following.Locator("#tl-at")).ToHaveText("3"))
	must(t, expect.Locator(following.Locator("#timeline-body #scoreboard tr[data-innings='2'] .runs")).ToHaveText("222"))
	must(t, expect.Locator(following.Locator("ol.events li.current")).ToContainText("InningsCompleted"))
	must(t, expect.Locator(looking.Locator("#tl-slider")).ToHaveAttribute("max", "3"))
	must(t, expect.Locator(looking.Locator("#tl-at")).ToHaveText("1"))
	must(t, expect.Locator(looking.Locator("#tl-event .event-type")).ToHaveText("MatchStarted"))
}
