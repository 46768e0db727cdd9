package handlers

import (
	"net/http"

	"github.com/foldboard/foldboard/projections"
	"github.com/foldboard/foldboard/views"
)

// Dashboard is GET /: totals, the projector, recent streams, live.
func (a *App) Dashboard(w http.ResponseWriter, r *http.Request) error {
	p := a.page(r, "Dashboard")
	p.Section, p.Topics = "dashboard", []string{projections.TopicDashboard}
	render(w, r, http.StatusOK, views.DashboardPage(p, a.dashboard()))
	return nil
}

func (a *App) dashboard() views.Dashboard {
	cat := a.proj.Catalogue()
	recent := cat.Streams("")
	if len(recent) > 20 {
		recent = recent[:20]
	}
	st := a.proj.Status()
	ps := views.ProjectorStatus{Running: st.Running, Applied: st.Applied}
	if st.Err != nil {
		ps.Error = st.Err.Error()
	}
	return views.Dashboard{Store: a.storeName, Stats: cat.Stats(), Recent: recent, Parked: cat.Parked(), Projector: ps}
}
