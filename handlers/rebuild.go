package handlers

import (
	"net/http"

	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/views"
)

// Rebuild is POST /rebuild: start replaying the whole log into fresh read
// models, swapped in when they have caught up. A browser goes back to the
// dashboard, which shows the progress (live, or at each reload without
// JavaScript); a program gets 202 and the status. 409 RebuildRunning while
// one runs.
func (a *App) Rebuild(w http.ResponseWriter, r *http.Request) error {
	if a.rebuild == nil {
		return es.Errorf(es.Missing, "NoRebuild", "this server cannot rebuild its read models")
	}
	if err := a.rebuild(); err != nil {
		return err
	}
	a.log.InfoContext(r.Context(), "rebuild requested", "actor", a.cookieActor(r))
	if wantsJSON(r) {
		st := a.rebuildStatus()
		writeJSON(w, http.StatusAccepted, map[string]any{"rebuild": map[string]any{
			"projector": st.Name, "running": st.Running,
		}})
		return nil
	}
	http.Redirect(w, r, views.RouteDashboard+"#rebuild-progress", http.StatusSeeOther)
	return nil
}
