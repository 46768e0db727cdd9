package handlers

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/a-h/templ"
	"github.com/go-chi/chi/v5"

	"github.com/foldboard/foldboard/domain/cricket"
	"github.com/foldboard/foldboard/es"
	"github.com/foldboard/foldboard/projections"
	"github.com/foldboard/foldboard/reactions"
	"github.com/foldboard/foldboard/views"
)

// Matches is the cricket module: matches started, scored by innings, ended.
func Matches() Module {
	return Module{
		Name: "match",
		Kind: NewKind(cricket.Decider(), func(id string, v int64, s cricket.State) templ.Component {
			return views.Scoreboard(views.Match{ID: id, Version: v, State: s})
		}, matchRoutes, randomMatchCommand),
		Page: views.RouteMatch,
		Sections: []views.Section{{ID: "matches", Path: views.RouteMatches, Label: "Matches",
			Card: "Cricket matches", Blurb: "Start a match, score innings, end it"}},
		ReadModels: []projections.ReadModel{{Name: projections.TopicMatches, New: func() projections.Model { return projections.NewMatches() }}},
		Topics: []Topic{{Name: projections.TopicMatches, Throttle: listThrottle, Fragment: func(a *App) templ.Component {
			return lazy(func(ctx context.Context) (templ.Component, error) {
				matches, total, err := a.matches().Newest(ctx, projections.ListLimit)
				return views.MatchList(matches, total), err
			})
		}}},
		StreamTopic: func(a *App, id string) templ.Component {
			return lazy(func(ctx context.Context) (templ.Component, error) {
				m, ok, err := a.matches().Get(ctx, id)
				if !ok || err != nil {
					return templ.NopComponent, err
				}
				return views.MatchLive(m), nil
			})
		},
		ReadState: func(ctx context.Context, rs *projections.ReadSide, id string) (any, bool, error) {
			m, ok, err := projections.ModelOf[*projections.Matches](rs, projections.TopicMatches).Get(ctx, id)
			return m.State, ok, err
		},
		Seed:      seedMatches,
		Load:      []LoadWork{{Name: "innings", Life: 6, Next: loadMatch}},
		Reactions: []es.Reaction{reactions.MatchReportReaction()},
		Examples: []Example{
			{Path: views.RouteMatches, Fields: map[string]any{"matchId": "{id}", "venue": "Lord's", "homeTeam": "England", "awayTeam": "India"}, Text: []string{"venue", "homeTeam", "awayTeam"}},
			{Path: views.RouteMatchInnings, Fields: map[string]any{"innings": 1, "runs": 250, "wickets": 7}},
			{Path: views.RouteMatchEnd, Fields: map[string]any{"result": "a draw"}, Text: []string{"result"}},
		},
	}
}

// listThrottle is the least time between two pushes of a list topic, which
// changes with every event of its domain.
const listThrottle = 100 * time.Millisecond

func (a *App) matches() *projections.Matches {
	return projections.ModelOf[*projections.Matches](a.read(), projections.TopicMatches)
}

func matchRoutes(a *App, h *es.Handler[cricket.State, cricket.Command, cricket.Event], r chi.Router) {
	r.Get(views.RouteMatches, a.Handle(a.MatchesPage).ServeHTTP)
	r.Post(views.RouteMatches, a.Handle(a.startMatch(h)).ServeHTTP)
	r.Get(views.RouteMatch, a.Handle(a.MatchPage).ServeHTTP)
	r.Post(views.RouteMatchInnings, a.Handle(a.completeInnings(h)).ServeHTTP)
	r.Post(views.RouteMatchEnd, a.Handle(a.endMatch(h)).ServeHTTP)
}

// MatchesPage is GET /matches: every match, and the form to start one.
func (a *App) MatchesPage(w http.ResponseWriter, r *http.Request) error {
	a.render(w, r, http.StatusOK, a.matchesPage(r, views.Form{Name: "start", CommandID: newCommandID()}))
	return nil
}

func (a *App) matchesPage(r *http.Request, f views.Form) templ.Component {
	p := a.page(r, "Matches")
	p.Section, p.Topics, p.Path = "matches", []string{projections.TopicMatches}, views.RouteMatches
	matches, total, err := a.matches().Newest(r.Context(), projections.ListLimit)
	if err != nil {
		return failed(err)
	}
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
		return errStreamNotFound(es.StreamRef{Type: cricket.StreamType, ID: id})
	}
	a.render(w, r, http.StatusOK, page)
	return nil
}

func (a *App) matchPage(r *http.Request, id string, f views.Form) templ.Component {
	m, ok, err := a.matches().Get(r.Context(), id)
	if err != nil {
		return failed(err)
	}
	if !ok {
		return nil
	}
	p := a.page(r, m.State.HomeTeam+" v "+m.State.AwayTeam)
	p.Section, p.Path = "matches", matchLocation(id)
	p.Topics = []string{es.StreamRef{Type: cricket.StreamType, ID: id}.String()}
	return views.MatchPage(p, m, f)
}

func matchLocation(id string) string { return views.Path(views.RouteMatch, id) }

// startMatch is POST /matches.
func (a *App) startMatch(h *es.Handler[cricket.State, cricket.Command, cricket.Event]) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		c := command[cricket.State, cricket.Command, cricket.Event]{
			handler: h, form: "start", location: matchLocation,
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
}

// completeInnings is POST /matches/{id}/innings.
func (a *App) completeInnings(h *es.Handler[cricket.State, cricket.Command, cricket.Event]) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		c := command[cricket.State, cricket.Command, cricket.Event]{
			handler: h, form: "innings", location: matchLocation, page: a.matchPage,
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
}

// endMatch is POST /matches/{id}/end.
func (a *App) endMatch(h *es.Handler[cricket.State, cricket.Command, cricket.Event]) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		c := command[cricket.State, cricket.Command, cricket.Event]{
			handler: h, form: "end", location: matchLocation, page: a.matchPage,
			decode: func(in *input) (cricket.Command, error) {
				result, err := in.requiredText("result")
				return cricket.EndMatch{Result: result}, err
			},
		}
		return c.run(a, w, r, routeID(r))
	}
}

func pick[T any](r *rand.Rand, xs ...T) T { return xs[r.IntN(len(xs))] }

// randomMatchCommand is a command a match might get next, often one it
// refuses.
func randomMatchCommand(r *rand.Rand, s cricket.State) cricket.Command {
	switch r.IntN(10) {
	case 0, 9:
		return cricket.StartMatch{Venue: pick(r, "Lord's", "Eden Gardens"), HomeTeam: "England", AwayTeam: pick(r, "India", "England")}
	case 1:
		return cricket.EndMatch{Result: pick(r, "draw", "England won", "")}
	default:
		return cricket.CompleteInnings{Innings: s.NextInnings() + pick(r, 0, 0, 0, 1), Runs: r.IntN(500), Wickets: r.IntN(12)}
	}
}

var (
	seedTeams = [][2]string{
		{"England", "Australia"}, {"India", "Pakistan"}, {"New Zealand", "South Africa"},
		{"West Indies", "Sri Lanka"}, {"Kent", "Surrey"}, {"Otago", "Canterbury"},
	}
	seedVenues = []string{"Lord's", "Eden Gardens", "The Oval", "Basin Reserve", "Kensington Oval", "Canterbury"}
)

// seedMatches plans a match every few days, each played out, and one under
// way in the last few minutes.
func seedMatches(p *SeedPlan) {
	add := func(at time.Time, id, name, who string, cmd cricket.Command) {
		p.Add(at, cricket.StreamType, id, name, who, cmd)
	}
	for i, d := range []int{-12, -9, -6, -4, -2} {
		id := fmt.Sprintf("seed-match-%d", i+1)
		teams, who := seedTeams[i], p.Actor()
		add(p.Day(d, 10, 0), id, "start", who, cricket.StartMatch{Venue: seedVenues[i], HomeTeam: teams[0], AwayTeam: teams[1], Scorer: who})
		home, away := 180+p.Rand.IntN(170), 150+p.Rand.IntN(200)
		add(p.Day(d, 13, 20), id, "innings-1", who, cricket.CompleteInnings{Innings: 1, Runs: home, Wickets: 6 + p.Rand.IntN(5), Actor: who})
		add(p.Day(d, 16, 45), id, "innings-2", who, cricket.CompleteInnings{Innings: 2, Runs: away, Wickets: 5 + p.Rand.IntN(6), Actor: who})
		result := fmt.Sprintf("%s won by %d runs", teams[0], home-away)
		if away > home {
			result = fmt.Sprintf("%s won", teams[1])
		} else if away == home {
			result = "Tied"
		}
		add(p.Day(d, 17, 30), id, "end", who, cricket.EndMatch{Result: result, Actor: who})
	}
	add(p.Ago(4*time.Minute+30*time.Second), "seed-match-live", "start", "ana", cricket.StartMatch{Venue: "Lord's", HomeTeam: "England", AwayTeam: "India", Scorer: "ana"})
	add(p.Ago(90*time.Second), "seed-match-live", "innings-1", "ana", cricket.CompleteInnings{Innings: 1, Runs: 312, Wickets: 8, Actor: "ana"})
}

// loadMatch is a match's life for the load generator: started, four
// innings, ended.
func loadMatch(id string, v int64, _ int, client int, rng *rand.Rand, b []byte) (string, []byte) {
	switch {
	case v == 0:
		b = fmt.Appendf(b, `"matchId":%q,"venue":"Lord's","homeTeam":"Home %d","awayTeam":"Away %d"`, id, client, client)
		return views.RouteMatches, b
	case v <= 4:
		b = fmt.Appendf(b, `"innings":%d,"runs":%d,"wickets":%d`, v, 100+rng.IntN(300), rng.IntN(11))
		return views.Path(views.RouteMatchInnings, id), b
	default:
		b = append(b, `"result":"Home won by 12 runs"`...)
		return views.Path(views.RouteMatchEnd, id), b
	}
}
