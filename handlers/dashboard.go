package handlers

import (
	"context"
	"net/http"
	"time"

	"github.com/foldboard/foldboard/projections"
	"github.com/foldboard/foldboard/views"
)

// recentEvents is how many of the newest events the dashboard lists.
const recentEvents = 12

// Dashboard is GET /: totals, events per second, the projector and its lag,
// recent events, a rebuild; live.
func (a *App) Dashboard(w http.ResponseWriter, r *http.Request) error {
	p := a.page(r, "Dashboard")
	p.Section, p.Topics = "dashboard", []string{projections.TopicDashboard}
	a.render(w, r, http.StatusOK, views.DashboardPage(p, a.dashboard(r.Context())))
	return nil
}

// dashboard gathers the dashboard's figures. Everything here is cheap: the
// totals are kept by the catalogue, the recent events are the index's tail (held in memory),
// the rate is at most a window of per-second counts, and the lag is one
// indexed count on SQLite (or a counter elsewhere). The hub renders it at
// most every 250 ms however fast events come.
func (a *App) dashboard(ctx context.Context) views.Dashboard {
	cur := a.live.Load()
	cat := cur.Projector.Catalogue()
	now := time.Now()
	st := cur.Projector.Status()
	ps := views.ProjectorStatus{Name: st.Name, Running: st.Running, Applied: st.Applied}
	if st.Err != nil {
		ps.Error = st.Err.Error()
	}
	lagCtx, cancel := context.WithTimeout(ctx, time.Second)
	lag, err := cur.Projector.Lag(lagCtx, now)
	cancel()
	if err != nil {
		ps.LagError = err.Error()
	}
	var cluster *views.Cluster
	if a.cluster != nil {
		if cluster = a.cluster(); cluster != nil {
			lag.Behind = max(lag.Behind, cluster.Behind)
			ps.LagCluster = true
		}
	}
	ps.LagEvents, ps.LagMillis, ps.LagExact = lag.Events, lag.Behind.Milliseconds(), lag.Exact
	// The newest events are the index's tail, in memory.
	recent, err := cur.Read.Events.Page(ctx, projections.IndexQuery{Limit: recentEvents})
	if err != nil {
		a.log.Error("dashboard: recent events", "err", err)
	}
	d := views.Dashboard{
		Store: a.storeName, Stats: cat.Stats(), Parked: cat.Parked(), Projector: ps,
		Events: a.eventsTotal(ctx, Viewer{Name: Anonymous}, int(cat.Stats().Events)),
		// Pushed to every watcher alike: only the events anyone may see.
		Recent: a.publicEvents(ctx, recent.Events),
		Rate:   views.NewRateChart(cat.Rate(now, views.RateBars, views.RatePeriod), views.RatePeriod),
	}
	if a.rebuildStatus != nil {
		d.Rebuild = a.rebuildStatus()
	}
	d.Busiest = cat.Busiest(now, busiestShown)
	d.Pages = a.pages
	d.Reactions = a.reactions()
	if a.latency != nil {
		d.Latency = a.latency()
	}
	d.Cluster = cluster
	return d
}

// busiestShown is how many of the busiest streams the dashboard lists.
const busiestShown = 5
