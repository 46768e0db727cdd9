package handlers

import (
	"net/http"

	"github.com/a-h/templ"
	"github.com/go-chi/chi/v5"

	"github.com/foldboard/foldboard/domain/cricket"
	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/projections"
	"github.com/foldboard/foldboard/views"
)

// MatchesPage is GET /matches: every match, and the form to start one.
func (a *App) MatchesPage(w http.ResponseWriter, r *http.Request) error {
	render(w, r, http.StatusOK, a.matchesPage(r, views.Form{Name: "start", CommandID: newCommandID()}))
	return nil
}

func (a *App) matchesPage(r *http.Request, f views.Form) templ.Component {
	p := a.page(r, "Matches")
	p.Section, p.Topics, p.Path = "matches", []string{projections.TopicMatches}, "/matches"
	matches, total := a.read().Matches.Newest(projections.ListLimit, nil)
	return views.MatchesPage(p, matches, total, f)
}

// MatchPage is GET /matches/{id}: the live scoreboard and the command forms.
func (a *App) MatchPage(w http.ResponseWriter, r *http.Request) error {
	id := chi.URLParam(r, "id")
	if err := validStreamID(id); err != nil {
		return err
	}
	page := a.matchPage(r, id, views.Form{CommandID: newCommandID()})
	if page == nil {
		return es.Errorf(es.Missing, "MatchNotFound", "there is no match %s", id)
	}
	render(w, r, http.StatusOK, page)
	return nil
}

func (a *App) matchPage(r *http.Request, id string, f views.Form) templ.Component {
	m, ok := a.read().Matches.Get(id)
	if !ok {
		return nil
	}
	p := a.page(r, m.State.HomeTeam+" v "+m.State.AwayTeam)
	p.Section, p.Path = "matches", matchLocation(id)
	p.Topics = []string{es.StreamRef{Type: cricket.StreamType, ID: id}.String()}
	return views.MatchPage(p, m, f)
}

func matchLocation(id string) string { return "/matches/" + id }

// StartMatch is POST /matches.
func (a *App) StartMatch(w http.ResponseWriter, r *http.Request) error {
	c := command[cricket.State, cricket.Command, cricket.Event]{
		handler: a.matches, form: "start", location: matchLocation,
		decode: func(in *input) (cricket.Command, error) {
			var cmd cricket.StartMatch
			var err error
			if cmd.Venue, err = in.requiredText("venue"); err != nil {
				return nil, err
			}
			if cmd.HomeTeam, err = in.requiredText("homeTeam"); err != nil {
				return nil, err
			}
			if cmd.AwayTeam, err = in.requiredText("awayTeam"); err != nil {
				return nil, err
			}
			return cmd, nil
		},
		page: func(r *http.Request, _ string, f views.Form) templ.Component { return a.matchesPage(r, f) },
	}
	return c.run(a, w, r, newID("matchId"))
}

// CompleteInnings is POST /matches/{id}/innings.
func (a *App) CompleteInnings(w http.ResponseWriter, r *http.Request) error {
	c := command[cricket.State, cricket.Command, cricket.Event]{
		handler: a.matches, form: "innings", location: matchLocation, page: a.matchPage,
		decode: func(in *input) (cricket.Command, error) {
			innings, err := in.requiredCount("innings")
			if err != nil {
				return nil, err
			}
			runs, err := in.requiredCount("runs")
			if err != nil {
				return nil, err
			}
			wickets, err := in.requiredCount("wickets")
			if err != nil {
				return nil, err
			}
			return cricket.CompleteInnings{Innings: clampInt(innings), Runs: clampInt(runs), Wickets: clampInt(wickets)}, nil
		},
	}
	return c.run(a, w, r, routeID(r))
}

// EndMatch is POST /matches/{id}/end.
func (a *App) EndMatch(w http.ResponseWriter, r *http.Request) error {
	c := command[cricket.State, cricket.Command, cricket.Event]{
		handler: a.matches, form: "end", location: matchLocation, page: a.matchPage,
		decode: func(in *input) (cricket.Command, error) {
			result, err := in.requiredText("result")
			return cricket.EndMatch{Result: result}, err
		},
	}
	return c.run(a, w, r, routeID(r))
}
