package handlers

import (
	"net/http"

	"github.com/foldboard/foldboard/es"
)

// projectionsAnswer is GET /projections as JSON (contract.md,
// "Projections"). The read models part holds what the projector tells
// today; the board's own work fills in the rest.
type projectionsAnswer struct {
	ReadModels []readModelAnswer `json:"readModels"`
	Reactions  []reactionAnswer  `json:"reactions"`
}

type readModelAnswer struct {
	Name     string         `json:"name"`
	Position string         `json:"position"`
	Applied  int64          `json:"applied"`
	Parked   []parkedAnswer `json:"parked"`
}

type parkedAnswer struct {
	Stream  string `json:"stream"`
	Version int64  `json:"version,omitempty"`
	EventID string `json:"eventId,omitempty"`
	Type    string `json:"type,omitempty"`
	Error   string `json:"error"`
}

type reactionAnswer struct {
	Name     string              `json:"name"`
	Running  bool                `json:"running"`
	Position string              `json:"position"`
	Outcomes es.ReactionOutcomes `json:"outcomes"`
	Parked   []parkedAnswer      `json:"parked"`
	Refusals []es.Refusal        `json:"refusals"`
	Error    string              `json:"error,omitempty"`
}

// Projections is GET /projections: the read models and the reactions, each
// with its position in the feed, what it did and what it parked. JSON only
// for now (the board is to come).
func (a *App) Projections(w http.ResponseWriter, r *http.Request) error {
	cur := a.live.Load()
	st := cur.Projector.Status()
	rm := readModelAnswer{Name: st.Name, Position: st.Checkpoint, Applied: st.Applied, Parked: []parkedAnswer{}}
	for _, p := range cur.Projector.Catalogue().Parked() {
		rm.Parked = append(rm.Parked, parkedAnswer{Stream: p.Stream.String(), Version: p.ParkedVersion, Error: p.Parked})
	}
	ans := projectionsAnswer{ReadModels: []readModelAnswer{rm}, Reactions: []reactionAnswer{}}
	for _, rs := range a.reactions() {
		ra := reactionAnswer{Name: rs.Name, Running: rs.Running, Position: rs.Checkpoint, Outcomes: rs.Outcomes,
			Parked: []parkedAnswer{}, Refusals: rs.Refusals}
		if ra.Refusals == nil {
			ra.Refusals = []es.Refusal{}
		}
		for _, p := range rs.Parked {
			ra.Parked = append(ra.Parked, parkedAnswer{Stream: p.Stream, Version: p.Version, EventID: p.EventID, Type: p.Type, Error: p.Error})
		}
		if rs.Err != nil {
			ra.Error = rs.Err.Error()
		}
		ans.Reactions = append(ans.Reactions, ra)
	}
	writeJSON(w, http.StatusOK, ans)
	return nil
}

// reactions are the reactors' statuses; none when the app runs none.
func (a *App) reactions() []es.ReactorStatus {
	if a.reactionStatus == nil {
		return nil
	}
	return a.reactionStatus()
}
