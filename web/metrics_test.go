package web_test

import (
	"context"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/foldboard/foldboard/internal/apptest"
)

// metric returns the value of a sample of /metrics, -1 when absent.
func metric(t *testing.T, c *client, sample string) float64 {
	t.Helper()
	r := c.get("/metrics")
	wantStatus(t, r, http.StatusOK, "")
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(sample) + ` (\S+)$`).FindStringSubmatch(r.body)
	if m == nil {
		return -1
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestMetricsCountCommandsAppendsTheFeedAndLiveClients(t *testing.T) {
	app := apptest.Start(t, apptest.Options{})
	c := newClient(t, app)
	startMatch(t, c, "m-1")
	r := c.postJSON("/matches", `{"matchId":"m-1","venue":"Lord's","homeTeam":"England","awayTeam":"Australia"}`)
	wantStatus(t, r, http.StatusConflict, "AlreadyStarted")
	r = c.postJSON("/matches/m-1/innings", `{"innings":1,"runs":-1,"wickets":0}`)
	wantStatus(t, r, http.StatusUnprocessableEntity, "BadRuns")
	waitApplied(t, app, "match/m-1", 1)

	for sample, want := range map[string]float64{
		`foldboard_commands_total{command="StartMatch",outcome="ok"}`:             1,
		`foldboard_commands_total{command="StartMatch",outcome="AlreadyStarted"}`: 1,
		`foldboard_commands_total{command="CompleteInnings",outcome="BadRuns"}`:   1,
		// Only the accepted command reached the store.
		`foldboard_append_duration_seconds_count`:                                    1,
		`foldboard_projector_lag_events`:                                             0,
		`foldboard_http_requests_total{method="POST",route="/matches",status="201"}`: 1,
	} {
		if got := metric(t, c, sample); got != want {
			t.Errorf("%s = %v, want %v", sample, got, want)
		}
	}
	// A batch is counted once it is saved too, which may come a moment
	// after its events are applied.
	waitFor(t, func() bool {
		return metric(t, c, "foldboard_feed_batches_total") >= 1 && metric(t, c, "foldboard_feed_events_total") >= 1
	})

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(app.URL, "http")+"/ws?topic=dashboard", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := conn.Read(ctx); err != nil {
		t.Fatal(err)
	}
	if got := metric(t, c, "foldboard_live_clients"); got != 1 {
		t.Errorf("live clients %v with one connected", got)
	}
	conn.Close(websocket.StatusNormalClosure, "")
	waitFor(t, func() bool { return metric(t, c, "foldboard_live_clients") == 0 })
}
