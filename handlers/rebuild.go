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
// one runs. With review=1 (form field or query) the caught-up read models
// are compared with the ones in use and wait for POST /rebuild/swap or
// /rebuild/discard.
func (a *App) Rebuild(w http.ResponseWriter, r *http.Request) error {
	if a.rebuild == nil {
		return es.Errorf(es.Missing, "NoRebuild", "this server cannot rebuild its read models")
	}
	start := a.rebuild
	review := r.FormValue("review")
	switch review {
	case "", "0", "false":
	case "1", "on", "true":
		if a.rebuildReview == nil {
			return es.Errorf(es.Missing, "NoRebuild", "this server cannot compare a rebuild before swapping it in")
		}
		start = a.rebuildReview
	default:
		return badRequest("BadQuery", "review", "review must be 1 or 0")
	}
	if err := start(); err != nil {
		return err
	}
	a.log.InfoContext(r.Context(), "rebuild requested", "actor", a.cookieActor(r), "review", review)
	return a.rebuildAnswer(w, r, http.StatusAccepted)
}

// RebuildSwap is POST /rebuild/swap and RebuildDiscard POST /rebuild/discard:
// the admin's choice for a rebuild under review (409 NoRebuildUnderReview
// when none waits). A program gets 200 and the status.
func (a *App) RebuildSwap(w http.ResponseWriter, r *http.Request) error {
	return a.decide(w, r, true)
}

func (a *App) RebuildDiscard(w http.ResponseWriter, r *http.Request) error {
	return a.decide(w, r, false)
}

func (a *App) decide(w http.ResponseWriter, r *http.Request, swap bool) error {
	if a.decideRebuild == nil {
		return es.Errorf(es.Missing, "NoRebuild", "this server cannot rebuild its read models")
	}
	if err := a.decideRebuild(swap); err != nil {
		return err
	}
	a.log.InfoContext(r.Context(), "rebuild decided", "actor", a.cookieActor(r), "swap", swap)
	return a.rebuildAnswer(w, r, http.StatusOK)
}

// rebuildAnswer is the rebuild's status for a program, the dashboard for a
// browser.
func (a *App) rebuildAnswer(w http.ResponseWriter, r *http.Request, status int) error {
	if wantsJSON(r) {
		st := a.rebuildStatus()
		body := map[string]any{
			"projector": st.Name, "running": st.Running, "review": st.Review,
			"deciding": st.Deciding, "finished": st.Finished, "discarded": st.Discarded,
		}
		if st.Diff != nil {
			body["diff"] = st.Diff
		}
		writeJSON(w, status, map[string]any{"rebuild": body})
		return nil
	}
	http.Redirect(w, r, views.RouteDashboard+"#rebuild-progress", http.StatusSeeOther)
	return nil
}

// RebuildModel is POST /projections/rebuild with model (a read model's
// name as the board shows it; form or JSON): rebuild that one read model
// alone, blue/green, the others untouched. A browser goes back to the
// board, which shows the progress; a program gets 202 and the status.
// 400 BadModel for a name that is no read model of the board, 409
// RebuildRunning while a rebuild runs (in a cluster, anywhere: the lease
// holder carries it out).
func (a *App) RebuildModel(w http.ResponseWriter, r *http.Request) error {
	in, err := readInput(r)
	if err != nil {
		return err
	}
	model, err := in.requiredText("model")
	if err != nil {
		return err
	}
	if err := in.done(); err != nil {
		return err
	}
	if a.read().Model(model) == nil {
		return badRequest("BadModel", "model", "model must be a read model the board lists")
	}
	if a.rebuildModel == nil {
		return es.Errorf(es.Missing, "NoRebuild", "this server cannot rebuild its read models")
	}
	if err := a.rebuildModel(model); err != nil {
		return err
	}
	a.log.InfoContext(r.Context(), "read model rebuild requested", "actor", a.cookieActor(r), "model", model)
	if wantsJSON(r) {
		body := map[string]any{"model": model}
		if a.rebuildStatus != nil {
			st := a.rebuildStatus()
			body["projector"], body["running"], body["finished"] = st.Name, st.Running, st.Finished
		}
		writeJSON(w, http.StatusAccepted, map[string]any{"rebuild": body})
		return nil
	}
	http.Redirect(w, r, views.RouteProjections+"#rebuild-progress", http.StatusSeeOther)
	return nil
}
